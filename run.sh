#!/usr/bin/env bash
# The README's first command: install everything, then start the webapp, the processing server
# and the offline demo channel on their embedded defaults. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/install.sh
exec .venv/bin/python -m server.demo.stack "$@"
