import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { errorLines, runCli } from './run-cli.js';

let dir: string;

/** The data a report embeds (the JSON in its report-data script element). */
function embedded(file: string): Record<string, unknown> {
  const html = fs.readFileSync(file, 'utf8');
  const m = /<script id="report-data" type="application\/json">([\s\S]*?)<\/script>/.exec(html);
  if (!m) throw new Error(`${file}: no report-data element`);
  return JSON.parse(m[1]);
}

const ROWS = [
  { solver: 'ddpm', steps: 10, nfe: 10, seconds: 0.1, sw2: 0.3, energy: 0.05 },
  { solver: 'ddpm', steps: 20, nfe: 20, seconds: 0.2, sw2: 0.2, energy: 0.03 },
  { solver: 'ode-rk45', steps: 12, tolerance: 1e-5, nfe: 80, seconds: 0.5, sw2: 0.1, energy: 0.01 },
];
const logLine = (step: number) => JSON.stringify({ step, loss: 1 / step, gradNorm: 1, lr: 1e-3, itPerSec: 100, elapsedSec: step / 100 });

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-cli-report-'));
  fs.writeFileSync(path.join(dir, 'points.csv'), Array.from({ length: 200 }, (_, i) => `${Math.sin(i)},${Math.cos(3 * i)}`).join('\n') + '\n');
  // A demo output directory as sde demo writes it: summary.json, model/log.jsonl, samples-*.csv.
  const demo = path.join(dir, 'demo');
  fs.mkdirSync(path.join(demo, 'model'), { recursive: true });
  fs.writeFileSync(
    path.join(demo, 'summary.json'),
    JSON.stringify({ out: 'demo', samples: ['demo/samples-ddpm.csv'], trainingSteps: 500, stepsPerSec: 123.456, noiseFloor: { sw2: 0.01, energy: 0.001 }, rows: ROWS, backend: 'wasm' }),
  );
  // Five complete lines and a sixth still being written (no newline): it is skipped.
  fs.writeFileSync(path.join(demo, 'model', 'log.jsonl'), [100, 200, 300, 400, 500].map(logLine).join('\n') + '\n{"step": 600, "lo');
  fs.writeFileSync(path.join(demo, 'samples-ddpm.csv'), '0,1\n1,0\n0.5,0.5\n');
  fs.mkdirSync(path.join(dir, 'empty'));
  fs.mkdirSync(path.join(dir, 'broken'));
  fs.writeFileSync(path.join(dir, 'broken', 'log.jsonl'), `${logLine(100)}\nnot json\n${logLine(300)}\n`);
  fs.mkdirSync(path.join(dir, 'bad-summary'));
  fs.writeFileSync(path.join(dir, 'bad-summary', 'summary.json'), '{"rows": [');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('sde report', () => {
  test('a checkpoint directory of sde train: the loss curve from log.jsonl and the checkpoint facts', () => {
    const train = runCli(['train', '--data', 'points.csv', '--iters', '20', '--batch', '32', '--out', 'run'], { cwd: dir });
    expect(train.code).toBe(0);
    const r = runCli(['report', 'run', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const logLines = fs.readFileSync(path.join(dir, 'run', 'log.jsonl'), 'utf8').trim().split('\n');
    expect(out).toMatchObject({ report: path.join('run', 'report.html'), lossPoints: logLines.length, rows: 0 });
    const data = embedded(path.join(dir, 'run', 'report.html'));
    expect(data.loss).toEqual(logLines.map((l) => ({ step: JSON.parse(l).step, loss: JSON.parse(l).loss })));
    expect(data.facts).toMatchObject({ step: 20, data: 'points.csv' });
    expect(data.rows).toBeUndefined();
    // Written atomically: no temporary file left beside it.
    expect(fs.readdirSync(path.join(dir, 'run')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('a demo output directory: loss curve from model/log.jsonl, the comparison rows and the samples of summary.json', () => {
    const r = runCli(['report', 'demo', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ lossPoints: 5, rows: 3, scatter: 1 });
    const data = embedded(path.join(dir, 'demo', 'report.html'));
    expect(data.rows).toEqual(ROWS);
    expect(data.noiseFloor).toEqual({ sw2: 0.01, energy: 0.001 });
    expect((data.loss as unknown[]).length).toBe(5);
    // samples-SOLVER.csv is labelled SOLVER: drawn in that solver's colour.
    expect(data.scatter).toEqual([{ label: 'ddpm', points: [[0, 1], [1, 0], [0.5, 0.5]] }]);
    // The rk45 row keeps its tolerance and is labelled by it.
    expect(fs.readFileSync(path.join(dir, 'demo', 'report.html'), 'utf8')).toContain('<td>ode-rk45 tol 1e-5</td>');
    expect(data.facts).toMatchObject({ trainingSteps: 500, backend: 'wasm' });
    // Text mode names the file.
    const text = runCli(['report', 'demo'], { cwd: dir });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/report\.html/);
  });

  test.each([
    [['missing'], /missing: no such directory/, undefined],
    [['points.csv'], /points\.csv: not a directory/, undefined],
    [['empty'], /empty: no log\.jsonl or summary\.json/, 'empty'],
    [['broken'], /log\.jsonl: line 2 is not valid JSON/, 'broken'],
    [['bad-summary'], /summary\.json: not valid JSON/, 'bad-summary'],
  ])('bad input %j: one line, exit 2, no report written', (args, pattern, sub) => {
    const r = runCli(['report', ...args], { cwd: dir });
    expect(r.code).toBe(2);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(r.stdout).toBe('');
    if (sub) expect(fs.readdirSync(path.join(dir, sub))).not.toContain('report.html');
  });
});
