"""Decode videos with PyAV: a few frames picked uniformly and the audio track (mono, resampled)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gm_common.errors import InputFileError

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov")


def read_video(
    path: str | Path, n_frames: int = 4, sample_rate: int = 16000, require_audio: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return (frames uint8 [n, H, W, 3] picked uniformly over the video, mono float32 audio at ``sample_rate``).

    Raises InputFileError for a missing or corrupt file, a video without frames or (when ``require_audio``)
    without an audio track; without ``require_audio`` the audio is None.
    """
    import av

    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    try:
        container = av.open(str(path))
    except Exception as err:  # av.error.InvalidDataError and friends
        raise InputFileError(path, f"cannot open video (corrupt or unsupported): {err}") from err
    with container:
        if not container.streams.video:
            raise InputFileError(path, "video has no frames (no video stream)")
        if require_audio and not container.streams.audio:
            raise InputFileError(path, "video has no audio track")
        try:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
            audio = _decode_audio(container, sample_rate) if require_audio else None
        except Exception as err:
            raise InputFileError(path, f"cannot decode video (corrupt): {err}") from err
    if not frames:
        raise InputFileError(path, "video has no frames")
    if audio is not None and audio.size == 0:
        raise InputFileError(path, "video has an empty audio track")
    idx = np.linspace(0, len(frames) - 1, n_frames).round().astype(int) if n_frames > 1 else [len(frames) // 2]
    return np.stack([frames[i] for i in idx]), audio


def _decode_audio(container, sample_rate: int) -> np.ndarray:
    """The first audio stream of an open container, mono float32 at ``sample_rate``."""
    import av

    container.seek(0)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    chunks = [out.to_ndarray().reshape(-1) for frame in container.decode(audio=0) for out in resampler.resample(frame)]
    chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


def list_videos(folder: str | Path) -> list[Path]:
    """Every video file under ``folder`` (recursively), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileError(folder, "video folder not found")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())
    if not files:
        raise InputFileError(folder, f"no video files ({', '.join(VIDEO_EXTENSIONS)}) in folder")
    return files


def load_image(path: str | Path) -> np.ndarray:
    """An image file as uint8 RGB [H, W, 3]; InputFileError if missing or not an image."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise InputFileError(path, f"not an image: {err}") from err
