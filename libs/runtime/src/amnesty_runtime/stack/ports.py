"""Ports on 127.0.0.1: is one free, and is something answering on it."""

from __future__ import annotations

import random
import socket
from pathlib import Path
from typing import Final

from amnesty_runtime.stack.errors import StackError

LOOPBACK = "127.0.0.1"


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def require_free(port: int, what: str, setting: str) -> None:
    """Fail with a clear message when another program holds a port the stack needs."""
    if not port_is_free(port):
        raise StackError(
            f"{what} cannot start: port {LOOPBACK}:{port} is taken by another program. "
            f"Stop that program or choose another port with {setting}=<port>."
        )


# Below the kernel's ephemeral range (where Linux starts it by default) and above the stack's and the
# services' default ports (8000-8002, 19092, 19093).
_LOWEST_PORT: Final = 20_000
_EPHEMERAL_RANGE: Final = Path("/proc/sys/net/ipv4/ip_local_port_range")
_ATTEMPTS: Final = 1_000
_handed_out: set[int] = set()


def free_port() -> int:
    """A port on 127.0.0.1 free now, never handed out before by this process, outside the ephemeral range.

    A port the kernel picks for a bind to port 0 is an ephemeral one, which any outgoing connection on
    the machine may take before the process it is meant for binds it: a Kafka broker takes seconds to
    start, and in a full test run (thousands of connections) one exited with its port taken. Where the
    ephemeral range leaves no room below it (fewer ports than tries), the kernel's choice it is, an
    ephemeral port after all.
    """
    low, high = _LOWEST_PORT, ephemeral_start()
    if high - low < _ATTEMPTS:
        return _kernels_choice()
    for _ in range(_ATTEMPTS):
        port = random.randrange(low, high)  # noqa: S311  # spread, not secrecy
        if port not in _handed_out and port_is_free(port):
            _handed_out.add(port)
            return port
    raise StackError(f"no free port on {LOOPBACK} between {low} and {high} after {_ATTEMPTS} tries")


def ephemeral_start() -> int:
    """The first port of the kernel's ephemeral range (Linux's default where it cannot be read)."""
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def _kernels_choice() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port
