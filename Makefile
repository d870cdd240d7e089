# riskpipe: the two commands. Everything a fresh machine needs is installed from here.
#   make demo   build .venv, make the pseudonymisation and ledger keys, run the whole pipeline with DVC
#   make test   build/refresh .venv with dev extras and run the test suite
#   make web    start the web app for early help teams and IG reviewers (docs/webapp.md)
#   make demo-adults  the demo with adults on and the adult models (params.adults.yaml, docs/adult_models.md)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# the stamp changes whenever pyproject.toml does, so `make test` refreshes the venv after edits
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export DVC_NO_ANALYTICS := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo demo-adults test install key lint bench clean web

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

# the ledger key (HMAC of ethics/ledger/signoffs.jsonl and outputs/audit.jsonl) is held apart from the pseudonymisation key
.secrets/ledger.key: | $(STAMP) .secrets/pseudo.key
	$(BIN)/riskpipe keygen --ledger --out .secrets/ledger.key

key: .secrets/pseudo.key .secrets/ledger.key

demo: install key
	@test -d .dvc || $(BIN)/dvc init --quiet
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro
	@echo
	@echo "riskpipe demo finished. Outputs:"
	@echo "  raw synthetic extracts     data/raw/            (ground truth, evaluation only: data/truth/)"
	@echo "  data-quality report        reports/ingest.md"
	@echo "  linkage report             reports/linkage.md   (clerical review sample: reports/linkage_review.csv)"
	@echo "  recording-practice monitor reports/monitor.html (breaks in how each source records its codes)"
	@echo "  models (params.yaml)       $$($(BIN)/python -c 'from pipeline.core.config import load_params; print(*load_params().models)')"
	@echo "  model evaluation           reports/<model>/   (metrics.json, plots/)"
	@echo "  model cards                reports/<model>/model_card.html"
	@echo "  governance decision        reports/<model>/governance.json   (blocked until people sign off)"
	@echo "  risk lists (DRAFT)         outputs/risk_lists/<model>/risk_list.html"
	@echo "  notebooks                  notebooks/   (run by make test; open in Jupyter or VS Code)"
	@echo "  MLflow runs and models     mlflow.db; open the UI with:"
	@echo "      $(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --port 5000   -> http://127.0.0.1:5000"
	@echo "  metrics across runs        $(BIN)/dvc metrics show"
	@echo
	@$(BIN)/python -m webapp.manage demo_users
	@echo "  web app (docs/webapp.md)   make web   -> http://127.0.0.1:8000/  (sign in with an account above)"

# the demo with the whole population (docs/adult_models.md): params.adults.yaml's keys override params.yaml in a
# DVC experiment, which leaves them in params.yaml afterwards (`git checkout params.yaml` returns to `make demo`)
ADULTS_SET = $(BIN)/python -c 'import yaml; d = yaml.safe_load(open("params.adults.yaml")); \
	v = lambda x: "[" + ",".join(map(str, x)) + "]" if isinstance(x, list) else str(x).lower() if isinstance(x, bool) else str(x); \
	print(" ".join(f"-S ++{k}={v(x)}" for k, x in d.items()))'

demo-adults: install key
	@test -d .dvc || $(BIN)/dvc init --quiet
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc exp run $$($(ADULTS_SET))
	@echo
	@echo "riskpipe adults demo finished: reports/emergency_admission/ (metrics.json 'adult' block, model card)"
	@echo "  draft list for GP practice care coordinators: outputs/risk_lists/emergency_admission/"
	@echo "  older-carer planning register: reports/ld_older_carer/ (metrics.json 'ld_register', model card;"
	@echo "    at the demo's size the rule orders it and the gate blocks it: too few outcomes)"

# the web app on http://127.0.0.1:8000/ (accounts: `make demo`, or `$(BIN)/python -m webapp.manage demo_users`)
web: install
	$(BIN)/python -m webapp.manage migrate --verbosity 0
	@echo "riskpipe web app: http://127.0.0.1:8000/  (stop with Ctrl+C)"
	$(BIN)/python -m webapp.manage runserver 127.0.0.1:8000

test: install
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python benchmarks/run.py --markdown docs/benchmarks.md

clean:
	rm -rf data reports outputs mlruns mlflow.db .pytest_cache
