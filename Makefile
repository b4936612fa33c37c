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

# The optional compiled build (setup.py): the per-frame path's modules compiled with mypyc into a
# wheel, unpacked into build/compiled; `make test` runs the core tests on it too, `make bench`
# measures both builds.
COMPILED := build/compiled/.built
SOURCES  := $(shell find src -name '*.py')

.PHONY: demo test lint bench fuzz clean ha-venv compiled

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

# The core tests on the compiled build run beside the whole suite (most of which waits on other
# processes); their output is shown when both are done.
test: lint ha-venv $(COMPILED)
	@TUYAMETER_TEST_COMPILED=1 PYTHONPATH=build/compiled $(BIN)/pytest -p no:cacheprovider -k 'not postgres' \
		$(CORE_TESTS) > build/test-compiled.log 2>&1 & core=$$!; \
	$(BIN)/pytest $(ARGS); suite=$$?; \
	wait $$core; compiled=$$?; \
	echo "== the core tests again, on the compiled build (build/test-compiled.log) =="; \
	if [ $$compiled -eq 0 ]; then tail -n 1 build/test-compiled.log; else cat build/test-compiled.log; fi; \
	[ $$suite -eq 0 ] && [ $$compiled -eq 0 ]

# the tests of the compiled modules, run again on the compiled build (PostgreSQL's left to the suite)
CORE_TESTS := tests/test_compiled.py tests/test_codec.py tests/test_decoder_props.py tests/test_session.py \
	tests/test_session_deadlines.py tests/test_report_lane.py tests/test_burst_end.py tests/test_meter_state.py \
	tests/test_meter_events.py tests/test_emulator.py tests/test_gateway.py tests/test_profiles.py \
	tests/test_e2e_cli.py::test_monitor_shows_both_directions

compiled: $(COMPILED)

$(COMPILED): $(STAMP) setup.py $(SOURCES)
	@echo "compiling the per-frame path with mypyc (about a minute)…"
	rm -rf build && mkdir build
	TUYAMETER_COMPILE=1 $(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation -w build/wheel . > build/compile.log 2>&1 \
		|| { tail -40 build/compile.log; exit 1; }
	$(BIN)/python -m zipfile -e build/wheel/tuyameter-*.whl build/compiled
	@touch $@

ha-venv:
	@if [ -z "$(HA_PYTHON)" ]; then \
		echo "note: no Python 3.13 here, so the Home Assistant schema tests will be skipped"; \
	elif [ ! -f $(HA_STAMP) ]; then \
		echo "installing Home Assistant $(HA_VERSION) into .venv-ha (first time only, several minutes)…"; \
		rm -rf .venv-ha && $(HA_PYTHON) -m venv .venv-ha && \
		.venv-ha/bin/python -m pip install --quiet "homeassistant==$(HA_VERSION)" && touch $(HA_STAMP); \
	fi

bench: $(STAMP) $(COMPILED)
	$(BIN)/python bench/run.py $(ARGS)

# The long fuzz run (about 15 minutes; ARGS="--scale 0.1" for a tenth): figures for docs/reliability.md
fuzz: $(STAMP)
	$(BIN)/python bench/fuzz.py $(ARGS)

clean:
	rm -rf $(VENV) .venv-ha build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
