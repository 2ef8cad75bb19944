"""The Grafana dashboards as code: `amnesty-returns` and `amnesty-operations`, written as JSON to
deploy/grafana/dashboards/ (which Grafana's provisioning loads).

    uv run --frozen python deploy/grafana/generate.py           # (re)write the JSON (make dashboards)
    uv run --frozen python deploy/grafana/generate.py --check   # exit 1 when the committed JSON drifted

Business figures by business date come from the statistics read models through a PostgreSQL data
source (the views of schema `statistics`), filtered by the dashboard's time range and its region and
article variables; live operational figures through Prometheus, with the metric names of docs/contract.md.
Each dashboard picks its data sources with data-source variables (`$postgres`, `$prometheus`) whose
default is the provisioned one (uids `amnesty-postgres`, `amnesty-prometheus`), so that it also works
against another data source of the same type. The official returns figures are literal values taken from
amnesty_statistics.domain.official_figures (the table the live page draws too), and the amnesty windows'
annotations come from the eligibility service's active rule set. The output is deterministic: the same
code gives the same bytes.
"""

# The SQL here is text for Grafana, composed from this module's constants; no value comes from outside.
# ruff: noqa: S608

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import timedelta
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
    AnnotationTarget,
    DashboardCursorSync,
    DashboardLinkType,
    DataSourceRef,
    DynamicConfigValue,
    GridPos,
    Threshold,
    ThresholdsMode,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from amnesty_eligibility.adapters.rule_files import load_packaged_rule_set
from amnesty_eligibility.domain.regimes import Regime
from amnesty_eligibility.settings import ACTIVE_RULE_SET
from amnesty_statistics.domain.official_figures import OFFICIAL_RETURNS, WINDOW_OPENED

OUT: Final = Path(__file__).parent / "dashboards"
RETURNS_UID: Final = "amnesty-returns"
OPERATIONS_UID: Final = "amnesty-operations"

# --- data sources: a variable per type, defaulting to the provisioned one ------------------------------

POSTGRES_TYPE: Final = "grafana-postgresql-datasource"
PROMETHEUS_TYPE: Final = "prometheus"
POSTGRES: Final = DataSourceRef(type_val=POSTGRES_TYPE, uid="${postgres}")
PROMETHEUS: Final = DataSourceRef(type_val=PROMETHEUS_TYPE, uid="${prometheus}")


def datasource_variable(
    name: str, plugin: str, label: str, uid: str, title: str
) -> dashboard_builders.DatasourceVariable:
    """Any data source of type ``plugin``; the provisioned one (``uid``) until the reader picks another."""
    return (
        dashboard_builders.DatasourceVariable(name)
        .label(label)
        .allow_custom_value(False)
        .type(plugin)
        .regex("")
        .current(VariableOption(selected=True, text=title, value=uid))
    )


def postgres_variable() -> dashboard_builders.DatasourceVariable:
    return datasource_variable(
        "postgres", POSTGRES_TYPE, "Read models", "amnesty-postgres", "Amnesty read models"
    )


def prometheus_variable() -> dashboard_builders.DatasourceVariable:
    return datasource_variable(
        "prometheus", PROMETHEUS_TYPE, "Prometheus", "amnesty-prometheus", "Prometheus"
    )


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


class SqlAnnotationTarget(AnnotationTarget):
    """An annotation query of the PostgreSQL data source: rows of time, timeend, text and tags."""

    def __init__(self, sql: str) -> None:
        super().__init__()
        self.sql = dedent(sql).strip()

    def to_json(self) -> dict[str, object]:
        return {
            "editorMode": "code",
            "format": "table",
            "rawQuery": True,
            "rawSql": self.sql,
            "refId": "Anno",
        }


class SqlAnnotation(Builder[AnnotationTarget]):
    def __init__(self, sql: str) -> None:
        self._target = SqlAnnotationTarget(sql)

    def build(self) -> AnnotationTarget:
        return self._target


def promql(expr: str, legend: str, ref_id: str = "A") -> prometheus.Dataquery:
    return (
        prometheus.Dataquery().datasource(PROMETHEUS).expr(expr).legend_format(legend).ref_id(ref_id).range()
    )


# --- the read models' filters, as Grafana variables ------------------------------------------------

# Multi-value variables with Grafana's own "All": in SQL Grafana writes the chosen values (all of the
# options for "All") quoted and comma-separated, so `IN (...)` takes one value or many.
REGIONS: Final = "region IN ($region)"
ARTICLES: Final = "article IN ($article)"
SCOPE: Final = f"{REGIONS} AND {ARTICLES}"
# $period is single-valued: Grafana writes it as it is, so the SQL quotes it.
PERIOD: Final = "date_trunc('$period', day::timestamp)"
ALL: Final = VariableOption(selected=True, text=["All"], value=["$__all"])


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
        "SELECT region AS __value, name AS __text FROM statistics.dashboard_region_names "
        "UNION ALL SELECT 'unknown', 'Region unknown' ORDER BY __text"
    )
    return (
        dashboard_builders.QueryVariable("region")
        .allow_custom_value(False)
        .label("Region")
        .datasource(POSTGRES)
        .query(query)
        .refresh(VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(VariableSort.DISABLED)
        .multi(True)
        .include_all(True)
        .current(ALL)
    )


def article_variable() -> dashboard_builders.CustomVariable:
    choices = [("407", "407"), ("408", "408"), ("unknown", "unknown")]
    return (
        dashboard_builders.CustomVariable("article")
        .allow_custom_value(False)
        .label("Article")
        .values(",".join(f"{text} : {value}" for text, value in choices))
        .multi(True)
        .include_all(True)
        .current(ALL)
        .options(
            [VariableOption(selected=True, text="All", value="$__all")]
            + [VariableOption(selected=False, text=t, value=v) for t, v in choices]
        )
    )


# --- the amnesty windows, as annotations --------------------------------------------------------------


def _window_row(regime: Regime) -> str:
    # returns_until is inclusive: the window closes at the end of that day.
    text = (
        f"{regime.id}: returns {regime.returns_from:%-d %b %Y} to {regime.returns_until:%-d %b %Y}, "
        f"absence begun by {regime.absence_by:%-d %b %Y}. {regime.basis}".strip()
    )
    return (
        f"(TIMESTAMP '{regime.returns_from.isoformat()}', "
        f"TIMESTAMP '{(regime.returns_until + timedelta(days=1)).isoformat()}', "
        f"{_literal(text)}, {_literal(regime.id)})"
    )


def windows_annotation() -> dashboard_builders.AnnotationQuery:
    rules = load_packaged_rule_set(ACTIVE_RULE_SET)
    rows = ",\n  ".join(_window_row(regime) for regime in rules.regimes)
    sql = (
        "SELECT opens AS time, closes AS timeend, text, 'amnesty window,' || regime AS tags\n"
        f"FROM (VALUES\n  {rows}\n) AS windows (opens, closes, text, regime)\n"
        "ORDER BY opens"
    )
    return (
        dashboard_builders.AnnotationQuery()
        .name(f"Amnesty windows (rule set {rules.version})")
        .datasource(POSTGRES)
        .enable(True)
        .icon_color("rgba(115, 191, 105, 0.25)")
        .target(SqlAnnotation(sql))
    )


# --- links between the dashboards ---------------------------------------------------------------------


def dashboard_url(uid: str) -> str:
    return f"/d/{uid}"


def link_to(uid: str, title: str, tooltip: str) -> dashboard_builders.DashboardLink:
    return (
        dashboard_builders.DashboardLink(title)
        .type(DashboardLinkType.LINK)
        .url(dashboard_url(uid))
        .tooltip(tooltip)
        .icon("dashboard")
        .keep_time(False)
        .include_vars(False)
        .target_blank(False)
    )


# The returns dashboard narrowed to one region, everything else kept as the reader set it.
REGION_DRILL_DOWN: Final = {
    "title": "Returns in ${__data.fields.Region}",
    "url": dashboard_url(RETURNS_UID)
    + "?var-region=${__data.fields.Code}&${article:queryparam}&${period:queryparam}"
    + "&${postgres:queryparam}&${prometheus:queryparam}&${__url_time_range}",
}


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


def thresholds(base: str, *steps: tuple[float, str]) -> dashboard_builders.ThresholdsConfig:
    """Absolute thresholds: ``base`` below the first step, then each step's colour from its value on."""
    return (
        dashboard_builders.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=None, color=base), *(Threshold(value=v, color=c) for v, c in steps)])
    )


def business_stat(title: str, description: str, figure: str, colour: str) -> stat.Panel:
    """A figure of the read models over the dashboard's time range (by business date) and filters.

    Business figures have no good or bad level, so one colour, chosen by meaning, is their only step.
    """
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(POSTGRES)
        .with_target(
            Sql(
                f"""
                SELECT {figure} AS "{title}"
                FROM statistics.dashboard_daily_figures
                WHERE $__timeFilter(day) AND {SCOPE}
                """,
                table_format=True,
            )
        )
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        .graph_mode(common.BigValueGraphMode.NONE)
        .color_mode(common.BigValueColorMode.VALUE)
        .unit("short")
        .decimals(0)
        .thresholds(thresholds(colour))
        .grid_pos(at(3, 4))
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
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .unit("short")
        .decimals(0)
        .grid_pos(at(6, 4))
    )


# The levels of the alert rules in deploy/prometheus/rules/amnesty.rules.yml: a stat turns orange where a
# warning would fire and red where a critical one would (tests/contract/test_alert_rules.py compares).
LAG_WARNING_S: Final = 120
LAG_CRITICAL_S: Final = 600
OUTBOX_WARNING: Final = 1000
XACT_WARNING_S: Final = 60


def lag_stat() -> stat.Panel:
    return (
        live_stat(
            "Projection lag",
            "max(amnesty_projection_lag_seconds)",
            "Seconds since everything then on the topics was applied to the read model (0: caught up).",
        )
        .unit("s")
        .decimals(1)
        .thresholds(thresholds("green", (LAG_WARNING_S, "orange"), (LAG_CRITICAL_S, "red")))
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


def period_stats() -> list[stat.Panel]:
    absent = (
        stat.Panel()
        .title("Absent at the end")
        .description("Cases open on the last day of the time range: opened and not yet ended by then.")
        .datasource(POSTGRES)
        .with_target(
            Sql(
                f"""
                SELECT coalesce(sum(open_cases_change), 0) AS "Absent at the end"
                FROM statistics.dashboard_daily_figures
                WHERE day <= $__timeTo()::timestamptz AND {SCOPE}
                """,
                table_format=True,
            )
        )
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        .graph_mode(common.BigValueGraphMode.NONE)
        .color_mode(common.BigValueColorMode.VALUE)
        .unit("short")
        .decimals(0)
        .thresholds(thresholds("orange"))
        .grid_pos(at(3, 4))
    )
    return_rate = (
        business_stat(
            "Return rate",
            "Voluntary returns per case opened in the time range.",
            "sum(voluntary_returns)::numeric / nullif(sum(cases_opened), 0)",
            "text",
        )
        .unit("percentunit")
        .decimals(1)
        # No case opened in the range: the rate is undefined, not 0 %.
        .no_value("\N{EN DASH}")
    )
    return [
        business_stat(
            "Voluntary returns", "Returns in the time range.", "coalesce(sum(voluntary_returns), 0)", "green"
        ),
        business_stat(
            "Cases opened", "Cases opened in the time range.", "coalesce(sum(cases_opened), 0)", "blue"
        ),
        return_rate,
        business_stat(
            "Granted",
            "Returns of the time range granted an amnesty (every regime).",
            "coalesce(sum(amnesties_granted), 0)",
            "green",
        ),
        business_stat(
            "Denied",
            "Returns of the time range denied an amnesty (every reason).",
            "coalesce(sum(amnesties_denied), 0)",
            "purple",
        ),
        business_stat(
            "Pending",
            "Returns of the time range waiting for their case.",
            "coalesce(sum(pending), 0)",
            "yellow",
        ),
        absent,
    ]


def returns_dashboard() -> dashboard_builders.Dashboard:
    glance = dashboard_builders.Row(
        "The time range at a glance: the read models (PostgreSQL), filtered above"
    )
    business = dashboard_builders.Row("By business date: the read models (PostgreSQL), filtered above")
    flow = business_series(
        "Returns against new cases, per $period",
        "Voluntary returns and cases opened, by the business date of each (late events update past periods).",
        Sql(
            f"""
            SELECT {PERIOD} AS time,
                   sum(voluntary_returns) AS "Voluntary returns",
                   sum(cases_opened) AS "New cases"
            FROM statistics.dashboard_daily_figures
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
                f"""
                SELECT 'Art. ' || article AS "Article",
                       sum(cases_opened) AS "New cases",
                       sum(voluntary_returns) AS "Voluntary returns",
                       sum(detained) AS "Detained"
                FROM statistics.dashboard_daily_figures
                WHERE $__timeFilter(day) AND {SCOPE}
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
            FROM statistics.dashboard_daily_figures
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
                       (SELECT coalesce(sum(voluntary_returns), 0) FROM statistics.dashboard_daily_figures
                        WHERE day BETWEEN DATE '{WINDOW_OPENED.isoformat()}' AND official.on_day)
                         AS "This system",
                       official.source AS "Source"
                FROM {OFFICIAL_VALUES}
                ORDER BY official.on_day
                """,
                table_format=True,
            )
        )
        .unit("short")
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
                FROM statistics.dashboard_daily_stats
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
            FROM statistics.dashboard_daily_figures
            WHERE $__timeFilter(day) AND {SCOPE}
            GROUP BY 1
            ORDER BY 1
            """
        ),
    ).grid_pos(at(12, 9))
    regions = (
        table.Panel()
        .title("By region")
        .description(
            "The period's figures per region (the region of the person's case). A region's name opens "
            "this dashboard filtered on it."
        )
        .datasource(POSTGRES)
        .with_target(
            Sql(
                f"""
                SELECT coalesce(names.name, 'Region unknown') AS "Region",
                       f.region AS "Code",
                       sum(f.cases_opened) AS "New cases",
                       sum(f.voluntary_returns) AS "Voluntary returns",
                       sum(f.voluntary_returns)::numeric / nullif(sum(f.cases_opened), 0) AS "Return rate",
                       sum(f.amnesties_granted) AS "Granted",
                       sum(f.detained) AS "Detained"
                FROM statistics.dashboard_daily_figures AS f
                LEFT JOIN statistics.dashboard_region_names AS names USING (region)
                WHERE $__timeFilter(f.day) AND f.{REGIONS} AND f.{ARTICLES}
                GROUP BY 1, 2
                ORDER BY 4 DESC, 1
                """,
                table_format=True,
            )
        )
        .unit("short")
        .override_by_name(
            "Return rate", [DynamicConfigValue("unit", "percentunit"), DynamicConfigValue("decimals", 1)]
        )
        .override_by_name("Region", [DynamicConfigValue("links", [REGION_DRILL_DOWN])])
        .grid_pos(at(12, 10))
    )
    absent = business_series(
        "Absent now (open cases)",
        "Cases open on each day: opened and not yet ended by a return, a detention or a closing.",
        Sql(
            f"""
            SELECT day::timestamp AS time,
                   sum(sum(open_cases_change)) OVER (ORDER BY day) AS "Open cases"
            FROM statistics.dashboard_daily_figures
            WHERE {SCOPE}
            GROUP BY day
            ORDER BY day
            """
        ),
    ).grid_pos(at(12, 10))
    freshness = (
        lag_stat()
        .title("Read model lag")
        .description(
            "How far behind the topics the figures below may be, live from Prometheus (0: caught up)."
        )
        .links([link_to(OPERATIONS_UID, "Operations", "Throughput, lag, rejections and outbox")])
    )
    board = (
        dashboard_builders.Dashboard("Amnesty: returns")
        .uid(RETURNS_UID)
        .description("Voluntary returns against new cases, decisions, and the official figures.")
        .tags(["amnesty", "statistics"])
        .timezone("utc")
        .week_start("monday")
        .time("2024-01-01T00:00:00.000Z", "now")
        .refresh("30s")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .readonly()
        .link(link_to(OPERATIONS_UID, "Operations", "Throughput, lag, rejections, outbox and latency"))
        .with_variable(postgres_variable())
        .with_variable(prometheus_variable())
        .with_variable(period_variable())
        .with_variable(region_variable())
        .with_variable(article_variable())
        .annotation(windows_annotation())
        .with_row(glance)
    )
    for panel in period_stats():
        board = board.with_panel(panel)
    return (
        board.with_panel(freshness.grid_pos(at(3, 4)))
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
        .uid(OPERATIONS_UID)
        .description(
            "Throughput, lag, rejections, outbox and handler latency of intake, eligibility and statistics."
        )
        .tags(["amnesty", "operations"])
        .timezone("utc")
        .time("now-1h", "now")
        .refresh("10s")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .readonly()
        .link(link_to(RETURNS_UID, "Returns", "Voluntary returns against new cases, by business date"))
        .with_variable(prometheus_variable())
        .with_panel(
            live_stat(
                "Services down",
                'count(up{job=~"intake|eligibility|statistics"} == 0) or vector(0)',
                "Scrape targets of intake, eligibility and statistics not answering (0 when all are up).",
            )
            .thresholds(thresholds("green", (1, "red")))
            .grid_pos(at(4, 4))
        )
        .with_panel(lag_stat().grid_pos(at(4, 4)))
        .with_panel(
            live_stat(
                "Outbox pending",
                "sum(amnesty_outbox_pending)",
                "Events written but not yet acknowledged by Kafka.",
            )
            .thresholds(thresholds("green", (OUTBOX_WARNING, "orange")))
            .grid_pos(at(4, 4))
        )
        .with_panel(
            live_stat(
                "Rejected in the last hour",
                "sum(increase(amnesty_messages_rejected_total[1h]))",
                "Messages sent to amnesty.rejected.v1 or skipped as unreadable; each waits for a re-drive.",
            )
            .thresholds(thresholds("green", (1, "yellow")))
            .grid_pos(at(4, 4))
        )
        .with_panel(
            live_stat(
                "Messages per second",
                f"sum(rate(amnesty_messages_consumed_total[{rate}]))",
                "Messages consumed per second, every service and topic.",
            )
            .unit("ops")
            .decimals(1)
            .color_mode(common.BigValueColorMode.VALUE)
            .thresholds(thresholds("text"))
            .grid_pos(at(4, 4))
        )
        .with_panel(
            live_stat(
                "Oldest open transaction",
                "max(amnesty_eventstore_oldest_xact_seconds)",
                "Age of the oldest open transaction: it holds back every reader of the event stores.",
            )
            .unit("s")
            .decimals(1)
            .thresholds(thresholds("green", (XACT_WARNING_S, "orange")))
            .grid_pos(at(4, 4))
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
                "Consumer lag",
                "Messages on each topic that a service has not applied yet (0 when caught up).",
                "short",
                promql("sum by (service, topic) (amnesty_consumer_lag_messages)", "{{service}} ← {{topic}}"),
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


DASHBOARDS: Final = {RETURNS_UID: returns_dashboard, OPERATIONS_UID: operations_dashboard}


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
