import numpy as np
import pytest
import soundfile as sf
import torch

from gm_common.errors import CheckpointError

from clipsonic._cli import compose

MEL = {"sample_rate": 16000, "n_fft": 1024, "hop_length": 256, "n_mels": 32, "frames": 32}  # the tiny world's


def _train(world, run_dir, *extra):
    from clipsonic import train_vocoder

    overrides = [f"root={world.root}", "data.mel.n_mels=32", "data.mel.frames=32", "trainer.max_steps=2", "+trainer.enable_model_summary=false",
                 "batch_size=4", "vocoder.channels=16", "vocoder.blocks=1", f"run_dir={run_dir}", *extra]
    return train_vocoder.run(compose("train_vocoder", overrides))


@pytest.fixture(scope="module")
def vocoder_ckpt(world, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("vocoder")
    _train(world, run_dir)
    return run_dir / "checkpoints" / "last.ckpt"


def test_log_mel_matches_the_data_pipeline():
    from clipsonic.data.dataset import audio_to_mel
    from clipsonic.neural_vocoder import LogMel

    audio = np.random.default_rng(0).standard_normal(31 * 256).astype(np.float32) * 0.1
    ours = LogMel(16000, 1024, 256, 32)(torch.from_numpy(audio)[None])[0].numpy()
    assert np.abs(ours - audio_to_mel(audio, MEL)).max() < 1e-3


def test_train_resume_and_vocode(world, vocoder_ckpt, tmp_path):
    from clipsonic.vocoder import vocode_batch

    assert (vocoder_ckpt.parent / "config.yaml").is_file()
    ck = torch.load(vocoder_ckpt, weights_only=True)
    assert ck["global_step"] == 2 and ck["hyper_parameters"]["mel"]["n_mels"] == 32
    trainer = _train(world, vocoder_ckpt.parents[1], "trainer.max_steps=3", "ckpt_path=last")
    assert trainer.global_step == 3  # resumed from step 2
    mels = np.full((2, 32, 32), -5.0, np.float32)
    for name in (str(vocoder_ckpt), "griffinlim"):
        audio = vocode_batch(mels, MEL, name)
        assert audio.shape == (2, 31 * 256) and np.isfinite(audio).all() and np.abs(audio).max() <= 0.9 + 1e-6


def test_bad_vocoder_checkpoints(world, vocoder_ckpt, tmp_path):
    from clipsonic.vocoder import check_vocoder

    with pytest.raises(CheckpointError, match="not found"):
        check_vocoder(str(tmp_path / "none.ckpt"))
    with pytest.raises(CheckpointError, match="mel settings"):
        check_vocoder(str(vocoder_ckpt), {**MEL, "n_mels": 64})
    with pytest.raises(CheckpointError, match="not a clipsonic vocoder"):
        check_vocoder(str(world.root / "diffusion" / "checkpoints" / "last.ckpt"))
    check_vocoder(str(vocoder_ckpt), MEL)
    check_vocoder("griffinlim")


def test_generate_with_neural_vocoder(world, vocoder_ckpt, tmp_path):
    from clipsonic.generate import run

    out = run.__wrapped__(compose("generate", world.gen_overrides("prompt=a red circle", f"vocoder={vocoder_ckpt}", f"out_dir={tmp_path}")))
    audio, sr = sf.read([p for p in out if p.suffix == ".wav"][0])
    assert sr == 16000 and audio.size == 31 * 256
    with pytest.raises(CheckpointError):
        run.__wrapped__(compose("generate", world.gen_overrides("prompt=a red circle", f"vocoder={tmp_path / 'no.ckpt'}", f"out_dir={tmp_path / 'x'}")))
    assert not (tmp_path / "x").exists()
