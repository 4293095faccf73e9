"""State files are replaced whole or not at all."""

import pytest

from durable import write_atomically


def test_the_new_text_replaces_the_old(tmp_path):
    path = tmp_path / "jobs.json"
    path.write_text("old")
    write_atomically(path, "new ✓")
    assert path.read_text(encoding="utf-8") == "new ✓"


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_temp_file(tmp_path):
    path = tmp_path / "jobs.json"
    path.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(path, "x" * 100_000 + "\ud800")  # a lone surrogate cannot be encoded
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jobs.json"]


def test_a_folder_that_cannot_be_written_is_an_error_not_a_silent_loss(tmp_path):
    with pytest.raises(OSError):
        write_atomically(tmp_path / "missing" / "jobs.json", "{}")
