# ciorch: `make run` sets everything up and runs the main job; `make test` runs the tests.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BASE_IMAGE ?= local/debian:bookworm
PYTEST_ARGS ?=

.PHONY: help setup system run test lint docs images base-image agent-images bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

system: ## Debian packages, a running Docker engine and the base image (when missing)
	@bash .ci/system

setup: system $(STAMP) ## everything: system packages, engine, base image, venv + editable install

run: setup ## set up, then run the main job on the example configuration
	@$(BIN)/ciorch config validate examples/
	@echo "ciorch is installed: $(BIN)/ciorch --help"

test: setup ## run the whole test suite (tests needing Docker fail, not skip, with CI=true)
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP) ## ruff, mypy (strict), import-linter layer contracts, schema/README sync
	$(BIN)/ruff check ciorch tests bench
	$(BIN)/ruff format --check ciorch tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m ciorch.config.reference --check README.md

docs: $(STAMP) ## regenerate the configuration reference in README.md from the schemas
	$(BIN)/python -m ciorch.config.reference --write README.md

base-image: ## local/debian:bookworm by debootstrap + docker import (skipped when present)
	@BASE_IMAGE=$(BASE_IMAGE) bash images/base/build.sh

images: base-image agent-images ## all images

agent-images: base-image ## the agent images (one per build environment) and the test agent
	docker build --network host --build-arg BASE_IMAGE=$(BASE_IMAGE) \
	  -t ciorch/agent-test:latest -f images/agent-test/Dockerfile .

bench: $(STAMP) ## benchmarks (each prints its figures beside the baseline's)
	@for b in bench/*.py; do [ -e "$$b" ] || continue; echo "== $$b"; $(BIN)/python "$$b"; done

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
