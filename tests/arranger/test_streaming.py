from pathlib import Path

import numpy as np
import pytest
import torch

from arranger.data import get_spec, split_examples
from arranger.models import build_net
from arranger.predict import Arranger
from arranger.representation import entry_hints, pitch_hints
from arranger.streaming import StreamingArranger
from gm_common.cli import compose
from gm_common.errors import ConfigError


def shipped_size(model: str, **flags) -> Arranger:
    """A net of a model config as shipped (``configs/arranger/model/<model>.yaml``), random weights."""
    torch.manual_seed(0)
    cfg = {**compose("arranger", "train", [f"model={model}"]).model, **flags}
    dataset = get_spec("bach").as_dict()
    return Arranger(cfg, dataset, net=build_net(cfg, 4))


def long_piece(n: int, seed: int = 0) -> np.ndarray:
    """(time, pitch, duration, part) rows of a random n-note piece in model order."""
    rng = np.random.default_rng(seed)
    notes = np.stack(
        [np.sort(rng.integers(0, 6 * n, n)), rng.integers(36, 84, n), rng.integers(1, 48, n), rng.integers(0, 4, n)], 1
    )
    return notes[np.lexsort((-notes[:, 1], notes[:, 0]))]


def assert_stream_equals_batch(arranger: Arranger, notes: np.ndarray, hints: bool = False) -> None:
    labels = notes[:, 3] if hints else None
    batch_logits = arranger.logits(notes[:, :3], labels)
    pitch_hint = pitch_hints(notes[:, 1], labels, 4) if hints and arranger.model_cfg.get("use_pitch_hint") else None
    entries = entry_hints(notes[:, 0], labels, 4) if hints and arranger.model_cfg.get("use_entry") else None
    stream = StreamingArranger(arranger, pitch_hint=pitch_hint)
    for i, (t, p, d) in enumerate(notes[:, :3]):
        stream.step(int(t), int(p), int(d), entries[i] if entries is not None else None)
        assert np.allclose(stream.last_logits.numpy(), batch_logits[i], atol=1e-4), i


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


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "distance_bias"])
def tiny_decoder(request, tmp_path_factory, cache_dir, tiny_train) -> Path:
    """A tiny Transformer decoder with a 16-note window, so that streaming slides its context window."""
    run_dir = tiny_train(
        tmp_path_factory.mktemp("dec"),
        cache_dir,
        "transformer_dec",
        [
            "model.d_model=32",
            "model.ff=64",
            "model.heads=4",
            "model.window=16",
            "test=false",
            f"model.distance_bias={str(request.param).lower()}",
        ],
    )
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


def test_shipped_size_lstm_streams_as_batch(examples):
    arranger = shipped_size("lstm")
    assert len(arranger.net.lstms) == 3 and arranger.net.lstms[0].hidden_size == 128
    assert_stream_equals_batch(arranger, examples[0].notes)


def test_shipped_size_decoder_streams_as_batch_across_a_window_slide():
    arranger = shipped_size("transformer_dec")
    assert len(arranger.net.blocks) == 3 and arranger.net.d_model == 128 and arranger.net.window == 1024
    assert_stream_equals_batch(arranger, long_piece(1100))  # past 1,024 notes the context window slides


@pytest.mark.parametrize(
    "model, flags",
    [
        ("lstm_entry", {}),
        ("lstm", {"use_duration": True, "use_entry": True, "use_pitch_hint": True}),
        ("transformer_dec", {"use_duration": True, "use_entry": True, "use_pitch_hint": True}),
    ],
)
def test_shipped_size_models_with_hints_stream_as_batch(model, flags, examples):
    arranger = shipped_size(model, **flags)
    assert arranger.needs_hints
    assert_stream_equals_batch(arranger, examples[1].notes, hints=True)


def test_duration_models_need_the_duration(tiny_lstm):
    stream = StreamingArranger(Arranger.from_checkpoint(tiny_lstm))
    assert stream.uses_duration
    with pytest.raises(ConfigError, match="duration"):
        stream.step(0, 60)
    with pytest.raises(ConfigError, match="duration"):
        stream.step_group(0, [60, 64])
    plain = shipped_size("lstm")
    without, given = StreamingArranger(plain), StreamingArranger(plain)
    assert not without.uses_duration
    assert [without.step(t, p) for t, p in [(0, 60), (24, 62)]] == [
        given.step(t, p, 48) for t, p in [(0, 60), (24, 62)]
    ]
    assert torch.equal(without.last_logits, given.last_logits)  # the duration is not read at all


def test_streaming_stays_on_the_cpu():
    arranger = shipped_size("lstm")
    assert arranger.device == torch.device("cpu")  # the Python API's default
    StreamingArranger(arranger)
    arranger.device = torch.device("cuda", 0)  # as if loaded with device="cuda"
    with pytest.raises(ConfigError, match="streaming runs on the CPU; load the model with device='cpu'"):
        StreamingArranger(arranger)
