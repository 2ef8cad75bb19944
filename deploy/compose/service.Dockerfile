# One of the three services (or the simulator) for `make compose-test`: the locally built equivalent of
# services/<service>/Dockerfile. The context is staged by deploy/compose/images.sh: venv/ is the locked
# runtime environment of the whole workspace (uv sync --no-dev --no-editable), made relocatable against
# Debian's /usr/bin/python3.11 — the interpreter of the image below — so it is copied, not rebuilt.
ARG PYTHON_IMAGE=amnesty-local/python:3.11
FROM ${PYTHON_IMAGE}
COPY venv /app/.venv
ARG SERVICE
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    AMNESTY_SERVICE=${SERVICE}
WORKDIR /app
USER 10001:10001
# The service's console script; the simulator's command (`amnesty simulate ...`) comes from compose.
CMD ["sh", "-c", "exec amnesty-$AMNESTY_SERVICE"]
