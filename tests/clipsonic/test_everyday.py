"""The world of everyday sound events (data=everyday): its set on disk (real MP4s, both labels of a mixture,
captions), captions against held-out queries, and the tiny pipeline trained a few steps and used on it."""

import csv
import json

import av
import numpy as np
import pytest
from omegaconf import OmegaConf

from clipsonic.data import everyday
from clipsonic.data.everyday import CLASS_NAMES, EVENTS, caption_for, query_captions
from clipsonic.data.pictograms import PICTOGRAMS, SIZES, pictogram
from clipsonic.data.sound_events import SOUNDS
from gm_common.cli import compose
from gm_common.errors import ConfigError
from tests.clipsonic.conftest import CLIP_TINY, PRIOR_TINY, TRAINER_TINY

REQUIRED = {"dog barking", "siren wailing", "church bell ringing", "rain falling", "birds chirping",
            "car engine idling", "clock ticking", "thunder rumbling", "knocking on a door", "water dripping",
            "phone ringing", "cat meowing"}  # fmt: skip
SYNTH_TINY = ["videos_per_class=3", "caption_images=96", "image_size=32", "fps=4", "split=[0.34,0.33,0.33]",
              "mix_fraction=0.5"]  # fmt: skip
UNET_TINY = [
    "model.unet.block_out_channels=[8,16,16]",
    "model.unet.norm_num_groups=4",
    "model.unet.attention_head_dim=8",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny everyday world under a fresh root, with CLIP, prior, diffusion model and vocoder trained 2 steps."""
    from clipsonic import train, train_clip, train_prior, train_vocoder

    root = tmp_path_factory.mktemp("everyday")
    everyday.run(compose("clipsonic", "synthesize_everyday", [f"root={root}", *SYNTH_TINY]))
    common = [f"root={root}", "data=everyday_tiny", *CLIP_TINY, *TRAINER_TINY]
    train_clip.run(compose("clipsonic", "train_clip", [*common, "data.batch_size=8"]))
    train_prior.run(compose("clipsonic", "train_prior", [*common, *PRIOR_TINY]))
    train.run(compose("clipsonic", "train", [*common, *UNET_TINY]))
    vocoder = ["data.batch_size=4", "model.channels=16", "model.blocks=1"]
    train_vocoder.run(
        compose("clipsonic", "train_vocoder", [f"root={root}", "data=everyday_tiny", *TRAINER_TINY, *vocoder])
    )
    return root


def test_the_events_people_query():
    assert REQUIRED <= set(CLASS_NAMES) and len(set(CLASS_NAMES)) == len(CLASS_NAMES)
    assert set(SOUNDS) == set(PICTOGRAMS) == set(CLASS_NAMES)
    drawings = [np.asarray(pictogram(n, 48, np.random.default_rng(0))) for n in CLASS_NAMES]
    assert all(d[..., 3].mean() > 0.1 * 255 for d in drawings)  # each covers a tenth of its box or more
    pairs = [np.abs(a.astype(int) - b.astype(int)).mean() for i, a in enumerate(drawings) for b in drawings[i + 1 :]]
    assert min(pairs) > 20  # and no two look alike


def test_no_query_is_a_training_caption():
    rng = np.random.default_rng(0)
    captions = set()
    for _ in range(20000):
        attrs = {"size": str(rng.choice(list(SIZES))), "background": "dark", "horiz": "left", "vert": "top"}
        label = int(rng.integers(len(EVENTS)))
        captions.add(caption_for(label, attrs, rng, -1 if rng.random() < 0.7 else (label + 1) % len(EVENTS)))
    queries = [q for k in range(len(EVENTS)) for q in query_captions(k, 40)]
    assert len(queries) == len(set(queries)) == 40 * len(EVENTS)
    assert not captions & set(queries)
    assert query_captions(3, 5, seed=0) == query_captions(3, 5, seed=0) != query_captions(3, 5, seed=1)
    for k, event in enumerate(EVENTS):  # a query names its event in one of the caption words
        assert all(any(p in q for p in event.phrases) for q in query_captions(k, 10))


def test_set_on_disk(tiny):
    data = tiny / "data" / "everyday"
    rows = list(csv.DictReader(open(data / "labels.csv")))
    assert len(rows) == 3 * len(EVENTS) and [r["class_name"] for r in rows[::3]] == CLASS_NAMES
    assert {r["split"] for r in rows} == {"train", "valid", "test"}
    mixed = [r for r in rows if int(r["label2"]) >= 0]
    assert mixed and all(r["class_name2"] == CLASS_NAMES[int(r["label2"])] != r["class_name"] for r in mixed)
    assert all(int(r["label2"]) == -1 for r in rows if r["split"] == "test")  # one source per test clip
    captions = {r["caption"] for r in csv.DictReader(open(data / "captions.csv"))}
    assert len(captions) > 48 and not captions & {q for k in range(len(EVENTS)) for q in query_captions(k, 16)}
    with av.open(str(data / rows[0]["file"])) as container:  # a real MP4: 2.1 s at 4 fps, AAC audio
        assert container.format.name.startswith("mov,mp4")
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        container.seek(0)
        audio = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    assert len(frames) == round(4 * 2.1) and frames[0].shape == (32, 32, 3)
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 1  # the source moves
    assert audio.size >= 2.0 * 16000 and np.abs(audio).max() > 0.1


def test_clips_are_at_least_two_seconds(tmp_path):
    with pytest.raises(ConfigError, match="at least 2 s"):
        everyday.run(compose("clipsonic", "synthesize_everyday", [f"out_dir={tmp_path}", "seconds=1.5"]))


@pytest.mark.parametrize("vocoder", ["griffinlim", "vocoder/checkpoints/last.ckpt"])
def test_train_and_generate_on_the_world(tiny, tmp_path, vocoder):
    import soundfile as sf

    from clipsonic import generate

    vocoder = vocoder if vocoder == "griffinlim" else tiny / vocoder  # trained with the world's band (0-8 kHz)
    overrides = [f"root={tiny}", f"models={tiny}", "steps=2", "prompt=dog barking", "mode=pd", f"out_dir={tmp_path}"]
    out = generate.run(compose("clipsonic", "generate", [*overrides, f"vocoder={vocoder}"]))
    audio, sr = sf.read(out[0])
    assert sr == 16000 and audio.size == 127 * 256 and np.isfinite(audio).all() and np.abs(audio).max() > 0  # 2.03 s


@pytest.mark.slow  # ~50 s: 12 classes x 3 modes of 2 s clips through Griffin-Lim
def test_evaluate_on_the_world(tiny, tmp_path):
    """The judge and the evaluation take the world's classes and held-out queries from data=everyday."""
    from clipsonic import evaluate

    res = evaluate.run(compose("clipsonic", "evaluate", [
        f"root={tiny}", f"models={tiny}", "steps=2", "data=everyday_tiny", "per_class=1", "judge_steps=3",
        f"out_dir={tmp_path}"]))  # fmt: skip
    assert res["classes"] == CLASS_NAMES and res["table"]["chance"]["accuracy"] == 1 / len(EVENTS)
    assert res["example_queries"]["dog barking"] == query_captions(0, 1)
    assert all(res["table"][m]["n"] == len(EVENTS) for m in ("IQ", "ZS", "PD"))


@pytest.mark.slow  # ~35 s: the evaluation's judge trained 100 steps on 96 real clips
def test_the_judge_tells_the_events_apart():
    """The evaluation's audio classifier, trained on the world's real audio, names held-out clips' events."""
    from clipsonic.data.dataset import audio_to_mel
    from clipsonic.data.sound_events import mix_clip
    from clipsonic.judge import judge_audio, train_judge

    mel = OmegaConf.to_container(compose("clipsonic", "train", ["data=everyday_tiny"]).data.mel)  # 32 x 128
    rng = np.random.default_rng(0)
    mels = np.stack([[audio_to_mel(mix_clip([n], 127 * 256, 16000, rng), mel) for _ in range(12)] for n in CLASS_NAMES])
    fit, held_out = mels[:, :8].reshape(-1, 32, 128), mels[:, 8:].reshape(-1, 32, 128)
    class_text = np.eye(len(EVENTS), 16, dtype=np.float32)
    judge = train_judge(fit, np.repeat(np.arange(len(EVENTS)), 8), class_text, steps=100, log=lambda _: None)
    accuracy = (judge_audio(judge, held_out)["pred"] == np.repeat(np.arange(len(EVENTS)), 4)).mean()
    assert accuracy >= 0.85, accuracy


def test_prompt_benchmark_on_the_world(tiny, tmp_path):
    """``benchmarks/clipsonic_prompts.py``: every event's name as the prompt, each seed judged."""
    from tests.common.benchmarks import load_benchmark

    out = tmp_path / "prompts.json"
    res = load_benchmark("clipsonic_prompts").main([
        "--seeds", "2", "--steps", "2", "--out", str(out), f"root={tiny}", f"models={tiny}", "data=everyday_tiny",
        "judge_steps=3", f"out_dir={tmp_path}"])  # fmt: skip
    assert [r["prompt"] for r in res["rows"]] == CLASS_NAMES and all(r["n"] == 2 for r in res["rows"])
    assert res["settings"]["steps"] == 2 and res["settings"]["mode"] == "pd"  # generate's default mode
    assert json.loads(out.read_text())["target"] == res["target"]  # the verdict itself: test_prompts_benchmark.py
