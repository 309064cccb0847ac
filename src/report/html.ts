import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** One solver run in a comparison. */
export interface ComparisonRow {
  solver: string;
  steps: number;
  nfe: number;
  seconds: number;
  sw2: number;
  energy: number;
}

/** What a report shows; every part but the title is optional. */
export interface ReportData {
  title: string;
  /** Free-form facts shown as a table at the top (backend, data, model, ...). */
  facts?: Record<string, string | number>;
  rows?: ComparisonRow[];
  /** The metric between two independent reference sets of the samples' size. */
  noiseFloor?: { sw2: number; energy: number };
  /** 2-D scatter sets; the first is usually the reference data. */
  scatter?: { label: string; points: number[][] }[];
  /** Trajectories of a few particles: coordinate 0 of each particle at each time. */
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

function table(header: string[], rows: (string | number)[][]): string {
  const cell = (v: string | number) => escapeHtml(typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v);
  return `<table><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>${rows
    .map((r) => `<tr>${r.map((v) => `<td>${cell(v)}</td>`).join('')}</tr>`)
    .join('')}</table>`;
}

/** Client-side code that draws the charts with uPlot from the embedded data. */
const CLIENT = String.raw`
const data = JSON.parse(document.getElementById('report-data').textContent);
const palette = ['#1f77b4','#d62728','#2ca02c','#9467bd','#ff7f0e','#8c564b','#e377c2','#17becf','#7f7f7f','#bcbd22'];
const W = 460, H = 300;
function chart(id, title, opts, series, columns) {
  const el = document.getElementById(id);
  if (!el) return;
  new uPlot(Object.assign({ title, width: W, height: H, series: [{}].concat(series), legend: { show: true } }, opts), columns, el);
}
// Values of one series at the union of x values, null where the series has none.
function align(groups, xKey, yKey) {
  const xs = [...new Set(groups.flatMap(g => g.rows.map(r => r[xKey])))].sort((a, b) => a - b);
  return [xs].concat(groups.map(g => xs.map(x => { const r = g.rows.find(r => r[xKey] === x); return r ? r[yKey] : null; })));
}
if (data.rows && data.rows.length) {
  const solvers = [...new Set(data.rows.map(r => r.solver))];
  const groups = solvers.map(s => ({ s, rows: data.rows.filter(r => r.solver === s) }));
  const series = groups.map((g, i) => ({ label: g.s, stroke: palette[i % palette.length], width: 2, points: { show: true, size: 6 }, spanGaps: true }));
  const logX = { scales: { x: { time: false, distr: 3 } }, axes: [{ label: 'NFE' }, { label: '' }] };
  const quality = align(groups, 'nfe', 'sw2');
  if (data.noiseFloor) { series.push({ label: 'noise floor', stroke: '#999', dash: [6, 4], width: 1, points: { show: false } }); quality.push(quality[0].map(() => data.noiseFloor.sw2)); }
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
    [{ label: set.label, stroke: palette[i % palette.length], paths: () => null, points: { show: true, size: 3, fill: palette[i % palette.length] } }],
    [pts.map(p => p[0]), pts.map(p => p[1])]);
});
(data.trajectories || []).forEach((tr, i) => {
  chart('chart-traj-' + i, 'trajectories: ' + tr.label + ' (x[0] against t)', { scales: { x: { time: false } }, axes: [{ label: 't' }, { label: 'x[0]' }], legend: { show: false } },
    tr.particles.map((_, k) => ({ label: 'particle ' + k, stroke: palette[k % palette.length], width: 1 })), [tr.times].concat(tr.particles));
});
if (data.loss && data.loss.length) {
  chart('chart-loss', 'training loss', { scales: { x: { time: false }, y: { distr: 3 } }, axes: [{ label: 'step' }, { label: 'loss' }] },
    [{ label: 'loss', stroke: palette[0], width: 1 }], [data.loss.map(r => r.step), data.loss.map(r => r.loss)]);
}
`;

/** A self-contained HTML page (uPlot inlined, data embedded) showing the report's tables and charts. */
export function renderReport(data: ReportData): string {
  const { js, css } = uplotAssets();
  const parts: string[] = [`<h1>${escapeHtml(data.title)}</h1>`];
  if (data.facts) parts.push(table(['', ''], Object.entries(data.facts)));
  if (data.rows?.length) {
    parts.push('<h2>Solvers</h2>');
    parts.push(table(['solver', 'steps', 'NFE', 'seconds', 'sliced W2', 'energy distance'], data.rows.map((r) => [r.solver, r.steps, r.nfe, r.seconds, r.sw2, r.energy])));
    if (data.noiseFloor) parts.push(`<p>Noise floor (two independent reference sets of the same size): sliced W2 ${data.noiseFloor.sw2.toPrecision(4)}, energy distance ${data.noiseFloor.energy.toPrecision(4)}.</p>`);
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
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}.charts{display:flex;flex-wrap:wrap;gap:16px}
</style></head><body>
${parts.join('\n')}
<script id="report-data" type="application/json">${embedJson(data)}</script>
<script>${js}</script>
<script>${CLIENT}</script>
</body></html>
`;
}
