import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { errorLines, runCli } from './run-cli.js';

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-cli-train-'));
  // 300 points of N((3, -1), diag(0.25, 4)): far from standardized, so the stored normalization matters.
  const rows: string[] = [];
  let s = 12345;
  const u = () => ((s = (s * 1103515245 + 12345) % 2147483648) + 0.5) / 2147483648;
  for (let i = 0; i < 300; i++) {
    const r = Math.sqrt(-2 * Math.log(u()));
    const a = 2 * Math.PI * u();
    rows.push(`${3 + 0.5 * r * Math.cos(a)},${-1 + 2 * r * Math.sin(a)}`);
  }
  fs.writeFileSync(path.join(dir, 'points.csv'), rows.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'text.csv'), '1,2\n3,abc\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('sde train', () => {
  test('trains on a CSV, writes a checkpoint, resumes it, and samples come back in data coordinates', () => {
    // 300 steps: enough that the samples' mean does not depend on the initialisation's luck.
    const first = runCli(['train', '--data', 'points.csv', '--iters', '300', '--batch', '64', '--out', 'run', '--json'], { cwd: dir });
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.stdout);
    expect(summary).toMatchObject({ out: 'run', step: 300, stopped: false });
    expect(Number.isFinite(summary.loss)).toBe(true);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'run', 'config.json'), 'utf8'));
    for (const w of ['model', 'ema', 'optimizer']) expect(fs.existsSync(path.join(dir, 'run', config.weights[w].file))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'run', 'log.jsonl'))).toBe(true);
    expect(config.data.normalization.mean[0]).toBeCloseTo(3, 0);

    const resumed = runCli(['train', '--data', 'points.csv', '--iters', '400', '--out', 'run', '--resume', '--json'], { cwd: dir });
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout).step).toBe(400);

    const sample = runCli(['sample', '--checkpoint', 'run', '--solver', 'ddim', '--steps', '20', '--n', '400', '--out', 's.csv', '--json'], { cwd: dir });
    expect(sample.code).toBe(0);
    const pts = fs.readFileSync(path.join(dir, 's.csv'), 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));
    expect(pts).toHaveLength(400);
    const mean = [0, 1].map((j) => pts.reduce((a, p) => a + p[j], 0) / pts.length);
    // A briefly trained model lands near the data's mean in data coordinates (not near 0).
    expect(mean[0]).toBeGreaterThan(2);
    expect(mean[1]).toBeLessThan(0);
  });

  test.each([
    [['--data', 'missing.csv'], /--data.*missing\.csv/],
    [['--data', 'text.csv'], /text\.csv.*line 2/],
    [['--data', 'points.csv', '--batch', '5000'], /--batch.*larger than the data/],
    [['--data', 'points.csv', '--ema', '1'], /--ema/],
    [['--data', 'points.csv', '--lr', '0'], /--lr/],
    [['--data', 'points.csv', '--iters', '-3'], /--iters/],
    [['--data', 'points.csv', '--objective', 'elbo'], /--objective/],
    [['--data', 'points.csv', '--param', 'x0'], /--param/],
    [['--data', 'points.csv', '--sde', 'vx'], /--sde/],
    [['--data', 'points.csv', '--out', 'nowhere/deeper/run'], /--out/],
    [['--data', 'points.csv', '--out', 'fresh', '--resume'], /--resume/],
  ])('bad input %j: one line, exit 2, nothing written', (args, pattern) => {
    const before = fs.readdirSync(dir).sort();
    // Defaults for the flags a case leaves out (a flag given twice is an error of its own).
    const defaults = [['--iters', '5'], ['--out', 'never']].filter(([flag]) => !args.includes(flag)).flat();
    const r = runCli(['train', ...defaults, ...args], { cwd: dir });
    expect(r.code).toBe(2);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.readdirSync(dir).sort()).toEqual(before);
  });

  test('an existing checkpoint is not overwritten without --resume', () => {
    fs.mkdirSync(path.join(dir, 'taken'));
    fs.writeFileSync(path.join(dir, 'taken', 'config.json'), '{}');
    const r = runCli(['train', '--data', 'points.csv', '--iters', '5', '--out', 'taken'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)[0]).toMatch(/--out.*not empty/);
    expect(fs.readFileSync(path.join(dir, 'taken', 'config.json'), 'utf8')).toBe('{}');
  });
});

describe('sde demo', () => {
  test('trains, samples with euler-maruyama, ddpm, ode-rk45 and dpm-solver++, writes samples and a report', () => {
    const r = runCli(['demo', '--iters', '40', '--n', '100', '--out', 'demo', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    const solvers = new Set(summary.rows.map((row: { solver: string }) => row.solver));
    expect([...solvers]).toEqual(['euler-maruyama', 'ddpm', 'ode-rk45', 'dpm-solver++']);
    for (const f of ['report.html', 'summary.json', 'samples-euler-maruyama.csv', 'samples-ddpm.csv', 'samples-ode-rk45.csv', 'samples-dpm-solver++.csv']) {
      expect(fs.existsSync(path.join(dir, 'demo', f)), f).toBe(true);
    }
    expect(fs.readFileSync(path.join(dir, 'demo', 'samples-ddpm.csv'), 'utf8').trim().split('\n')).toHaveLength(100);
    // Run twice: the demo replaces its own files.
    expect(runCli(['demo', '--iters', '10', '--n', '50', '--out', 'demo'], { cwd: dir }).code).toBe(0);
  });
});
