"""The queries of the provisioned Grafana dashboards (deploy/grafana/dashboards/*.json), as Grafana would
send them: variables and macros replaced by values, so that a test can run them against the real
Prometheus and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

DASHBOARDS: Final = Path(__file__).parents[2] / "deploy" / "grafana" / "dashboards"
# The provisioned data sources (deploy/grafana/provisioning): the defaults of the dashboards'
# data-source variables.
PROMETHEUS_UID: Final = "amnesty-prometheus"
POSTGRES_UID: Final = "amnesty-postgres"

# What Grafana puts for its own variables in PromQL (the panels' step is irrelevant to a test).
PROMQL_VARIABLES: Final = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}


@dataclass(frozen=True)
class Query:
    dashboard: str
    where: str
    """The panel's title, the variable's name or the annotation's."""
    text: str
    kind: str
    """The panel's type (`stat`, `table`, …), `variable` or `annotation`."""


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # collapsed rows keep their panels inside


def datasource_uid(board: Mapping[str, Any], ref: Mapping[str, Any] | None) -> str | None:
    """The uid a data source reference names, a data-source variable (``${name}``) resolved to its
    default (what Grafana uses until the reader picks another)."""
    uid = (ref or {}).get("uid")
    variable = re.fullmatch(r"\$\{(\w+)\}|\$(\w+)", uid or "")
    if variable is None:
        return uid
    name = variable.group(1) or variable.group(2)
    for candidate in board.get("templating", {}).get("list", []):
        if candidate["type"] == "datasource" and candidate["name"] == name:
            current: str = candidate["current"]["value"]
            return current
    raise AssertionError(f"{board['uid']}: no data-source variable {name!r}")


def panels(board: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel of ``board``, rows and the panels of collapsed rows included."""
    return _panels(board.get("panels", []))


def variables(board: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in board.get("templating", {}).get("list", [])}


def queries(uid: str) -> list[Query]:
    """Every query of every dashboard on the data source ``uid``: panel targets, variables and
    annotations."""
    found = []
    for name, board in dashboards().items():
        for panel in panels(board):
            for target in panel.get("targets", []):
                if datasource_uid(board, target.get("datasource") or panel.get("datasource")) == uid:
                    text = target.get("expr") or target["rawSql"]
                    found.append(Query(name, panel["title"], text, panel["type"]))
        for variable in variables(board).values():
            if variable["type"] == "query" and datasource_uid(board, variable.get("datasource")) == uid:
                found.append(Query(name, f"${variable['name']}", variable["query"], "variable"))
        for annotation in board.get("annotations", {}).get("list", []):
            if datasource_uid(board, annotation.get("datasource")) == uid:
                target = annotation["target"]
                text = target.get("expr") or target["rawSql"]
                found.append(Query(name, annotation["name"], text, "annotation"))
    return found


def promql(expr: str) -> str:
    for variable, value in PROMQL_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"a Grafana variable left in {expr!r}"
    return expr


def sql(
    text: str, *, schema: str, start: datetime, end: datetime, variables: Mapping[str, str | Sequence[str]]
) -> str:
    """The SQL as Grafana's PostgreSQL data source sends it, on the read models of ``schema``.

    A single value is written as it is (its quotes doubled); a list (a multi-value variable, or the
    values of its "All") quoted and comma-separated, as Grafana formats multi-value variables for SQL.
    """
    since, until = (moment.strftime("%Y-%m-%dT%H:%M:%SZ") for moment in (start, end))
    text = re.sub(r"\$__timeFilter\(([^)]+)\)", rf"\1 BETWEEN '{since}' AND '{until}'", text)
    text = text.replace("$__timeFrom()", f"'{since}'").replace("$__timeTo()", f"'{until}'")
    # Longest names first, so that $region is not taken for a prefix of $regions.
    for name in sorted(variables, key=len, reverse=True):
        value = variables[name]
        if isinstance(value, str):
            written = value.replace("'", "''")
        else:
            assert value, f"${name}: Grafana sends no query while a multi-value variable has no value"
            written = ",".join("'" + one.replace("'", "''") + "'" for one in value)
        text = text.replace(f"${{{name}}}", written).replace(f"${name}", written)
    assert "$" not in text, f"a Grafana variable or macro left in {text!r}"
    return re.sub(r"\bstatistics\.", f'"{schema}".', text)
