from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SPEECH_WAV = SHARED / "audio" / "R9_ZSCveAHg_7s.wav"


@pytest.fixture(scope="session")
def speech_wav() -> Path:
    if not SPEECH_WAV.is_file():
        pytest.skip(f"real audio clip absent: {SPEECH_WAV} (the team's ../shared/data)")
    return SPEECH_WAV
