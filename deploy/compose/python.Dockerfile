# Debian's Python 3.11, on the base image that deploy/compose/images.sh makes with mmdebstrap (no image
# registry is reachable from the development machines). Built with --network host: apt needs the mirror.
ARG BASE_IMAGE=amnesty-local/debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 amnesty \
    && useradd --system --uid 10001 --gid amnesty --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin amnesty
