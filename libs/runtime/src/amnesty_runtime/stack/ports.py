"""Ports on 127.0.0.1: is one free, and is something answering on it."""

from __future__ import annotations

import socket

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


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port
