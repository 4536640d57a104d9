# Two commands do everything on a fresh machine: `make demo` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint pretrained setup clean-outputs studio

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

## The toolkits in a local web app: http://127.0.0.1:7860 (make studio ARGS="port=8080").
studio: $(STAMP)
	$(PY) -m studio $(ARGS)

## Lint (ruff: errors, import order, line length 120), then every test, the slow ones included (CI runs this).
## A bare `pytest` skips the slow ones (pyproject's -m 'not slow'); this overrides that.
test: lint
	$(PY) -m pytest -q -m "slow or not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check .

## Retrain every shipped model with its recorded command and rewrite its card (hours; never run by CI).
pretrained: $(STAMP)
	$(PY) scripts/pretrained.py

## Only the slow tests (`make test` runs them too).
test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

clean-outputs:
	rm -rf outputs/demo
