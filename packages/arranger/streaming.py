"""Live use: give notes one at a time (or one onset group at a time) and get each note's part at once.

    arranger = Arranger.from_pretrained("bach_lstm")
    stream = StreamingArranger(arranger)
    part = stream.step(time=0, pitch=60, duration=24)          # -> int (part index)
    parts = stream.step_group(24, [64, 67], durations=[24, 24])

The online models' state is carried between calls, so the output equals the batch prediction of the same
model on the same notes, given in the batch order (time, then pitch descending):
- LSTM: (h, c) per layer; each step is plain torch (inference mode, fused ``lstm_cell``, weights
  pre-packed), well under a millisecond per note on a CPU;
- Transformer decoder: a key/value cache per layer, so each note costs one attention position per layer.
  As in the batch prediction, note i is predicted from notes ``window_start(i)``..i: every ``window / 2``
  notes past the first ``window`` the cache is rebuilt from the last ``window / 2`` notes (one batched pass).
Zone and most-common baselines stream trivially. Models that read durations (``lstm_duration``) need each
note's ``duration=`` (an error otherwise: a default would silently differ from the batch prediction). Entry-hint
models take each note's entry hints (one value per part) through ``entry=``; pitch-hint models need hints given
up front (``pitch_hint=``, shape (n_parts, 2), see ``arranger.representation.pitch_hints``).
Streaming runs on the CPU: one note per call is bound by latency, which a GPU's kernel launches only add to.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from arranger.embedding import EMB, sinusoid
from arranger.models import LSTMNet
from arranger.predict import Arranger
from arranger.representation import MAX_DURATION, RESOLUTION
from arranger.transformer import TransformerNet
from gm_common.errors import ConfigError


class StreamingArranger:
    """An online arranger fed one note (or one onset group) at a time; ``last_logits`` holds the last note's logits."""

    def __init__(self, arranger: Arranger, pitch_hint: np.ndarray | None = None):
        if arranger.device.type != "cpu":
            raise ConfigError(f"streaming runs on the CPU; load the model with device='cpu' (not {arranger.device})")
        self.arranger = arranger
        self.n_parts = arranger.n_parts
        net = arranger.net
        if arranger.baseline is not None:
            if arranger.kind not in ("zone", "most_common"):
                raise ConfigError(f"{arranger.kind} cannot stream (it needs the whole piece's parts)")
            self.mode = "baseline"
        elif isinstance(net, LSTMNet) and not net.bidirectional:
            self.mode = "lstm"
            self._setup_lstm(net, pitch_hint)
        elif isinstance(net, TransformerNet) and net.causal:
            self.mode = "transformer"
            self._setup_transformer(net, pitch_hint)
        else:
            raise ConfigError(
                f"model {arranger.name} is offline or not streamable: use an online LSTM or Transformer decoder"
            )
        self.reset()

    def _setup_transformer(self, net: TransformerNet, pitch_hint: np.ndarray | None) -> None:
        emb = net.embed
        self.net = net
        self.use_entry = emb.use_entry
        if emb.use_pitch_hint and pitch_hint is None:
            raise ConfigError(f"model {self.arranger.name} uses pitch hints: pass pitch_hint=(n_parts, 2)")
        hint = np.zeros((self.n_parts, 2), np.float32) if pitch_hint is None else np.asarray(pitch_hint, np.float32)
        self.pitch_hint = torch.as_tensor(hint).unsqueeze(0)

    def _note_batch(self, rows: list[tuple[int, int, int, np.ndarray | None]]) -> dict[str, torch.Tensor]:
        """A one-sequence batch of notes (time, pitch, duration, entry) for the Transformer decoder."""
        t = torch.tensor([[r[0] for r in rows]])
        entry = np.stack(
            [np.zeros(self.n_parts, np.float32) if r[3] is None else np.asarray(r[3], np.float32) for r in rows]
        )
        return {
            "pitch": torch.tensor([[r[1] for r in rows]]),
            "position": t % RESOLUTION,
            "beat": t // RESOLUTION,
            "duration": torch.tensor([[min(max(r[2], 0), MAX_DURATION) for r in rows]]),
            "time": t,
            "entry": torch.as_tensor(entry).unsqueeze(0),
            "pitch_hint": self.pitch_hint,
            "mask": torch.ones(1, len(rows), dtype=torch.bool),
        }

    @torch.inference_mode()
    def _step_transformer(self, time: int, pitch: int, duration: int, entry) -> torch.Tensor:
        if self.use_entry and entry is None:
            raise ConfigError(f"model {self.arranger.name} uses entry hints: pass entry=[...] per note")
        i = self.history_lo + len(self.history)  # index of this note in the piece
        self.history.append((time, pitch, duration, entry))
        lo = self.net.window_start(i)
        if lo != self.window_lo:  # slide the context window: re-encode the kept notes lo..i-1 in one pass
            del self.history[: lo - self.history_lo]
            self.history_lo, self.window_lo, self.cache = lo, lo, self.net.new_cache()
            self.net.step(self._note_batch(self.history[:-1]), self.cache, 0)
        return self.net.step(self._note_batch([self.history[-1]]), self.cache, i - lo)[0, 0]

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
        if self.mode == "lstm":
            self.state = [(torch.zeros(1, self.hidden), torch.zeros(1, self.hidden)) for _ in self.layers]
            self._beat_cache = {}
        elif self.mode == "transformer":
            self.cache, self.window_lo = self.net.new_cache(), 0
            self.history: list[tuple[int, int, int, np.ndarray | None]] = []  # notes from history_lo on
            self.history_lo = 0

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

    @property
    def uses_duration(self) -> bool:
        """Whether the model reads each note's duration (which must then be given with the note)."""
        return self.arranger.net is not None and bool(self.arranger.net.embed.use_duration)

    def step(self, time: int, pitch: int, duration: int | None = None, entry: np.ndarray | None = None) -> int:
        """Part index of one note (notes must come in time order; within an onset, pitch descending).
        ``duration`` is required by models that read durations (``uses_duration``) and ignored by the others."""
        if not 0 <= int(pitch) <= 127:
            raise ValueError(f"pitch {pitch} outside 0..127")
        if duration is None:
            if self.uses_duration:
                raise ConfigError(f"model {self.arranger.name} reads note durations: pass duration= with each note")
            duration = 0
        if self.mode == "baseline":
            return int(self.arranger.baseline.predict(np.array([[time, pitch, duration]]))[0])
        step = self._step_logits if self.mode == "lstm" else self._step_transformer
        logits = step(int(time), int(pitch), int(duration), entry)
        self.last_logits = logits
        return int(torch.argmax(logits))

    def step_group(
        self,
        time: int,
        pitches: Sequence[int],
        durations: Sequence[int] | None = None,
        entries: Sequence[np.ndarray] | None = None,
    ) -> list[int]:
        """Parts of the notes of one onset (any order given; processed pitch-descending, like the batch
        order), returned in the order given."""
        pitches = [int(p) for p in pitches]
        order = sorted(range(len(pitches)), key=lambda i: -pitches[i])
        out = [0] * len(pitches)
        for i in order:
            duration = int(durations[i]) if durations is not None else None
            out[i] = self.step(time, pitches[i], duration, entries[i] if entries is not None else None)
        return out

    def run(self, notes: np.ndarray, entries: np.ndarray | None = None) -> np.ndarray:
        """Stream a whole (time, pitch, duration) array in order; returns the parts."""
        return np.array(
            [
                self.step(int(t), int(p), int(d), entries[i] if entries is not None else None)
                for i, (t, p, d) in enumerate(np.asarray(notes)[:, :3])
            ],
            dtype=np.int64,
        )
