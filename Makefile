# Two entry points for a fresh machine: `make run` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROJECT ?= .
# `make run PORT=8611` when 8501 is taken
PORT ?= 8501

.PHONY: setup browser run test lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when pyproject.toml changed since the last install.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

# The end-to-end tests drive Debian's chromium through Playwright (never a browser download); the reverse-proxy
# test runs Debian's nginx in front of two server processes on loopback.
browser:
	@missing=""; command -v chromium >/dev/null 2>&1 || missing="chromium"; \
	  [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing="$$missing nginx-light"; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing >/dev/null; fi

# Ingest the seeds, train on the labels (about a second; an unchanged model is reused, not copied) so suggestions
# show at once, start the app on http://127.0.0.1:$(PORT)/.
run: setup
	$(BIN)/python -m label_app ingest --project $(PROJECT)
	$(BIN)/python -m train --project $(PROJECT) --quiet || echo "training skipped: the app runs without suggestions"
	$(BIN)/python -m label_app --project $(PROJECT) --port $(PORT)

test: setup browser
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check label_app train tests bench
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) .cache models prelabels .pytest_cache
