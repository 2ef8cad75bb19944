"""The Grafana dashboards as code: `amnesty-returns` and `amnesty-operations`, written as JSON to
deploy/grafana/dashboards/ (which Grafana's provisioning loads).

    uv run --frozen python deploy/grafana/generate.py           # (re)write the JSON (make dashboards)
    uv run --frozen python deploy/grafana/generate.py --check   # exit 1 when the committed JSON drifted

Business figures by business date come from the statistics read models through the PostgreSQL data
source (uid `amnesty-postgres`, the views of schema `statistics`); live rates and the business gauges
through Prometheus (uid `amnesty-prometheus`) with the metric names of contract.md. The official
returns figures are literal values taken from amnesty_statistics.domain.official_figures, the table the
live page draws too. The output is deterministic: the same code gives the same bytes.
"""

# The SQL here is text for Grafana, composed from this module's constants; no value comes from outside.
# ruff: noqa: S608

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from textwrap import dedent
from typing import Final

from grafana_foundation_sdk.builders import barchart, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    DynamicConfigValue,
    GridPos,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from amnesty_statistics.domain.official_figures import OFFICIAL_RETURNS, WINDOW_OPENED

OUT: Final = Path(__file__).parent / "dashboards"
PROMETHEUS: Final = DataSourceRef(type_val="prometheus", uid="amnesty-prometheus")
POSTGRES: Final = DataSourceRef(type_val="grafana-postgresql-datasource", uid="amnesty-postgres")

# --- the PostgreSQL data source's query (the SDK has builders for Prometheus, not for SQL) --------------


class SqlQuery(cogvariants.Dataquery):
    """A raw-SQL target of Grafana's PostgreSQL data source."""

    def __init__(self, ref_id: str, sql: str, format_val: str) -> None:
        self.ref_id = ref_id
        self.sql = sql
        self.format_val = format_val

    def to_json(self) -> dict[str, object]:
        return {
            "datasource": POSTGRES.to_json(),
            "editorMode": "code",
            "format": self.format_val,
            "rawQuery": True,
            "rawSql": self.sql,
            "refId": self.ref_id,
        }


class Sql(Builder[SqlQuery]):
    def __init__(self, sql: str, *, ref_id: str = "A", table_format: bool = False) -> None:
        self._query = SqlQuery(ref_id, dedent(sql).strip(), "table" if table_format else "time_series")

    def build(self) -> SqlQuery:
        return self._query


def promql(expr: str, legend: str, ref_id: str = "A") -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref_id).range()


# --- the read models' filters, as Grafana variables ------------------------------------------------

# Single-value variables: Grafana substitutes them unquoted (quotes doubled), so the SQL quotes them.
SCOPE: Final = "('$region' = 'all' OR region = '$region') AND ('$article' = 'all' OR article = '$article')"
PERIOD: Final = "date_trunc('$period', day::timestamp)"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


OFFICIAL_VALUES: Final = (
    "(VALUES "
    + ", ".join(
        f"(DATE '{o.on.isoformat()}', {o.value}, {_literal(o.as_json()['label'])}, {_literal(o.source)})"
        for o in OFFICIAL_RETURNS
    )
    + ") AS official (on_day, value, label, source)"
)


def period_variable() -> dashboard_builders.CustomVariable:
    periods = ["day", "week", "month"]
    return (
        dashboard_builders.CustomVariable("period")
        .allow_custom_value(False)
        .label("Period")
        .values(",".join(periods))
        .current(VariableOption(selected=True, text="week", value="week"))
        .options([VariableOption(selected=p == "week", text=p, value=p) for p in periods])
    )


def region_variable() -> dashboard_builders.QueryVariable:
    query = (
        "SELECT __value, __text FROM (SELECT 'all' AS __value, 'All regions' AS __text, 0 AS rank "
        "UNION ALL SELECT region, name, 1 FROM statistics.region_names "
        "UNION ALL SELECT 'unknown', 'Region unknown', 2) AS choices ORDER BY rank, __text"
    )
    return (
        dashboard_builders.QueryVariable("region")
        .allow_custom_value(False)
        .label("Region")
        .datasource(POSTGRES)
        .query(query)
        .refresh(VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(VariableSort.DISABLED)
        .current(VariableOption(selected=True, text="All regions", value="all"))
    )


def article_variable() -> dashboard_builders.CustomVariable:
    choices = [("All articles", "all"), ("407", "407"), ("408", "408"), ("unknown", "unknown")]
    return (
        dashboard_builders.CustomVariable("article")
        .allow_custom_value(False)
        .label("Article")
        .values(",".join(f"{text} : {value}" for text, value in choices))
        .current(VariableOption(selected=True, text="All articles", value="all"))
        .options([VariableOption(selected=v == "all", text=t, value=v) for t, v in choices])
    )


# --- panels -------------------------------------------------------------------------------------------


def at(w: int, h: int) -> GridPos:
    return GridPos(w=w, h=h)


def legend_bottom() -> common_builders.VizLegendOptions:
    return (
        common_builders.VizLegendOptions()
        .display_mode(common.LegendDisplayMode.LIST)
        .placement(common.LegendPlacement.BOTTOM)
        .show_legend(True)
    )


def live_stat(title: str, expr: str, description: str) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .with_target(promql(expr, title).instant())
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        .graph_mode(common.BigValueGraphMode.NONE)
        .color_mode(common.BigValueColorMode.VALUE)
        .unit("short")
        .decimals(0)
        .grid_pos(at(4, 4))
    )


def business_series(title: str, description: str, *targets: Sql) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(POSTGRES)
        .unit("short")
        .min(0)
        .legend(legend_bottom())
        .line_width(2)
        .fill_opacity(10)
        .show_points(common.VisibilityMode.NEVER)
        .grid_pos(at(16, 9))
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def rate_series(title: str, description: str, unit: str, *targets: prometheus.Dataquery) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .unit(unit)
        .min(0)
        .legend(legend_bottom())
        .line_width(1)
        .fill_opacity(10)
        .show_points(common.VisibilityMode.NEVER)
        .grid_pos(at(12, 8))
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def returns_dashboard() -> dashboard_builders.Dashboard:
    now = dashboard_builders.Row("Now: the read model's totals as live gauges (Prometheus, all regions)")
    business = dashboard_builders.Row("By business date: the read models (PostgreSQL), filtered above")
    flow = business_series(
        "Returns against new cases, per $period",
        "Voluntary returns and cases opened, by the business date of each (late events update past periods).",
        Sql(
            f"""
            SELECT {PERIOD} AS time,
                   sum(voluntary_returns) AS "Voluntary returns",
                   sum(cases_opened) AS "New cases"
            FROM statistics.daily_figures
            WHERE $__timeFilter(day) AND {SCOPE}
            GROUP BY 1
            ORDER BY 1
            """
        ),
    )
    by_article = (
        barchart.Panel()
        .title("By article")
        .description(
            "Cases opened under the article they were opened with; returns and detentions under the "
            "article in force on their date."
        )
        .datasource(POSTGRES)
        .with_target(
            Sql(
                """
                SELECT 'Art. ' || article AS "Article",
                       sum(cases_opened) AS "New cases",
                       sum(voluntary_returns) AS "Voluntary returns",
                       sum(detained) AS "Detained"
                FROM statistics.daily_figures
                WHERE $__timeFilter(day) AND ('$region' = 'all' OR region = '$region')
                GROUP BY article
                ORDER BY article
                """,
                table_format=True,
            )
        )
        .x_field("Article")
        .legend(legend_bottom())
        .unit("short")
        .grid_pos(at(8, 9))
    )
    cumulative = business_series(
        f"Cumulative returns since {WINDOW_OPENED:%-d %b %Y}, against the official figures",
        "The system's voluntary returns summed from the day the first window opened, and the figures the "
        "prosecutors, the SBI and the commander-in-chief published (national: compare with all regions).",
        Sql(
            f"""
            SELECT day::timestamp AS time,
                   sum(sum(voluntary_returns)) OVER (ORDER BY day) AS "Voluntary returns, cumulative"
            FROM statistics.daily_figures
            WHERE day >= DATE '{WINDOW_OPENED.isoformat()}' AND {SCOPE}
            GROUP BY day
            ORDER BY day
            """
        ),
        Sql(
            f"""
            SELECT on_day::timestamp AS time, value AS "Official (national)"
            FROM {OFFICIAL_VALUES}
            ORDER BY on_day
            """,
            ref_id="B",
        ),
    ).override_by_name(
        "Official (national)",
        [
            DynamicConfigValue("custom.drawStyle", "points"),
            DynamicConfigValue("custom.pointSize", 12),
            DynamicConfigValue("color", {"mode": "fixed", "fixedColor": "orange"}),
        ],
    )
    official = (
        table.Panel()
        .title("Official figures against this system")
        .description(
            "Returns since the first window opened, as published and as counted here (all regions, "
            "both articles)."
        )
        .datasource(POSTGRES)
        .with_target(
            Sql(
                f"""
                SELECT official.on_day AS "By",
                       official.label AS "Official",
                       (SELECT coalesce(sum(voluntary_returns), 0) FROM statistics.daily_figures
                        WHERE day BETWEEN DATE '{WINDOW_OPENED.isoformat()}' AND official.on_day)
                         AS "This system",
                       official.source AS "Source"
                FROM {OFFICIAL_VALUES}
                ORDER BY official.on_day
                """,
                table_format=True,
            )
        )
        .grid_pos(at(8, 9))
    )
    decisions = (
        barchart.Panel()
        .title("Decisions by regime and reason")
        .description(
            "Returns of the period by the decision in force on them: granted (by regime), denied (by "
            "reason), pending (waiting for their case), revoked."
        )
        .datasource(POSTGRES)
        .with_target(
            Sql(
                f"""
                SELECT CASE metric
                         WHEN 'amnesties_granted' THEN 'granted · ' || regime
                         WHEN 'amnesties_denied' THEN 'denied · ' || reason
                         WHEN 'pending' THEN 'pending · ' || reason
                         ELSE 'revoked · ' || regime || ' · ' || reason
                       END AS "Decision",
                       sum(value) AS "Returns"
                FROM statistics.daily_stats
                WHERE metric IN ('amnesties_granted', 'amnesties_denied', 'pending', 'revoked')
                  AND $__timeFilter(day) AND {SCOPE}
                GROUP BY 1
                HAVING sum(value) <> 0
                ORDER BY 1
                """,
                table_format=True,
            )
        )
        .x_field("Decision")
        .orientation(common.VizOrientation.HORIZONTAL)
        .show_value(common.VisibilityMode.AUTO)
        .unit("short")
        .grid_pos(at(12, 9))
    )
    decisions_over_time = business_series(
        "Decisions per $period",
        "Returns by the decision in force on them, dated by the return.",
        Sql(
            f"""
            SELECT {PERIOD} AS time,
                   sum(amnesties_granted) AS "Granted",
                   sum(amnesties_denied) AS "Denied",
                   sum(pending) AS "Pending",
                   sum(revoked) AS "Revoked"
            FROM statistics.daily_figures
            WHERE $__timeFilter(day) AND {SCOPE}
            GROUP BY 1
            ORDER BY 1
            """
        ),
    ).grid_pos(at(12, 9))
    regions = (
        table.Panel()
        .title("By region")
        .description("The period's figures per region (the region of the person's case).")
        .datasource(POSTGRES)
        .with_target(
            Sql(
                """
                SELECT coalesce(names.name, 'Region unknown') AS "Region",
                       sum(f.cases_opened) AS "New cases",
                       sum(f.voluntary_returns) AS "Voluntary returns",
                       round(sum(f.voluntary_returns)::numeric / nullif(sum(f.cases_opened), 0), 3)
                         AS "Return rate",
                       sum(f.amnesties_granted) AS "Granted",
                       sum(f.detained) AS "Detained"
                FROM statistics.daily_figures AS f
                LEFT JOIN statistics.region_names AS names USING (region)
                WHERE $__timeFilter(f.day) AND ('$article' = 'all' OR f.article = '$article')
                GROUP BY 1
                ORDER BY 3 DESC, 1
                """,
                table_format=True,
            )
        )
        .grid_pos(at(12, 10))
    )
    absent = business_series(
        "Absent now (open cases)",
        "Cases open on each day: opened and not yet ended by a return, a detention or a closing.",
        Sql(
            f"""
            SELECT day::timestamp AS time,
                   sum(sum(open_cases_change)) OVER (ORDER BY day) AS "Open cases"
            FROM statistics.daily_figures
            WHERE {SCOPE}
            GROUP BY day
            ORDER BY day
            """
        ),
    ).grid_pos(at(12, 10))
    return (
        dashboard_builders.Dashboard("Amnesty: returns")
        .uid("amnesty-returns")
        .description("Voluntary returns against new cases, decisions, and the official figures.")
        .tags(["amnesty", "statistics"])
        .timezone("utc")
        .week_start("monday")
        .time("2024-01-01T00:00:00.000Z", "now")
        .refresh("30s")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .readonly()
        .with_variable(period_variable())
        .with_variable(region_variable())
        .with_variable(article_variable())
        .with_row(now)
        .with_panel(
            live_stat("Voluntary returns", "sum(amnesty_voluntary_returns)", "All time, every region.")
        )
        .with_panel(live_stat("Cases opened", "sum(amnesty_cases_opened)", "All time, both articles."))
        .with_panel(live_stat("Absent now", "sum(amnesty_open_cases)", "Cases open now."))
        .with_panel(
            live_stat(
                "Amnesties granted",
                'sum(amnesty_decisions{decision="granted"})',
                "Returns granted, all regimes.",
            )
        )
        .with_panel(
            live_stat("Denied", 'sum(amnesty_decisions{decision="denied"})', "Returns denied, every reason.")
        )
        .with_panel(
            live_stat(
                "Pending", 'sum(amnesty_decisions{decision="pending"})', "Returns waiting for their case."
            )
        )
        .with_row(business)
        .with_panel(flow)
        .with_panel(by_article)
        .with_panel(cumulative)
        .with_panel(official)
        .with_panel(decisions)
        .with_panel(decisions_over_time)
        .with_panel(regions)
        .with_panel(absent)
    )


def operations_dashboard() -> dashboard_builders.Dashboard:
    rate = "$__rate_interval"
    quantiles = [
        promql(
            f"histogram_quantile({q}, sum by (le) (rate(amnesty_handler_seconds_bucket[{rate}])))",
            f"p{round(q * 100)}",
            ref_id=ref,
        )
        for q, ref in ((0.5, "A"), (0.95, "B"), (0.99, "C"))
    ]
    return (
        dashboard_builders.Dashboard("Amnesty: operations")
        .uid("amnesty-operations")
        .description(
            "Throughput, lag, rejections, outbox and handler latency of intake, eligibility and statistics."
        )
        .tags(["amnesty", "operations"])
        .timezone("utc")
        .time("now-1h", "now")
        .refresh("10s")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .readonly()
        .with_panel(
            live_stat(
                "Services up",
                'sum(up{job=~"intake|eligibility|statistics"})',
                "Scrape targets answering (3 when all are).",
            ).grid_pos(at(6, 4))
        )
        .with_panel(
            live_stat(
                "Projection lag",
                "max(amnesty_projection_lag_seconds)",
                "Seconds since everything then on the topics was applied to the read model.",
            )
            .unit("s")
            .decimals(1)
            .grid_pos(at(6, 4))
        )
        .with_panel(
            live_stat(
                "Outbox pending",
                "sum(amnesty_outbox_pending)",
                "Events written but not yet acknowledged by Kafka.",
            ).grid_pos(at(6, 4))
        )
        .with_panel(
            live_stat(
                "Rejected in the last hour",
                "sum(increase(amnesty_messages_rejected_total[1h]))",
                "Messages sent to amnesty.rejected.v1 or skipped as unreadable.",
            ).grid_pos(at(6, 4))
        )
        .with_panel(
            rate_series(
                "Throughput by service and topic",
                "Messages consumed per second.",
                "ops",
                promql(
                    f"sum by (service, topic) (rate(amnesty_messages_consumed_total[{rate}]))",
                    "{{service}} ← {{topic}}",
                ),
            )
        )
        .with_panel(
            rate_series(
                "Throughput by message type",
                "Messages consumed per second, by submission or event type.",
                "ops",
                promql(
                    f"sum by (service, type) (rate(amnesty_messages_consumed_total[{rate}]))",
                    "{{service}}: {{type}}",
                ),
            )
        )
        .with_panel(
            rate_series(
                "Rejections by reason",
                "Messages rejected per second, by the machine-readable reason.",
                "ops",
                promql(
                    f"sum by (service, reason) (rate(amnesty_messages_rejected_total[{rate}]))",
                    "{{service}}: {{reason}}",
                ),
            )
        )
        .with_panel(
            rate_series(
                "Projection lag",
                "How far behind its topics each read model may be (0 when caught up).",
                "s",
                promql("max by (projection) (amnesty_projection_lag_seconds)", "{{projection}}"),
            )
        )
        .with_panel(
            rate_series(
                "Outbox pending",
                "Events in each service's outbox, not yet acknowledged by Kafka.",
                "short",
                promql("sum by (service) (amnesty_outbox_pending)", "{{service}}"),
            )
        )
        .with_panel(
            rate_series(
                "Handler latency, all services",
                "Time to handle one message (a batch's time shared among its messages).",
                "s",
                *quantiles,
            )
        )
        .with_panel(
            rate_series(
                "Handler latency p95 by service and type",
                "The 95th percentile of the time to handle one message, per message type.",
                "s",
                promql(
                    "histogram_quantile(0.95, sum by (le, service, type) "
                    f"(rate(amnesty_handler_seconds_bucket[{rate}])))",
                    "{{service}}: {{type}}",
                ),
            ).grid_pos(at(24, 8))
        )
    )


DASHBOARDS: Final = {"amnesty-returns": returns_dashboard, "amnesty-operations": operations_dashboard}


def numbered(board: dashboard_builders.Dashboard) -> dict[str, object]:
    """The dashboard's JSON with panel ids 1, 2, … in order (stable across runs)."""
    built = board.build()
    for number, panel in enumerate(built.panels or [], start=1):
        panel.id_val = number
    encoded: dict[str, object] = json.loads(json.dumps(built, cls=JSONEncoder))
    return encoded


def render(name: str) -> str:
    return json.dumps(numbered(DASHBOARDS[name]()), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(args: Sequence[str]) -> int:
    check = "--check" in args
    drifted = []
    for name in DASHBOARDS:
        path = OUT / f"{name}.json"
        text = render(name)
        if check:
            if not path.exists() or path.read_text() != text:
                drifted.append(path)
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path}")
    for path in drifted:
        print(f"{path} differs from the generator: run `make dashboards`", file=sys.stderr)
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
