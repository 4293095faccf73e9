"""The team's shared data folder: `../shared/data` beside the repo root, never an absolute path.

Tests that need a file from it skip with a reason when it is not there.
"""

from __future__ import annotations

from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
