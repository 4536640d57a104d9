"""A small, self-contained audio-visual world in which what is seen decides what is heard.

Writes real MP4 videos (frames + an AAC audio track, with PyAV): each shows one visual concept (a coloured
shape at a random size, position and rotation over a noisy gradient background with grey clutter) and sounds
the concept's sound (a synthesized texture with random pitch and timing). Also writes an image-caption set
describing the same concepts in varied words (synonyms, 14 phrasings; to train the stand-in CLIP and the
diffusion prior); :func:`query_captions` gives evaluation queries in 8 further, held-out phrasings. Class
names go to ``labels.csv`` for evaluation only.

    python -m clipsonic.data.synthesize                      # outputs/clipsonic/data/synthetic
    python -m clipsonic.data.synthesize videos_per_class=4 caption_images=200 out_dir=/tmp/small
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig
from PIL import Image, ImageDraw

from gm_common.cli import entry_point
from gm_common.errors import ConfigError
from gm_common.files import atomic_path, atomic_write_text

COLOURS = {
    "red": (220, 40, 40),
    "blue": (40, 80, 230),
    "green": (40, 190, 60),
    "yellow": (240, 220, 40),
    "purple": (150, 50, 200),
    "orange": (250, 140, 20),
    "white": (245, 245, 245),
    "cyan": (40, 220, 220),
}


@dataclass(frozen=True)
class Concept:
    """A visual concept (a coloured shape) and the sound tied to it."""

    colour: str
    shape: str
    sound: str  # a short description of the tied sound (documentation / evaluation only)

    @property
    def name(self) -> str:
        """The class name, e.g. ``red circle``."""
        return f"{self.colour} {self.shape}"


CONCEPTS: tuple[Concept, ...] = (
    Concept("red", "circle", "low sine tone"),
    Concept("blue", "square", "square-wave beeps"),
    Concept("green", "triangle", "rising chirp"),
    Concept("yellow", "star", "noise drum hits"),
    Concept("purple", "diamond", "high tremolo tone"),
    Concept("orange", "cross", "sawtooth buzz"),
    Concept("white", "ring", "decaying bell"),
    Concept("cyan", "hexagon", "filtered noise wind"),
)
CLASS_NAMES = [c.name for c in CONCEPTS]
BACKGROUNDS = {
    "black": (10, 10, 10),
    "gray": (90, 90, 90),
    "brown": (85, 55, 30),
    "navy": (15, 20, 70),
    "dark green": (15, 55, 25),
}
SIZES = {"small": (0.22, 0.32), "medium": (0.34, 0.46), "large": (0.48, 0.62)}


# ----------------------------------------------------------------------------------------------- images
def _polygon(cx: float, cy: float, r: float, n: int, rot: float) -> list[tuple[float, float]]:
    return [
        (cx + r * math.cos(rot + 2 * math.pi * k / n), cy + r * math.sin(rot + 2 * math.pi * k / n)) for k in range(n)
    ]


def _background(size: int, background: str, rng: np.random.Generator) -> Image.Image:
    """A flat or gradient background around the named colour, with pixel noise."""
    base = np.array(BACKGROUNDS[background], dtype=np.float32) + rng.integers(-10, 11, 3)
    other = base + rng.uniform(-35, 35, 3)
    ramp = np.linspace(0.0, 1.0, size, dtype=np.float32)
    kind = int(rng.integers(3))  # 0 flat, 1 horizontal, 2 vertical gradient
    w = (
        np.zeros((size, size), np.float32)
        if kind == 0
        else (np.tile(ramp, (size, 1)) if kind == 1 else np.tile(ramp[:, None], (1, size)))
    )
    img = base[None, None] * (1 - w[..., None]) + other[None, None] * w[..., None]
    img = img + rng.normal(0, rng.uniform(2, 8), img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def _clutter(d: ImageDraw.ImageDraw, size: int, rng: np.random.Generator) -> int:
    """0-2 small dim grey blobs (visual clutter that says nothing about the sound); returns how many."""
    n = int(rng.integers(3))
    for _ in range(n):
        r = rng.uniform(0.04, 0.08) * size
        x, y = rng.uniform(r, size - r, 2)
        g = int(rng.integers(60, 140))
        box = (x - r, y - r, x + r, y + r)
        (d.ellipse if rng.random() < 0.5 else d.rectangle)(box, fill=(g, g, g))
    return n


def draw_concept(
    concept: Concept,
    size: int,
    rng: np.random.Generator,
    size_name: str | None = None,
    background: str | None = None,
    centre: tuple[float, float] | None = None,
) -> tuple[Image.Image, dict]:
    """One image of ``concept`` at a random size/position/rotation over a random (gradient, noisy, cluttered)
    background; returns the image and its attributes (for captions)."""
    size_name = size_name or str(rng.choice(list(SIZES)))
    background = background or str(rng.choice(list(BACKGROUNDS)))
    lo, hi = SIZES[size_name]
    diam = rng.uniform(lo, hi) * size
    r = diam / 2
    if centre is None:
        centre = (rng.uniform(r, size - r), rng.uniform(r, size - r))
    cx, cy = centre
    img = _background(size, background, rng)
    d = ImageDraw.Draw(img)
    clutter = _clutter(d, size, rng)
    col = tuple(int(v) for v in np.clip(np.array(COLOURS[concept.colour]) + rng.integers(-25, 26, 3), 0, 255))
    rot = rng.uniform(-0.3, 0.3)  # radians
    box = (cx - r, cy - r, cx + r, cy + r)
    s = concept.shape
    if s == "circle":
        d.ellipse(box, fill=col)
    elif s == "ring":
        d.ellipse(box, outline=col, width=max(2, int(r * 0.35)))
    elif s == "square":
        d.polygon(_polygon(cx, cy, r * 1.2, 4, math.pi / 4 + rot), fill=col)
    elif s == "triangle":
        d.polygon(_polygon(cx, cy, r, 3, -math.pi / 2 + rot), fill=col)
    elif s == "diamond":
        d.polygon(_polygon(cx, cy, r, 4, 0.0 + rot * 0.3), fill=col)
    elif s == "hexagon":
        d.polygon(_polygon(cx, cy, r, 6, 0.0 + rot), fill=col)
    elif s == "star":
        pts = []
        for k in range(10):
            rr = r if k % 2 == 0 else r * 0.45
            a = -math.pi / 2 + rot + math.pi * k / 5
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
        d.polygon(pts, fill=col)
    elif s == "cross":
        w = r * 0.35
        d.rectangle((cx - r, cy - w, cx + r, cy + w), fill=col)
        d.rectangle((cx - w, cy - r, cx + w, cy + r), fill=col)
    else:  # pragma: no cover - CONCEPTS is fixed
        raise ConfigError(f"unknown shape {s}")
    horiz = "left" if cx < size / 3 else ("right" if cx > 2 * size / 3 else "centre")
    vert = "top" if cy < size / 3 else ("bottom" if cy > 2 * size / 3 else "middle")
    return img, {"size": size_name, "background": background, "horiz": horiz, "vert": vert, "clutter": clutter}


# Words for each colour and shape: captions (and queries) use any of them, so a class is named many ways.
COLOUR_WORDS = {
    "red": ("red", "crimson", "scarlet"),
    "blue": ("blue", "cobalt", "sapphire"),
    "green": ("green", "emerald", "grass green"),
    "yellow": ("yellow", "golden", "lemon"),
    "purple": ("purple", "violet", "lilac"),
    "orange": ("orange", "tangerine", "amber"),
    "white": ("white", "ivory", "snow white"),
    "cyan": ("cyan", "turquoise", "aqua"),
}
SHAPE_WORDS = {
    "circle": ("circle", "disc", "round dot"),
    "square": ("square", "box", "block"),
    "triangle": ("triangle", "wedge", "three sided shape"),
    "star": ("star", "five pointed star", "starburst"),
    "diamond": ("diamond", "rhombus", "lozenge"),
    "cross": ("cross", "plus sign", "plus"),
    "ring": ("ring", "hoop", "donut"),
    "hexagon": ("hexagon", "six sided shape", "honeycomb cell"),
}
SIZE_WORDS = {
    "small": ("small", "tiny", "little"),
    "medium": ("medium", "mid sized", "average"),
    "large": ("large", "big", "huge"),
}

# Phrasings of the image-caption set (CLIP and the prior train on these) ...
CAPTION_TEMPLATES = (
    "a {colour} {shape}",
    "a {size} {colour} {shape}",
    "a {colour} {shape} on a {background} background",
    "a photo of a {colour} {shape}",
    "a picture of a {size} {colour} {shape}",
    "{colour} {shape}",
    "a {colour} {shape} at the {vert} {horiz}",
    "there is a {colour} {shape} in the image",
    "an image showing a {size} {colour} {shape} on {background}",
    "a {shape} coloured {colour}",
    "a {background} scene with a {colour} {shape}",
    "close up of a {colour} {shape} {clutter}",
    "a {size} {shape}, {colour}, near the {vert}",
    "drawing of a {colour} {shape} over {background}",
)
# ... and held-out phrasings, used only for evaluation queries (never seen in training).
QUERY_TEMPLATES = (
    "the {colour} {shape}",
    "one {size} {colour} {shape}",
    "a {colour} {shape} is shown",
    "this is a {colour} {shape}",
    "look at the {colour} {shape} on {background}",
    "a {colour} {shape} sitting at the {horiz}",
    "just a {colour} {shape}",
    "some {colour} {shape} {clutter}",
)
CLUTTER_WORDS = ("and nothing else", "with a grey spot", "among grey spots")


def _fill(template: str, concept: Concept, attrs: dict, rng: np.random.Generator) -> str:
    def pick(words: tuple[str, ...]) -> str:
        """One of ``words`` at random."""
        return str(words[int(rng.integers(len(words)))])

    return template.format(
        colour=pick(COLOUR_WORDS[concept.colour]),
        shape=pick(SHAPE_WORDS[concept.shape]),
        size=pick(SIZE_WORDS[attrs["size"]]),
        background=attrs["background"],
        vert=attrs["vert"],
        horiz=attrs["horiz"],
        clutter=CLUTTER_WORDS[min(2, int(attrs.get("clutter", 0)))],
    )


def caption_for(concept: Concept, attrs: dict, rng: np.random.Generator) -> str:
    """A training caption of an image of ``concept`` with attributes ``attrs`` (random phrasing and words)."""
    return _fill(CAPTION_TEMPLATES[int(rng.integers(len(CAPTION_TEMPLATES)))], concept, attrs, rng)


def query_captions(label: int, k: int, seed: int = 0) -> list[str]:
    """``k`` distinct evaluation queries for class ``label``, in held-out phrasings (QUERY_TEMPLATES) with
    random words and attributes; deterministic in ``seed``, independent of the training captions."""
    rng = np.random.default_rng([seed, label])
    concept, out, tries = CONCEPTS[label], [], 0
    while len(out) < k and tries < 100 * k:
        tries += 1
        attrs = {
            "size": str(rng.choice(list(SIZES))),
            "background": str(rng.choice(list(BACKGROUNDS))),
            "horiz": str(rng.choice(["left", "centre", "right"])),
            "vert": str(rng.choice(["top", "middle", "bottom"])),
            "clutter": int(rng.integers(3)),
        }
        q = _fill(QUERY_TEMPLATES[int(rng.integers(len(QUERY_TEMPLATES)))], concept, attrs, rng)
        if q not in out:
            out.append(q)
    return out


# ------------------------------------------------------------------------------------------------ audio
def synth_sound(label: int, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """The sound tied to concept ``label``: ``n`` samples with random pitch, timing and level."""
    t = np.arange(n) / sr
    dur = n / sr
    name = CONCEPTS[label].sound
    if name == "low sine tone":
        f = rng.uniform(150, 300)
        onset = rng.uniform(0, 0.2)
        env = np.clip((t - onset) / 0.03, 0, 1) * np.exp(-np.maximum(t - onset, 0) * rng.uniform(0.2, 1.0))
        y = np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)
    elif name == "square-wave beeps":
        f = rng.uniform(500, 900)
        rate = rng.uniform(3, 6)
        phase = rng.uniform(0, 1)
        env = ((t * rate + phase) % 1.0 < 0.45).astype(float)
        y = np.sign(np.sin(2 * np.pi * f * t)) * 0.6
    elif name == "rising chirp":
        f0 = rng.uniform(300, 600)
        f1 = f0 * rng.uniform(3, 5)
        inst = f0 + (f1 - f0) * (t / dur)
        y = np.sin(2 * np.pi * np.cumsum(inst) / sr)
        env = np.minimum(1, t / 0.05) * np.minimum(1, (dur - t) / 0.05)
    elif name == "noise drum hits":
        y = rng.standard_normal(n)
        env = np.zeros(n)
        k = int(rng.integers(3, 6))
        for on in np.sort(rng.uniform(0, dur - 0.1, k)):
            env += np.exp(-np.maximum(t - on, 0) * 30) * (t >= on)
    elif name == "high tremolo tone":
        f = rng.uniform(1500, 2500)
        y = np.sin(2 * np.pi * f * t)
        env = 0.55 + 0.45 * np.sin(2 * np.pi * rng.uniform(8, 14) * t)
    elif name == "sawtooth buzz":
        f = rng.uniform(90, 160)
        y = 2 * ((t * f) % 1.0) - 1
        on, off = rng.uniform(0, 0.3), rng.uniform(0.7, 1.0) * dur
        env = ((t >= on) & (t <= off)).astype(float) * 0.6
    elif name == "decaying bell":
        f = rng.uniform(600, 1100)
        on = rng.uniform(0, 0.4)
        tt = np.maximum(t - on, 0)
        y = sum(a * np.sin(2 * np.pi * f * m * tt) for a, m in ((1, 1), (0.6, 2.76), (0.4, 5.4), (0.25, 8.93)))
        env = np.exp(-tt * rng.uniform(3, 6)) * (t >= on)
    elif name == "filtered noise wind":
        y = rng.standard_normal(n)
        spec = np.fft.rfft(y)
        freqs = np.fft.rfftfreq(n, 1 / sr)
        fc = rng.uniform(3000, 5000)
        spec *= np.exp(-0.5 * ((freqs - fc) / 500) ** 2)
        y = np.fft.irfft(spec, n)
        env = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t + rng.uniform(0, 6))
    else:  # pragma: no cover
        raise ConfigError(f"unknown sound {name}")
    y = y * env
    y = y / (np.abs(y).max() + 1e-8) * rng.uniform(0.3, 0.8)
    y = y + rng.standard_normal(n) * 0.003  # a little background noise
    return y.astype(np.float32)


# ------------------------------------------------------------------------------------------------ video
def write_video(path: Path, frames: list[np.ndarray], fps: int, audio: np.ndarray | None, sr: int) -> Path:
    """Write RGB uint8 frames (and mono float audio, if given) to an MP4 file atomically (PyAV)."""
    import av

    with atomic_path(path) as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            vs = container.add_stream("mpeg4", rate=fps)
            vs.width, vs.height = frames[0].shape[1], frames[0].shape[0]
            vs.pix_fmt = "yuv420p"
            vs.bit_rate = 400_000
            as_ = None
            if audio is not None:
                as_ = container.add_stream("aac", rate=sr)
                as_.layout = "mono"
            for fr in frames:
                for packet in vs.encode(av.VideoFrame.from_ndarray(fr, format="rgb24")):
                    container.mux(packet)
            for packet in vs.encode():
                container.mux(packet)
            if as_ is not None:
                frame = av.AudioFrame.from_ndarray(audio.astype(np.float32)[None, :], format="fltp", layout="mono")
                frame.sample_rate = sr
                frame.pts = 0
                for packet in as_.encode(frame):
                    container.mux(packet)
                for packet in as_.encode():
                    container.mux(packet)
    return path


def make_video(label: int, rng: np.random.Generator, image_size: int, n_frames: int, n_samples: int, sr: int):
    """Frames (the shape drifting slightly) and audio of one video of concept ``label``."""
    concept = CONCEPTS[label]
    seed = int(rng.integers(2**31))
    size_name = str(rng.choice(list(SIZES)))
    background = str(rng.choice(list(BACKGROUNDS)))
    r = SIZES[size_name][1] * image_size / 2
    c0 = np.array([rng.uniform(r, image_size - r), rng.uniform(r, image_size - r)])
    drift = rng.uniform(-0.08, 0.08, 2) * image_size
    frames = []
    for i in range(n_frames):
        c = np.clip(c0 + drift * i / max(1, n_frames - 1), r, image_size - r)
        img, _ = draw_concept(concept, image_size, np.random.default_rng(seed), size_name, background, (c[0], c[1]))
        frames.append(np.asarray(img))
    return frames, synth_sound(label, n_samples, sr, rng)


def synthesize(
    out_dir: str | Path,
    videos_per_class: int = 40,
    caption_images: int = 4000,
    image_size: int = 64,
    fps: int = 8,
    seconds: float = 1.1,
    sample_rate: int = 16000,
    split: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    overwrite: bool = False,
) -> Path:
    """Write ``out_dir/videos/*.mp4``, ``labels.csv`` (file,label,class_name,split: evaluation only),
    ``captions/*.png`` + ``captions.csv`` (file,caption,label) and ``concepts.json``."""
    out = Path(out_dir)
    if (out / "labels.csv").exists() and not overwrite:
        raise ConfigError(f"{out} already holds a synthetic set; pass overwrite=true to replace it")
    if videos_per_class < 1 or caption_images < 1:
        raise ConfigError("videos_per_class and caption_images must be >= 1")
    rng = np.random.default_rng(seed)
    n_frames = max(1, int(round(fps * seconds)))
    n_samples = int(round(seconds * sample_rate))
    rows = []
    for label in range(len(CONCEPTS)):
        n_train = int(round(videos_per_class * split[0]))
        n_valid = int(round(videos_per_class * split[1]))
        for k in range(videos_per_class):
            part = "train" if k < n_train else ("valid" if k < n_train + n_valid else "test")
            name = f"videos/{CONCEPTS[label].name.replace(' ', '_')}_{k:04d}.mp4"
            frames, audio = make_video(label, rng, image_size, n_frames, n_samples, sample_rate)
            write_video(out / name, frames, fps, audio, sample_rate)
            rows.append((name, label, CONCEPTS[label].name, part))
    with atomic_path(out / "labels.csv") as tmp, open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "label", "class_name", "split"])
        w.writerows(rows)
    caps = []
    (out / "captions").mkdir(parents=True, exist_ok=True)
    for i in range(caption_images):
        label = int(rng.integers(len(CONCEPTS)))
        img, attrs = draw_concept(CONCEPTS[label], image_size, rng)
        name = f"captions/{i:06d}.png"
        img.save(out / name)
        caps.append((name, caption_for(CONCEPTS[label], attrs, rng), label))
    with atomic_path(out / "captions.csv") as tmp, open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "caption", "label"])
        w.writerows(caps)
    atomic_write_text(
        out / "concepts.json",
        json.dumps(
            [
                {"label": i, "name": c.name, "colour": c.colour, "shape": c.shape, "sound": c.sound}
                for i, c in enumerate(CONCEPTS)
            ],
            indent=1,
        ),
    )
    return out


def run(cfg: DictConfig) -> Path:
    """Write the set a ``synthesize`` config describes; returns its folder."""
    out = synthesize(
        cfg.out_dir,
        cfg.videos_per_class,
        cfg.caption_images,
        cfg.image_size,
        cfg.fps,
        cfg.seconds,
        cfg.sample_rate,
        tuple(cfg.split),
        cfg.seed,
        cfg.overwrite,
    )
    print(f"wrote {cfg.videos_per_class * len(CONCEPTS)} videos and {cfg.caption_images} captioned images to {out}")
    return out


main = entry_point("clipsonic", "synthesize")(run)

if __name__ == "__main__":
    main()
