# citeline: the entry points a newcomer types. `make chat` and `make test` work on a fresh
# machine with Python 3.11 and make; everything else they need they install themselves.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: install install-dev chat ingest test lint eval bench browser-deps helpsite-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.installed            ## venv + citeline

install-dev: $(VENV)/.installed-dev    ## venv + citeline + test tools

ingest: install                        ## sync the store with corpus/
	$(BIN)/citeline ingest corpus

chat: ingest                           ## ingest corpus/ and start the chat
	$(BIN)/citeline serve

browser-deps:                          ## Debian chromium for the browser tests (needs root)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "browser tests need Debian's chromium: sudo apt-get install -y chromium"; exit 1; fi; }

helpsite-deps:                         ## Debian's python3.11-doc for the help-site gate (needs root)
	@test -d /usr/share/doc/python3.11/html/faq || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3.11-doc >/dev/null; \
	  else echo "the help-site gate needs Debian's python3.11-doc: sudo apt-get install -y python3.11-doc"; exit 1; fi; }

test: install-dev browser-deps helpsite-deps  ## the whole suite: unit, model, browser tests and the eval gates
	$(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff check assistant ingest ui evals tests benchmarks
	$(BIN)/mypy assistant ingest ui evals

eval: install                          ## run the eval set and write a report
	$(BIN)/citeline eval

bench: install-dev                     ## speed and cost figures, side by side
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .citeline
