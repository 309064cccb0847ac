import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { runLabel, type ComparisonResult } from '../eval/compare.js';
import { SOLVER_NAMES } from '../solvers/registry.js';

/** One solver run in a comparison (a ComparisonResult without its points; an adaptive run is labelled by its tolerance, 'ode-rk45 tol 1e-5'). */
export type ComparisonRow = Omit<ComparisonResult, 'solver' | 'points'> & { solver: string };

/** What a report shows; every part but the title is optional. */
export interface ReportData {
  title: string;
  /** Free-form facts shown as a table at the top (backend, data, model, ...). */
  facts?: Record<string, string | number>;
  rows?: ComparisonRow[];
  /** The metric between two independent reference sets of the samples' size. */
  noiseFloor?: { sw2: number; energy: number };
  /**
   * 2-D scatter sets. A set whose label is a solver's name, or starts with one and a space
   * ('ddpm (100 NFE)'), is drawn in that solver's colour; any other (the reference) in a neutral one.
   */
  scatter?: { label: string; points: number[][] }[];
  /** Trajectories of a few particles: coordinate 0 of each particle at each time, labelled (and coloured) like the scatter sets. */
  trajectories?: { label: string; times: number[]; particles: number[][] }[];
  /** Training loss against step. */
  loss?: { step: number; loss: number }[];
}

const require = createRequire(import.meta.url);

/** uPlot's script and style, read from node_modules so the page needs no network. */
function uplotAssets(): { js: string; css: string } {
  const dist = path.join(path.dirname(require.resolve('uplot/package.json')), 'dist');
  return {
    js: fs.readFileSync(path.join(dist, 'uPlot.iife.min.js'), 'utf8'),
    css: fs.readFileSync(path.join(dist, 'uPlot.min.css'), 'utf8'),
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe to embed inside a <script> element. */
function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function formatValue(v: string | number): string {
  return typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v;
}

function table(className: string, header: string[], rows: (string | number)[][]): string {
  return `<table class="${className}"><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>${rows
    .map((r) => `<tr>${r.map((v) => `<td>${escapeHtml(formatValue(v))}</td>`).join('')}</tr>`)
    .join('')}</table>`;
}

/** Key-value facts: one row each, the key as the row's header; no column headers. */
function factsTable(facts: Record<string, string | number>): string {
  return `<table class="facts">${Object.entries(facts)
    .map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(formatValue(v))}</td></tr>`)
    .join('')}</table>`;
}

/**
 * An energy distance as printed: the unbiased estimate can fall below 0 when the two sets are
 * indistinguishable at their size; it is then printed as 0, marked as clamped.
 */
function energyText(v: number): string {
  return v < 0 ? '0 (clamped)' : formatValue(v);
}

const ENERGY_NOTE =
  'Energy distance: the unbiased estimate 2 mean|x − y| − mean|x − x′| − mean|y − y′| (distinct pairs within each set). ' +
  'Its expectation is 0 when the two distributions are equal, so an estimate can come out below 0; such estimates are printed as ' +
  '0 (clamped), meaning no difference detectable at this sample size. The embedded data keeps the unclamped values.';

/** One colour per solver, the same in every chart and every report: slot i belongs to SOLVER_NAMES[i]. */
const SOLVER_PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#393b79', '#ad494a', '#637939'];
/** The reference (held-out) data and other series that are no solver: no palette slot. */
const NEUTRAL = '#555555';
const NOISE_FLOOR = '#999999';

/** The colours of a report's series, computed here so that every chart of the page keys them the same way. */
interface Colours {
  /** By solver name. */
  solvers: Record<string, string>;
  /** Per scatter set and per trajectory set, in order. */
  scatter: string[];
  trajectories: string[];
  neutral: string;
  noiseFloor: string;
}

/** The solver a series label belongs to: the longest known name that is the label or starts it followed by a space. */
function solverOfLabel(label: string, known: readonly string[]): string | undefined {
  return known.filter((s) => label === s || label.startsWith(`${s} `)).sort((a, b) => b.length - a.length)[0];
}

function reportColours(data: ReportData): Colours {
  const rowSolvers = (data.rows ?? []).map((r) => r.solver);
  const known = [...new Set([...SOLVER_NAMES, ...rowSolvers])];
  const solvers: Record<string, string> = {};
  // Registered solvers keep their slot; others (a summary.json of another version) take the slots after them.
  known.forEach((s, i) => (solvers[s] = SOLVER_PALETTE[i % SOLVER_PALETTE.length]));
  const colourOf = (label: string) => {
    const s = solverOfLabel(label, known);
    return s === undefined ? NEUTRAL : solvers[s];
  };
  const used = new Set([...rowSolvers, ...[...(data.scatter ?? []), ...(data.trajectories ?? [])].map((set) => solverOfLabel(set.label, known))]);
  return {
    solvers: Object.fromEntries(Object.entries(solvers).filter(([s]) => used.has(s))),
    scatter: (data.scatter ?? []).map((set) => colourOf(set.label)),
    trajectories: (data.trajectories ?? []).map((set) => colourOf(set.label)),
    neutral: NEUTRAL,
    noiseFloor: NOISE_FLOOR,
  };
}

/** Client-side code that draws the charts with uPlot from the embedded data. */
const CLIENT = String.raw`
const data = JSON.parse(document.getElementById('report-data').textContent);
const colours = JSON.parse(document.getElementById('report-colours').textContent);
const W = 460, H = 300;
// Every chart by its element id, kept for inspection (the report tests read their series' colours).
window.reportCharts = {};
function chart(id, title, opts, series, columns) {
  const el = document.getElementById(id);
  if (!el) return;
  window.reportCharts[id] = new uPlot(Object.assign({ title, width: W, height: H, series: [{}].concat(series), legend: { show: true } }, opts), columns, el);
}
// Values of one series at the union of x values, null where the series has none.
function align(groups, xKey, yKey) {
  const xs = [...new Set(groups.flatMap(g => g.rows.map(r => r[xKey])))].sort((a, b) => a - b);
  return [xs].concat(groups.map(g => xs.map(x => { const r = g.rows.find(r => r[xKey] === x); return r ? r[yKey] : null; })));
}
if (data.rows && data.rows.length) {
  const solvers = [...new Set(data.rows.map(r => r.solver))];
  const groups = solvers.map(s => ({ s, rows: data.rows.filter(r => r.solver === s) }));
  const series = groups.map(g => ({ label: g.s, stroke: colours.solvers[g.s], width: 2, points: { show: true, size: 6 }, spanGaps: true }));
  const logX = { scales: { x: { time: false, distr: 3 } }, axes: [{ label: 'NFE' }, { label: '' }] };
  const quality = align(groups, 'nfe', 'sw2');
  if (data.noiseFloor) { series.push({ label: 'noise floor', stroke: colours.noiseFloor, dash: [6, 4], width: 1, points: { show: false } }); quality.push(quality[0].map(() => data.noiseFloor.sw2)); }
  chart('chart-quality', 'sliced W2 to reference vs NFE', { ...logX, axes: [{ label: 'NFE' }, { label: 'sliced W2' }] }, series, quality);
  chart('chart-time', 'wall time vs NFE', { ...logX, axes: [{ label: 'NFE' }, { label: 'seconds' }] }, series.slice(0, groups.length), align(groups, 'nfe', 'seconds'));
}
// One range for every scatter plot, so samples and reference are compared at the same scale.
const allPoints = (data.scatter || []).flatMap(s => s.points);
const extent = k => { const v = allPoints.map(p => p[k]); const lo = Math.min(...v), hi = Math.max(...v), pad = 0.05 * (hi - lo || 1); return [lo - pad, hi + pad]; };
const scatterScales = allPoints.length ? { x: { time: false, range: extent(0) }, y: { range: extent(1) } } : {};
(data.scatter || []).forEach((set, i) => {
  const pts = set.points.slice().sort((a, b) => a[0] - b[0]);
  chart('chart-scatter-' + i, set.label, { scales: scatterScales, cursor: { show: false }, legend: { show: false } },
    [{ label: set.label, stroke: colours.scatter[i], paths: () => null, points: { show: true, size: 3, fill: colours.scatter[i] } }],
    [pts.map(p => p[0]), pts.map(p => p[1])]);
});
(data.trajectories || []).forEach((tr, i) => {
  chart('chart-traj-' + i, 'trajectories: ' + tr.label + ' (x[0] against t)', { scales: { x: { time: false } }, axes: [{ label: 't' }, { label: 'x[0]' }], legend: { show: false } },
    tr.particles.map((_, k) => ({ label: 'particle ' + k, stroke: colours.trajectories[i], width: 1 })), [tr.times].concat(tr.particles));
});
if (data.loss && data.loss.length) {
  chart('chart-loss', 'training loss', { scales: { x: { time: false }, y: { distr: 3 } }, axes: [{ label: 'step' }, { label: 'loss' }] },
    [{ label: 'loss', stroke: colours.neutral, width: 1 }], [data.loss.map(r => r.step), data.loss.map(r => r.loss)]);
}
`;

/** A self-contained HTML page (uPlot inlined, data embedded) showing the report's tables and charts. */
export function renderReport(data: ReportData): string {
  const { js, css } = uplotAssets();
  const parts: string[] = [`<h1>${escapeHtml(data.title)}</h1>`];
  if (data.facts) parts.push(factsTable(data.facts));
  if (data.rows?.length) {
    parts.push('<h2>Solvers</h2>');
    parts.push(table('solvers', ['solver', 'steps', 'NFE', 'seconds', 'sliced W2', 'energy distance'], data.rows.map((r) => [runLabel(r), r.steps, r.nfe, r.seconds, r.sw2, energyText(r.energy)])));
    if (data.noiseFloor) {
      parts.push(`<p class="noise-floor">Noise floor (two independent reference sets of the same size): sliced W2 ${escapeHtml(formatValue(data.noiseFloor.sw2))}, energy distance ${escapeHtml(energyText(data.noiseFloor.energy))}.</p>`);
    }
    const adaptive = data.rows.some((r) => r.tolerance !== undefined);
    parts.push(`<p class="note">${adaptive ? 'Rows with a tolerance (rtol = atol) are the adaptive solver; its steps are the accepted ones. ' : ''}${escapeHtml(ENERGY_NOTE)}</p>`);
    parts.push('<div class="charts"><div id="chart-quality" class="chart"></div><div id="chart-time" class="chart"></div></div>');
  }
  if (data.scatter?.length) {
    parts.push('<h2>Samples</h2><div class="charts">' + data.scatter.map((_, i) => `<div id="chart-scatter-${i}" class="chart"></div>`).join('') + '</div>');
  }
  if (data.trajectories?.length) {
    parts.push('<h2>Trajectories</h2><div class="charts">' + data.trajectories.map((_, i) => `<div id="chart-traj-${i}" class="chart"></div>`).join('') + '</div>');
  }
  if (data.loss?.length) parts.push('<h2>Training</h2><div class="charts"><div id="chart-loss" class="chart"></div></div>');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(data.title)}</title>
<style>${css}
body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}table.facts th{text-align:left}.note{color:#555;max-width:900px;font-size:90%}.charts{display:flex;flex-wrap:wrap;gap:16px}
</style></head><body>
${parts.join('\n')}
<script id="report-data" type="application/json">${embedJson(data)}</script>
<script id="report-colours" type="application/json">${embedJson(reportColours(data))}</script>
<script>${js}</script>
<script>${CLIENT}</script>
</body></html>
`;
}
