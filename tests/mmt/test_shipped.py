"""The shipped MMT: it loads from its safetensors file (no unpickling) and reproduces its card's loss on the
first five test pieces (only those five scores are read)."""

import json

import pytest

from gm_common.corpus import corpus_root
from gm_common.pretrained import list_pretrained
from mmt.evaluate import piece_loss
from mmt.pipeline import DEFAULT_MODEL, MMT, PRETRAINED, prompt_notes

SHIPPED = sorted(list_pretrained(PRETRAINED))


def test_the_default_model_is_shipped():
    assert DEFAULT_MODEL in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_model_reproduces_its_card_on_five_test_pieces(name):
    card = json.loads((PRETRAINED / name / "card.json").read_text())
    mmt = MMT.from_pretrained(name)
    assert mmt.encoding.voices == card["encoding"]["voices"]
    expected = card["test"]["first_5_test_pieces_loss"]
    assert len(expected) == 5
    for piece, loss in expected.items():
        assert piece_loss(mmt, corpus_root() / piece) == pytest.approx(loss, abs=1e-4), piece


@pytest.mark.parametrize("name", [n for n in SHIPPED if MMT.from_pretrained(n).layout == "infill"])
def test_a_shipped_infill_model_adds_a_bass_and_keeps_every_other_note(name):
    from mmt.representation import codes_from_notes, decode

    mmt = MMT.from_pretrained(name)
    split = json.loads((PRETRAINED / name / "split.json").read_text())["test"]
    notes = prompt_notes(corpus_root() / next(p for p in split if "bach" in p), mmt.encoding)
    bass = mmt.encoding.instrument_code("bass")
    prompt = decode(codes_from_notes(notes[notes[:, 4] != bass]), mmt.encoding)
    song = mmt.generate(prompt=prompt, add=["bass"], seed=0)[0]
    tracks = {t.name: sorted((n.time, n.pitch) for n in t.notes) for t in song.tracks}
    assert len(tracks["bass"]) >= 8  # a bass line, not a note or two
    assert all(tracks[t.name] == sorted((n.time, n.pitch) for n in t.notes) for t in prompt.tracks)


@pytest.mark.parametrize("name", [n for n in SHIPPED if MMT.from_pretrained(n).adds_parts])
def test_a_shipped_model_that_adds_parts_ships_the_harmony_model_its_card_gives(name):
    from mmt.harmony import HARMONY_FILE, load_harmony

    card = json.loads((PRETRAINED / name / "card.json").read_text())
    weights = load_harmony(PRETRAINED / name / card["harmony_model"]["file"])
    assert card["harmony_model"]["file"] == HARMONY_FILE
    assert [round(float(w), 3) for w in weights] == card["harmony_model"]["interval_weights"]
    assert card["sampling"]["harmony"] > 0
