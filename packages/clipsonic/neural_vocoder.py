"""A small neural vocoder (log-mel -> waveform) in the style of Vocos (Siuzdenko, 2023): a 1-D ConvNeXt
over mel frames predicts, per frame, the magnitude and phase of the STFT, and an inverse STFT makes the
waveform. It runs at frame rate (no upsampling stack), so it trains on the CPU in minutes. Trained either
without a discriminator (L1 on the log-mel of its output plus a multi-resolution STFT loss: log magnitudes and
spectral convergence at three FFT sizes, which also ties the predicted phases of overlapping frames together)
or adversarially, as HiFi-GAN and Vocos are, against the discriminators of :mod:`clipsonic.discriminators`."""

from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from clipsonic.data.dataset import mel_band
from clipsonic.discriminators import (
    Discriminators,
    discriminator_loss,
    feature_matching_loss,
    generator_loss,
)
from gm_common.errors import ConfigError
from gm_common.schedules import WarmupDecay, per_step

MR_STFT = ((256, 64), (512, 128), (1024, 256))  # (n_fft, hop) of the multi-resolution STFT loss


class ConvNeXtBlock(nn.Module):
    """Depthwise conv (k=7) -> LayerNorm -> pointwise MLP -> layer scale, with a residual."""

    def __init__(self, channels: int, mult: int = 3):
        super().__init__()
        self.dw = nn.Conv1d(channels, channels, 7, padding=3, groups=channels)
        self.norm = nn.LayerNorm(channels)
        self.mlp = nn.Sequential(nn.Linear(channels, mult * channels), nn.GELU(), nn.Linear(mult * channels, channels))
        self.scale = nn.Parameter(torch.full((channels,), 0.1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, T] -> [B, C, T]."""
        h = self.dw(x).transpose(1, 2)
        return x + (self.scale * self.mlp(self.norm(h))).transpose(1, 2)


class MelToWave(nn.Module):
    """log-mel [B, n_mels, T] -> waveform [B, (T - 1) * hop] through a predicted STFT."""

    def __init__(
        self,
        n_mels: int,
        n_fft: int,
        hop_length: int,
        channels: int = 128,
        blocks: int = 4,
        mean: float = 0.0,
        std: float = 1.0,
        mel_filters: torch.Tensor | None = None,
    ):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop_length
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        # With mel filters [n_mels, F], the net predicts the log-magnitude as a correction of the mel spread back
        # over the STFT bins, not from scratch: each bin gets its filters' band levels (mel / filter area)
        # averaged with its gains as weights. (Not the pseudo-inverse: its negative bins have no logarithm.)
        spread = None
        if mel_filters is not None:
            area = mel_filters.sum(1, keepdim=True).clamp(min=1e-8)  # [n_mels, 1]
            gain = mel_filters.sum(0, keepdim=True).clamp(min=1e-8)  # [1, F]
            spread = (mel_filters / area / gain).T  # [F, n_mels]
        self.register_buffer("mel_spread", spread, persistent=False)
        self.inp = nn.Conv1d(n_mels, channels, 7, padding=3)
        self.blocks = nn.Sequential(*(ConvNeXtBlock(channels) for _ in range(blocks)))
        self.norm = nn.LayerNorm(channels)
        self.head = nn.Linear(channels, 2 * (n_fft // 2 + 1))
        if spread is not None:  # start from the spread mel itself
            nn.init.zeros_(self.head.weight[: n_fft // 2 + 1])
            nn.init.zeros_(self.head.bias[: n_fft // 2 + 1])

    def spectrogram(self, log_mel: torch.Tensor) -> torch.Tensor:
        """log-mel [B, n_mels, T] -> the predicted complex STFT [B, n_fft // 2 + 1, T]."""
        h = self.blocks(self.inp((log_mel - self.mean) / self.std))
        mag, phase = self.head(self.norm(h.transpose(1, 2))).transpose(1, 2).chunk(2, dim=1)  # [B, F, T] each
        if self.mel_spread is not None:
            mag = mag + (self.mel_spread @ log_mel.exp()).clamp(min=1e-5).log()
        return torch.polar(mag.clamp(max=6.0).exp(), phase)

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        """log-mel [B, n_mels, T] -> waveform [B, (T - 1) * hop]."""
        spec = self.spectrogram(log_mel)
        length = (log_mel.shape[-1] - 1) * self.hop
        return torch.istft(spec, self.n_fft, self.hop, window=self.window, center=True, length=length)


class LogMel(nn.Module):
    """The same natural-log mel as ``gm_common.audio.mel_spectrogram`` (librosa, magnitude, centred STFT with
    zero padding, Slaney mel filters), in torch so that losses can backpropagate through it."""

    def __init__(
        self,
        sample_rate: int,
        n_fft: int,
        hop_length: int,
        n_mels: int,
        fmin: float,
        fmax: float,
        log_floor: float = 1e-5,
    ):
        super().__init__()
        import librosa

        self.n_fft, self.hop, self.floor = n_fft, hop_length, log_floor
        fb = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
        self.register_buffer("fb", torch.from_numpy(fb).float(), persistent=False)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """Waveform [B, N] -> natural-log mel [B, n_mels, frames]."""
        spec = torch.stft(
            audio, self.n_fft, self.hop, window=self.window, center=True, pad_mode="constant", return_complex=True
        ).abs()
        return (self.fb @ spec).clamp(min=self.floor).log()


def stft_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Multi-resolution STFT loss: L1 of log magnitudes + spectral convergence, averaged over MR_STFT."""
    total = fake.new_zeros(())
    for n_fft, hop in MR_STFT:
        w = torch.hann_window(n_fft, device=fake.device)
        sf, sr = (torch.stft(x, n_fft, hop, window=w, return_complex=True).abs().clamp(min=1e-5) for x in (fake, real))
        total = (
            total + F.l1_loss(sf.log(), sr.log()) + torch.linalg.norm(sr - sf) / torch.linalg.norm(sr).clamp(min=1e-5)
        )
    return total / len(MR_STFT)


def log_spectral_distance(fake: torch.Tensor, real: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """Per clip [B]: the mean over frames of the RMS (over frequency) difference of the log power spectra, in dB
    (what ``benchmarks/clipsonic_vocoder.py`` reports; differentiable, so ``lsd_weight`` trains on it too)."""
    w = torch.hann_window(n_fft, device=fake.device)
    pf, pr = (
        torch.stft(x, n_fft, hop, window=w, pad_mode="constant", return_complex=True).abs() ** 2 + 1e-8
        for x in (fake, real)
    )
    return ((10 * torch.log10(pr / pf)) ** 2).mean(1).add(1e-6).sqrt().mean(1)


class NeuralVocoder(L.LightningModule):
    """Lightning wrapper: ``hparams`` are plain types (mel settings, network size, input stats), so the
    checkpoint loads with weights_only=True and its mel settings can be checked against a model's.

    ``adversarial=False``: the reconstruction loss (``mel_weight`` x log-mel L1 + multi-resolution STFT loss),
    one optimizer at ``lr``. ``adversarial=True``: GAN training with the discriminators of
    :mod:`clipsonic.discriminators` (settings and learning rates in ``gan``), two optimizers stepped by hand;
    the generator's loss is the least-squares GAN loss + ``gan.fm_weight`` x feature matching +
    ``gan.mel_weight`` x log-mel L1 (HiFi-GAN's 1 : 2 : 45). Either way the generator is ``net``, the only
    part inference loads (:func:`clipsonic.vocoder.load_vocoder`) and ships (:func:`clipsonic.vocoder.export_vocoder`).
    """

    def __init__(
        self,
        mel: dict,
        channels: int = 128,
        blocks: int = 4,
        lr: float = 2e-3,
        mel_weight: float = 1.0,
        mean: float = 0.0,
        std: float = 1.0,
        log_floor: float = 1e-5,
        adversarial: bool = False,
        gan: dict | None = None,
        magnitude_prior: bool = False,
        lsd_weight: float = 0.0,
    ):
        super().__init__()
        self.save_hyperparameters()
        m = {k: int(mel[k]) for k in ("sample_rate", "n_fft", "hop_length", "n_mels")}
        fmin, fmax = mel_band(mel)
        self.log_mel = LogMel(**m, fmin=fmin, fmax=fmax, log_floor=log_floor)
        filters = self.log_mel.fb if magnitude_prior else None
        self.net = MelToWave(m["n_mels"], m["n_fft"], m["hop_length"], channels, blocks, mean, std, filters)
        if adversarial:
            if not gan:
                raise ConfigError("adversarial vocoder training needs its settings (model.gan)")
            self.discriminators = Discriminators(gan["periods"], gan["resolutions"], int(gan["channels"]))
            self.automatic_optimization = False
            self.grad_clip: float | None = None  # set by train_vocoder from trainer.gradient_clip_val

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        """log-mel [B, n_mels, T] -> waveform [B, (T - 1) * hop]."""
        return self.net(log_mel)

    def _loss(self, audio: torch.Tensor) -> torch.Tensor:
        mel = self.log_mel(audio)
        fake = self.net(mel)
        loss = self.hparams.mel_weight * F.l1_loss(self.log_mel(fake), mel) + stft_loss(fake, audio)
        if self.hparams.get("lsd_weight"):
            lsd = log_spectral_distance(fake, audio, self.net.n_fft, self.net.hop).mean()
            loss = loss + self.hparams.lsd_weight * lsd
        return loss

    def training_step(self, batch, _):
        """Log-mel L1 of the re-analysed output plus the multi-resolution STFT loss; or one GAN step."""
        if self.hparams.adversarial:
            return self._adversarial_step(batch[0])
        loss = self._loss(batch[0])
        self.log("train/loss", loss, prog_bar=True, batch_size=batch[0].shape[0])
        return loss

    def _step(self, optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad()
        self.manual_backward(loss)
        if self.grad_clip:
            self.clip_gradients(optimizer, gradient_clip_val=self.grad_clip, gradient_clip_algorithm="norm")
        optimizer.step()

    def _adversarial_step(self, audio: torch.Tensor) -> torch.Tensor:
        """A discriminator step on real and generated audio, then a generator step against the updated ones."""
        gan = self.hparams.gan
        opt_g, opt_d = self.optimizers()
        mel = self.log_mel(audio)
        fake = self.net(mel)
        real_scores, _ = self.discriminators(audio)
        fake_scores, _ = self.discriminators(fake.detach())
        d_loss = discriminator_loss(real_scores, fake_scores)
        self._step(opt_d, d_loss)

        real_feats = self.discriminators(audio)[1]
        fake_scores, fake_feats = self.discriminators(fake)
        adv, fm = generator_loss(fake_scores), feature_matching_loss(real_feats, fake_feats)
        mel_l1 = F.l1_loss(self.log_mel(fake), mel)
        g_loss = adv + float(gan["fm_weight"]) * fm + float(gan["mel_weight"]) * mel_l1
        self._step(opt_g, g_loss)
        for scheduler in self.lr_schedulers():
            scheduler.step()
        logs = {"train/loss": g_loss, "train/d_loss": d_loss, "train/adv": adv, "train/fm": fm, "train/mel_l1": mel_l1}
        self.log_dict(logs, prog_bar=True, batch_size=audio.shape[0])
        return g_loss

    def validation_step(self, batch, _):
        """The reconstruction loss (log-mel L1 + STFT loss) on held-out audio, in both modes."""
        self.log("val/loss", self._loss(batch[0]), prog_bar=True, batch_size=batch[0].shape[0], sync_dist=True)

    def configure_optimizers(self):
        """AdamW with a linear decay to 0.05 of the learning rate at the trainer's ``max_steps``; adversarial: one
        for the generator and one for the discriminators, each stepped once per batch (``max_steps`` counts both,
        as Lightning counts optimizer steps)."""
        if self.trainer.max_steps <= 0:
            raise ConfigError("the vocoder's learning rate decays over trainer.max_steps: set it (> 0)")
        if not self.hparams.adversarial:
            opt = torch.optim.AdamW(self.parameters(), lr=float(self.hparams.lr), betas=(0.8, 0.99))
            return per_step(opt, WarmupDecay(total_steps=int(self.trainer.max_steps), floor=0.05, shape="linear"))
        gan, batches = self.hparams.gan, max(1, int(self.trainer.max_steps) // 2)
        opts = [
            torch.optim.AdamW(part.parameters(), lr=float(lr), betas=(0.8, 0.99))
            for part, lr in ((self.net, gan["generator_lr"]), (self.discriminators, gan["discriminator_lr"]))
        ]
        return [per_step(opt, WarmupDecay(total_steps=batches, floor=0.05, shape="linear")) for opt in opts]
