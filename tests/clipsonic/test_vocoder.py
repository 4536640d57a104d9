import numpy as np
import pytest
import soundfile as sf
import torch

from gm_common.cli import compose
from gm_common.errors import CheckpointError

MEL = {"sample_rate": 16000, "n_fft": 1024, "hop_length": 256, "n_mels": 32, "frames": 32}  # the tiny world's


@pytest.mark.parametrize("band", [{}, {"fmin": 60, "fmax": 7000}])  # no band: the synthetic world's full band
def test_log_mel_matches_the_data_pipeline(band):
    from clipsonic.data.dataset import audio_to_mel, mel_band
    from clipsonic.neural_vocoder import LogMel

    mel = {**MEL, **band}
    audio = np.random.default_rng(0).standard_normal(31 * 256).astype(np.float32) * 0.1
    fmin, fmax = mel_band(mel)
    ours = LogMel(16000, 1024, 256, 32, fmin, fmax)(torch.from_numpy(audio)[None])[0].numpy()
    assert np.abs(ours - audio_to_mel(audio, mel)).max() < 1e-3
    if band:  # the band changes the features
        assert np.abs(audio_to_mel(audio, MEL) - audio_to_mel(audio, mel)).max() > 0.1


def test_resume_and_learning_rate_decay(world, tmp_path):
    """Resuming continues the checkpoint's weights and the linear decay (to 0.05 x at max_steps)."""
    from clipsonic import train_vocoder
    from tests.clipsonic.conftest import TRAINER_TINY, VOCODER_TINY

    run_dir = tmp_path / "vocoder"
    last = run_dir / "checkpoints" / "last.ckpt"
    last.parent.mkdir(parents=True)
    ck = torch.load(world.root / "vocoder" / "checkpoints" / "last.ckpt", weights_only=True)
    ck["state_dict"]["net.head.bias"] = torch.full_like(ck["state_dict"]["net.head.bias"], 3.0)
    torch.save(ck, last)
    overrides = [
        f"root={world.root}",
        *TRAINER_TINY,
        *VOCODER_TINY,
        f"run_dir={run_dir}",
        "ckpt_path=last",
        "trainer.max_steps=4",
    ]
    trainer = train_vocoder.run(compose("clipsonic", "train_vocoder", overrides))
    assert trainer.global_step == 4
    resumed = torch.load(last, weights_only=True)
    assert (resumed["state_dict"]["net.head.bias"] - 3.0).abs().max() < 0.05  # two small steps from the marker
    assert resumed["lr_schedulers"][0]["last_epoch"] == 4
    lr = resumed["lr_schedulers"][0]["_last_lr"][0]
    assert lr == pytest.approx(2e-3 * 0.05)  # decayed to the floor at max_steps


def test_vocode_with_both_vocoders(world):
    from clipsonic.vocoder import vocode_batch

    ckpt = world.root / "vocoder" / "checkpoints" / "last.ckpt"
    mels = np.full((2, 32, 32), -5.0, np.float32)
    mels[:, 10] = 0.0  # a tone in band 10
    for name in (str(ckpt), "griffinlim"):
        audio = vocode_batch(mels, MEL, name)
        assert audio.shape == (2, 31 * 256) and np.isfinite(audio).all() and np.abs(audio).max() <= 0.9 + 1e-6
        assert audio.std() > 0


def test_bad_vocoder_checkpoints(world, tmp_path):
    from clipsonic.vocoder import check_vocoder

    ckpt = world.root / "vocoder" / "checkpoints" / "last.ckpt"
    with pytest.raises(CheckpointError, match="not found"):
        check_vocoder(str(tmp_path / "none.ckpt"))
    with pytest.raises(CheckpointError, match="mel settings"):
        check_vocoder(str(ckpt), {**MEL, "n_mels": 64})
    with pytest.raises(CheckpointError, match="not a clipsonic vocoder"):
        check_vocoder(str(world.root / "diffusion" / "checkpoints" / "last.ckpt"))
    check_vocoder(str(ckpt), MEL)
    check_vocoder("griffinlim")


def test_generate_with_neural_vocoder(world, tmp_path):
    from clipsonic.generate import run

    ckpt = world.root / "vocoder" / "checkpoints" / "last.ckpt"
    out = run(
        compose(
            "clipsonic",
            "generate",
            world.gen_overrides("prompt=a red circle", f"vocoder={ckpt}", f"out_dir={tmp_path}"),
        )
    )
    audio, sr = sf.read([p for p in out if p.suffix == ".wav"][0])
    assert sr == 16000 and audio.size == 31 * 256
    with pytest.raises(CheckpointError):
        run(
            compose(
                "clipsonic",
                "generate",
                world.gen_overrides(
                    "prompt=a red circle", f"vocoder={tmp_path / 'no.ckpt'}", f"out_dir={tmp_path / 'x'}"
                ),
            )
        )
    assert not (tmp_path / "x").exists()
