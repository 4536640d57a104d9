import numpy as np
import pytest

from clipsonic.data.synthesize import write_video
from clipsonic.data.video import load_image, read_video
from gm_common.errors import InputFileError


def _frames(n=3):
    return [np.full((32, 32, 3), 40 * i, np.uint8) for i in range(n)]


def test_video_without_audio(tmp_path):
    p = write_video(tmp_path / "silent.mp4", _frames(), 4, None, 16000)
    with pytest.raises(InputFileError, match="no audio"):
        read_video(p)


def test_audio_only_file_has_no_frames(tmp_path):
    import av

    p = tmp_path / "audio.mp4"
    with av.open(str(p), "w", format="mp4") as c:
        s = c.add_stream("aac", rate=16000)
        s.layout = "mono"
        fr = av.AudioFrame.from_ndarray(np.zeros((1, 4096), np.float32), format="fltp", layout="mono")
        fr.sample_rate = 16000
        for pk in s.encode(fr):
            c.mux(pk)
        for pk in s.encode():
            c.mux(pk)
    with pytest.raises(InputFileError, match="no frames"):
        read_video(p)


def test_corrupt_and_missing_video(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"this is not a video" * 10)
    with pytest.raises(InputFileError, match="corrupt|cannot"):
        read_video(bad)
    with pytest.raises(InputFileError, match="not found"):
        read_video(tmp_path / "missing.mp4")


def test_not_an_image(tmp_path):
    p = tmp_path / "frame.png"
    p.write_text("not an image")
    with pytest.raises(InputFileError, match="not an image"):
        load_image(p)


def test_frames_only_without_audio(tmp_path):
    p = write_video(tmp_path / "silent.mp4", _frames(5), 4, None, 16000)
    frames, audio = read_video(p, n_frames=1, require_audio=False)
    assert frames.shape == (1, 32, 32, 3) and audio is None
