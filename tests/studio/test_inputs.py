import pytest

from gm_common.errors import InputFileError, ToolkitError
from studio.inputs import SCORE_TYPES, check_upload


def test_a_score_file_passes(tmp_path):
    path = tmp_path / "song.MID"
    path.write_bytes(b"MThd")
    assert check_upload(str(path), SCORE_TYPES, 5, "a MIDI file") == path


@pytest.mark.parametrize(
    "name, size, message",
    [("notes.txt", 10, "song: not a MIDI file"), ("big.mid", 5 * 1024 * 1024 + 1, "is 5.0 MB; the limit is 5 MB")],
)
def test_wrong_type_or_size_is_refused(tmp_path, name, size, message):
    path = tmp_path / name
    path.write_bytes(b"x" * size)
    with pytest.raises(InputFileError, match=message.replace("song", name)):
        check_upload(str(path), SCORE_TYPES, 5, "a MIDI file")


def test_no_file_asks_for_one():
    with pytest.raises(ToolkitError, match="^upload a MIDI file first$"):
        check_upload(None, SCORE_TYPES, 5, "a MIDI file")
