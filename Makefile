# Two commands do everything on a fresh machine: `make demo` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint pretrained setup clean-outputs

$(STAMP): pyproject.toml scripts/setup.sh
	@bash scripts/setup.sh

setup: $(STAMP)

## Run the main job of every toolkit on the embedded default data (outputs/demo/).
demo: $(STAMP)
	$(PY) -m gm_common.demo
	$(PY) -m mmt.demo
	$(PY) -m arranger.demo
	$(PY) -m clipsonic.demo
	$(PY) -m gm_common.report outputs/demo

## Lint (ruff: errors, import order, line length 120), then the default test suite (slow tests excluded).
test: lint
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

## Retrain every shipped model with its recorded command and rewrite its card (hours; never run by CI).
pretrained: $(STAMP)
	$(PY) scripts/pretrained.py

## The slow tests too (minutes).
test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

clean-outputs:
	rm -rf outputs/demo
