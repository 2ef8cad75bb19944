"""The local stack: a real PostgreSQL and a real Apache Kafka broker, bound to 127.0.0.1, under .local/."""

from amnesty_runtime.stack.endpoints import Endpoints, resolve
from amnesty_runtime.stack.errors import StackError
from amnesty_runtime.stack.stack import ComponentStatus, Stack, StartReport

__all__ = ["ComponentStatus", "Endpoints", "Stack", "StackError", "StartReport", "resolve"]
