"""Ports for the processes the stack and the tests start: free, each once, never from the kernel's
ephemeral range (an outgoing connection could take one before its process binds it)."""

from __future__ import annotations

import socket

from amnesty_runtime.stack.ports import ephemeral_start, free_port


def test_ports_are_free_distinct_and_outside_the_ephemeral_range() -> None:
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(20_000 <= p < ephemeral_start() for p in ports)
    for port in ports[:20]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # free: binds
