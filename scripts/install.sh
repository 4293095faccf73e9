#!/usr/bin/env bash
# Install everything the system needs on a Debian/Ubuntu machine: ffmpeg and Chromium from apt,
# then the Python virtual environment .venv with the pinned requirements. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(ffmpeg chromium chromium-driver)
missing=()
command -v ffmpeg >/dev/null || missing+=(ffmpeg)
command -v chromium >/dev/null || missing+=(chromium chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "== apt: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
echo "== pip: installing requirements (torch is large: a few minutes the first time)"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements-dev.txt
echo "== installed: $(.venv/bin/python -c 'import django, flask, torch, streamlink; from importlib.metadata import version as v; print(*(f"{p} {v(p)}" for p in ("django", "flask", "torch", "streamlink")))')"
echo "== secrets: $(.venv/bin/python -m appsecrets)"  # this machine's own random tokens and key, made once

# The models the server uses when it has them, each fetched once and verified (sizes in README):
# the PANNs Cnn14 checkpoint and the chat sentiment model. Offline (or with HIGHLIGHTS_NO_DOWNLOADS=1)
# it says what it did not fetch and why, and the install carries on: the server runs without them.
.venv/bin/python scripts/fetch_models.py || echo "== models: the fetch step failed; the server runs without them"
