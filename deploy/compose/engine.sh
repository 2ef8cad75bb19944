#!/usr/bin/env bash
# A Docker engine of this worktree's own: `engine.sh start | stop`.
#
# The development machines run no Docker engine and others' stacks share them, so this starts Debian's
# dockerd with its data, exec root, pid file and socket under .local/docker, and without touching the
# host's firewall or routing (--iptables=false --ip-forward=false --ip-masq=false --bridge=none): compose
# still creates its own bridge networks with service-name DNS, and ports publish on 127.0.0.1.
# `stop` ends exactly the dockerd it started, by the pid in its pid file.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
ENGINE_DIR="${AMNESTY_DOCKER_DIR:-$ROOT/.local/docker}"
SOCKET="$ENGINE_DIR/docker.sock"
PIDFILE="$ENGINE_DIR/dockerd.pid"
LOG="$ENGINE_DIR/dockerd.log"
START_TIMEOUT_S=60
STOP_TIMEOUT_S=60

running() { [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  if running; then echo "dockerd already running (pid $(cat "$PIDFILE"))"; return; fi
  mkdir -p "$ENGINE_DIR/data" "$ENGINE_DIR/exec"
  # A daemon of its own must not share the system's default socket, config or containerd.
  setsid /usr/sbin/dockerd \
    --data-root "$ENGINE_DIR/data" --exec-root "$ENGINE_DIR/exec" --pidfile "$PIDFILE" \
    -H "unix://$SOCKET" --iptables=false --ip-forward=false --ip-masq=false --bridge=none \
    --storage-driver=overlay2 >"$LOG" 2>&1 </dev/null &
  local waited=0
  until DOCKER_HOST="unix://$SOCKET" /usr/bin/docker version >/dev/null 2>&1; do
    if (( waited >= START_TIMEOUT_S )); then
      echo "dockerd did not answer within ${START_TIMEOUT_S}s; see $LOG" >&2; tail -20 "$LOG" >&2; exit 1
    fi
    sleep 1; waited=$((waited + 1))
  done
  echo "dockerd ready after ${waited}s (pid $(cat "$PIDFILE"), DOCKER_HOST=unix://$SOCKET)"
}

stop() {
  if ! running; then unmount_leftovers; echo "dockerd not running"; return; fi
  local pid waited=0
  pid="$(cat "$PIDFILE")"
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    if (( waited >= STOP_TIMEOUT_S )); then echo "dockerd $pid did not stop; killing it" >&2; kill -KILL "$pid"; break; fi
    sleep 1; waited=$((waited + 1))
  done
  unmount_leftovers
  echo "dockerd stopped"
}

# dockerd leaves its default network namespace (and at times its data root) mounted under the engine's
# directory after it exits; unmounted here, deepest first, so that the directory can be removed.
unmount_leftovers() {
  local mount_point
  awk -v dir="$ENGINE_DIR/" 'index($2, dir) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r mount_point; do
      umount "$mount_point" 2>/dev/null || umount --lazy "$mount_point" || true
    done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start | stop" >&2; exit 2 ;;
esac
