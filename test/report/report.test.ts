import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { renderReport, type ReportData } from '../../src/report/html.js';
import { normalRng } from '../../src/random.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function reportData(): ReportData {
  const z = normalRng(3);
  const cloud = (m: number) => Array.from({ length: 300 }, () => [m + z(), z()]);
  const rows = ['euler-maruyama', 'ode-rk45'].flatMap((solver, k) =>
    [10, 20, 50, 100].map((steps) => ({ solver, steps, nfe: steps * (k + 1), seconds: steps / 200, sw2: 0.02 + 1 / steps, energy: 0.1 / steps })),
  );
  return {
    title: 'report test',
    facts: { backend: 'wasm' },
    rows,
    noiseFloor: { sw2: 0.02, energy: 0.001 },
    scatter: [{ label: 'reference', points: cloud(0) }, { label: 'euler-maruyama', points: cloud(0.5) }],
    trajectories: [{ label: 'ode-rk45', times: [1, 0.75, 0.5, 0.25, 0], particles: [[2, 1, 0.5, 0.2, 0.1], [-2, -1.5, -1, -0.8, -0.7]] }],
    loss: Array.from({ length: 50 }, (_, i) => ({ step: (i + 1) * 10, loss: 1 / (i + 1) })),
  };
}

/** Fraction of pixels in a PNG that differ from white. */
function inkFraction(png: Buffer): number {
  const img = PNG.sync.read(png);
  let ink = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    if (img.data[i] < 235 || img.data[i + 1] < 235 || img.data[i + 2] < 235) ink++;
  }
  return ink / (img.width * img.height);
}

// .ci/run installs Debian's chromium, so under CI its absence is a failure, not a skip.
test.runIf(process.env.CI === 'true')('chromium is installed for the report tests', () => {
  expect(fs.existsSync(CHROMIUM)).toBe(true);
});

describe.runIf(fs.existsSync(CHROMIUM))('HTML report in headless Chromium', () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-report-'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  });
  afterAll(async () => {
    await browser?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('every chart draws, offline, and the page logs no error', async () => {
    const file = path.join(dir, 'report.html');
    fs.writeFileSync(file, renderReport(reportData()));
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));
    // The page must not fetch anything: every request but the file itself fails the test.
    page.on('request', (r) => { if (r.url() !== `file://${file}`) problems.push(`request ${r.url()}`); });
    await page.goto(`file://${file}`);
    const ids = await page.$$eval('.chart', (els) => els.map((e) => e.id));
    expect(ids).toEqual(['chart-quality', 'chart-time', 'chart-scatter-0', 'chart-scatter-1', 'chart-traj-0', 'chart-loss']);
    for (const id of ids) {
      // The plotting area of each chart (uPlot's .u-over sits on top of its canvas).
      const area = await page.$(`#${id} .u-over`);
      expect(area, id).not.toBeNull();
      const shot = await area!.screenshot();
      fs.writeFileSync(path.join(dir, `${id}.png`), shot);
      expect(inkFraction(shot), id).toBeGreaterThan(0.01);
    }
    expect(problems).toEqual([]);
    await page.close();
  });

  test('a blank chart would be caught: an empty plotting area has no ink', async () => {
    const page = await browser.newPage();
    await page.setContent('<div id="x" style="width:200px;height:100px;background:#fff"></div>');
    expect(inkFraction(await (await page.$('#x'))!.screenshot())).toBe(0);
    await page.close();
  });
});
