"""Settings: environment first, then config.py (read once per version of the file), then defaults."""

import os

import appconfig
from appconfig import setting


def test_config_py_is_executed_once_however_many_settings_are_read(tmp_path, monkeypatch):
    config = tmp_path / "config.py"
    counter = tmp_path / "runs"
    config.write_text(f"open({str(counter)!r}, 'a').write('x')\nSEGMENT_SECONDS = 7\nDATA_DIR = 'here'\n")
    monkeypatch.setenv("HIGHLIGHTS_CONFIG", str(config))
    monkeypatch.delenv("SEGMENT_SECONDS", raising=False)
    monkeypatch.delenv("DATA_DIR", raising=False)
    appconfig._load_config.cache_clear()
    values = [setting("SEGMENT_SECONDS", 10, float) for _ in range(60)] + [setting("DATA_DIR")]
    assert values[0] == 7.0 and values[-1] == "here"
    assert counter.read_text() == "x"


def test_an_edited_config_py_is_read_again(tmp_path, monkeypatch):
    config = tmp_path / "config.py"
    config.write_text("SEGMENT_SECONDS = 7\n")
    monkeypatch.setenv("HIGHLIGHTS_CONFIG", str(config))
    monkeypatch.delenv("SEGMENT_SECONDS", raising=False)
    assert setting("SEGMENT_SECONDS", 10, float) == 7.0
    config.write_text("SEGMENT_SECONDS = 8\n")
    os.utime(config, ns=(config.stat().st_atime_ns, config.stat().st_mtime_ns + 1_000_000))
    assert setting("SEGMENT_SECONDS", 10, float) == 8.0


def test_the_environment_wins_over_config_py(tmp_path, monkeypatch):
    config = tmp_path / "config.py"
    config.write_text("SEGMENT_SECONDS = 7\n")
    monkeypatch.setenv("HIGHLIGHTS_CONFIG", str(config))
    monkeypatch.setenv("SEGMENT_SECONDS", "3")
    assert setting("SEGMENT_SECONDS", 10, float) == 3.0
