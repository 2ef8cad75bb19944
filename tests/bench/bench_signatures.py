"""Benchmark: signing and verifying one domain event, HMAC-SHA256 (chosen) against Ed25519.

Run with ``uv run --frozen python -m tests.bench.bench_signatures`` (see tests/bench/README.md). No
stack: pure CPU over a real encoded event. Prints a markdown table and writes it to
``bench-results/signatures.md``. Rounds alternate between the schemes and each one's best round counts,
so a neighbour's load on the shared machine does not decide the comparison.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from amnesty_eventstore.signatures import Signer, SigningKey, Verifier, signed_bytes
from tests.support.domain_events import EventFactory, encoded

TOPIC = "amnesty.cases.v1"
RATE = 5000
"""Events per second the pipeline targets on 2 cores."""
VERIFICATIONS = 2
"""A case event is verified by eligibility and by statistics."""


def _per_call_us(call: Callable[[], object], seconds: float) -> float:
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(200):
            call()
        calls += 200
    return elapsed / calls * 1e6


def measure(rounds: int, seconds: float) -> dict[str, float]:
    event = EventFactory().case_opened("p" * 43, "c" * 43, "2024-11-20")
    key, value = event.person.encode(), encoded(event)
    signer = Signer(SigningKey("intake", b"k" * 32))
    headers = signer.headers(TOPIC, key, value)
    verifier = Verifier([SigningKey("intake", b"k" * 32)], {TOPIC: "intake"})
    assert verifier.check(TOPIC, key, value, headers) is None
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    message = signed_bytes(TOPIC, key, "intake", "0" * 16, value)
    signature = private.sign(message)
    calls: dict[str, Callable[[], object]] = {
        "HMAC-SHA256 sign (Signer.headers)": lambda: signer.headers(TOPIC, key, value),
        "HMAC-SHA256 verify (Verifier.check)": lambda: verifier.check(TOPIC, key, value, headers),
        "Ed25519 sign": lambda: private.sign(message),
        "Ed25519 verify": lambda: public.verify(signature, message),
    }
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(rounds):
        for name, call in calls.items():
            best[name] = min(best[name], _per_call_us(call, seconds))
    return best


def table(best: dict[str, float], event_bytes: int) -> str:
    lines = [
        f"## Event signatures (one {event_bytes}-byte CaseOpened, best of rounds)",
        "",
        f"| operation | µs per event | one core's share at {RATE}/s x {VERIFICATIONS} verifications |",
        "| --- | ---: | ---: |",
    ]
    for name, us in best.items():
        times = VERIFICATIONS if "verify" in name else 1
        lines.append(f"| {name} | {us:.1f} | {us * RATE * times / 1e6:.0%} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5, help="length of one round per operation")
    args = parser.parse_args()
    size = len(encoded(EventFactory().case_opened("p" * 43, "c" * 43, "2024-11-20")))
    text = table(measure(args.rounds, args.seconds), size)
    print(text)
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "signatures.md").write_text(text)


if __name__ == "__main__":
    main()
