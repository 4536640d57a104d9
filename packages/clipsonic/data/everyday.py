"""A world of everyday sound events ("dog barking", "siren wailing", ...): real MP4 videos whose frames show the
source as a pictogram (moving, over cluttered backgrounds) and whose audio is the event synthesized
procedurally (:mod:`clipsonic.data.sound_events`) at a random rate, pitch and loudness over background noise;
some training clips hold a second, quieter source (both labels recorded, its pictogram drawn smaller). Also
writes an image-caption set in paraphrases (5 phrases per event x 12 templates) for the stand-in CLIP and the
prior; :func:`query_captions` gives evaluation queries in 8 further templates that no caption uses.

    python -m clipsonic.data.everyday                              # outputs/clipsonic/data/everyday
    python -m clipsonic.data.everyday videos_per_class=4 caption_images=300 out_dir=/tmp/everyday

``labels.csv`` (file,label,class_name,split,label2,class_name2; label2 -1 for one source) is for splitting and
evaluation only; the test split holds one source per clip, so that its class is well defined.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig
from PIL import Image

from clipsonic.data.pictograms import BACKGROUNDS, SIZES, background, pictogram, place
from clipsonic.data.sound_events import mix_clip
from clipsonic.data.synthesize import write_video
from gm_common.cli import entry_point
from gm_common.errors import ConfigError
from gm_common.files import atomic_path, atomic_write_text


@dataclass(frozen=True)
class Event:
    """A sound event: its class name (as people query it) and the phrases training captions call it by."""

    name: str
    phrases: tuple[str, ...]


EVENTS: tuple[Event, ...] = (
    Event("dog barking", ("a dog barking", "a barking dog", "a dog barks", "a puppy yapping", "a hound barking")),
    Event(
        "siren wailing",
        ("a siren wailing", "a wailing siren", "an ambulance siren", "a police siren blaring", "an emergency siren"),
    ),
    Event(
        "church bell ringing",
        ("a church bell ringing", "a ringing church bell", "church bells chiming", "a bell tolling", "a big bell"),
    ),
    Event(
        "rain falling", ("rain falling", "falling rain", "rain pouring down", "a rain shower", "raindrops pattering")
    ),
    Event(
        "birds chirping",
        ("birds chirping", "chirping birds", "birds singing", "songbirds tweeting", "little birds twittering"),
    ),
    Event(
        "car engine idling",
        ("a car engine idling", "an idling car engine", "a car motor running", "an engine at idle", "a parked car"),
    ),
    Event(
        "clock ticking", ("a clock ticking", "a ticking clock", "a clock going tick tock", "a wall clock", "a clock")
    ),
    Event(
        "thunder rumbling",
        ("thunder rumbling", "rumbling thunder", "a thunderclap", "thunder in a storm", "lightning and thunder"),
    ),
    Event(
        "knocking on a door",
        (
            "someone knocking on a door",
            "a knock at the door",
            "knocking on a wooden door",
            "a door being knocked",
            "knuckles rapping on a door",
        ),
    ),
    Event("water dripping", ("water dripping", "dripping water", "a dripping tap", "a leaky faucet", "drops of water")),
    Event(
        "phone ringing", ("a phone ringing", "a ringing phone", "a telephone ringing", "an old telephone", "a phone")
    ),
    Event("cat meowing", ("a cat meowing", "a meowing cat", "a cat meows", "a kitten mewing", "a cat crying")),
)
CLASS_NAMES = [e.name for e in EVENTS]
SIZE_WORDS = {"small": ("small", "tiny"), "medium": ("medium sized", "mid sized"), "large": ("large", "big")}
CLUTTER_WORDS = ("some clutter", "scattered shapes", "a messy background")

# Phrasings of the image-caption set (CLIP and the prior train on these) ...
CAPTION_TEMPLATES = (
    "{phrase}",
    "a photo of {phrase}",
    "a picture of {phrase}",
    "{phrase} on a {background} background",
    "a {size} drawing of {phrase}",
    "an icon of {phrase} at the {horiz}",
    "there is {phrase} in the image",
    "{phrase} with {clutter}",
    "a cartoon of {phrase}",
    "a sketch showing {phrase} near the {vert}",
    "{phrase}, {size}",
    "a {background} scene with {phrase}",
)
PAIR_TEMPLATES = ("{phrase} and {phrase2}", "a picture of {phrase} next to {phrase2}", "{phrase} with {phrase2}")
# ... and held-out phrasings, used only for evaluation queries (never seen in training).
QUERY_TEMPLATES = (
    "the sound of {phrase}",
    "listen to {phrase}",
    "{phrase} nearby",
    "what {phrase} sounds like",
    "a recording of {phrase}",
    "{phrase} heard from the {horiz}",
    "i can hear {phrase}",
    "noise of {phrase} in a {background} room",
)


def _fill(template: str, label: int, attrs: dict, rng: np.random.Generator, label2: int = -1) -> str:
    def pick(words: tuple[str, ...]) -> str:
        """One of ``words`` at random."""
        return str(words[int(rng.integers(len(words)))])

    return template.format(
        phrase=pick(EVENTS[label].phrases),
        phrase2=pick(EVENTS[label2].phrases) if label2 >= 0 else "",
        size=pick(SIZE_WORDS[attrs["size"]]),
        background=attrs["background"],
        horiz=attrs["horiz"],
        vert=attrs["vert"],
        clutter=pick(CLUTTER_WORDS),
    )


def caption_for(label: int, attrs: dict, rng: np.random.Generator, label2: int = -1) -> str:
    """A training caption of an image of event ``label`` (and ``label2``, if any) with attributes ``attrs``."""
    templates = PAIR_TEMPLATES if label2 >= 0 else CAPTION_TEMPLATES
    return _fill(templates[int(rng.integers(len(templates)))], label, attrs, rng, label2)


def query_captions(label: int, k: int, seed: int = 0) -> list[str]:
    """``k`` distinct evaluation queries for event ``label`` in held-out phrasings (QUERY_TEMPLATES);
    deterministic in ``seed``, independent of the training captions."""
    rng = np.random.default_rng([seed, label])
    out: list[str] = []
    for _ in range(100 * k):
        if len(out) == k:
            break
        attrs = {
            "size": str(rng.choice(list(SIZES))),
            "background": str(rng.choice(list(BACKGROUNDS))),
            "horiz": str(rng.choice(["left", "centre", "right"])),
            "vert": str(rng.choice(["top", "middle", "bottom"])),
        }
        q = _fill(QUERY_TEMPLATES[int(rng.integers(len(QUERY_TEMPLATES)))], label, attrs, rng)
        if q not in out:
            out.append(q)
    return out


# ----------------------------------------------------------------------------------------------- scenes
@dataclass
class Scene:
    """A background and the pictograms on it, and how they move: ``frame(u)`` draws time ``u`` in [0, 1]."""

    backdrop: Image.Image
    pictures: list[Image.Image]
    starts: list[np.ndarray]
    drifts: list[np.ndarray]
    wobble: tuple[float, float, float]  # tilt amplitude (degrees), wobbles per clip, phase
    attrs: dict

    def frame(self, u: float) -> np.ndarray:
        """The scene at time ``u`` (0 = first frame, 1 = last) as uint8 RGB [H, W, 3]."""
        img = self.backdrop.copy()
        amp, cycles, phase = self.wobble
        for k, (pic, start, drift) in enumerate(zip(self.pictures, self.starts, self.drifts)):
            tilt = amp * np.sin(2 * np.pi * cycles * u + phase + k)
            place(img, pic, tuple(start + drift * u), tilt)
        return np.asarray(img)


def make_scene(labels: list[int], size: int, rng: np.random.Generator) -> Scene:
    """A random scene of the events ``labels`` (the first large, a second one at 55 % of its size)."""
    size_name = str(rng.choice(list(SIZES)))
    bg = str(rng.choice(list(BACKGROUNDS)))
    side = rng.uniform(*SIZES[size_name]) * size
    pictures, starts, drifts = [], [], []
    for k, label in enumerate(labels):
        s = side * (1.0 if k == 0 else 0.55)
        half = s / 2
        lo, hi = half * 0.8, size - half * 0.8
        centre = rng.uniform(lo, hi, 2)
        if k == 1:  # away from the first source, so that both stay visible
            centre = np.clip(size - starts[0] + rng.uniform(-0.1, 0.1, 2) * size, lo, hi)
        drift = rng.uniform(-0.12, 0.12, 2) * size
        pictures.append(pictogram(EVENTS[label].name, max(8, int(round(s))), rng))
        starts.append(centre)
        drifts.append(np.clip(centre + drift, lo, hi) - centre)
    cx, cy = starts[0]
    attrs = {
        "size": size_name,
        "background": bg,
        "horiz": "left" if cx < size / 3 else ("right" if cx > 2 * size / 3 else "centre"),
        "vert": "top" if cy < size / 3 else ("bottom" if cy > 2 * size / 3 else "middle"),
    }
    wobble = (float(rng.uniform(3, 15)), float(rng.uniform(0.5, 2)), float(rng.uniform(0, 2 * np.pi)))
    return Scene(background(size, bg, rng), pictures, starts, drifts, wobble, attrs)


def make_clip(
    labels: list[int], rng: np.random.Generator, image_size: int, n_frames: int, n_samples: int, sr: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """Frames (the pictograms drifting and tilting) and audio (the events mixed) of one clip of ``labels``."""
    scene = make_scene(labels, image_size, rng)
    frames = [scene.frame(i / max(1, n_frames - 1)) for i in range(n_frames)]
    return frames, mix_clip([EVENTS[k].name for k in labels], n_samples, sr, rng)


# ----------------------------------------------------------------------------------------------- the set
def _write_csv(path: Path, header: list[str], rows: list[tuple]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def _second_source(label: int, rng: np.random.Generator) -> int:
    """Another event than ``label``, at random."""
    return int((label + rng.integers(1, len(EVENTS))) % len(EVENTS))


def synthesize(
    out_dir: str | Path,
    *,
    videos_per_class: int,
    caption_images: int,
    image_size: int,
    fps: int,
    seconds: float,
    sample_rate: int,
    split: tuple[float, float, float],
    mix_fraction: float,
    seed: int,
    overwrite: bool,
) -> Path:
    """Write ``out_dir/videos/*.mp4``, ``labels.csv``, ``captions/*.png`` + ``captions.csv``
    (file,caption,label) and ``events.json``; ``mix_fraction`` of the train/valid clips and caption images
    hold a second source."""
    out = Path(out_dir)
    if (out / "labels.csv").exists() and not overwrite:
        raise ConfigError(f"{out} already holds a set; pass overwrite=true to replace it")
    if videos_per_class < 1 or caption_images < 1:
        raise ConfigError("videos_per_class and caption_images must be >= 1")
    if seconds < 2.0:
        raise ConfigError(f"clips of the everyday world last at least 2 s (seconds={seconds})")
    rng = np.random.default_rng(seed)
    n_frames, n_samples = max(1, int(round(fps * seconds))), int(round(seconds * sample_rate))
    n_train, n_valid = int(round(videos_per_class * split[0])), int(round(videos_per_class * split[1]))
    rows = []
    for label, event in enumerate(EVENTS):
        for k in range(videos_per_class):
            part = "train" if k < n_train else ("valid" if k < n_train + n_valid else "test")
            labels = [label]
            if part != "test" and rng.random() < mix_fraction:
                labels.append(_second_source(label, rng))
            name = f"videos/{event.name.replace(' ', '_')}_{k:04d}.mp4"
            frames, audio = make_clip(labels, rng, image_size, n_frames, n_samples, sample_rate)
            write_video(out / name, frames, fps, audio, sample_rate)
            second = labels[1] if len(labels) > 1 else -1
            rows.append((name, label, event.name, part, second, EVENTS[second].name if second >= 0 else ""))
    _write_csv(out / "labels.csv", ["file", "label", "class_name", "split", "label2", "class_name2"], rows)
    (out / "captions").mkdir(parents=True, exist_ok=True)
    caps = []
    for i in range(caption_images):
        label = int(rng.integers(len(EVENTS)))
        labels = [label, _second_source(label, rng)] if rng.random() < mix_fraction else [label]
        scene = make_scene(labels, image_size, rng)
        name = f"captions/{i:06d}.png"
        Image.fromarray(scene.frame(float(rng.uniform()))).save(out / name)
        caps.append((name, caption_for(label, scene.attrs, rng, labels[1] if len(labels) > 1 else -1), label))
    _write_csv(out / "captions.csv", ["file", "caption", "label"], caps)
    atomic_write_text(
        out / "events.json", json.dumps([{"label": i, "name": e.name} for i, e in enumerate(EVENTS)], indent=1)
    )
    return out


def run(cfg: DictConfig) -> Path:
    """Write the set a ``synthesize_everyday`` config describes; returns its folder."""
    out = synthesize(
        cfg.out_dir,
        videos_per_class=int(cfg.videos_per_class),
        caption_images=int(cfg.caption_images),
        image_size=int(cfg.image_size),
        fps=int(cfg.fps),
        seconds=float(cfg.seconds),
        sample_rate=int(cfg.sample_rate),
        split=tuple(cfg.split),
        mix_fraction=float(cfg.mix_fraction),
        seed=int(cfg.seed),
        overwrite=bool(cfg.overwrite),
    )
    print(f"wrote {cfg.videos_per_class * len(EVENTS)} videos and {cfg.caption_images} captioned images to {out}")
    return out


main = entry_point("clipsonic", "synthesize_everyday")(run)

if __name__ == "__main__":
    main()
