"""The published contract, served: the AsyncAPI document and the JSON Schema of every message."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from typing import Any

from fastapi import APIRouter

from amnesty_runtime.problems import ProblemError, problem_openapi

_SCHEMAS = files("amnesty_contracts") / "schemas"
_NAME = re.compile(r"[A-Za-z0-9.]+\.json")


def contract_router() -> APIRouter:
    router = APIRouter(tags=["contract"])

    @router.get("/asyncapi.json")
    async def asyncapi() -> dict[str, Any]:
        document: dict[str, Any] = json.loads((_SCHEMAS / "asyncapi.json").read_text())
        return document

    @router.get("/schemas/{name}", responses={404: problem_openapi("No published schema of that name.")})
    async def schema(name: str) -> dict[str, Any]:
        resource = _SCHEMAS / name
        if not _NAME.fullmatch(name) or not resource.is_file():
            raise ProblemError(404, f"no schema {name}")
        document: dict[str, Any] = json.loads(resource.read_text())
        return document

    return router
