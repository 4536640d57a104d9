"""REMI+ and MMM through MidiTok hold the notes MMT holds, in more tokens per note; their GPT-2 baselines train and
generate through mmt.train / mmt.generate."""

from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from transformers import GPT2LMHeadModel

from gm_common.checkpoint import resolve_checkpoint
from gm_common.cli import compose
from gm_common.errors import CheckpointError, ConfigError
from mmt import generate
from mmt.baselines import BASELINES, count_tokens, generate_tokens, load_baseline, score_of, tokenizer
from mmt.data import IGNORE_INDEX
from mmt.representation import Encoding

ENC = Encoding()


def _notes() -> np.ndarray:
    """Two bars of a violin (quarter notes) over a cello (half notes): 8 + 4 notes."""
    violin, cello = ENC.instrument_code("violin"), ENC.instrument_code("cello")
    quarter, half = int(ENC.duration_code(12)), int(ENC.duration_code(24))
    rows = [(b, 0, 60 + b, quarter, violin) for b in range(8)] + [(b, 0, 40 + b, half, cello) for b in range(0, 8, 2)]
    return np.array(sorted(rows), dtype=np.int64)


def test_the_score_holds_the_encoded_notes():
    score = score_of(_notes(), ENC)
    assert [t.program for t in score.tracks] == [40, 42] and [len(t.notes) for t in score.tracks] == [8, 4]
    assert score.tracks[1].notes[1].time == 2 * ENC.resolution and score.tracks[1].notes[1].duration == 24


def test_token_counts_of_the_three_representations():
    notes = _notes()
    assert count_tokens(notes, ENC, None) == (12 + 2 + 3, 12)  # a row per note, per instrument, and three more
    remi_plus = count_tokens(notes, ENC, tokenizer("remi_plus"))
    mmm = count_tokens(notes, ENC, tokenizer("mmm"))
    # REMI+: per note Program, Pitch, Duration; per onset a Position; per bar Bar and TimeSig
    assert remi_plus == (12 * 3 + 8 + 2 * 2, 12)
    assert mmm[1] == 12 and mmm[0] > 12 * 3
    with_velocity = count_tokens(notes, ENC, tokenizer("remi_plus", velocities=True))
    assert with_velocity == (remi_plus[0] + 12, 12)


def test_unknown_representation():
    with pytest.raises(ValueError, match="remi_plus, mmm"):
        tokenizer("mmt")


# -- the baselines trained and sampled through mmt.train / mmt.generate ----------------------------
@pytest.mark.parametrize("name", BASELINES)
def test_a_baseline_is_a_gpt2_of_the_mmt_models_size(baseline_runs, name):
    net, tok, hp = load_baseline(baseline_runs[name] / "checkpoints" / "last.ckpt", name)
    cfg, model = net.config, hp["model"]
    assert isinstance(net, GPT2LMHeadModel) and hp["representation"] == name and cfg.vocab_size == len(tok)
    assert (cfg.n_layer, cfg.n_embd, cfg.n_head, cfg.n_inner, cfg.n_positions) == (
        model["depth"], model["dim"], model["heads"], model["ff_mult"] * model["dim"], model["max_seq_len"]
    )  # fmt: skip
    assert hp["data"]["collections"] == ["bach_chorales"] and hp["data"]["limit"] == 12


def test_the_token_data_has_the_mmt_split_and_windows(tiny_train_cfg, tmp_path):
    cfg = tiny_train_cfg(tmp_path, extra=["representation=remi_plus"])
    encoding = Encoding(max_beat=cfg.encoding.max_beat, voices=cfg.encoding.voices)
    tokens = instantiate(cfg.data, _partial_=True, _convert_="all")(encoding=encoding)
    mmt = instantiate(tiny_train_cfg(tmp_path).data, _partial_=True, _convert_="all")(encoding=encoding)
    tokens.setup(), mmt.setup()
    assert tokens.music.splits == mmt.splits and len(tokens.music.splits["test"]) > 0
    batch = next(iter(tokens.val_dataloader()))
    tok = tokenizer("remi_plus")
    assert batch["ids"].shape[1] <= cfg.model.max_seq_len and (batch["ids"][:, 0] == tok["BOS_None"]).all()
    ends = batch["mask"].sum(1) - 1
    assert (batch["ids"][torch.arange(len(ends)), ends] == tok["EOS_None"]).all()
    assert (batch["labels"][batch["mask"] == 0] == IGNORE_INDEX).all()


@pytest.mark.parametrize("name", BASELINES)
def test_mmt_generate_samples_a_baseline_within_its_budget(baseline_runs, name, tmp_path):
    written = generate.run(compose("mmt", "generate", [f"representation={name}", f"checkpoint={baseline_runs[name]}",
                           "n_samples=2", "max_events=40", f"out_dir={tmp_path}"]))  # fmt: skip
    assert [Path(w["mid"]).name for w in written] == ["unconditional_0.mid", "unconditional_1.mid"]
    assert all(Path(w["mid"]).stat().st_size > 0 for w in written)
    net, tok, _ = load_baseline(baseline_runs[name], name)
    seqs = generate_tokens(net, 3, 40, batch_size=2)
    assert len(seqs) == 3 and all(len(s) <= 39 for s in seqs) and tok["EOS_None"] not in sum(seqs, [])
    full = generate_tokens(net, 3, 40, batch_size=2, allow_end=False)  # end-of-song never drawn
    assert [len(s) for s in full] == [39, 39, 39] and tok["EOS_None"] not in sum(full, [])
    with pytest.raises(ConfigError, match="exceeds the model's maximum length"):
        generate_tokens(net, 1, net.config.n_positions + 1)


def test_each_representation_refuses_the_others_checkpoints(baseline_runs, trained_run, tmp_path):
    with pytest.raises(CheckpointError, match="holds a remi_plus model, not mmm: use representation=remi_plus"):
        load_baseline(baseline_runs["remi_plus"], "mmm")
    with pytest.raises(CheckpointError, match="holds a mmt model, not mmm"):
        load_baseline(resolve_checkpoint(trained_run), "mmm")
    with pytest.raises(CheckpointError, match="holds a mmm model: use representation=mmm"):
        generate.run(compose("mmt", "generate", [f"checkpoint={baseline_runs['mmm']}", f"out_dir={tmp_path}"]))
    with pytest.raises(ConfigError, match="unconditionally only"):
        generate.run(compose("mmt", "generate", ["representation=mmm", f"checkpoint={baseline_runs['mmm']}",
                                                 "instruments=[violin]", f"out_dir={tmp_path}"]))  # fmt: skip
    assert not any(tmp_path.iterdir())
