# Every target bootstraps .venv on first use (idempotent: re-runs pip only when
# pyproject.toml changes).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
ARGS   ?=

# Home Assistant's own MQTT schemas validate our discovery payloads. Its newest
# release for the Python 3.13.0 found here is pinned; it lives in its own venv.
HA_VERSION ?= 2025.4.4
HA_PYTHON  ?= $(shell for p in $$HOME/.pyenv/versions/3.13*/bin/python python3.13; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && { echo "$$p"; break; }; done)
HA_STAMP   := .venv-ha/.installed-$(HA_VERSION)

.PHONY: demo test lint bench fuzz clean ha-venv

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "tuyameter needs Python >= 3.11"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tuyameter demo $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: lint ha-venv
	$(BIN)/pytest $(ARGS)

ha-venv:
	@if [ -z "$(HA_PYTHON)" ]; then \
		echo "note: no Python 3.13 here, so the Home Assistant schema tests will be skipped"; \
	elif [ ! -f $(HA_STAMP) ]; then \
		echo "installing Home Assistant $(HA_VERSION) into .venv-ha (first time only, several minutes)…"; \
		rm -rf .venv-ha && $(HA_PYTHON) -m venv .venv-ha && \
		.venv-ha/bin/python -m pip install --quiet "homeassistant==$(HA_VERSION)" && touch $(HA_STAMP); \
	fi

bench: $(STAMP)
	$(BIN)/python bench/run.py $(ARGS)

# The long fuzz run (about 15 minutes; ARGS="--scale 0.1" for a tenth): figures for docs/reliability.md
fuzz: $(STAMP)
	$(BIN)/python bench/fuzz.py $(ARGS)

clean:
	rm -rf $(VENV) .venv-ha build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
