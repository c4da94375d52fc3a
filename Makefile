# Two commands matter: `make run` and `make test`. Both set everything up first, idempotently.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSTEM_STAMP := $(VENV)/.system-packages
# Debian packages the product and its tests need: a CJK font so chart labels render as Chinese;
# nginx, the reverse proxy in front of several webhook workers (docs/deploy/nginx-webhook.conf,
# run by tests/e2e/test_multi_instance.py); on Debian 12 plain `nginx` is the small build
# (nginx-light is nginx plus the echo module); chromium and chromium-driver, the real headless
# browser the dashboard's browser tests drive through Selenium (tests/web; a browser download at
# install time, as `playwright install` does, fails on closed networks); fonts-noto-color-emoji,
# so the bot's buttons (✅ 📱 🙈) show in that browser (the demo's chat page, the screenshots);
# postgresql-client: pg_dump, pg_restore and psql, for `python -m bot backup` / `restore` on
# PostgreSQL (tests/integration/test_backup.py).
DEB_PACKAGES := fonts-noto-cjk nginx chromium chromium-driver fonts-noto-color-emoji postgresql-client
# Locked dependencies: pyproject.toml keeps the ranges, the lock files the exact versions with
# their hashes (pip-compile, for Python 3.11 on Linux x86_64). requirements.lock is the runtime
# set (a deployment: pip install --require-hashes -r requirements.lock, then --no-deps .);
# requirements-dev.lock adds the dev extra and is what `make setup` installs. Both include the
# build back end (setuptools), so installing this package needs nothing unlocked either.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
LOCK_VENV := $(VENV)/lock-tools
PIP_TOOLS := pip-tools>=7.5,<8
# Pass LOCK_UPGRADE=--upgrade (or --upgrade-package NAME) to move pins; by default `make lock`
# keeps every pin that still fits pyproject.toml and only adds or drops what changed there.
LOCK_UPGRADE ?=
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --all-build-deps \
	--no-emit-index-url --no-emit-find-links $(LOCK_UPGRADE)
# Resolved against the public index alone: not this machine's pip configuration (local mirrors
# or wheel folders would put their paths and their files' hashes into the lock)
LOCK_ENV := env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL PIP_CONFIG_FILE=/dev/null

.PHONY: run test setup system-packages migrate lint check-plan bench clean lock demo screenshots

# The bot and, beside it, the office's web dashboard (python -m bot web, WEB_HOST:WEB_PORT);
# Ctrl-C, or the bot stopping (e.g. no BOT_TOKEN), stops both.
run: setup migrate
	@$(PY) -m bot web & web=$$!; \
	trap 'kill $$web 2>/dev/null' EXIT INT TERM; \
	$(PY) -m bot

# lint-imports: the import contract in pyproject.toml (layers, core's purity, no cycles); the
# suite runs it too (tests/unit/test_import_contract.py), this prints its report first
test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache --no-logo
	$(PY) -m pytest -q

setup: $(STAMP) $(SYSTEM_STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Exactly the locked versions, each checked against its hash; then this package alone. pip check
# catches a pyproject.toml that gained a dependency the lock does not have yet.
$(STAMP): $(DEV_LOCK) pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@$(PY) -m pip check >/dev/null || { $(PY) -m pip check; \
	  echo "pyproject.toml and $(DEV_LOCK) disagree: run 'make lock' and commit both lock files"; exit 1; }
	touch $@

# Regenerates both lock files from pyproject.toml (needs the package index; about a minute).
lock: | $(VENV)/bin/python
	@test -x $(LOCK_VENV)/bin/pip-compile || { $(PY) -m venv $(LOCK_VENV) && \
	  $(LOCK_VENV)/bin/python -m pip install --quiet '$(PIP_TOOLS)'; }
	$(LOCK_ENV) $(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) --output-file $(LOCK) pyproject.toml
	$(LOCK_ENV) $(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) --extra dev --constraint $(LOCK) \
	  --output-file $(DEV_LOCK) pyproject.toml

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

# The whole product without Telegram (web/demo): a seeded campaign in data/demo.db (rebuilt on
# every start), the Bot API stand-in with a web chat page, the bot and the dashboard, on
# 127.0.0.1; prints the URLs, Ctrl-C stops it all. DEMO_ARGS: e.g. --chat-port 9000 --cases 200
DEMO_ARGS ?=
demo: setup
	$(PY) -m web.demo $(DEMO_ARGS)

# docs/screenshots/*.png, taken in headless Chromium from a running demo
screenshots: setup
	$(PY) -m web.demo.screenshots

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
