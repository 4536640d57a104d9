"""The discriminators of the neural vocoder's adversarial training and their losses: HiFi-GAN's multi-period
discriminator (Kong et al., 2020: the waveform folded by a period p, judged by 2-D convolutions along time) and
the multi-resolution spectrogram discriminator of UnivNet (Jang et al., 2021) that Vocos uses, with the
least-squares GAN loss and HiFi-GAN's feature matching. Channel widths are a parameter (HiFi-GAN's are 32 to
1024; a fraction of that trains on the CPU)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

Judged = tuple[list[torch.Tensor], list[list[torch.Tensor]]]  # (scores, feature maps) of each discriminator


def convolve(convs: nn.ModuleList, post: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``convs`` with leaky ReLUs, then ``post``: (its output flattened to scores [B, S], every layer's output)."""
    feats = []
    for conv in convs:
        x = F.leaky_relu(conv(x), 0.1)
        feats.append(x)
    x = post(x)
    return x.flatten(1), [*feats, x]


class PeriodDiscriminator(nn.Module):
    """Waveform [B, N] folded into [B, 1, N / p, p], then strided (k, 1) convolutions along time (DiscriminatorP)."""

    def __init__(self, period: int, channels: int):
        super().__init__()
        self.period = period
        widths = [1, channels, 2 * channels, 4 * channels, 8 * channels]
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(i, o, (5, 1), (3, 1), padding=(2, 0))) for i, o in zip(widths, widths[1:])
        )
        self.convs.append(weight_norm(nn.Conv2d(widths[-1], widths[-1], (5, 1), padding=(2, 0))))
        self.post = weight_norm(nn.Conv2d(widths[-1], 1, (3, 1), padding=(1, 0)))

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Waveform [B, N] -> (scores [B, S], the feature map of every layer)."""
        x = F.pad(audio, (0, (-audio.shape[-1]) % self.period), mode="reflect")
        x = x.view(audio.shape[0], 1, -1, self.period)
        return convolve(self.convs, self.post, x)


class ResolutionDiscriminator(nn.Module):
    """STFT magnitude [B, 1, frames, bins] at one resolution, then 2-D convolutions strided along frequency
    (UnivNet's DiscriminatorR)."""

    def __init__(self, n_fft: int, hop_length: int, channels: int):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop_length
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.convs = nn.ModuleList(
            [
                weight_norm(nn.Conv2d(1, channels, (3, 9), padding=(1, 4))),
                *(weight_norm(nn.Conv2d(channels, channels, (3, 9), (1, 2), padding=(1, 4))) for _ in range(3)),
                weight_norm(nn.Conv2d(channels, channels, (3, 3), padding=(1, 1))),
            ]
        )
        self.post = weight_norm(nn.Conv2d(channels, 1, (3, 3), padding=(1, 1)))

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Waveform [B, N] -> (scores [B, S], the feature map of every layer)."""
        spec = torch.stft(audio, self.n_fft, self.hop, window=self.window, return_complex=True).abs()
        x = spec.transpose(1, 2).unsqueeze(1)
        return convolve(self.convs, self.post, x)


class Discriminators(nn.Module):
    """The multi-period (one per period) and multi-resolution (one per (n_fft, hop)) discriminators together."""

    def __init__(self, periods: list[int], resolutions: list[list[int]], channels: int):
        super().__init__()
        self.mpd = nn.ModuleList(PeriodDiscriminator(int(p), channels) for p in periods)
        self.mrd = nn.ModuleList(ResolutionDiscriminator(int(n), int(h), channels) for n, h in resolutions)

    def forward(self, audio: torch.Tensor) -> Judged:
        """Waveform [B, N] -> (the scores of each discriminator, the feature maps of each)."""
        judged = [d(audio) for d in (*self.mpd, *self.mrd)]
        return [s for s, _ in judged], [f for _, f in judged]


def discriminator_loss(real: list[torch.Tensor], fake: list[torch.Tensor]) -> torch.Tensor:
    """Least-squares GAN loss of the discriminators: real scores towards 1, generated ones towards 0."""
    return sum(((1 - r) ** 2).mean() + (f**2).mean() for r, f in zip(real, fake))


def generator_loss(fake: list[torch.Tensor]) -> torch.Tensor:
    """Least-squares GAN loss of the generator: its scores towards 1."""
    return sum(((1 - f) ** 2).mean() for f in fake)


def feature_matching_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """L1 between the discriminators' feature maps of real and generated audio, summed over layers."""
    return sum(F.l1_loss(f, r.detach()) for rs, fs in zip(real, fake) for r, f in zip(rs, fs))
