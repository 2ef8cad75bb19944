// The live page: reads the statistics API, draws with Chart.js (vendored, loaded before this module),
// and reads again whenever the server-sent stream says the read model changed. No reload, no polling.

const Chart = window.Chart;
const WINDOW_OPENED = "2024-11-29";
const COLOURS = {
  cases: "#5470c6",
  returns: "#1a9e5b",
  official: "#d9480f",
  granted: "#1a9e5b",
  denied: "#c92a2a",
  pending: "#e8a317",
  revoked: "#7048e8",
};
const FIGURES = [
  "cases_opened",
  "voluntary_returns",
  "return_rate",
  "amnesties_granted",
  "amnesties_denied",
  "pending",
  "detained",
  "open_cases",
];
const DENIAL_REASONS = ["repeat-offence", "not-voluntary", "outside-window"];
const REGIMES = ["window-1", "window-2", "pilot-2026"];

const official = JSON.parse(document.getElementById("official-returns").textContent);
const count = new Intl.NumberFormat("en-GB");
const percent = new Intl.NumberFormat("en-GB", { style: "percent", maximumFractionDigits: 1 });
const shortDate = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
const monthName = new Intl.DateTimeFormat("en-GB", { month: "short", year: "numeric", timeZone: "UTC" });
const clock = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

const form = document.getElementById("filters");
const status = document.getElementById("status");

Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
Chart.defaults.font.size = 12;
Chart.defaults.color = "#5b6475";
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;

// --- reading the API ------------------------------------------------------------------------------

function filters() {
  const data = new FormData(form);
  return { region: data.get("region"), article: data.get("article"), period: data.get("period") };
}

function searchOf(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value) search.set(name, value);
  }
  return search.toString();
}

async function fetchJson(path, params) {
  const response = await fetch(`${path}?${searchOf(params)}`, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return response.json();
}

async function readFigures({ region, article, period }) {
  const scope = { region, article };
  const national = !region && !article;
  const sinceWindow = (params) =>
    fetchJson("/v1/stats/series", { ...params, metric: "voluntary_returns", period: "day", from: WINDOW_OPENED });
  const [summary, returns, cases, cumulative, nationalCumulative, regions] = await Promise.all([
    fetchJson("/v1/stats/summary", scope),
    fetchJson("/v1/stats/series", { ...scope, metric: "voluntary_returns", period }),
    fetchJson("/v1/stats/series", { ...scope, metric: "cases_opened", period }),
    sinceWindow(scope),
    national ? null : sinceWindow({}),
    fetchJson("/v1/stats/regions", {}),
  ]);
  return { summary, returns, cases, cumulative, nationalCumulative: nationalCumulative ?? cumulative, regions };
}

// --- periods and days -----------------------------------------------------------------------------

function nextPeriod(label, period) {
  const d = new Date(`${label}T00:00:00Z`);
  if (period === "month") d.setUTCMonth(d.getUTCMonth() + 1);
  else d.setUTCDate(d.getUTCDate() + (period === "week" ? 7 : 1));
  return d.toISOString().slice(0, 10);
}

function periodsBetween(first, last, period) {
  const labels = [];
  for (let label = first; label <= last; label = nextPeriod(label, period)) labels.push(label);
  return labels;
}

function byPeriod(points) {
  return new Map(points.map((p) => [p.period, p.value]));
}

// Both series on one axis: every period from the earlier first to the later last (each series has
// every period of its own range; the other's missing ones are zeros).
function flowRows(returns, cases, period) {
  const labels = [...returns, ...cases].map((p) => p.period).sort();
  if (!labels.length) return [];
  const r = byPeriod(returns);
  const c = byPeriod(cases);
  return periodsBetween(labels[0], labels[labels.length - 1], period).map((label) => ({
    period: label,
    cases: c.get(label) ?? 0,
    returns: r.get(label) ?? 0,
  }));
}

function runningTotals(points) {
  let total = 0;
  return points.map((p) => ({ day: p.period, total: (total += p.value) }));
}

function totalBy(totals, day) {
  let value = 0;
  for (const t of totals) {
    if (t.day > day) break;
    value = t.total;
  }
  return value;
}

// --- drawing ----------------------------------------------------------------------------------------

function setFigure(name, value) {
  const element = document.getElementById(`figure-${name}`);
  element.dataset.value = value === null ? "" : String(value);
  if (value === null) element.textContent = "–";
  else element.textContent = name === "return_rate" ? percent.format(value) : count.format(value);
}

function fillTable(id, rows) {
  const body = document.querySelector(`#${id} tbody`);
  body.replaceChildren(
    ...rows.map(({ cells, current, classes = [] }) => {
      const tr = document.createElement("tr");
      if (current) tr.setAttribute("aria-current", "true");
      cells.forEach((text, i) => {
        const cell = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) cell.scope = "row";
        if (classes[i]) cell.className = classes[i];
        cell.textContent = text;
        tr.append(cell);
      });
      return tr;
    }),
  );
}

const axisCount = { beginAtZero: true, ticks: { callback: (v) => count.format(v), precision: 0, maxRotation: 0 } };

// Period labels are ISO dates (the API's); the axis shows them as a person reads dates.
function periodAxis(periodOf) {
  return {
    ticks: {
      maxTicksLimit: 7,
      maxRotation: 0,
      autoSkip: true,
      autoSkipPadding: 24,
      callback(value) {
        const day = new Date(`${this.getLabelForValue(value)}T00:00:00Z`);
        return periodOf() === "month" ? monthName.format(day) : shortDate.format(day);
      },
    },
  };
}
const legendBottom = { position: "bottom", labels: { boxWidth: 12, boxHeight: 12 } };

let shownPeriod = "week";
const flowChart = new Chart(document.getElementById("flow-chart"), {
  type: "line",
  data: {
    labels: [],
    datasets: [
      { label: "New cases", data: [], borderColor: COLOURS.cases, backgroundColor: COLOURS.cases, pointRadius: 0, borderWidth: 2 },
      { label: "Voluntary returns", data: [], borderColor: COLOURS.returns, backgroundColor: COLOURS.returns, pointRadius: 0, borderWidth: 2 },
    ],
  },
  options: {
    interaction: { mode: "index", intersect: false },
    scales: { x: periodAxis(() => shownPeriod), y: axisCount },
    plugins: { legend: legendBottom },
  },
});

const cumulativeChart = new Chart(document.getElementById("cumulative-chart"), {
  type: "line",
  data: {
    labels: [],
    datasets: [
      { label: "Voluntary returns, cumulative", data: [], borderColor: COLOURS.returns, backgroundColor: "rgba(26, 158, 91, 0.12)", fill: true, pointRadius: 0, borderWidth: 2 },
      { label: "Official figures (national)", data: [], showLine: false, borderColor: COLOURS.official, backgroundColor: COLOURS.official, pointStyle: "rectRot", pointRadius: 7, pointHoverRadius: 9 },
    ],
  },
  options: {
    interaction: { mode: "nearest", axis: "x", intersect: false },
    scales: { x: periodAxis(() => "day"), y: axisCount },
    plugins: {
      legend: legendBottom,
      tooltip: {
        callbacks: {
          label: (item) => {
            if (item.datasetIndex === 0) return `${item.dataset.label}: ${count.format(item.raw)}`;
            const figure = official.find((o) => o.on === item.label);
            return `Official: ${figure.label} (${figure.source})`;
          },
        },
      },
    },
  },
});

const decisionsChart = new Chart(document.getElementById("decisions-chart"), {
  type: "bar",
  data: { labels: [], datasets: [{ label: "Returns", data: [], backgroundColor: [] }] },
  options: {
    indexAxis: "y",
    scales: { x: axisCount, y: { ticks: { autoSkip: false } } },
    plugins: { legend: { display: false } },
  },
});

function drawFigures(summary) {
  for (const name of FIGURES) setFigure(name, summary[name]);
}

function drawFlow(rows, period) {
  shownPeriod = period;
  flowChart.data.labels = rows.map((r) => r.period);
  flowChart.data.datasets[0].data = rows.map((r) => r.cases);
  flowChart.data.datasets[1].data = rows.map((r) => r.returns);
  flowChart.update("none");
  for (const name of document.querySelectorAll(".period-name")) name.textContent = period;
  fillTable(
    "flow-table",
    rows.map((r) => ({ cells: [r.period, count.format(r.cases), count.format(r.returns)] })),
  );
}

// The official figures are national: beside one region or article they would flatten its line, so they
// start hidden there (a click on the legend shows them).
let officialFor = null;

function drawCumulative(cumulative, national) {
  const totals = runningTotals(cumulative);
  const lastData = totals.length ? totals[totals.length - 1].day : WINDOW_OPENED;
  const lastOfficial = official[official.length - 1].on;
  const days = periodsBetween(WINDOW_OPENED, lastData > lastOfficial ? lastData : lastOfficial, "day");
  const byDay = new Map(totals.map((t) => [t.day, t.total]));
  const marks = new Map(official.map((o) => [o.on, o.value]));
  cumulativeChart.data.labels = days;
  cumulativeChart.data.datasets[0].data = days.map((d) => (d <= lastData ? (byDay.get(d) ?? null) : null));
  cumulativeChart.data.datasets[1].data = days.map((d) => marks.get(d) ?? null);
  if (officialFor !== national) {
    officialFor = national;
    cumulativeChart.setDatasetVisibility(1, national);
  }
  cumulativeChart.update("none");
}

function drawOfficial(nationalCumulative) {
  const totals = runningTotals(nationalCumulative);
  fillTable(
    "official-table",
    official.map((o) => ({
      cells: [shortDate.format(new Date(`${o.on}T00:00:00Z`)), o.label, count.format(totalBy(totals, o.on)), o.source],
      classes: ["", "official-value", "", "source"],
    })),
  );
}

function drawDecisions(summary) {
  const bars = [
    ...REGIMES.map((regime) => [`granted · ${regime}`, summary.amnesties_granted_by_regime[regime] ?? 0, COLOURS.granted]),
    ...Object.entries(summary.amnesties_granted_by_regime)
      .filter(([regime]) => !REGIMES.includes(regime))
      .map(([regime, value]) => [`granted · ${regime}`, value, COLOURS.granted]),
    ...DENIAL_REASONS.map((reason) => [`denied · ${reason}`, summary.amnesties_denied_by_reason[reason] ?? 0, COLOURS.denied]),
    ["pending · case-unknown", summary.pending, COLOURS.pending],
    ["revoked", summary.revoked, COLOURS.revoked],
  ];
  decisionsChart.data.labels = bars.map((b) => b[0]);
  decisionsChart.data.datasets[0].data = bars.map((b) => b[1]);
  decisionsChart.data.datasets[0].backgroundColor = bars.map((b) => b[2]);
  decisionsChart.update("none");
}

function drawRegions(regions, selected) {
  const rows = [...regions.regions].sort(
    (a, b) => b.voluntary_returns - a.voluntary_returns || b.cases_opened - a.cases_opened || a.name.localeCompare(b.name),
  );
  fillTable(
    "regions-table",
    rows.map((r) => ({
      current: r.region === selected,
      cells: [
        r.region === "unknown" ? "Region unknown" : r.name,
        count.format(r.cases_opened),
        count.format(r.voluntary_returns),
        r.return_rate === null ? "–" : percent.format(r.return_rate),
      ],
    })),
  );
  document.querySelector('#regions-table tr[aria-current="true"]')?.scrollIntoView({ block: "nearest" });
}

// --- keeping it current -----------------------------------------------------------------------------

function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

async function load() {
  const chosen = filters();
  const figures = await readFigures(chosen);
  drawFigures(figures.summary);
  drawFlow(flowRows(figures.returns, figures.cases, chosen.period), chosen.period);
  drawCumulative(figures.cumulative, !chosen.region && !chosen.article);
  drawOfficial(figures.nationalCumulative);
  drawDecisions(figures.summary);
  drawRegions(figures.regions, chosen.region);
  status.dataset.updated = new Date().toISOString();
}

// One load at a time; a change during a load asks for one more afterwards, never a pile of them.
let loading = null;
let again = false;
function refresh() {
  if (loading) {
    again = true;
    return loading;
  }
  loading = load()
    .catch((error) => setStatus("error", `Could not read the figures (${error.message}); retrying on the next change`))
    .finally(() => {
      loading = null;
      if (again) {
        again = false;
        refresh();
      }
    });
  return loading;
}

function restoreFilters() {
  const params = new URLSearchParams(window.location.search);
  for (const name of ["region", "article"]) {
    const value = params.get(name);
    if (value && form.elements[name].querySelector(`option[value="${CSS.escape(value)}"]`)) form.elements[name].value = value;
  }
  const period = params.get("period");
  if (["day", "week", "month"].includes(period)) form.elements.period.value = period;
}

form.addEventListener("change", () => {
  const { region, article, period } = filters();
  history.replaceState(null, "", `${window.location.pathname}?${searchOf({ region, article, period })}`);
  refresh();
});

function follow() {
  const stream = new EventSource("/v1/stats/stream");
  stream.addEventListener("open", () => setStatus("live", "Live"));
  stream.addEventListener("changed", () => {
    setStatus("live", `Live · changed ${clock.format(new Date())}`);
    refresh();
  });
  // EventSource reconnects by itself; meanwhile the page says so.
  stream.addEventListener("error", () => setStatus("reconnecting", "Reconnecting…"));
}

restoreFilters();
refresh();
follow();
