from pathlib import Path

import numpy as np
import pytest
import torch

from arranger.data import split_examples
from arranger.predict import Arranger
from arranger.streaming import StreamingArranger
from gm_common.errors import ConfigError


def test_stream_equals_batch(tiny_lstm, examples):
    arranger = Arranger.from_checkpoint(tiny_lstm)
    notes = split_examples(examples)["test"][0].notes[:, :3]
    batch = arranger.predict(notes)
    batch_logits = arranger.logits(notes)
    stream = StreamingArranger(arranger)
    got = []
    for i, (t, p, d) in enumerate(notes):
        got.append(stream.step(int(t), int(p), int(d)))
        assert np.allclose(stream.last_logits.numpy(), batch_logits[i], atol=1e-4)
    assert got == batch.tolist()
    stream.reset()
    assert stream.run(notes).tolist() == batch.tolist()


def test_stream_onset_groups_equal_batch(tiny_lstm, examples):
    arranger = Arranger.from_checkpoint(tiny_lstm)
    notes = examples[1].notes[:, :3]
    batch = arranger.predict(notes)
    stream = StreamingArranger(arranger)
    got = []
    for t in np.unique(notes[:, 0]):
        group = notes[notes[:, 0] == t]
        shuffled = group[::-1]  # given in any order, answered in that order
        parts = stream.step_group(int(t), shuffled[:, 1], shuffled[:, 2])
        got += parts[::-1]
    assert got == batch.tolist()


def test_stream_with_entry_hints(tmp_path, cache_dir, tiny_train, examples):
    from arranger.features import entry_hints

    run_dir = tiny_train(tmp_path, cache_dir, "lstm_entry", ["trainer.max_steps=2", "test=false"])
    arranger = Arranger.from_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    ex = examples[2]
    batch = arranger.predict(ex.notes[:, :3], hint_labels=ex.notes[:, 3])
    entry = entry_hints(ex.notes[:, 0], ex.notes[:, 3], 4)
    assert StreamingArranger(arranger).run(ex.notes[:, :3], entries=entry).tolist() == batch.tolist()


def test_offline_model_refuses_to_stream(tmp_path, cache_dir, tiny_train):
    run_dir = tiny_train(tmp_path, cache_dir, "bilstm", ["trainer.max_steps=1", "test=false"])
    with pytest.raises(ConfigError):
        StreamingArranger(Arranger.from_checkpoint(run_dir / "checkpoints" / "last.ckpt"))


@pytest.fixture(scope="module")
def tiny_decoder(tmp_path_factory, cache_dir, tiny_train) -> Path:
    """A tiny Transformer decoder with a 16-note window, so that streaming slides its context window."""
    run_dir = tiny_train(tmp_path_factory.mktemp("dec"), cache_dir, "transformer_dec",
                         ["model.d_model=32", "model.ff=64", "model.heads=4", "model.window=16", "test=false"])
    return run_dir / "checkpoints" / "last.ckpt"


def test_decoder_stream_equals_batch(tiny_decoder, examples):
    arranger = Arranger.from_checkpoint(tiny_decoder)
    notes = examples[0].notes[:, :3]
    assert len(notes) > 3 * arranger.net.window  # several window slides
    batch_logits = arranger.logits(notes)
    stream = StreamingArranger(arranger)
    for i, (t, p, d) in enumerate(notes):
        part = stream.step(int(t), int(p), int(d))
        assert np.allclose(stream.last_logits.numpy(), batch_logits[i], atol=1e-4)
        assert part == int(batch_logits[i].argmax())
    stream.reset()
    assert stream.run(notes).tolist() == arranger.predict(notes).tolist()


def test_decoder_cache_costs_one_position_per_note(tiny_decoder, examples):
    stream = StreamingArranger(Arranger.from_checkpoint(tiny_decoder))
    window = stream.net.window
    for i, (t, p, d) in enumerate(examples[0].notes[: 2 * window, :3]):
        stream.step(int(t), int(p), int(d))
        assert stream.cache.length == i + 1 - stream.net.window_start(i)
        assert len(stream.history) <= window
