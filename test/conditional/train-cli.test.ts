import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '../../src/random.js';
import { errorLines, runCli } from '../cli/run-cli.js';

let dir: string;
const at = (f: string) => path.join(dir, f);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-cli-cond-train-'));
  // Two well-separated classes: 0 around (-2, 0), 1 around (+2, 0); the label in column 2.
  const rng = new Rng(7);
  const lines: string[] = [];
  for (let i = 0; i < 4000; i++) {
    const c = i % 2;
    lines.push(`${(c ? 2 : -2) + 0.3 * rng.normal()},${0.3 * rng.normal()},${c}`);
  }
  fs.writeFileSync(at('two.csv'), lines.join('\n') + '\n');
  fs.writeFileSync(at('frac.csv'), '0.1,0.2,0\n0.3,0.4,1.5\n');
  fs.writeFileSync(at('neg.csv'), '0.1,0.2,0\n0.3,0.4,-1\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function ok(args: string[]) {
  const r = runCli(args, { cwd: dir });
  expect(r.stderr.split('\n').filter((l) => l.startsWith('sde:'))).toEqual([]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

function xs(file: string): number[] {
  return fs.readFileSync(at(file), 'utf8').trim().split('\n').map((l) => Number(l.split(',')[0]));
}

describe('sde train --conditional, then sde sample --class', () => {
  test('a conditional model on two classes samples each class on its own side; unconditional sampling gives both', () => {
    const summary = ok(['train', '--data', 'two.csv', '--label-column', '2', '--conditional', '--iters', '1000', '--batch', '256', '--seed', '1', '--out', 'run', '--json']);
    expect(summary).toMatchObject({ step: 1000, conditional: true, numClasses: 2, pUncond: 0.1 });
    const config = JSON.parse(fs.readFileSync(at('run/config.json'), 'utf8'));
    expect(config.model.network.numClasses).toBe(2);
    expect(config.training.pUncond).toBe(0.1);
    expect(config.data.shape).toEqual([2]);

    const sample = (extra: string[], out: string) =>
      ok(['sample', '--checkpoint', 'run', '--solver', 'euler-maruyama', '--steps', '200', '--n', '1000', '--seed', '3', '--out', out, '--json', ...extra]);
    expect(sample(['--class', '1'], 'c1.csv')).toMatchObject({ class: 1, nfe: 200 });
    expect(sample(['--class', '0'], 'c0.csv')).toMatchObject({ class: 0, nfe: 200 });
    expect(sample([], 'u.csv').nfe).toBe(200);
    expect(sample(['--class', '1', '--guidance', '1'], 'g1.csv')).toMatchObject({ class: 1, guidance: 1, nfe: 400 });
    const frac = (file: string) => xs(file).filter((x) => x > 0).length / 1000;
    expect(frac('c1.csv')).toBeGreaterThanOrEqual(0.95);
    expect(frac('c0.csv')).toBeLessThanOrEqual(0.05);
    expect(frac('g1.csv')).toBeGreaterThanOrEqual(0.95);
    // Unconditional: both classes, about half each (0.5 +- 0.15).
    expect(Math.abs(frac('u.csv') - 0.5)).toBeLessThan(0.15);

    // A class beyond the model's is refused.
    const r = runCli(['sample', '--checkpoint', 'run', '--solver', 'euler-maruyama', '--steps', '5', '--n', '10', '--class', '2', '--out', 'x.csv'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toHaveLength(1);
    expect(errorLines(r.stderr)[0]).toMatch(/--class.*classes 0\.\.1/);
    expect(fs.existsSync(at('x.csv'))).toBe(false);
  });

  test.each([
    ['--conditional on a built-in set', ['--data', 'moons', '--conditional'], /--conditional.*moons.*no/],
    ['--conditional on a CSV without --label-column', ['--data', 'two.csv', '--conditional'], /--label-column/],
    ['--p-uncond 1.5', ['--data', 'two.csv', '--label-column', '2', '--conditional', '--p-uncond', '1.5'], /--p-uncond.*\[0, 1\)/],
    ['--p-uncond without --conditional', ['--data', 'two.csv', '--label-column', '2', '--p-uncond', '0.2'], /--p-uncond.*--conditional/],
    ['--label-column out of range', ['--data', 'two.csv', '--label-column', '3', '--conditional'], /--label-column.*0\.\.2/],
    ['--label-column on a built-in set', ['--data', 'moons', '--label-column', '0'], /--label-column/],
    ['a non-integer label', ['--data', 'frac.csv', '--label-column', '2', '--conditional'], /frac\.csv: row 2.*1\.5/],
    ['a negative label', ['--data', 'neg.csv', '--label-column', '2', '--conditional'], /neg\.csv: row 2.*-1/],
  ])('%s: one line, exit 2, no checkpoint directory', (_name, args, message) => {
    const out = `bad-${_name.replace(/[^a-z0-9]+/gi, '-')}`;
    const r = runCli(['train', ...args, '--iters', '2', '--batch', '1', '--out', out], { cwd: dir });
    expect(r.code).toBe(2);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(r.stdout).toBe('');
    expect(fs.existsSync(at(out))).toBe(false);
  });
});
