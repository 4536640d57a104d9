"""Every error of ``clipsonic.data`` that a user's data or settings can cause, with its message (the two
``pragma: no cover`` branches of ``synthesize`` cannot be reached: its shapes and sounds are fixed)."""

from pathlib import Path

import numpy as np
import pytest

from gm_common.errors import ConfigError, InputFileError

MEL = {"sample_rate": 16000, "n_fft": 512, "hop_length": 256, "n_mels": 16, "frames": 16}


def _message(call, *args, **kwargs) -> str:
    with pytest.raises((InputFileError, ConfigError)) as err:
        call(*args, **kwargs)
    return str(err.value)


def _data(cls, tmp_path: Path, **overrides):
    """A data module of class ``cls`` over ``tmp_path`` with the defaults of configs/clipsonic/data."""
    kwargs = dict(world=None, root=str(tmp_path), videos=str(tmp_path / "videos"), labels_csv=None, captions_csv=None,
                  mel=MEL, cache_dir=str(tmp_path / "cache"), batch_size=4, valid_fraction=0.0, skip_bad=True,
                  frames_per_video=1, seed=0, num_workers=0, pin_memory=False, persistent_workers=False)  # fmt: skip
    return cls(**{**kwargs, **overrides})


def _video(path: Path, audio: bool = True) -> Path:
    from clipsonic.data.synthesize import write_video

    frames = [np.full((16, 16, 3), 100 + 20 * i, np.uint8) for i in range(3)]
    sound = np.sin(np.linspace(0, 200, 8000)).astype(np.float32) if audio else None
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_video(path, frames, 8, sound, 16000)


def test_the_caption_file_a_new_user_meets_first(tmp_path):
    from clipsonic.data.captions import CaptionImages

    csv = tmp_path / "captions.csv"
    assert _message(CaptionImages, csv) == f"{csv}: caption file not found (run python -m clipsonic.data.synthesize)"
    csv.write_text("image,text\na.png,a red circle\n")
    assert _message(CaptionImages, csv) == f"{csv}: caption table needs the columns file,caption"


def test_labels_csv_errors(tmp_path):
    from clipsonic.data.dataset import read_labels

    csv = tmp_path / "labels.csv"
    assert _message(read_labels, csv) == f"{csv}: labels CSV not found"
    csv.write_text("name,label\na.mp4,0\n")
    assert _message(read_labels, csv) == f"{csv}: labels CSV needs a 'file' column"
    assert read_labels(None) == {}  # no labels: fine for training


def test_video_folder_errors(tmp_path):
    from clipsonic.data.video import list_videos

    folder = tmp_path / "videos"
    assert _message(list_videos, folder) == f"{folder}: video folder not found"
    folder.mkdir()
    (folder / "notes.txt").write_text("x")
    assert _message(list_videos, folder).startswith(f"{folder}: no video files (.mp4")


def test_a_folder_with_no_readable_video(tmp_path):
    from clipsonic.data.audio import audio_segments
    from clipsonic.data.datamodule import VideoData
    from clipsonic.data.dataset import build_cache

    _video(tmp_path / "videos" / "silent.mp4", audio=False)
    cfg = _data(VideoData, tmp_path).set_config()
    videos = tmp_path / "videos"
    assert _message(audio_segments, cfg, log=lambda _: None) == f"{videos}: no readable video with an audio track"
    message = _message(build_cache, cfg, None, "clip", log=lambda _: None)
    assert message == f"{videos}: no readable video (with frames and an audio track)"


def test_data_modules_say_what_they_need(tmp_path):
    from clipsonic.data.datamodule import AudioSegmentData, CaptionData, CaptionEmbeddingData, VideoData

    assert _message(_data(CaptionData, tmp_path).prepare) == (
        "training CLIP needs an image-caption set (data.captions_csv)"
    )
    assert _message(_data(CaptionEmbeddingData, tmp_path).prepare) == (
        "training the prior needs an image-caption set (data.captions_csv)"
    )
    assert _message(_data(VideoData, tmp_path).load_clip) == (
        "VideoData needs a CLIP (instantiate the data config with clip=...)"
    )
    _video(tmp_path / "videos" / "a.mp4")
    labels = tmp_path / "labels.csv"
    labels.write_text("file,label,split\na.mp4,0,test\n")
    videos = tmp_path / "videos"
    vocoder = _data(AudioSegmentData, tmp_path, labels_csv=str(labels))
    assert _message(vocoder.prepare) == f"{videos}: no training videos for the vocoder"
    labels.write_text("file,label,split\na.mp4,0,train\n")
    vocoder = _data(AudioSegmentData, tmp_path, labels_csv=str(labels), cache_dir=str(tmp_path / "cache2"))
    assert _message(vocoder.prepare) == (
        f"{videos}: no validation videos for the vocoder (set data.valid_fraction > 0)"
    )


def test_no_training_videos_for_the_diffusion_model(tmp_path, monkeypatch):
    from clipsonic.data import datamodule

    _video(tmp_path / "videos" / "a.mp4")
    labels = tmp_path / "labels.csv"
    labels.write_text("file,label,split\na.mp4,0,test\n")
    data = _data(datamodule.VideoData, tmp_path, labels_csv=str(labels))
    monkeypatch.setattr(data, "load_clip", lambda: (_FixedClip(), "fixed"))
    videos = tmp_path / "videos"
    assert _message(data.prepare) == f"{videos}: no training videos (every video is in the valid/test split)"


class _FixedClip:
    """A stand-in CLIP that embeds every image as the same unit vector."""

    def embed_images(self, images: np.ndarray) -> np.ndarray:
        return np.tile(np.eye(1, 4, dtype=np.float32), (len(images), 1))


@pytest.mark.parametrize("module, config", [("synthesize", "synthesize"), ("everyday", "synthesize_everyday")])
def test_synthetic_sets_refuse_bad_sizes_and_existing_sets(module, config, tmp_path):
    import importlib

    from gm_common.cli import compose

    run = importlib.import_module(f"clipsonic.data.{module}").run
    what = "a synthetic set" if module == "synthesize" else "a set"

    def make(*overrides: str):
        return run(compose("clipsonic", config, [f"out_dir={tmp_path}", *overrides]))

    assert _message(make, "videos_per_class=0") == "videos_per_class and caption_images must be >= 1"
    assert _message(make, "caption_images=0") == "videos_per_class and caption_images must be >= 1"
    (tmp_path / "labels.csv").write_text("file,label\n")
    assert _message(make) == f"{tmp_path} already holds {what}; pass overwrite=true to replace it"


def test_world_sound_and_pictogram_names():
    from clipsonic.data.pictograms import pictogram
    from clipsonic.data.sound_events import event_sound
    from clipsonic.data.worlds import text_queries

    rng = np.random.default_rng(0)
    assert _message(event_sound, "kazoo", 100, 16000, rng).startswith("unknown sound event 'kazoo'; known: ")
    assert _message(pictogram, "kazoo", 32, rng).startswith("no pictogram for 'kazoo'; known: ")
    assert _message(text_queries, "everyday", ["kazoo"], 1, 0) == (
        "classes ['kazoo'] of the labels CSV are not events of the 'everyday' world (data.world)"
    )
