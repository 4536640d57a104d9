"""The harmony model of adding a part: its features, its fit, its file, and the sampler drawing pitches with it."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from gm_common.errors import CheckpointError, ConfigError
from mmt.harmony import (
    HARMONY_FILE,
    HarmonyGuide,
    fit_harmony,
    interval_matrix,
    load_harmony,
    run,
    save_harmony,
    span_chroma,
)
from mmt.representation import F_DURATION, F_PITCH, TYPE_NOTE, Encoding
from mmt.sampling import FieldSampler, SamplingConfig

ENC = Encoding(max_beat=32)
FIFTH = 7


def rows(*notes: tuple[int, int, int, int, int]) -> np.ndarray:
    """Encoded note rows (beat, position, pitch, duration code, instrument code)."""
    return np.array(notes, dtype=np.int64).reshape(-1, 5)


def beat_code(beats: int) -> int:
    """The duration code of a whole number of beats."""
    return int(np.nonzero(ENC.duration_values == beats * ENC.resolution)[0][0]) + 1


def test_span_chroma_is_the_fraction_of_the_span_each_class_sounds():
    others = np.array([[0, 6, 60], [6, 6, 64]])  # C for half a beat, then E (ticks: time, duration, pitch)
    chroma = span_chroma(others, np.array([0, 0, 6]), np.array([12, 6, 24]))
    assert chroma[0, 0] == chroma[0, 4] == 0.5
    assert chroma[1, 0] == 1.0 and chroma[1, 4] == 0.0
    assert chroma[2, 4] == pytest.approx(6 / 18) and chroma[2].sum() == pytest.approx(6 / 18)


def test_interval_matrix_scores_each_class_by_its_interval_above_the_sounding_one():
    weights = torch.arange(12.0)
    m = interval_matrix(weights)
    assert m[0, 7] == 7 and m[7, 0] == 5 and m[11, 0] == 1 and torch.equal(m.diagonal(), torch.zeros(12))


def test_the_fit_learns_the_interval_the_parts_keep():
    rng = np.random.default_rng(0)
    pieces = []
    for _ in range(5):
        low = rng.integers(48, 60, size=16)
        beats = np.arange(16)
        one = rows(*[(b, 0, p, beat_code(1), 1) for b, p in zip(beats, low)])
        two = rows(*[(b, 0, p + FIFTH, beat_code(1), 2) for b, p in zip(beats, low)])
        pieces.append(np.concatenate([one, two]))
    weights, notes = fit_harmony(pieces, ENC)
    assert notes == 5 * 16 * 2  # each note of each part against the other
    assert int(weights.argmax()) in (FIFTH, 12 - FIFTH)  # a fifth above the lower part, a fourth above the upper


def test_the_fit_needs_parts_that_sound_together():
    with pytest.raises(ConfigError, match="two or more parts"):
        fit_harmony([rows((0, 0, 60, beat_code(1), 1))], ENC)


def test_the_file_round_trips_and_a_damaged_one_is_a_clear_error(tmp_path):
    weights = torch.linspace(-1, 1, 12)
    path = save_harmony(tmp_path / HARMONY_FILE, weights, 10, "train")
    assert torch.equal(load_harmony(path), weights)
    path.write_bytes(b"not a file")
    with pytest.raises(CheckpointError):
        load_harmony(path)


def test_the_guide_scores_pitch_codes_by_the_chord_under_the_note():
    chord = rows((2, 0, 60, beat_code(2), 1), (2, 0, 64, beat_code(2), 1), (2, 0, 67, beat_code(2), 1))
    weights = torch.zeros(12)
    weights[[0, 3, 4, 7, 8, 9]] = 1.0
    guide = HarmonyGuide(chord, weights, 2.0, ENC)
    bias = guide.bias(torch.tensor([3, 1]), torch.tensor([1, 1]), torch.tensor([beat_code(1), beat_code(1)]))
    c, e, g, c_sharp = (p + 1 for p in (48, 52, 55, 49))  # codes are pitches + 1
    assert bias[0, c] > bias[0, c_sharp] and bias[0, e] > bias[0, c_sharp] and bias[0, g] > bias[0, c_sharp]
    assert bias[0, c] == bias[0, c + 12]  # the same class in another octave
    assert torch.equal(bias[1], torch.zeros(129))  # beat 0: nothing sounds


def test_the_sampler_draws_pitches_consonant_with_the_chord_at_the_onset_it_drew():
    chord = rows((0, 0, 60, beat_code(4), 1), (0, 0, 64, beat_code(4), 1), (0, 0, 67, beat_code(4), 1),
                 (4, 0, 62, beat_code(4), 1), (4, 0, 65, beat_code(4), 1), (4, 0, 69, beat_code(4), 1))  # fmt: skip
    weights = torch.full((12,), -1.0)
    weights[[0, 3, 4, 7, 8, 9]] = 1.0
    prompt = torch.tensor([[0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 0]])[None].repeat(64, 1, 1)
    logits = torch.zeros(64, sum(ENC.vocab_sizes))
    logits[:, sum(ENC.vocab_sizes[:F_DURATION]) + beat_code(1)] = 50.0  # notes of a beat: one chord under each
    generator = torch.Generator().manual_seed(0)
    cfg = SamplingConfig(filter_threshold=0.0, min_p=0.0, max_beat_advance=None)
    drawn = {}
    for scale in (0.0, 8.0):
        sampler = FieldSampler(ENC.vocab_sizes, cfg, prompt, harmony=HarmonyGuide(chord, weights, scale, ENC))
        codes = sampler.sample(logits, torch.rand(64, 8, 1, generator=generator))
        notes = codes[codes[:, 0] == TYPE_NOTE]
        onset = (notes[:, 1] - 1) * ENC.resolution + notes[:, 2] - 1
        sounding = np.where(onset.numpy() < 4 * ENC.resolution, 0, 2)  # the pitch class of the chord's root
        sounding = np.where(onset.numpy() < 8 * ENC.resolution, sounding, -1)  # after beat 8: nothing sounds
        pc = (notes[:, F_PITCH].numpy() - 1) % 12
        heard = sounding >= 0
        drawn[scale] = np.isin((pc[heard] - sounding[heard]) % 12, [0, 3, 4, 7, 8, 9]).mean()
    assert drawn[8.0] > 0.95 > 0.8 > drawn[0.0]


def test_the_command_fits_a_run_and_writes_beside_its_split(infill_run, tmp_path, capsys):
    from gm_common.cli import compose
    from gm_common.files import OutputExistsError

    written = infill_run / HARMONY_FILE  # by mmt.train as the run ended
    before = load_harmony(written)
    with pytest.raises(OutputExistsError, match="overwrite=true"):
        run(compose("mmt", "harmony", [f"checkpoint={infill_run}"]))
    assert run(compose("mmt", "harmony", [f"checkpoint={infill_run}", "overwrite=true"])) == written
    assert torch.allclose(load_harmony(written), before, atol=1e-4)  # the fit the training run made
    assert '"notes"' in capsys.readouterr().out
    alone = tmp_path / "alone.ckpt"
    shutil.copy(infill_run / "checkpoints" / "last.ckpt", alone)
    with pytest.raises(ConfigError, match="split.json"):
        run(compose("mmt", "harmony", [f"checkpoint={alone}"]))
