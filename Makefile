# slotfill: `make run` sets everything up and serves the bundled travel model on http://127.0.0.1:8000;
# `make test` sets everything up from scratch and runs linters + the test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck unit install browser container-engine clean

install: $(STAMP)

# Reinstall only when the dependency list changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

# The default model is trained from the generated travel corpus the first time (about a minute on
# 2 cores); build-default does nothing when models/default is already complete.
run: $(STAMP)
	$(BIN)/slotfill build-default --out models/default --data data/travel
	SLOTFILL_LOG_FORMAT=$${SLOTFILL_LOG_FORMAT:-text} $(BIN)/slotfill serve models/default --host $(HOST) --port $(PORT)

# The demo page tests drive Debian's Chromium; install it when we can (root with apt), else they skip.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium for the browser tests"; \
		apt-get install -y -qq chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null); \
	else echo "note: /usr/bin/chromium is missing; the browser tests will be skipped"; fi

# The container tests (tests/deploy/test_container.py) need a docker engine and, with no registry to
# pull a base image from, debootstrap to make one: installed when we can (root with apt), else they
# skip. CI runs this target; `make test` does not install a daemon by itself.
container-engine:
	@if command -v dockerd >/dev/null && command -v debootstrap >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing docker.io and debootstrap for the container tests"; \
		apt-get install -y -qq docker.io debootstrap >/dev/null || (apt-get update -qq && apt-get install -y -qq docker.io debootstrap >/dev/null); \
	else echo "note: dockerd or debootstrap is missing; the container tests will be skipped"; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) browser
	$(BIN)/python -m pytest

test: lint typecheck unit

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache data/travel
