"""The shipped arranger models: each loads from its safetensors file (no unpickling) and reproduces its card's
accuracy on the first five test pieces (only those five scores are read)."""

import json

import pytest

from arranger.data import RESOLUTION, get_spec, piece_to_example
from arranger.predict import PRETRAINED, Arranger
from gm_common.corpus import corpus_root, load_pieces
from gm_common.pretrained import list_pretrained

SHIPPED = sorted(list_pretrained(PRETRAINED))


def test_the_card_models_are_shipped():
    assert {"bach_bilstm", "bach_lstm", "quartets_bilstm"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_model_reproduces_its_card_on_five_test_pieces(name, session_cache):
    card = json.loads((PRETRAINED / name / "card.json").read_text())
    arranger = Arranger.from_pretrained(name)
    assert arranger.name == card["architecture"]["kind"]
    expected = card["test"]["first_5_test_pieces"]
    pieces = load_pieces([corpus_root() / n for n in expected], RESOLUTION, session_cache, root=corpus_root())
    spec = get_spec(card["data"]["dataset"])
    for piece in pieces:
        notes = piece_to_example(spec, piece).notes
        accuracy = float((arranger.predict(notes[:, :3], notes[:, 3]) == notes[:, 3]).mean())
        assert accuracy == pytest.approx(expected[piece.name], abs=1e-9), piece.name
