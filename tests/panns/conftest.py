from __future__ import annotations

from pathlib import Path

import pytest
from shared_data import SHARED_DATA

SPEECH_WAV = SHARED_DATA / "audio" / "R9_ZSCveAHg_7s.wav"


@pytest.fixture(scope="session")
def speech_wav() -> Path:
    if not SPEECH_WAV.is_file():
        pytest.skip(f"real audio clip absent: {SPEECH_WAV} (the team's ../shared/data)")
    return SPEECH_WAV
