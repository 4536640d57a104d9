"""What the full-size everyday world (configs/clipsonic/synthesize_everyday.yaml) costs to synthesize, measured
on a small sample written with the same settings: seconds and bytes per video and per captioned image, and the
totals at full size (one process, one thread).

    python benchmarks/clipsonic_everyday.py [videos_per_class=2] [caption_images=120]

Prints a table and writes benchmarks/results/clipsonic_everyday.json.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder``."""
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def main() -> None:
    import numpy as np
    from PIL import Image

    from clipsonic.data import everyday
    from clipsonic.data.synthesize import write_video
    from gm_common.cli import compose
    from gm_common.files import atomic_write_text

    args = dict(a.split("=", 1) for a in sys.argv[1:])
    full = compose("clipsonic", "synthesize_everyday", [])
    events = len(everyday.EVENTS)
    per_class, n_images = int(args.get("videos_per_class", 2)), int(args.get("caption_images", 120))
    n_frames, n_samples = int(round(full.fps * full.seconds)), int(round(full.seconds * full.sample_rate))
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        everyday.make_clip([0], rng, full.image_size, n_frames, n_samples, full.sample_rate)  # warm-up (imports)
        t0 = time.perf_counter()
        for label in range(events):
            for k in range(per_class):
                labels = [label] if rng.random() >= full.mix_fraction else [label, (label + 1) % events]
                frames, audio = everyday.make_clip(labels, rng, full.image_size, n_frames, n_samples, full.sample_rate)
                write_video(Path(tmp) / "videos" / f"{label}_{k}.mp4", frames, full.fps, audio, full.sample_rate)
        video_s = (time.perf_counter() - t0) / (per_class * events)
        video_b = folder_bytes(Path(tmp) / "videos") / (per_class * events)
        (Path(tmp) / "captions").mkdir()
        t0 = time.perf_counter()
        for i in range(n_images):
            scene = everyday.make_scene([i % events], full.image_size, rng)
            Image.fromarray(scene.frame(0.5)).save(Path(tmp) / "captions" / f"{i}.png")
        image_s = (time.perf_counter() - t0) / n_images
        image_b = folder_bytes(Path(tmp) / "captions") / n_images
    n_videos = full.videos_per_class * events
    result = {
        "sample": {"videos": per_class * events, "caption_images": n_images},
        "settings": {k: full[k] for k in ("image_size", "fps", "seconds", "sample_rate", "mix_fraction")},
        "per_video": {"seconds": video_s, "bytes": video_b},
        "per_caption_image": {"seconds": image_s, "bytes": image_b},
        "full_size": {
            "videos": n_videos,
            "caption_images": full.caption_images,
            "minutes": (n_videos * video_s + full.caption_images * image_s) / 60,
            "megabytes": (n_videos * video_b + full.caption_images * image_b) / 1e6,
        },
    }
    f = result["full_size"]
    print(f"everyday world ({result['settings']}), measured on {result['sample']}, one thread")
    print(f"{'':<16}{'ms each':>10}{'kB each':>10}{'count':>8}")
    print(f"{'video':<16}{1000 * video_s:>10.1f}{video_b / 1e3:>10.1f}{n_videos:>8}")
    print(f"{'caption image':<16}{1000 * image_s:>10.1f}{image_b / 1e3:>10.1f}{full.caption_images:>8}")
    print(f"full size: {f['minutes']:.1f} minutes, {f['megabytes']:.0f} MB")
    out = Path(__file__).parent / "results" / "clipsonic_everyday.json"
    atomic_write_text(out, json.dumps(result, indent=1))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
