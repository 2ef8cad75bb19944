"""Logging: one structlog pipeline for the services' own lines and every library's (FastStream, uvicorn,
aiokafka, asyncpg), so a log is one format: JSON lines in files and pipes, readable lines at a terminal.

Every line has ``timestamp``, ``level``, ``service``, ``logger`` and ``event``, and ``instance`` when the
process runs as a named instance (``AMNESTY_<SERVICE>_INSTANCE_ID``: with replicas, which one said it);
lines logged while a message is handled also carry its ``correlation_id`` and ``causation_id`` (bound by
``message_context``).
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

# Imported before any configuration: on import FastStream gives its "faststream" logger a coloured
# stderr handler of its own, which configure_logging then takes away (see _LIBRARY_LOGGERS).
import faststream  # noqa: F401
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from amnesty_runtime.settings import ServiceSettings

_LIBRARY_LOGGERS = ("faststream", "faststream.access", "uvicorn", "uvicorn.error", "uvicorn.access")
"""Loggers that libraries give handlers, formats or levels of their own; made to propagate to the root."""

_FASTSTREAM_EXTRAS = ("topic", "group_id", "message_id")
"""The ``extra`` fields FastStream puts on its lines. Only these: uvicorn's ``color_message`` is ANSI."""


@dataclass(frozen=True)
class LogFile:
    """A log file rotated by size: at ``max_bytes`` it becomes ``<path>.1`` and ``backups`` are kept."""

    path: Path
    max_bytes: int
    backups: int


def configure_logging(
    service: str,
    *,
    json: bool | None = None,
    level: str = "INFO",
    file: LogFile | None = None,
    instance: str | None = None,
) -> None:
    """Route structlog's and the stdlib's records through one pipeline to stderr or to ``file``.

    ``json``: True for JSON lines, False for readable ones; None chooses JSON unless the log goes to a
    terminal. Loggers must never receive raw personal identifiers; services log pseudonyms and counts.
    """
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        _with_service(service, instance),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            # First: a line below the level is dropped before anything is stamped, merged or formatted.
            # Without it every `log.debug` of a batch ran the whole chain only for the stdlib to drop it.
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    terminal = file is None and sys.stderr.isatty()
    handler = _handler(file)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.ExtraAdder(_FASTSTREAM_EXTRAS), *shared],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *_rendering(json=not terminal if json is None else json, colours=terminal),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
        library.setLevel(logging.NOTSET)
    # aiokafka reports every transient coordinator hiccup at WARNING/ERROR; keep them, but not at INFO.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    # Python's warnings become log lines too, instead of raw text between the JSON lines.
    logging.captureWarnings(True)


def configure_service_logging(service: str, settings: ServiceSettings) -> None:
    """``configure_logging`` as a service's settings say (AMNESTY_<SERVICE>_LOG_*)."""
    file = (
        None
        if settings.log_file is None
        else LogFile(settings.log_file, settings.log_file_max_bytes, settings.log_file_backups)
    )
    configure_logging(
        service, json=settings.log_json, level=settings.log_level, file=file, instance=settings.instance_id
    )


@contextmanager
def message_context(*, correlation_id: str, causation_id: str) -> Iterator[None]:
    """Within it, every line logged (in this task and in the tasks it starts) names the message handled."""
    with structlog.contextvars.bound_contextvars(correlation_id=correlation_id, causation_id=causation_id):
        yield


def _with_service(service: str, instance: str | None) -> Processor:
    def add_service(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
        event.setdefault("service", service)
        if instance is not None:
            event.setdefault("instance", instance)
        return event

    return add_service


class _Stderr(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is at the time: while a rich progress bar redirects it, the lines
    print above the bar instead of through it."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _stream: TextIO) -> None:
        pass


def _handler(file: LogFile | None) -> logging.Handler:
    if file is None:
        return _Stderr()
    file.path.parent.mkdir(parents=True, exist_ok=True)
    return logging.handlers.RotatingFileHandler(
        file.path, maxBytes=file.max_bytes, backupCount=file.backups, encoding="utf-8"
    )


def _rendering(*, json: bool, colours: bool) -> list[Processor]:
    if json:
        # JSON lines carry the traceback as text.
        return [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    return [
        structlog.dev.ConsoleRenderer(
            colors=colours,
            # Never the frames' local variables: they hold raw submissions, tax and case numbers.
            exception_formatter=structlog.dev.plain_traceback,
        )
    ]
