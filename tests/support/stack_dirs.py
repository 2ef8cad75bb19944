"""Data folders for second local stacks, beside the project's own `.local` rather than in pytest's
temporary directory.

As root the stack runs Kafka under its own system user, which must pass through every directory above
its data, for as long as it runs (the broker opens its segments by absolute path). pytest keeps
/tmp/pytest-of-<user> closed to other users, and every new pytest session of that user closes it again,
so a broker under tmp_path can lose its way to its own data in mid-run.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from amnesty_runtime.settings import find_project_root


@contextmanager
def second_stack_dir(name: str) -> Iterator[Path]:
    """A new, empty folder for a stack's `.local`, removed afterwards."""
    folder = (
        find_project_root(Path(__file__).parent) / ".local" / "test-stacks" / f"{name}-{uuid.uuid4().hex[:8]}"
    )
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
