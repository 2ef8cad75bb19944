"""Structured logging: JSON lines in services, readable lines at a terminal."""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(*, json: bool, level: str = "INFO") -> None:
    """Route stdlib and structlog records through one structlog pipeline.

    Loggers must never receive raw personal identifiers; services log pseudonyms and counts only.
    """
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # JSON lines carry the traceback as text; the console renderer prints it itself.
    tail: list[structlog.types.Processor] = [structlog.processors.format_exc_info] if json else []
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(
            # Never the frames' local variables: they hold raw submissions, tax and case numbers.
            colors=sys.stderr.isatty(),
            exception_formatter=structlog.dev.plain_traceback,
        )
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiokafka reports every transient coordinator hiccup at WARNING/ERROR; keep them, but not at INFO.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
