"""How much the fuzz tests try: the same examples every run (derandomized, so CI and a laptop agree and a
failure reproduces), few enough that the whole folder stays within about two minutes on two cores."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

FUZZ = settings(
    derandomize=True,
    deadline=None,
    max_examples=200,
    # Large generated inputs (bytes near 64 KiB, deep JSON) are the point, not a slow-data accident.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
"""The in-process fuzzing: 200 derandomized examples per test, no example database."""

FEW = settings(FUZZ, max_examples=25)
"""For each case that runs a whole command or HTTP request."""
