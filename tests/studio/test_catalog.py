from studio.catalog import card_figures, flatten, model_rows
from studio.models import TOOLKITS, shipped


def test_the_table_lists_every_shipped_model():
    rows = model_rows()
    assert {(r[0], r[1]) for r in rows} == {(t, n) for t in TOOLKITS for n in shipped(t)}
    assert all(r[2] for r in rows), "every card has a summary"


def test_flatten_names_each_figure_by_its_path():
    rows = flatten({"accuracy": 0.969859, "table": {"IQ": {"ci": [0.66607, 0.8347]}, "n": 96, "fad": float("nan")}})
    assert rows == [
        ["accuracy", "0.9699"],
        ["table.IQ.ci", "[0.6661, 0.8347]"],
        ["table.n", "96"],
        ["table.fad", "n/a"],
    ]


def test_a_card_shows_its_test_figures_and_command():
    rows, command = card_figures("arranger/bach_bilstm")
    assert ["accuracy", "0.9699"] in rows
    assert command.startswith("python -m arranger.train model=bilstm data=bach")
