"""The queries of the provisioned Grafana dashboards (deploy/grafana/dashboards/*.json), as Grafana would
send them: variables and macros replaced by values, so that a test can run them against the real
Prometheus and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

DASHBOARDS: Final = Path(__file__).parents[2] / "deploy" / "grafana" / "dashboards"
PROMETHEUS_UID: Final = "amnesty-prometheus"
POSTGRES_UID: Final = "amnesty-postgres"

# What Grafana puts for its own variables in PromQL (the panels' step is irrelevant to a test).
PROMQL_VARIABLES: Final = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}


@dataclass(frozen=True)
class Query:
    dashboard: str
    where: str
    """The panel's title or the variable's name."""
    text: str


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # collapsed rows keep their panels inside


def queries(uid: str) -> list[Query]:
    """Every query of every dashboard on the data source ``uid``: panel targets and variables."""
    found = []
    for name, board in dashboards().items():
        for panel in _panels(board.get("panels", [])):
            for target in panel.get("targets", []):
                if (target.get("datasource") or panel.get("datasource") or {}).get("uid") == uid:
                    found.append(Query(name, panel["title"], target.get("expr") or target["rawSql"]))
        for variable in board.get("templating", {}).get("list", []):
            if (variable.get("datasource") or {}).get("uid") == uid:
                found.append(Query(name, f"${variable['name']}", variable["query"]))
    return found


def promql(expr: str) -> str:
    for variable, value in PROMQL_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"a Grafana variable left in {expr!r}"
    return expr


def sql(text: str, *, schema: str, start: datetime, end: datetime, variables: Mapping[str, str]) -> str:
    """The SQL as Grafana's PostgreSQL data source sends it, on the read models of ``schema``."""
    since, until = (moment.strftime("%Y-%m-%dT%H:%M:%SZ") for moment in (start, end))
    text = re.sub(r"\$__timeFilter\(([^)]+)\)", rf"\1 BETWEEN '{since}' AND '{until}'", text)
    text = text.replace("$__timeFrom()", f"'{since}'").replace("$__timeTo()", f"'{until}'")
    for name, value in variables.items():
        text = text.replace(f"${{{name}}}", value).replace(f"${name}", value.replace("'", "''"))
    assert "$" not in text, f"a Grafana variable or macro left in {text!r}"
    return re.sub(r"\bstatistics\.", f'"{schema}".', text)
