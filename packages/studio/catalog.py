"""The Models tab: every shipped model, and the figures on its card."""

from __future__ import annotations

import json
import math

import gradio as gr

from studio.models import TOOLKITS, shipped

COLUMNS = ["toolkit", "model", "summary", "trained", "training minutes"]


def model_rows() -> list[list[object]]:
    """A row per shipped model: toolkit, name, the card's summary, when it was trained and for how long."""
    return [
        [toolkit, name, card.get("summary", ""), card.get("trained", ""), card.get("wall_minutes", "")]
        for toolkit in TOOLKITS
        for name, card in shipped(toolkit).items()
    ]


def _value(v: object) -> str:
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else f"{v:.4g}"
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)


def flatten(figures: object, prefix: str = "") -> list[list[str]]:
    """Nested card figures as ``[name.path, value]`` rows."""
    if isinstance(figures, dict):
        return [row for k, v in figures.items() for row in flatten(v, f"{prefix}.{k}" if prefix else str(k))]
    return [[prefix, _value(figures)]]


def card_figures(key: str) -> tuple[list[list[str]], str]:
    """The test figures of ``toolkit/name``'s card as rows, and its training command."""
    toolkit, _, name = key.partition("/")
    card = shipped(toolkit).get(name) if toolkit in TOOLKITS else None
    if card is None:
        raise gr.Error(f"unknown model {key!r}", print_exception=False)
    commands = card.get("commands") or []
    return flatten(card.get("test", {})), "\n".join(commands) if isinstance(commands, list) else json.dumps(commands)


def tab() -> None:
    """The Models tab inside the open ``gr.Blocks``."""
    rows = model_rows()
    keys = [f"{r[0]}/{r[1]}" for r in rows]
    with gr.Tab("Models", id="models"):
        gr.Markdown(
            "The shipped models (`packages/<toolkit>/pretrained/<name>/card.json`): each card records its data "
            "and split, the command that trained it and its test figures, measured with the shipped weights."
        )
        gr.Dataframe(
            rows,
            headers=COLUMNS,
            interactive=False,
            wrap=True,
            column_widths=["9%", "16%", "55%", "10%", "10%"],
            elem_id="models-table",
        )
        pick = gr.Dropdown(keys, value=keys[0] if keys else None, label="card", elem_id="models-card")
        first = card_figures(keys[0]) if keys else ([], "")
        figures = gr.Dataframe(first[0], headers=["figure", "value"], interactive=False, elem_id="models-figures")
        command = gr.Code(first[1], label="training command", language="shell", interactive=False)
        pick.change(card_figures, pick, [figures, command], api_name="card", queue=False)
