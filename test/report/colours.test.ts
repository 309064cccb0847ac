import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { renderReport, type ReportData } from '../../src/report/html.js';
import { normalRng } from '../../src/random.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SOLVERS = ['euler-maruyama', 'ddpm', 'ode-rk45'];

/** A comparison of three solvers as sde compare reports it: the reference first in the scatter plots, as in issue 17. */
function reportData(): ReportData {
  const z = normalRng(5);
  const cloud = (m: number) => Array.from({ length: 200 }, () => [m + z(), z()]);
  const fixed = ['euler-maruyama', 'ddpm'].flatMap((solver) =>
    [10, 20, 50].map((steps) => ({ solver, steps, nfe: steps, seconds: steps / 100, sw2: 0.02 + 1 / steps, energy: 0.1 / steps })),
  );
  const adaptive = [1e-2, 1e-3, 1e-5].map((tolerance, k) => ({ solver: 'ode-rk45', steps: 8 + 4 * k, tolerance, nfe: 50 + 30 * k, seconds: 0.3, sw2: 0.03, energy: k === 2 ? -2e-5 : 1e-3 }));
  return {
    title: 'colour test',
    facts: { backend: 'wasm', samples: 200 },
    rows: [...fixed, ...adaptive],
    // The unbiased energy distance of two sets of one distribution is often below 0.
    noiseFloor: { sw2: 0.02, energy: -3.5e-5 },
    scatter: [
      { label: 'reference', points: cloud(0) },
      { label: 'euler-maruyama (50 NFE)', points: cloud(0.2) },
      { label: 'ddpm (50 NFE)', points: cloud(0.4) },
      { label: 'ode-rk45 tol 1e-5 (110 NFE)', points: cloud(0.6) },
    ],
    trajectories: SOLVERS.map((label) => ({ label, times: [1, 0.5, 0], particles: [[2, 1, 0.5], [-2, -1, -0.5]] })),
    loss: Array.from({ length: 20 }, (_, i) => ({ step: i + 1, loss: 1 / (i + 1) })),
  };
}

/** Each chart's series (x excluded): label and stroke colour (and fill of the points where set), normalised by the canvas. */
async function chartSeries(page: Page): Promise<Record<string, { label: string; colours: string[] }[]>> {
  return page.evaluate(() => {
    const ctx = document.createElement('canvas').getContext('2d')!;
    const norm = (c: unknown) => {
      ctx.fillStyle = '#000000';
      ctx.fillStyle = String(c);
      return ctx.fillStyle;
    };
    type Series = { label: string; stroke: (u: unknown, i: number) => unknown; points: { fill?: (u: unknown, i: number) => unknown } };
    const charts = (window as unknown as { reportCharts: Record<string, { series: Series[] }> }).reportCharts;
    return Object.fromEntries(
      Object.entries(charts).map(([id, u]) => [
        id,
        u.series.slice(1).map((s, k) => {
          const fill = s.points.fill?.(u, k + 1);
          return { label: s.label, colours: [...new Set([norm(s.stroke(u, k + 1)), ...(fill ? [norm(fill)] : [])])] };
        }),
      ]),
    );
  });
}

describe.runIf(fs.existsSync(CHROMIUM))('report colours, labels and tables in headless Chromium', () => {
  let browser: Browser;
  let page: Page;
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-colours-'));
    const file = path.join(dir, 'report.html');
    fs.writeFileSync(file, renderReport(reportData()));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`file://${file}`);
  });
  afterAll(async () => {
    await browser?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('each solver has one colour across every chart and the scatter plots; the reference has its own', async () => {
    const charts = await chartSeries(page);
    expect(Object.keys(charts).sort()).toEqual(
      ['chart-loss', 'chart-quality', 'chart-time', 'chart-scatter-0', 'chart-scatter-1', 'chart-scatter-2', 'chart-scatter-3', 'chart-traj-0', 'chart-traj-1', 'chart-traj-2'].sort(),
    );
    const bySolver = new Map<string, Set<string>>(SOLVERS.map((s) => [s, new Set<string>()]));
    const add = (solver: string, colours: string[]) => colours.forEach((c) => bySolver.get(solver)!.add(c));
    for (const id of ['chart-quality', 'chart-time']) {
      const solverSeries = charts[id].filter((s) => s.label !== 'noise floor');
      expect(solverSeries.map((s) => s.label), id).toEqual(SOLVERS);
      solverSeries.forEach((s) => add(s.label, s.colours));
    }
    // Scatter i + 1 and trajectory i are solver i's.
    SOLVERS.forEach((solver, i) => {
      charts[`chart-scatter-${i + 1}`].forEach((s) => add(solver, s.colours));
      charts[`chart-traj-${i}`].forEach((s) => add(solver, s.colours));
    });
    const colourOf = SOLVERS.map((s) => {
      expect([...bySolver.get(s)!], s).toHaveLength(1);
      return [...bySolver.get(s)!][0];
    });
    expect(new Set(colourOf).size).toBe(SOLVERS.length);
    expect(colourOf[0]).toBe('#1f77b4');
    const reference = charts['chart-scatter-0'].flatMap((s) => s.colours);
    expect(reference).toHaveLength(1);
    expect(colourOf).not.toContain(reference[0]);
    const floor = charts['chart-quality'].find((s) => s.label === 'noise floor')!;
    expect(colourOf).not.toContain(floor.colours[0]);
  });

  test('rk45 rows are labelled by their tolerance, the facts table has no empty row, no energy distance is printed below 0', async () => {
    const labels = await page.$$eval('table.solvers tr td:first-child', (tds) => tds.map((td) => td.textContent));
    expect(labels).toEqual(['euler-maruyama', 'euler-maruyama', 'euler-maruyama', 'ddpm', 'ddpm', 'ddpm', 'ode-rk45 tol 1e-2', 'ode-rk45 tol 1e-3', 'ode-rk45 tol 1e-5']);
    const emptyRows = await page.$$eval('table tr', (trs) => trs.filter((tr) => [...tr.children].every((c) => (c.textContent ?? '').trim() === '')).length);
    expect(emptyRows).toBe(0);
    const facts = await page.$$eval('table.facts tr', (trs) => trs.map((tr) => [...tr.children].map((c) => `${c.tagName}:${c.textContent}`)));
    expect(facts).toEqual([['TH:backend', 'TD:wasm'], ['TH:samples', 'TD:200']]);
    const energies = await page.$$eval('table.solvers tr td:last-child', (tds) => tds.map((td) => td.textContent ?? ''));
    expect(energies[8]).toBe('0 (clamped)');
    expect(energies.filter((e) => e.startsWith('-'))).toEqual([]);
    const floor = await page.textContent('p.noise-floor');
    expect(floor).toMatch(/energy distance 0 \(clamped\)/);
    expect(floor).not.toMatch(/-\d/);
    expect(await page.textContent('p.note')).toMatch(/unbiased estimate.*below 0.*clamped/);
  });
});
