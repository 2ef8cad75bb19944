# The contract suite for `make compose-test`: the locally built equivalent of the contract-tests target
# of services/intake/Dockerfile. The context is staged by deploy/compose/images.sh: venv/ is the locked
# environment of the whole workspace with the dev group, relocatable against Debian's
# /usr/bin/python3.11, and repo/ the worktree's files as git sees them (never .local/ or secrets).
ARG PYTHON_IMAGE=amnesty-local/python:3.11
FROM ${PYTHON_IMAGE}
# promtool, for the suite's checks of the Prometheus config and alert rules (built with --network host).
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus \
    && rm -rf /var/lib/apt/lists/*
COPY venv /app/.venv
COPY --chown=10001:10001 repo /app
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
USER 10001:10001
CMD ["pytest", "tests/contract", "-q", "-p", "no:cacheprovider"]
