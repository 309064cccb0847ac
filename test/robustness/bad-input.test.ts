import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeFixtures } from './fixtures.js';
import { errorLines, limiter, snapshot, spawnCli, STACK_LINE } from './helpers.js';

/**
 * Every kind of bad input, through the real CLI: exit code 2, exactly one line on stderr (besides
 * the 'backend: ...' announcement) naming the flag or file and what was expected, no stack
 * trace, nothing on stdout, and no file written or changed anywhere in the working directory.
 */
const CASES: [string, string[], RegExp][] = [
  // Flags and values.
  ['unknown command', ['frobnicate'], /Unknown argument: frobnicate/],
  ['no command', [], /a command is required/],
  ['unknown flag', ['train', '--data', 'p2.csv', '--bogus', '1'], /Unknown argument.*bogus/],
  ['unknown value', ['train', '--data', 'p2.csv', '--objective', 'elbo'], /--objective: expected one of dsm, ddpm, got 'elbo'/],
  ['unknown solver', ['sample', '--oracle', 'mix.json', '--solver', 'magic'], /--solver: expected one of .*got 'magic'/],
  ['unknown SDE', ['schedule', '--sde', 'vx'], /--sde.*'vx'/],
  ['a switch with a value', ['sample', '--oracle', 'mix.json', '--solver', 'ddpm', '--json=maybe'], /--json: a switch takes no value, got 'maybe'/],
  ['a flag given twice', ['sample', '--oracle', 'mix.json', '--solver', 'ddpm', '--out', 'a.csv', '--out', 'b.csv'], /--out: given more than once/],
  ['a missing required flag', ['sample', '--oracle', 'mix.json'], /Missing required argument: solver/],
  ['steps 0', ['sample', '--oracle', 'mix.json', '--solver', 'ddpm', '--steps', '0'], /--steps: expected an integer >= 1, got 0/],
  ['steps not an integer', ['sample', '--oracle', 'mix.json', '--solver', 'ddpm', '--steps', '2.5'], /--steps: expected an integer >= 1, got 2.5/],
  ['steps not a number', ['compare', '--oracle', 'mix.json', '--steps', '10,ten'], /--steps: expected a number, got 'ten'/],
  ['n negative', ['sample', '--oracle', 'mix.json', '--solver', 'ddpm', '--n', '-3'], /--n: expected an integer >= 1, got -3/],
  ['n too large for memory', ['sample', '--oracle', 'mix.json', '--solver', 'ddpm', '--n', '1e9'], /--n: 1000000000 samples of 2 values exceed the limit/],
  ['rtol 0', ['sample', '--oracle', 'mix.json', '--solver', 'ode-rk45', '--rtol', '0'], /--rtol: expected a positive number, got 0/],
  ['atol negative', ['sample', '--oracle', 'mix.json', '--solver', 'ode-rk45', '--atol', '-1e-3'], /--atol: expected a positive number, got -0.001/],
  ['tolerances NaN', ['compare', '--oracle', 'mix.json', '--tolerances', '1e-3,NaN'], /--tolerances: expected a number, got 'NaN'/],
  ['beta_min = beta_max', ['schedule', '--beta-min', '5', '--beta-max', '5'], /--beta-max: expected a number greater than --beta-min \(5\), got 5/],
  ['beta_min > beta_max in train', ['train', '--data', 'p2.csv', '--beta-min', '30'], /--beta-max.*--beta-min \(30\)/],
  ['ema 1', ['train', '--data', 'p2.csv', '--ema', '1'], /--ema: expected a decay in \[0, 1\), got 1/],
  ['ema negative', ['train', '--data', 'p2.csv', '--ema', '-0.5'], /--ema: expected a decay in \[0, 1\), got -0.5/],
  ['iters 0', ['train', '--data', 'p2.csv', '--iters', '0'], /--iters: expected an integer >= 1, got 0/],
  ['lr not a number', ['train', '--data', 'p2.csv', '--lr', 'fast'], /--lr: expected a number, got 'fast'/],
  ['batch larger than the data', ['train', '--data', 'p2.csv', '--batch', '301'], /--batch: 301 is larger than the data \(300 samples\)/],
  ['default batch larger than the data', ['train', '--data', 'small.csv', '--iters', '5'], /--batch: 512 is larger than the data \(100 samples\)/],
  ['timesteps too large', ['train', '--data', 'p2.csv', '--objective', 'ddpm', '--timesteps', '1e12'], /--timesteps: expected an integer from 2 to 1000000/],
  ['U-Net flag on vector data', ['train', '--data', 'p2.csv', '--patch', '2'], /--patch: only for image data \(the U-Net\), not for 'p2\.csv'/],
  ['patch that does not tile the image', ['train', '--data', 'mnist', '--n-data', '64', '--patch', '3'], /--patch: 28x28 images need a patch p with height and width multiples of 2p, got 3/],
  ['channels out of range', ['train', '--data', 'mnist', '--channels', '2'], /--channels: expected an integer from 4 to 512, got 2/],
  ['network flags on resume', ['train', '--data', 'p2.csv', '--out', 'ckpt', '--resume', '--channels', '8'], /--channels: the network is fixed by the checkpoint in 'ckpt'/],
  ['n-data with a CSV', ['train', '--data', 'p2.csv', '--n-data', '50'], /--n-data: only for the built-in data sets/],
  ['discrete too large', ['schedule', '--discrete', '1e9'], /--discrete: expected an integer from 2 to 1000000/],
  ['eps beyond T', ['sample', '--oracle', 'mix.json', '--solver', 'ddpm', '--eps', '2'], /--eps: expected a time below T = 1/],
  // Output paths.
  ['output in a missing directory', ['sample', '--oracle', 'mix.json', '--solver', 'ddpm', '--out', 'nodir/x.csv'], /--out: directory 'nodir' does not exist/],
  ['output of the wrong kind', ['compare', '--oracle', 'mix.json', '--report', 'r.txt'], /--report: expected a .html file name, got 'r.txt'/],
  ['train into a non-empty directory', ['train', '--data', 'p2.csv', '--out', 'ckpt'], /--out: 'ckpt' exists and is not empty; pass --resume/],
  ['demo into a file', ['demo', '--out', 'p2.csv'], /--out: 'p2.csv' exists and is not a directory/],
  // Data files.
  ['missing data file', ['train', '--data', 'missing.csv'], /--data: 'missing.csv' is neither a built-in data set/],
  ['CSV with text', ['train', '--data', 'text.csv'], /text\.csv: line 2, column 2: 'abc' is not a number/],
  ['CSV with a header refused by --header no', ['train', '--data', 'header.csv', '--header', 'no'], /header\.csv: line 1, column 1: 'x' is not a number \(read as comma-separated, no header row as --header says/],
  ['ragged CSV', ['train', '--data', 'ragged.csv'], /ragged\.csv: line 2 has 1 values, expected 2 as on line 1/],
  ['CSV with NaN', ['train', '--data', 'nan.csv'], /nan\.csv: line 2, column 1: NaN is not allowed/],
  ['CSV with -Inf', ['compare', '--oracle', 'mix.json', '--reference', 'inf.csv'], /inf\.csv: line 2, column 2: -Inf is not allowed/],
  ['CSV beyond float32', ['train', '--data', 'overflow.csv'], /overflow\.csv: line 2, column 2: '1e39' is outside the float32 range/],
  ['empty CSV', ['train', '--data', 'empty.csv'], /empty\.csv: no data \(the file is empty\)/],
  ['blank CSV', ['compare', '--oracle', 'mix.json', '--reference', 'blank.csv'], /blank\.csv: no data/],
  ['missing reference', ['compare', '--oracle', 'mix.json', '--reference', 'missing.csv'], /--reference missing\.csv: cannot read the file \(no such file\)/],
  // Data whose dimension differs from the checkpoint's or the oracle's.
  ['reference of another dimension (checkpoint)', ['compare', '--checkpoint', 'ckpt', '--reference', 'p3.csv'], /--reference p3\.csv: rows have 3 values, the samples have 2/],
  ['reference of another dimension (oracle)', ['compare', '--oracle', 'mix3.json', '--reference', 'p2.csv'], /--reference p2\.csv: rows have 2 values, the samples have 3/],
  ['resume on data of another dimension', ['train', '--data', 'p3.csv', '--out', 'ckpt', '--resume'], /--data p3\.csv: samples have 3 values, the checkpoint in 'ckpt' was trained on 2/],
  ['nll data of another dimension', ['nll', '--checkpoint', 'ckpt', '--data', 'p3.csv'], /--data p3\.csv: rows have 3 values, the model's samples have 2/],
  ['no reference for a CSV-trained checkpoint', ['compare', '--checkpoint', 'ckpt'], /--reference: required with --checkpoint/],
  // Checkpoints.
  ['missing checkpoint', ['sample', '--checkpoint', 'nope', '--solver', 'ddpm'], /--checkpoint: 'nope' holds no checkpoint/],
  ['a file as checkpoint', ['sample', '--checkpoint', 'p2.csv', '--solver', 'ddpm'], /--checkpoint: 'p2\.csv' holds no checkpoint/],
  ['resume without a checkpoint', ['train', '--data', 'p2.csv', '--out', 'fresh', '--resume'], /--resume: 'fresh' holds no checkpoint to continue/],
  ['truncated weights file', ['sample', '--checkpoint', 'ckpt-truncated', '--solver', 'ddpm'], /ckpt-truncated\/model-00000020-[0-9a-f]{8}\.bin: truncated or damaged: \d+ bytes, expected \d+/],
  ['damaged weights file', ['sample', '--checkpoint', 'ckpt-flipped', '--solver', 'ddpm'], /ckpt-flipped\/ema-00000020-[0-9a-f]{8}\.bin: damaged: its sha256 does not match the one in config\.json/],
  ['resume from a damaged checkpoint', ['train', '--data', 'p2.csv', '--out', 'ckpt-flipped', '--resume'], /ckpt-flipped\/ema-.*\.bin: damaged/],
  ['garbage config.json', ['sample', '--checkpoint', 'ckpt-garbage-config', '--solver', 'ddpm'], /ckpt-garbage-config\/config\.json: not valid JSON/],
  ['empty config.json', ['compare', '--checkpoint', 'ckpt-empty-config', '--reference', 'p2.csv'], /ckpt-empty-config\/config\.json: not valid JSON/],
  ['missing weights file', ['sample', '--checkpoint', 'ckpt-missing-weights', '--solver', 'ddpm'], /ckpt-missing-weights\/ema-00000020-[0-9a-f]{8}\.bin: missing \(the checkpoint is incomplete\)/],
  // Mixture JSON.
  ['missing mixture', ['sample', '--oracle', 'missing.json', '--solver', 'ddpm'], /missing\.json: cannot read the mixture file \(ENOENT\)/],
  ['mixture not JSON', ['sample', '--oracle', 'garbage.json', '--solver', 'ddpm'], /garbage\.json: invalid JSON/],
  ['mixture with a negative std', ['sample', '--oracle', 'negstd.json', '--solver', 'ddpm'], /negstd\.json: stds\[1\] must be a finite number > 0, got -1/],
  ['mixture weights not summing to 1', ['compare', '--oracle', 'wsum.json'], /wsum\.json: weights must sum to 1 \(within 0\.000001\), they sum to 1\.1/],
  ['mixture means of mixed dimension', ['sample', '--oracle', 'mixdim.json', '--solver', 'ddpm'], /mixdim\.json: means of mixed dimension: means\[0\] has 2 entries, means\[1\] has 3/],
  ['both sources', ['sample', '--oracle', 'mix.json', '--checkpoint', 'ckpt', '--solver', 'ddpm'], /--checkpoint and --oracle exclude each other/],
];

let dir: string;
let before: string[];
const run = limiter(3);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-bad-input-'));
  await makeFixtures(dir);
  before = snapshot(dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe.concurrent('bad input: exit 2, one line naming the problem, no stack trace, nothing written', () => {
  test.each(CASES)('%s', async (_name, args, pattern) => {
    const r = await run(() => spawnCli(args, { cwd: dir }));
    const lines = errorLines(r.stderr);
    expect({ code: r.code, lines, stdout: r.stdout }).toMatchObject({ code: 2, lines: [expect.stringMatching(pattern)], stdout: '' });
    expect(lines[0]).toMatch(/^sde: /);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});

test('no case wrote, removed or changed a file', () => {
  expect(snapshot(dir)).toEqual(before);
});
