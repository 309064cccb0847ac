import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeFixtures } from './fixtures.js';
import { limiter, spawnCli, STACK_LINE } from './helpers.js';

/**
 * Validate first: a bad argument is reported before the backend is chosen and announced, so
 * the error is the only line on stderr (bad-input.test.ts allows the backend line; this does not).
 */
const CASES: [string, string[], RegExp][] = [
  ['sample: unknown solver', ['sample', '--oracle', 'mix.json', '--solver', 'magic'], /--solver: expected one of/],
  ['sample: --n 0', ['sample', '--oracle', 'mix.json', '--solver', 'ddim', '--n', '0'], /--n: expected an integer >= 1/],
  ['sample: --n too large', ['sample', '--checkpoint', 'ckpt', '--solver', 'ddim', '--n', '1e9'], /--n: 1000000000 samples of 2 values exceed the limit/],
  ['sample: --eps beyond T', ['sample', '--checkpoint', 'ckpt', '--solver', 'ddim', '--eps', '2'], /--eps: expected a time below T = 1/],
  ['sample: .png of 3-D vectors', ['sample', '--oracle', 'mix3.json', '--solver', 'ddim', '--out', 'x.png'], /--out: a \.png is a scatter plot of samples of 2 values or a grid of images/],
  ['sample: --out of the wrong kind', ['sample', '--oracle', 'mix.json', '--solver', 'ddim', '--out', 'x.txt'], /--out: expected a \.csv or \.png file name/],
  ['sample: missing checkpoint', ['sample', '--checkpoint', 'nope', '--solver', 'ddim'], /--checkpoint: 'nope' holds no checkpoint/],
  ['sample: garbage config.json', ['sample', '--checkpoint', 'ckpt-garbage-config', '--solver', 'ddim'], /config\.json: not valid JSON/],
  ['sample: missing mixture', ['sample', '--oracle', 'missing.json', '--solver', 'ddim'], /missing\.json: cannot read the mixture file/],
  ['sample: --class of a mixture without classes', ['sample', '--oracle', 'mix.json', '--solver', 'ddim', '--class', '1'], /--class/],
  ['sample: --class of an unconditional checkpoint', ['sample', '--checkpoint', 'ckpt', '--solver', 'ddim', '--class', '1'], /--class: .*not a class-conditional model/],
  ['sample: --known-dims out of range', ['sample', '--oracle', 'mix.json', '--solver', 'ddim', '--known-dims', '5=1'], /--known-dims: index 5 is out of range/],
  ['compare: unknown solver', ['compare', '--oracle', 'mix.json', '--solvers', 'ddim,magic'], /--solvers: expected one of/],
  ['compare: --n beyond one run in memory', ['compare', '--oracle', 'mix.json', '--n', '3e6'], /--n: expected an integer from 2 to 500000, got 3e6/],
  ['demo: --n beyond one run in memory', ['demo', '--n', '3000000'], /--n: expected an integer from 2 to 500000/],
  ['compare: --report of the wrong kind', ['compare', '--oracle', 'mix.json', '--report', 'r.txt'], /--report: expected a \.html file name/],
  ['compare: reference of another dimension', ['compare', '--checkpoint', 'ckpt', '--reference', 'p3.csv'], /--reference p3\.csv: rows have 3 values, the samples have 2/],
  ['compare: no reference for a CSV-trained checkpoint', ['compare', '--checkpoint', 'ckpt'], /--reference: required with --checkpoint/],
  ['compare: CSV with -Inf', ['compare', '--oracle', 'mix.json', '--reference', 'inf.csv'], /inf\.csv: line 2, column 2: -Inf is not allowed/],
  ['nll: unknown method', ['nll', '--oracle', 'mix.json', '--data', 'q.csv', '--method', 'x'], /--method: expected one of/],
  ['nll: data of another dimension', ['nll', '--checkpoint', 'ckpt', '--data', 'p3.csv'], /--data p3\.csv: rows have 3 values, the model's samples have 2/],
  ['nll: --eps beyond T', ['nll', '--oracle', 'mix.json', '--data', 'q.csv', '--eps', '3'], /--eps: expected a time below T = 1/],
  ['nll: vlb of a VE-SDE', ['nll', '--oracle', 'mix.json', '--data', 'q.csv', '--method', 'vlb', '--sde', 've'], /--method vlb: the DDPM chain is defined for the VP-SDE/],
  ['data: unknown set', ['data', '--data', 'moon', '--out', 'x.csv'], /--data: expected one of/],
  ['data: --out of the wrong kind', ['data', '--data', 'moons', '--out', 'x.txt'], /--out: expected a \.csv file name/],
  ['demo: --iters 0', ['demo', '--iters', '0'], /--iters: expected an integer >= 1/],
  ['demo: --out a file', ['demo', '--out', 'p2.csv'], /--out: 'p2\.csv' exists and is not a directory/],
  ['classify: --out a file', ['classify', '--train', '--out', 'p2.csv'], /--out: 'p2\.csv' is a file/],
  ['classify: missing classifier', ['classify', '--classifier', 'nope', '--samples', 'p2.csv'], /--classifier: 'nope' does not exist/],
  ['report: missing directory', ['report', 'nope'], /nope: no such directory/],
  ['schedule: --points 1', ['schedule', '--points', '1'], /--points: expected an integer >= 2/],
  ['schedule: unknown SDE', ['schedule', '--sde', 'vx'], /--sde.*'vx'/],
  ['any command: unknown backend', ['sample', '--oracle', 'mix.json', '--solver', 'ddim', '--backend', 'quantum'], /--backend/],
];

let dir: string;
const run = limiter(3);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-one-line-'));
  await makeFixtures(dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe.concurrent('a bad argument is the only line on stderr (checked before the backend is announced)', () => {
  test.each(CASES)('%s', async (_name, args, pattern) => {
    const r = await run(() => spawnCli(args, { cwd: dir }));
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect({ code: r.code, lines, stdout: r.stdout }).toMatchObject({ code: 2, lines: [expect.stringMatching(pattern)], stdout: '' });
    expect(lines[0]).toMatch(/^sde: /);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});
