# riskpipe: the two commands. Everything a fresh machine needs is installed from here.
#   make demo   build .venv, make a pseudonymisation key, run the whole pipeline with DVC
#   make test   build/refresh .venv with dev extras and run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# the stamp changes whenever pyproject.toml does, so `make test` refreshes the venv after edits
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export DVC_NO_ANALYTICS := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test install key lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

.secrets/pseudo.key: | $(STAMP)
	$(BIN)/riskpipe keygen --out .secrets/pseudo.key

key: .secrets/pseudo.key

demo: install key
	@test -d .dvc || $(BIN)/dvc init --quiet
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro
	@echo
	@echo "riskpipe demo finished. Outputs:"
	@echo "  raw synthetic extracts     data/raw/"
	@echo "  ground truth (eval only)   data/truth/"
	@test ! -d reports || echo "  reports                    reports/"
	@test ! -d outputs || echo "  risk lists                 outputs/risk_lists/"

test: install
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf data reports outputs mlruns mlflow.db .pytest_cache
