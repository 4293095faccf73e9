"""The local storage backend."""

import pytest

from server.storage import LocalStorage, StorageError


def test_a_stored_file_gets_a_public_url_and_lands_under_its_key(tmp_path):
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"mp4")
    storage = LocalStorage(tmp_path / "media", "http://127.0.0.1:5000/media/")
    assert storage.put(source, "12/a.mp4", "video/mp4") == "http://127.0.0.1:5000/media/12/a.mp4"
    assert (tmp_path / "media" / "12" / "a.mp4").read_bytes() == b"mp4"


@pytest.mark.parametrize("key", ["../x.mp4", "/etc/x", "12/../../x"])
def test_a_key_that_escapes_the_folder_is_refused(tmp_path, key):
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"mp4")
    with pytest.raises(StorageError, match="unsafe"):
        LocalStorage(tmp_path / "media", "http://x/media").put(source, key, "video/mp4")


def test_deleting_a_prefix_removes_a_streams_files(tmp_path):
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"mp4")
    storage = LocalStorage(tmp_path / "media", "http://x/media")
    storage.put(source, "12/a.mp4", "video/mp4")
    storage.put(source, "12/a.jpg", "image/jpeg")
    storage.put(source, "13/a.mp4", "video/mp4")
    assert storage.delete_prefix("12/") == 2
    assert (tmp_path / "media" / "13" / "a.mp4").exists()


def test_an_unwritable_folder_raises_a_storage_error(tmp_path):
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"mp4")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match="cannot store"):
        LocalStorage(blocker, "http://x/media").put(source, "12/a.mp4", "video/mp4")
