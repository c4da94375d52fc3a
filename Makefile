# Two commands matter: `make run` and `make test`. Both set everything up first, idempotently.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSTEM_STAMP := $(VENV)/.system-packages
# Debian packages the product and its tests need: a CJK font so chart labels render as Chinese.
DEB_PACKAGES := fonts-noto-cjk

.PHONY: run test setup system-packages migrate lint check-plan bench clean

run: setup migrate
	$(PY) -m bot

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q

setup: $(STAMP) $(SYSTEM_STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Installs missing Debian packages when we can (root, apt-get present); otherwise says what is
# missing and carries on: the features that need them degrade, nothing else does.
$(SYSTEM_STAMP): Makefile | $(VENV)/bin/python
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing) >/dev/null \
	      || { echo "apt-get failed for:$$missing"; exit 1; }; \
	  else echo "warning: missing Debian packages:$$missing (install them as root)"; fi; \
	fi
	touch $@

migrate: setup
	$(PY) -m bot migrate

check-plan: setup
	$(PY) -m bot check-plan

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: setup
	$(PY) bench/bench_classify.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
