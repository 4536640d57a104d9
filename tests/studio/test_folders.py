import pytest

from studio.folders import request_folder


def test_a_request_folder_is_removed_afterwards(tmp_path):
    with request_folder(tmp_path) as folder:
        (folder / "a.mid").write_bytes(b"x")
        assert folder.parent == tmp_path and folder.is_dir()
    assert not folder.exists() and list(tmp_path.iterdir()) == []


def test_a_request_folder_is_removed_on_failure_too(tmp_path):
    with pytest.raises(RuntimeError):
        with request_folder(tmp_path) as folder:
            (folder / "a.mid").write_bytes(b"x")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_two_requests_get_two_folders(tmp_path):
    with request_folder(tmp_path) as a, request_folder(tmp_path) as b:
        assert a != b
