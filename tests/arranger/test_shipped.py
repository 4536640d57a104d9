"""The shipped arranger models: each loads from its safetensors file (no unpickling) and reproduces its card's
accuracy on the first five test pieces."""

import json

import pytest

from arranger.data import load_examples, split_examples
from arranger.predict import PRETRAINED, Arranger
from gm_common.pretrained import list_pretrained

SHIPPED = sorted(list_pretrained(PRETRAINED))


def test_the_card_models_are_shipped():
    assert {"bach_bilstm", "bach_lstm"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_model_reproduces_its_card_on_five_test_pieces(name, session_cache):
    card = json.loads((PRETRAINED / name / "card.json").read_text())
    arranger = Arranger.from_pretrained(name)
    assert arranger.name == card["architecture"]["kind"]
    test = split_examples(load_examples(card["data"]["dataset"], cache_dir=session_cache), seed=0)["test"]
    expected = card["test"]["first_5_test_pieces"]
    assert [ex.name for ex in test[:5]] == list(expected)
    for ex in test[:5]:
        accuracy = float((arranger.predict(ex.notes[:, :3], ex.notes[:, 3]) == ex.notes[:, 3]).mean())
        assert accuracy == pytest.approx(expected[ex.name], abs=1e-9), ex.name
