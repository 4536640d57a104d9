"""The representations MMT is compared with, REMI+ and MMM, as MidiTok writes them (the paper's Table 3 baselines).

REMI+ is MidiTok's ``REMI`` with programs (one token stream for all of them) and time signatures; MMM is MidiTok's
``MMM`` over REMI (one block of tokens per track). Both read a ``symusic.Score``; :func:`score_of` builds one from
the notes an :class:`~mmt.representation.Encoding` keeps, so that the three representations hold the same notes.
MMT writes about one event per note; :func:`count_tokens` measures what each writes.

MidiTok tells tracks apart by program and merges tracks of one program: with ``voices=split`` the four voice
classes (all program 52) are one track to REMI+ and MMM.

Each baseline is modelled as the paper does, by a standard decoder of the MMT model's size: a ``transformers``
GPT-2 (:func:`build_gpt2`) trained by ``python -m mmt.train representation=remi_plus|mmm`` on the MMT data
module's pieces, split and windows (:class:`TokenDataModule`), and sampled by ``model.generate`` with its
key/value cache from a start-of-song token (:func:`generate_tokens`; ``python -m mmt.generate
representation=...``).
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import muspy
import numpy as np
import symusic
import torch
from miditok import MMM, REMI, MusicTokenizer, TokenizerConfig
from torch.utils.data import DataLoader, Dataset
from transformers import GPT2Config, GPT2LMHeadModel

from gm_common import checkpoint
from gm_common.errors import CheckpointError, ConfigError
from gm_common.files import atomic_path, check_writable
from gm_common.notes import music_from_tracks
from mmt.data import IGNORE_INDEX, MMTDataModule
from mmt.model import MODEL_KEYS, PaperTraining
from mmt.representation import TYPE_NOTE, Encoding, codes_from_notes, notes_from_codes

REPRESENTATIONS = ("mmt", "remi_plus", "mmm")
BASELINES = REPRESENTATIONS[1:]  # those MidiTok writes and a GPT-2 models


def tokenizer(representation: str, velocities: bool = False) -> MusicTokenizer:
    """MidiTok's tokenizer of ``remi_plus`` or ``mmm``; ``velocities`` adds a velocity token per note (MidiTok's
    default; MMT has none)."""
    common = {"use_programs": True, "use_time_signatures": True, "use_velocities": velocities}
    if representation == "remi_plus":
        return REMI(TokenizerConfig(one_token_stream_for_programs=True, **common))
    if representation == "mmm":
        return MMM(TokenizerConfig(base_tokenizer="REMI", **common))
    raise ValueError(f"no MidiTok tokenizer for {representation!r}; MidiTok writes: remi_plus, mmm")


def score_of(notes: np.ndarray, encoding: Encoding) -> symusic.Score:
    """A 4/4 ``symusic.Score`` of encoded notes (rows beat, position, pitch, duration code, instrument code): one
    track per instrument class, with its program, at the encoding's resolution."""
    score = symusic.Score(encoding.resolution)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    for code in np.unique(notes[:, 4]):
        rows = notes[notes[:, 4] == code]
        track = symusic.Track(name=encoding.instrument_name(code), program=encoding.instrument_programs[code - 1])
        for beat, position, pitch, duration, _ in rows.tolist():
            time = beat * encoding.resolution + position
            track.notes.append(symusic.Note(time, int(encoding.duration_values[duration - 1]), pitch, 64))
        score.tracks.append(track)
    return score


def count_tokens(notes: np.ndarray, encoding: Encoding, tok: MusicTokenizer | None) -> tuple[int, int]:
    """(tokens, notes) of one piece: MMT's events (``tok`` None), or the MidiTok stream's tokens and its ``Pitch``
    tokens (the notes it kept)."""
    if tok is None:
        codes = codes_from_notes(notes)
        return len(codes), int((codes[:, 0] == TYPE_NOTE).sum())
    tokens = tok(score_of(notes, encoding)).tokens
    return len(tokens), sum(t.startswith("Pitch_") for t in tokens)


# -- training data: the MMT data module's pieces and windows, as MidiTok tokens --------------------
def token_ids(notes: np.ndarray, encoding: Encoding, tok: MusicTokenizer, max_len: int) -> list[int]:
    """A piece's notes as ``[BOS] tokens [EOS]``, cut to ``max_len`` keeping the end-of-song (as MMT's windows)."""
    ids = [tok["BOS_None"], *tok(score_of(notes, encoding)).ids, tok["EOS_None"]]
    return ids if len(ids) <= max_len else ids[: max_len - 1] + ids[-1:]


class TokenDataset(Dataset):
    """The samples of an MMT dataset (the same pieces, transpositions and beat windows) as MidiTok token ids."""

    def __init__(self, music: Dataset, encoding: Encoding, tok: MusicTokenizer, max_len: int):
        self.music, self.encoding, self.tok, self.max_len = music, encoding, tok, max_len

    def __len__(self) -> int:
        return len(self.music)

    def __getitem__(self, i: int) -> torch.Tensor:
        notes, _ = notes_from_codes(self.music[i].numpy(), self.encoding)
        return torch.tensor(token_ids(notes, self.encoding, self.tok, self.max_len))


def collate_tokens(batch: list[torch.Tensor], pad: int = 0) -> dict[str, torch.Tensor]:
    """Right-pad with ``pad``: ``ids``, ``mask`` (1 on tokens) and ``labels`` (IGNORE_INDEX on padding)."""
    ids = torch.nn.utils.rnn.pad_sequence(batch, batch_first=True, padding_value=pad)
    mask = torch.zeros_like(ids)
    for i, seq in enumerate(batch):
        mask[i, : len(seq)] = 1
    return {"ids": ids, "mask": mask, "labels": ids.masked_fill(mask == 0, IGNORE_INDEX)}


class TokenDataModule(L.LightningDataModule):
    """:class:`~mmt.data.MMTDataModule`'s splits and training windows (``music``: its arguments), tokenised by
    ``representation``'s MidiTok tokenizer and cut to ``max_seq_len`` tokens."""

    def __init__(self, encoding: Encoding, representation: str, velocities: bool = False, **music: Any):
        super().__init__()
        self.music = MMTDataModule(encoding, **music)
        self.encoding, self.tok = encoding, tokenizer(representation, velocities)

    def setup(self, stage: str | None = None) -> None:
        """Read the pieces and split them as the MMT data module does."""
        self.music.setup(stage)

    def _loader(self, split: str, augment: bool) -> DataLoader:
        dataset = TokenDataset(self.music.dataset(split, augment), self.encoding, self.tok, self.music.max_seq_len)
        collate = partial(collate_tokens, pad=self.tok.pad_token_id)
        return DataLoader(
            dataset, batch_size=self.music.batch_size, shuffle=augment, collate_fn=collate, **self.music.loader_options
        )

    def train_dataloader(self) -> DataLoader:
        """Batches of the training split (shuffled; random transposition and window)."""
        return self._loader("train", True)

    def val_dataloader(self) -> DataLoader:
        """Batches of the validation split."""
        return self._loader("valid", False)

    def test_dataloader(self) -> DataLoader:
        """Batches of the test split."""
        return self._loader("test", False)


# -- the model: a transformers GPT-2 of the MMT model's size ----------------------------------------
def build_gpt2(model: dict, tok: MusicTokenizer) -> GPT2LMHeadModel:
    """A GPT-2 causal LM over ``tok``'s vocabulary with an MMT model config's layers, width, heads, feed-forward
    size, dropout and maximum length (``model``: ``name`` plus :data:`~mmt.model.MODEL_KEYS`)."""
    unknown = set(model) - {"name", *MODEL_KEYS}
    if unknown:
        raise ConfigError(f"model: unknown keys {sorted(unknown)}; known: name, {', '.join(MODEL_KEYS)}")
    dim = int(model["dim"])
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=int(model["max_seq_len"]),
        n_embd=dim,
        n_layer=int(model["depth"]),
        n_head=int(model["heads"]),
        n_inner=int(model["ff_mult"]) * dim,
        resid_pdrop=float(model["dropout"]),
        embd_pdrop=float(model["dropout"]),
        attn_pdrop=float(model["attn_dropout"]),
        bos_token_id=tok["BOS_None"],
        eos_token_id=tok["EOS_None"],
        pad_token_id=tok.pad_token_id,
        loss_type="ForCausalLM",  # the next-token cross-entropy (without it, transformers warns at every step)
    )
    return GPT2LMHeadModel(config)


class BaselineLightning(PaperTraining):
    """Training wrapper of a baseline's GPT-2 (next-token cross-entropy over non-padding tokens; the MMT model's
    optimizer and schedule). Hyper-parameters are plain data, as :class:`~mmt.model.MMTLightning`'s, plus the
    ``representation`` and whether it has ``velocities``."""

    def __init__(self, model: dict, encoding: dict, optim: dict, representation: str, velocities: bool = False,
                 data: dict | None = None):  # fmt: skip
        super().__init__()
        self.save_hyperparameters()
        self.optim_cfg = dict(optim)
        self.net = build_gpt2(model, tokenizer(representation, velocities))

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        loss = self.net(input_ids=batch["ids"], attention_mask=batch["mask"], labels=batch["labels"]).loss
        n = batch["ids"].shape[0]
        self.log(f"{stage}/loss", loss, prog_bar=True, batch_size=n, sync_dist=stage != "train")
        return loss


def load_baseline(path: str | Path, representation: str) -> tuple[GPT2LMHeadModel, MusicTokenizer, dict]:
    """A trained baseline (eval mode, on the CPU), its tokenizer and hyper-parameters, from a checkpoint file or run
    folder; a :class:`CheckpointError` when the checkpoint is not of ``representation``."""
    tok: MusicTokenizer | None = None

    def build(hp: dict) -> GPT2LMHeadModel:
        nonlocal tok
        saved = hp.get("representation", "mmt")
        if saved != representation:
            raise CheckpointError(f"{path} holds a {saved} model, not {representation}: use representation={saved}")
        tok = tokenizer(representation, bool(hp["velocities"]))
        return build_gpt2(hp["model"], tok)

    path = checkpoint.resolve_checkpoint(path)
    net, hp = checkpoint.load_model(path, build, f"{representation} baseline", needs=("model",), prefixes=("net.",))
    assert tok is not None
    return net, tok, hp


@torch.inference_mode()
def generate_tokens(net: GPT2LMHeadModel, n_samples: int, budget: int, batch_size: int = 8, temperature: float = 1.0,
                    filter_threshold: float = 0.9, seed: int = 0, allow_end: bool = True, min_p: float = 0.0,
                    ) -> list[list[int]]:  # fmt: skip
    """``n_samples`` token sequences from start-of-song (``[BOS]``), ``budget`` tokens each at most (``[BOS]``
    included), by ``model.generate`` with its key/value cache, top-k keeping ``ceil((1 - filter_threshold) * V)``
    tokens (as MMT's sampling), then ``min_p`` (as MMT's default sampling; 0: off) and ``temperature``; each
    without ``[BOS]``, up to its end-of-song (never drawn
    with ``allow_end=False``: every sequence runs to the budget). Seeds torch's global generator with ``seed``."""
    cfg = net.config
    if budget > cfg.n_positions:
        raise ConfigError(f"a budget of {budget} tokens exceeds the model's maximum length ({cfg.n_positions})")
    torch.manual_seed(seed)
    device = net.device
    top_k = max(1, math.ceil((1 - filter_threshold) * cfg.vocab_size))
    out: list[list[int]] = []
    while len(out) < n_samples:
        b = min(batch_size, n_samples - len(out))
        start = torch.full((b, 1), cfg.bos_token_id, dtype=torch.long, device=device)
        ids = net.generate(
            start, attention_mask=torch.ones_like(start), do_sample=True, top_k=top_k, temperature=temperature,
            min_p=min_p or None,
            max_new_tokens=budget - 1, min_new_tokens=0 if allow_end else budget - 1, use_cache=True,
            eos_token_id=cfg.eos_token_id, pad_token_id=cfg.pad_token_id,
        )  # fmt: skip
        for row in ids[:, 1:].tolist():
            out.append(row[: row.index(cfg.eos_token_id)] if cfg.eos_token_id in row else row)
    return out


def decode_tokens(ids: list[int], tok: MusicTokenizer) -> symusic.Score:
    """A generated token sequence as music (MidiTok's decoding; special tokens dropped)."""
    special = {tok[t] for t in tok.special_tokens}
    return tok.decode([i for i in ids if i not in special])


def write_score(score: symusic.Score, path: Path, overwrite: bool = False) -> Path:
    """Write a ``symusic.Score`` as a MIDI file (atomic; never replacing a file unless ``overwrite``)."""
    check_writable(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        score.dump_midi(str(tmp))
    return path


def score_notes(score: symusic.Score) -> int:
    """Notes of a score, all tracks together."""
    return sum(len(track.notes) for track in score.tracks)


def music_of(score: symusic.Score) -> muspy.Music:
    """A decoded score as ``muspy.Music`` at the score's resolution (MusPy's metrics read it)."""
    tracks = []
    for track in score.tracks:
        notes = track.notes.numpy()
        rows = np.stack([notes["time"], notes["pitch"], notes["duration"]], axis=1) if len(track.notes) else []
        tracks.append((track.name, track.program, track.is_drum, np.asarray(rows).reshape(-1, 3)))
    return music_from_tracks(tracks, score.ticks_per_quarter)
