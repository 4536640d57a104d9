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


GAN_TINY = ["model.adversarial=true", "model.gan.channels=4"]


def test_adversarial_training(world, tmp_path):
    """A few GAN steps from the trained generator: finite losses, both optimizers stepped, discriminators saved in
    the checkpoint but neither loaded for inference nor shipped."""
    from clipsonic import train_vocoder
    from clipsonic.vocoder import export_vocoder, load_vocoder
    from gm_common.pretrained import load_safetensors
    from tests.clipsonic.conftest import TRAINER_TINY, VOCODER_TINY

    start = world.root / "vocoder" / "checkpoints" / "last.ckpt"
    run_dir = tmp_path / "gan"
    overrides = [
        f"root={world.root}",
        *TRAINER_TINY,
        *VOCODER_TINY,
        *GAN_TINY,
        f"run_dir={run_dir}",
        f"init_vocoder={start}",
        "trainer.max_steps=4",  # 2 batches: a discriminator and a generator step each
    ]
    trainer = train_vocoder.run(compose("clipsonic", "train_vocoder", overrides))
    assert trainer.global_step == 4
    metrics = trainer.callback_metrics
    for name in ("train/loss", "train/d_loss", "train/adv", "train/fm", "train/mel_l1"):
        assert torch.isfinite(metrics[name]), name
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert [s["last_epoch"] for s in ckpt["lr_schedulers"]] == [2, 2] and len(ckpt["optimizer_states"]) == 2
    disc = [k for k in ckpt["state_dict"] if k.startswith("discriminators.")]
    assert any(".mpd.4." in k for k in disc) and any(".mrd.2." in k for k in disc)  # 5 periods, 3 resolutions
    before = torch.load(start, weights_only=True)["state_dict"]["net.head.weight"]
    after = ckpt["state_dict"]["net.head.weight"]
    assert 0 < (after - before).abs().max() < 0.01  # started from the trained generator, and trained

    shipped = export_vocoder(run_dir / "checkpoints" / "last.ckpt", tmp_path / "vocoder.safetensors")
    file = load_safetensors(shipped)
    assert file["state_dict"] and all(k.startswith("net.") for k in file["state_dict"])
    assert file["hyper_parameters"]["adversarial"] is True
    mels = torch.full((1, 32, 32), -5.0)
    from_ckpt, from_file = (load_vocoder(p, MEL) for p in (run_dir / "checkpoints" / "last.ckpt", shipped))
    assert not hasattr(from_ckpt, "discriminators") and not hasattr(from_file, "discriminators")
    with torch.no_grad():
        assert torch.allclose(from_ckpt(mels), from_file(mels), atol=1e-2)  # fp16 on disk


def test_old_vocoder_checkpoints_load(world, tmp_path):
    """Checkpoints saved before adversarial training (no ``adversarial``/``gan`` hyper-parameters) and the shipped
    vocoder load for inference."""
    from clipsonic.pipeline import PRETRAINED
    from clipsonic.vocoder import load_vocoder

    ckpt = torch.load(world.root / "vocoder" / "checkpoints" / "last.ckpt", weights_only=True)
    for key in ("adversarial", "gan"):
        del ckpt["hyper_parameters"][key]
    torch.save(ckpt, tmp_path / "old.ckpt")
    old = load_vocoder(tmp_path / "old.ckpt", MEL)
    assert old.hparams.adversarial is False
    assert torch.equal(old.net.head.weight, ckpt["state_dict"]["net.head.weight"])
    shipped = load_vocoder(PRETRAINED / "synthetic" / "vocoder.safetensors")
    assert shipped.hparams.mel["n_mels"] == 64 and not hasattr(shipped, "discriminators")


def test_the_configured_discriminators():
    """The config's GAN: HiFi-GAN's five periods and three STFT resolutions, each judging real-length audio."""
    from hydra.utils import instantiate

    cfg = compose("clipsonic", "train_vocoder", ["model.adversarial=true"])
    model = instantiate(cfg.model, mel=MEL, _convert_="all")
    assert [d.period for d in model.discriminators.mpd] == [2, 3, 5, 7, 11]
    assert [(d.n_fft, d.hop) for d in model.discriminators.mrd] == [(512, 128), (1024, 256), (256, 64)]
    scores, feats = model.discriminators(torch.randn(2, 31 * 256))
    assert len(scores) == len(feats) == 8 and all(s.shape[0] == 2 and torch.isfinite(s).all() for s in scores)


def test_magnitude_prior_starts_from_the_mel_spread_over_the_bins():
    """With ``magnitude_prior`` the untrained net's STFT magnitude already has nearly the input's log-mel (the
    mel spread back over the bins), far nearer than the plain net's; the spread is rebuilt from the mel settings,
    not saved, so checkpoints keep their keys."""
    from clipsonic.neural_vocoder import NeuralVocoder

    t = torch.arange(63 * 256) / 16000
    noise = 0.05 * torch.randn(len(t), generator=torch.Generator().manual_seed(0))
    audio = (0.3 * torch.sin(2 * torch.pi * 440 * t) * (1 + t) + noise)[None]
    errors = {}
    for prior in (False, True):
        torch.manual_seed(0)
        vocoder = NeuralVocoder(MEL, channels=16, blocks=1, magnitude_prior=prior)
        mel = vocoder.log_mel(audio)
        with torch.no_grad():
            magnitude = vocoder.net.spectrogram(mel).abs()
        errors[prior] = float(((vocoder.log_mel.fb @ magnitude).clamp(min=1e-5).log() - mel).abs().mean())
        assert not any("spread" in k for k in vocoder.state_dict())
    assert errors[True] < 0.3 < errors[False], errors


def test_log_spectral_distance_matches_librosa():
    """The differentiable LSD (loss and benchmark) is the textbook one, computed with librosa, clip by clip."""
    import librosa

    from clipsonic.neural_vocoder import log_spectral_distance

    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((2, 3, 31 * 256)).astype(np.float32)
    fake[1] = real[1]  # a perfect clip
    expected = []
    for f, r in zip(fake, real):
        pf, pr = (np.abs(librosa.stft(x, n_fft=1024, hop_length=256)) ** 2 + 1e-8 for x in (f, r))
        expected.append(np.sqrt(((10 * np.log10(pr / pf)) ** 2).mean(0)).mean())
    ours = log_spectral_distance(torch.from_numpy(fake), torch.from_numpy(real), 1024, 256).numpy()
    assert ours.shape == (3,) and ours[1] < 0.01 < ours[0]
    assert np.allclose(ours, expected, atol=1e-3)


def test_lsd_weight_adds_the_log_spectral_distance_to_the_loss():
    from clipsonic.neural_vocoder import NeuralVocoder, log_spectral_distance

    audio = 0.1 * torch.randn(2, 31 * 256, generator=torch.Generator().manual_seed(0))
    losses = {}
    for weight in (0.0, 0.5):
        torch.manual_seed(0)
        vocoder = NeuralVocoder(MEL, channels=16, blocks=1, lsd_weight=weight)
        with torch.no_grad():
            losses[weight] = float(vocoder._loss(audio))
            lsd = float(log_spectral_distance(vocoder(vocoder.log_mel(audio)), audio, 1024, 256).mean())
    assert lsd > 1 and losses[0.5] == pytest.approx(losses[0.0] + 0.5 * lsd, rel=1e-4)
