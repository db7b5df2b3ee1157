# Two commands matter: `make run` (serve) and `make test` (verify). Everything else is optional.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
MODEL_DIR ?= var/models/multilingual-e5-small
export HUASHU_MODEL_DIR ?= $(abspath $(MODEL_DIR))

.PHONY: run test test-slow test-e2e screenshots lint index model eval bench clean

$(VENV)/.installed-run: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(VENV)/.installed-run $@

$(MODEL_DIR)/huashu_model.json: retrieval/model.py | $(VENV)/.installed-run
	$(PY) -m retrieval.model install --dest $(MODEL_DIR) && touch $@

model: $(MODEL_DIR)/huashu_model.json

index: $(VENV)/.installed-run model
	$(PY) -m indexer build --if-stale --quiet

run: $(VENV)/.installed-run model index
	HUASHU_HOST=$(HOST) HUASHU_PORT=$(PORT) HUASHU_WORKERS=$(WORKERS) $(PY) -m app

# The fast suite (≤ 5 min on 2 cores). `.ci/run` also runs `make test-slow`.
test: $(VENV)/.installed-dev model
	$(PY) -m pytest -m "not slow"

# Long checks: STS against published figures, the Docker image where an engine exists.
test-slow: $(VENV)/.installed-dev model
	$(PY) -m pytest -m slow

test-e2e: $(VENV)/.installed-dev model
	$(PY) -m pytest tests/e2e

# The browser tests, keeping their screenshots for the README.
screenshots: $(VENV)/.installed-dev model
	HUASHU_E2E_SCREENSHOTS=$(abspath docs/screenshots) $(PY) -m pytest tests/e2e

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m scripts_library lint

eval: $(VENV)/.installed-dev model index
	$(PY) -m eval run --config eval/configs/default.yaml

bench: $(VENV)/.installed-dev model index
	$(PY) -m eval.bench_encode

clean:
	rm -rf var/index var/cache
