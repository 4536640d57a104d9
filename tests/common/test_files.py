import os
from pathlib import Path

import numpy as np
import pytest

from gm_common.files import atomic_path, atomic_write_text


def _only(folder):
    return sorted(p.name for p in folder.iterdir())


def test_new_files_get_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        path = atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640


def test_a_failed_text_write_keeps_the_old_file(tmp_path):
    path = atomic_write_text(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert path.read_text() == "old" and _only(tmp_path) == ["a.txt"]


def test_a_failed_wav_write_keeps_the_old_file(tmp_path, monkeypatch):
    import soundfile

    from gm_common.audio import save_wav

    path = save_wav(tmp_path / "a.wav", np.zeros(160, np.float32), 16000)
    before = path.read_bytes()

    def fail(file, *args, **kwargs):
        open(file, "wb").write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(soundfile, "write", fail)
    with pytest.raises(OSError):
        save_wav(path, np.ones(160, np.float32), 16000, overwrite=True)
    assert path.read_bytes() == before and _only(tmp_path) == ["a.wav"]


def test_a_failed_cache_write_leaves_no_cache(tmp_path, monkeypatch):
    import gm_common.corpus as corpus

    paths = corpus.list_collection("bach_chorales")[:2]

    def fail(file, array):
        Path(file).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", fail)
    with pytest.raises(OSError):
        corpus.load_pieces(paths, 12, tmp_path)
    assert _only(tmp_path) == []
    monkeypatch.undo()
    assert len(corpus.load_pieces(paths, 12, tmp_path)) == 2  # and a later run converts again


def test_a_failed_last_checkpoint_write_keeps_the_previous_one(tmp_path):
    from types import SimpleNamespace

    from gm_common.training import SaveLast

    last = tmp_path / "last.ckpt"
    last.write_bytes(b"previous")

    def save_checkpoint(path, weights_only=False):
        open(path, "wb").write(b"half")
        raise OSError("disk full")

    trainer = SimpleNamespace(
        sanity_checking=False,
        state=SimpleNamespace(fn="fit"),
        global_step=5,
        is_global_zero=True,
        save_checkpoint=save_checkpoint,
        strategy=SimpleNamespace(barrier=lambda name: None),
    )
    with pytest.raises(OSError):
        SaveLast(last).on_validation_end(trainer, None)
    assert last.read_bytes() == b"previous" and _only(tmp_path) == ["last.ckpt"]


def test_an_output_folder_is_checked_without_creating_anything(tmp_path):
    from gm_common.files import OutputFolderError, check_output_folder

    assert check_output_folder(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert check_output_folder(tmp_path) == tmp_path
    assert _only(tmp_path) == []  # the probe is gone and nothing was made
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    for folder in (blocker / "out", blocker):
        with pytest.raises(OutputFolderError) as err:
            check_output_folder(folder)
        assert str(err.value) == f"cannot create the output folder {folder}: {blocker} is a file"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc (no folder can be made there)")
def test_an_output_folder_where_none_can_be_made(tmp_path):
    from gm_common.files import OutputFolderError, check_output_folder

    with pytest.raises(OutputFolderError, match="^cannot create the output folder /proc/x/y: "):
        check_output_folder("/proc/x/y")
