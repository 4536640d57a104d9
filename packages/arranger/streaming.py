"""Live use: give notes one at a time (or one onset group at a time) and get each note's part at once.

    arranger = Arranger.from_checkpoint("outputs/arranger/runs/bach_lstm/checkpoints/best.ckpt")
    stream = StreamingArranger(arranger)
    part = stream.step(time=0, pitch=60, duration=24)          # -> int (part index)
    parts = stream.step_group(24, [64, 67], durations=[24, 24])

The online LSTM's (h, c) per layer is carried between calls, so the output equals the batch prediction
of the same model on the same notes, given in the batch order (time, then pitch descending). Each step is
plain torch (no Lightning, inference mode, fused ``lstm_cell``, weights pre-packed): well under a
millisecond per note on a CPU. Zone and most-common baselines stream trivially. Entry-hint models take
each note's entry hints (one value per part) through ``entry=``; pitch-hint models need hints given
up front (``pitch_hint=``, shape (n_parts, 2), see ``arranger.features.pitch_hints``).
"""

from __future__ import annotations

import numpy as np
import torch

from arranger.features import MAX_DURATION, RESOLUTION
from arranger.models import EMB, LSTMNet, sinusoid
from arranger.predict import Arranger
from gm_common.errors import ConfigError


class StreamingArranger:
    def __init__(self, arranger: Arranger, pitch_hint: np.ndarray | None = None):
        self.arranger = arranger
        self.n_parts = arranger.n_parts
        net = arranger.net
        if arranger.baseline is not None:
            if arranger.kind not in ("zone", "most_common"):
                raise ConfigError(f"{arranger.kind} cannot stream (it needs the whole piece's parts)")
            self._lstm = False
        elif isinstance(net, LSTMNet) and not net.bidirectional:
            self._lstm = True
            self._setup_lstm(net, pitch_hint)
        else:
            raise ConfigError(f"model {arranger.name} is offline or not streamable: use an online LSTM")
        self.reset()

    @torch.inference_mode()
    def _setup_lstm(self, net: LSTMNet, pitch_hint: np.ndarray | None) -> None:
        emb = net.embed
        self.use_duration, self.use_entry = emb.use_duration, emb.use_entry
        self.pitch_emb = emb.pitch.weight.detach().clone()
        self.pos_emb = emb.position.weight.detach().clone()
        self.dur_emb = emb.duration.weight.detach().clone() if emb.duration is not None else None
        self.extra = torch.zeros(0)
        if emb.use_pitch_hint:
            if pitch_hint is None:
                raise ConfigError(f"model {self.arranger.name} uses pitch hints: pass pitch_hint=(n_parts, 2)")
            self.extra = torch.as_tensor(np.asarray(pitch_hint, np.float32)).flatten()
        self.layers = []
        for lstm, norm in zip(net.lstms, net.norms):
            self.layers.append(
                (
                    lstm.weight_ih_l0.detach().contiguous(),
                    lstm.weight_hh_l0.detach().contiguous(),
                    lstm.bias_ih_l0.detach().contiguous(),
                    lstm.bias_hh_l0.detach().contiguous(),
                    norm.weight.detach(),
                    norm.bias.detach(),
                    norm.eps,
                )
            )
        self.hidden = net.lstms[0].hidden_size
        self.out_w = net.out.weight.detach().contiguous()
        self.out_b = net.out.bias.detach().contiguous()
        self._beat_cache: dict[int, torch.Tensor] = {}

    def reset(self) -> None:
        """Start a new piece."""
        if self._lstm:
            self.state = [(torch.zeros(1, self.hidden), torch.zeros(1, self.hidden)) for _ in self.layers]
            self._beat_cache = {}
        self.last_probs: np.ndarray | None = None

    def _beat(self, beat: int) -> torch.Tensor:
        vec = self._beat_cache.get(beat)
        if vec is None:
            if len(self._beat_cache) > 64:
                self._beat_cache.clear()
            vec = self._beat_cache[beat] = sinusoid(torch.tensor(beat), EMB)
        return vec

    @torch.inference_mode()
    def _step_logits(self, time: int, pitch: int, duration: int, entry) -> torch.Tensor:
        parts = [self.pitch_emb[pitch], self.pos_emb[time % RESOLUTION], self._beat(time // RESOLUTION)]
        if self.use_duration:
            parts.append(self.dur_emb[min(max(duration, 0), MAX_DURATION)])
        if self.use_entry:
            if entry is None:
                raise ConfigError(f"model {self.arranger.name} uses entry hints: pass entry=[...] per note")
            parts.append(torch.as_tensor(np.asarray(entry, np.float32)))
        if self.extra.numel():
            parts.append(self.extra)
        x = torch.cat(parts).unsqueeze(0)
        new_state = []
        for (w_ih, w_hh, b_ih, b_hh, ln_w, ln_b, eps), (h, c) in zip(self.layers, self.state):
            h, c = torch.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)
            new_state.append((h, c))
            x = torch.layer_norm(h, (h.shape[-1],), ln_w, ln_b, eps)
        self.state = new_state
        return torch.addmm(self.out_b, x, self.out_w.t())[0]

    def step(self, time: int, pitch: int, duration: int = 0, entry=None) -> int:
        """Part index of one note (notes must come in time order; within an onset, pitch descending)."""
        if not 0 <= int(pitch) <= 127:
            raise ValueError(f"pitch {pitch} outside 0..127")
        if not self._lstm:
            return int(self.arranger.baseline.predict(np.array([[time, pitch, duration]]))[0])
        logits = self._step_logits(int(time), int(pitch), int(duration), entry)
        self.last_logits = logits
        return int(torch.argmax(logits))

    def step_group(self, time: int, pitches, durations=None, entries=None) -> list[int]:
        """Parts of the notes of one onset (any order given; processed pitch-descending, like the batch
        order), returned in the order given."""
        pitches = [int(p) for p in pitches]
        durations = list(durations) if durations is not None else [0] * len(pitches)
        order = sorted(range(len(pitches)), key=lambda i: -pitches[i])
        out = [0] * len(pitches)
        for i in order:
            out[i] = self.step(time, pitches[i], int(durations[i]), entries[i] if entries is not None else None)
        return out

    def run(self, notes: np.ndarray, entries: np.ndarray | None = None) -> np.ndarray:
        """Stream a whole (time, pitch, duration) array in order; returns the parts."""
        return np.array(
            [self.step(int(t), int(p), int(d), entries[i] if entries is not None else None) for i, (t, p, d) in enumerate(np.asarray(notes)[:, :3])],
            dtype=np.int64,
        )
