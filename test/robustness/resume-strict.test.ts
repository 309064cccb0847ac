import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { csvRows, errorLines, limiter, snapshot, spawnCli, STACK_LINE, weightsFiles } from './helpers.js';

/*
 * Strict resume through the real CLI (issue 12, item 4): a flag that contradicts the checkpoint
 * is exit 2 naming it and both values, and changes nothing; --iters must be above the step;
 * --lr and the like may change, are announced and recorded; --data may be left out (the
 * recorded source is read again, with its seed and size), and a CSV must hold the same bytes.
 */

const BASE = ['train', '--data', 'moons', '--n-data', '500', '--seed', '3', '--batch', '16', '--checkpoint-every', '10'];
let dir: string;
const run = limiter(2);
const cli = (args: string[]) => run(() => spawnCli(args, { cwd: dir }));
const config = (r: string) => JSON.parse(fs.readFileSync(path.join(dir, r, 'config.json'), 'utf8'));
const state = (r: string) => Object.fromEntries(Object.entries(weightsFiles(path.join(dir, r))).map(([k, w]) => [k, w.sha256]));

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-resume-'));
  fs.writeFileSync(path.join(dir, 'p.csv'), csvRows(300, 2, 7, 1));
  fs.writeFileSync(path.join(dir, 'other.csv'), csvRows(300, 2, 8, 1));
  const [a, b] = await Promise.all([cli([...BASE, '--iters', '20', '--out', 'm']), cli(['train', '--data', 'p.csv', '--batch', '16', '--iters', '20', '--out', 'c'])]);
  if (a.code !== 0 || b.code !== 0) throw new Error(a.stderr + b.stderr);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const REFUSED: [string, string[], RegExp][] = [
  ['--batch', ['--batch', '32'], /^sde: --batch: the checkpoint in 'm' was trained with 16, not 32; --resume keeps it/],
  ['--sde', ['--sde', 've'], /^sde: --sde: the checkpoint in 'm' was trained with 'vp', not 've'/],
  ['--beta-max', ['--beta-max', '15'], /^sde: --beta-max: the checkpoint in 'm' was trained with 20, not 15/],
  ['--schedule', ['--schedule', 'cosine'], /^sde: --schedule: the checkpoint in 'm' was trained with 'linear', not 'cosine'/],
  ['--objective', ['--objective', 'ddpm'], /^sde: --objective: the checkpoint in 'm' was trained with 'dsm', not 'ddpm'/],
  ['--timesteps', ['--timesteps', '500'], /^sde: --timesteps: the checkpoint in 'm' was trained with 1000, not 500/],
  ['--param', ['--param', 'score'], /^sde: --param: the checkpoint in 'm' was trained with 'eps', not 'score'/],
  ['--weighting', ['--weighting', 'likelihood'], /^sde: --weighting: the checkpoint in 'm' was trained with 'eps', not 'likelihood'/],
  ['--seed', ['--seed', '0'], /^sde: --seed: the checkpoint in 'm' was trained with 3, not 0/],
  ['--ema', ['--ema', '0.9'], /^sde: --ema: the checkpoint in 'm' was trained with 0.999, not 0.9/],
  ['--data', ['--data', 'swissroll'], /^sde: --data: the checkpoint in 'm' was trained on 'moons', not 'swissroll'/],
  ['--n-data', ['--n-data', '400'], /^sde: --n-data: the checkpoint in 'm' was trained on 500 points, not 400/],
  ['--conditional', ['--conditional'], /^sde: --resume: the checkpoint in 'm' is class-conditional|^sde: --conditional: needs class labels/],
  ['--iters at the step', ['--iters', '20'], /^sde: --iters: the checkpoint in 'm' is at step 20 already; --iters is the total number of steps, give more than 20/],
  ['--iters below the step', ['--iters', '5'], /^sde: --iters: the checkpoint in 'm' is at step 20 already/],
  ['a complete run without --iters', [], /^sde: --resume: the run in 'm' is complete \(step 20 of 20\); give --iters above 20/],
];

describe('strict --resume', () => {
  test('flags that contradict the checkpoint: exit 2 naming the flag and both values, nothing changed', async () => {
    const before = snapshot(path.join(dir, 'm'));
    const results = await Promise.all(REFUSED.map(([, flags]) => cli(['train', '--out', 'm', '--resume', ...(flags.includes('--iters') || flags.length === 0 ? [] : ['--iters', '40']), ...flags])));
    results.forEach((r, i) => {
      const lines = errorLines(r.stderr);
      expect({ name: REFUSED[i][0], code: r.code, lines }).toMatchObject({ code: 2, lines: [expect.stringMatching(REFUSED[i][2])] });
      expect(r.stderr).not.toMatch(STACK_LINE);
    });
    expect(snapshot(path.join(dir, 'm'))).toEqual(before);
    expect(config('m').data.source).toBe('moons');
  });

  test('no --data needed: the recorded source, seed and size are used, and the result equals an uninterrupted run', async () => {
    const [resumed, full] = await Promise.all([cli(['train', '--out', 'm', '--resume', '--iters', '30', '--json']), cli([...BASE, '--iters', '30', '--out', 'm-full'])]);
    expect([resumed.code, full.code]).toEqual([0, 0]);
    expect(JSON.parse(resumed.stdout).step).toBe(30);
    expect(state('m')).toEqual(state('m-full'));
    // Flags equal to the checkpoint's are accepted.
    const same = await cli([...BASE, '--iters', '40', '--out', 'm', '--resume']);
    expect(same.code).toBe(0);
  });

  test('--lr, --warmup, --grad-clip and --checkpoint-every may change: announced on stderr and recorded', async () => {
    const r = await cli(['train', '--out', 'm', '--resume', '--iters', '50', '--lr', '5e-4', '--grad-clip', '0.5', '--checkpoint-every', '5', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^--lr: 0\.001 -> 0\.0005 from step 40 on \(the checkpoint in 'm' was trained with 0\.001; recorded in its config\.json\)$/m);
    expect(r.stderr).toMatch(/^--grad-clip: 1 -> 0\.5 from step 40 on/m);
    expect(r.stderr).toMatch(/^--checkpoint-every: 10 -> 5 from step 40 on/m);
    const c = config('m');
    expect(c.training).toMatchObject({ lr: 5e-4, gradClip: 0.5, checkpointEvery: 5, iters: 50 });
    expect(c.training.changes).toEqual(expect.arrayContaining([
      { step: 40, flag: '--lr', from: 0.001, to: 0.0005 },
      { step: 40, flag: '--grad-clip', from: 1, to: 0.5 },
      { step: 40, flag: '--checkpoint-every', from: 10, to: 5 },
      { step: 30, flag: '--iters', from: 30, to: 40 },
    ]));
  });

  test('a CSV checkpoint: no --data needed; another file is refused; the same bytes under another name are accepted', async () => {
    const other = await cli(['train', '--data', 'other.csv', '--out', 'c', '--resume', '--iters', '30']);
    expect(other.code).toBe(2);
    expect(errorLines(other.stderr)).toEqual([expect.stringMatching(/^sde: --data: 'other\.csv' is not the data the checkpoint in 'c' was trained on \('p\.csv', another sha256\)/)]);
    const plain = await cli(['train', '--out', 'c', '--resume', '--iters', '30', '--json']);
    expect(plain.code).toBe(0);
    fs.copyFileSync(path.join(dir, 'p.csv'), path.join(dir, 'moved.csv'));
    const moved = await cli(['train', '--data', 'moved.csv', '--out', 'c', '--resume', '--iters', '40']);
    expect(moved.code).toBe(0);
    expect(moved.stderr).toMatch(/--data: 'moved\.csv' holds the same bytes as the recorded 'p\.csv'; the checkpoint now records 'moved\.csv'/);
    expect(config('c').data.source).toBe('moved.csv');
    // The file changed in place: refused.
    fs.appendFileSync(path.join(dir, 'moved.csv'), '1,2\n');
    const changed = await cli(['train', '--out', 'c', '--resume', '--iters', '50']);
    expect(changed.code).toBe(2);
    expect(errorLines(changed.stderr)).toEqual([expect.stringMatching(/^sde: --data: 'moved\.csv' changed since the checkpoint in 'c' was trained on it/)]);
  });

  test('a new run still needs --data', async () => {
    const r = await cli(['train', '--out', 'none', '--iters', '5']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^sde: --data: required/)]);
    expect(fs.existsSync(path.join(dir, 'none'))).toBe(false);
  });
});
