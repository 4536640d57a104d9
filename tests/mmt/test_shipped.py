"""The shipped MMT: it loads from its safetensors file (no unpickling) and reproduces its card's loss on the
first five test pieces (only those five scores are read)."""

import json

import pytest

from gm_common.corpus import corpus_root
from gm_common.pretrained import list_pretrained
from mmt.evaluate import piece_loss
from mmt.pipeline import DEFAULT_MODEL, MMT, PRETRAINED

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
