"""Every figure a README ties to a benchmark's JSON (``benchmarks/results/*.json``, cited by name or glob in the
same paragraph, list item or table row) is a value of that JSON or of the toolkit's shipped model cards, as
printed: rounded to the digits shown, as a fraction or a percentage. Generic: a rewritten paragraph is read
again; only the exceptions below, each with its reason, are not looked up."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
READMES = [ROOT / "README.md", *sorted(ROOT.glob("packages/*/README.md"))]
FIGURE = re.compile(r"(?<![\w.])[+-]?\d[\d,]*\.\d+(?!\d)")  # a number with decimals: 96.99, +0.135, 1,234.5
CITATION = re.compile(r"[A-Za-z0-9_*]+\.json")

# (README, the figure with the words around it) -> why no cited file holds it
NOT_LOOKED_UP = {
    ("README.md", "(+0.167 [+0.072, +0.261] and +0.125 [+0.023, +0.227])"): "measured at step 6,600; that JSON was "
    "replaced by the shipped step's",
    ("packages/clipsonic/README.md", "(chance 0.083; at step 6,600: dog 0.45, mean 0.592)"): "step 6,600, replaced",
    ("packages/clipsonic/README.md", "mean over the 12 prompts 0.708 (one draw 0.713)"): "the one-draw figure is "
    "clipsonic_prompts_everyday.json's, cited in another paragraph",
    ("packages/clipsonic/README.md", "6.03 vs 6.42 dB, -0.385 [-0.58, -0.19]"): "the float16 file, measured once "
    "beside the JSON of the float32 weights",
    ("packages/clipsonic/README.md", "the single prior draw of 14.6 % of the PD queries"): "counted from the "
    "evaluation's per-query rows",
    ("packages/clipsonic/README.md", "gave 0.854 / 0.948 / 0.948 with one candidate, 0.958 / 0.969 / 0.948 with two, "
     "0.958-0.979 with four"): "seeds of the prior measured by hand, not in a benchmark's JSON",
    ("packages/clipsonic/README.md", "the text-audio score (33.6 vs 24.4 / 24.9)"): "the sample benchmark's rows",
    ("packages/mmt/README.md", "(0.85 M"): "the parameter count, from the model",
    ("packages/mmt/README.md", "talk's \"3.3x faster\""): "the talk's claim",
    ("packages/mmt/README.md", "\"3.5x longer\" is not"): "the talk's claim",
    ("packages/mmt/README.md", "three runs gave 6.1x, 7.0x and 7.2x"): "two earlier runs, not kept",
    ("packages/mmt/README.md", "(2.62x, target 3x)"): "a ratio of two of the JSON's figures",
    ("packages/mmt/README.md", "ratio is 3.64x"): "a ratio of two of the JSON's figures",
    ("packages/mmt/README.md", "REMI+ tokens (3.64x"): "a ratio of two of the JSON's figures",
    ("packages/mmt/README.md", "(6.2 notes per second of music, against 2.3 within its window and 3.4 in the data)"):
    "ratios of the JSON's figures",
    ("packages/mmt/README.md", "3.4 above is the mean"): "a ratio of the JSON's figures",
    ("packages/clipsonic/README.md", "costs 1.6-2.6 minutes"): "timed by hand on a busy machine",
    ("README.md", "(torch 2.11, CUDA 13.0;"): "software versions, not figures",
}


def units(text: str) -> list[str]:
    """Paragraphs (joined lines), list items and table rows of a Markdown text, code blocks left out."""
    found, current, in_code = [], [], False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or line.startswith(("```", "#", "|", "- ")) or not line.strip():
            found.append(" ".join(current))
            current = [line] if line.startswith("- ") and not in_code else []
            if line.startswith("|") and not in_code:
                found.append(line)
            continue
        current.append(line.strip())
    found.append(" ".join(current))
    return [u for u in found if u]


def numbers(node) -> list[float]:
    """Every number in a JSON document."""
    if isinstance(node, dict):
        return [x for v in node.values() for x in numbers(v)]
    if isinstance(node, list):
        return [x for v in node for x in numbers(v)]
    return [float(node)] if isinstance(node, (int, float)) and not isinstance(node, bool) else []


def shown_as(value: float, figure: str) -> bool:
    """``value`` printed as ``figure``: the same to the digits shown, as it is or as a percentage."""
    x, digits = float(figure.replace(",", "")), len(figure.split(".")[1])
    return any(abs(v - x) <= 0.5 * 10**-digits + 1e-9 for v in (value, -value, 100 * value, -100 * value))


def exempt(readme: str, unit: str, start: int, end: int) -> bool:
    """The figure at ``unit[start:end]`` lies inside one of ``NOT_LOOKED_UP``'s passages."""
    for name, words in NOT_LOOKED_UP:
        at = unit.find(words) if name == readme else -1
        while at >= 0:
            if at <= start and end <= at + len(words):
                return True
            at = unit.find(words, at + 1)
    return False


def cited_figures() -> list[tuple[str, str, str, list[Path]]]:
    """(README, figure, its context, the files it is tied to) of every figure in a unit that cites a result."""
    found = []
    for readme in READMES:
        name = str(readme.relative_to(ROOT))
        pkg = readme.parent.name if readme.parent.parent.name == "packages" else "*"
        cards = sorted(ROOT.glob(f"packages/{pkg}/pretrained/*/card.json"))
        for unit in units(readme.read_text()):
            files = sorted({p for c in CITATION.findall(unit) for p in RESULTS.glob(c)})
            if not files:
                continue
            for m in FIGURE.finditer(unit):
                if not exempt(name, unit, m.start(), m.end()):
                    context = " ".join(unit[max(0, m.start() - 50) : m.end() + 20].split())
                    found.append((name, m.group(), context, [*files, *cards]))
    return found


FIGURES = cited_figures()


def test_the_readmes_tie_many_figures_to_results():
    assert len(FIGURES) > 150
    assert {f[0] for f in FIGURES} >= {"README.md", "packages/mmt/README.md", "packages/arranger/README.md",
                                       "packages/clipsonic/README.md"}  # fmt: skip


@pytest.mark.parametrize("readme, figure, context, files", FIGURES, ids=[f"{f[0]}:{f[1]}" for f in FIGURES])
def test_a_figure_is_its_results_value(readme, figure, context, files):
    values = [v for f in files for v in numbers(json.loads(f.read_text()))]
    assert any(shown_as(v, figure) for v in values), (
        f"{readme}: {figure} in '...{context}...' is in none of {[f.name for f in files if f.parent == RESULTS]} "
        "(nor the cards)"
    )


def test_shown_as_rounds_to_the_digits_shown():
    assert shown_as(0.96994, "96.99") and shown_as(0.1354, "+0.135") and shown_as(-0.37, "-0.37")
    assert not shown_as(0.9698, "96.99") and not shown_as(0.1344, "+0.135") and shown_as(1234.46, "1,234.5")
