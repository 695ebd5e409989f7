# Everything a fresh machine needs, in two commands:
#   make demo   set up, then run the main job on the shipped default model
#   make test   set up (with training + dev extras), then run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-fast setup setup-dev setup-voices lint bench clean

PACKAGES := kws kws_cli training firmware_sim

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Runtime + speech synthesis (the demo synthesizes its own recordings). No TensorFlow.
$(VENV)/.setup-runtime: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[synth]"
	touch $@

# Runtime + training (TensorFlow) + dev tools and the peers we race.
$(VENV)/.setup-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[train,dev]"
	touch $@

setup: $(VENV)/.setup-runtime
setup-dev: $(VENV)/.setup-dev

# Flite's and Festival's voices, for `kws train --choose-full voices` (they judge the full
# model's candidates; training's data stays espeak-ng's). Debian/Ubuntu packages: root, or sudo
# asks. Nothing else needs them.
VOICE_PACKAGES := flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
setup-voices:
	$(SUDO) apt-get update -qq
	$(SUDO) apt-get install -y -qq --no-install-recommends $(VOICE_PACKAGES)

demo: setup
	$(BIN)/python -m kws_cli.demo

# CI runs this (.ci/run): lint and types on every package, then every test, slowest 15 named.
test: setup-dev lint
	$(BIN)/python -m pytest -q --durations=15

# The edit loop: no lint, no training runs.
test-fast: setup-dev
	$(BIN)/python -m pytest -q -m "not slow" -x

lint: setup-dev
	$(BIN)/ruff check $(PACKAGES) tests
	$(BIN)/ruff format --check $(PACKAGES) tests
	$(BIN)/mypy $(PACKAGES)

bench: setup-dev
	$(BIN)/kws bench frontend
	$(BIN)/kws bench cascade

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
