import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadMnist } from '../../src/data/mnist.js';
import { evaluateAccuracy, loadClassifier, predictLabels, saveClassifier, trainClassifier, type Classifier } from '../../src/eval/classifier.js';
import { errorLines, runCli } from '../cli/run-cli.js';

const PIXELS = 784;
let dir: string;
let clf: Classifier;
let test_: ReturnType<typeof loadMnist>;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-classifier-'));
  // A short run on a subset: 150 steps of 64 on 3,000 digits, measured on 500 held-out ones.
  clf = await trainClassifier({ iters: 150, nTrain: 3000, nTest: 500, seed: 1 });
  test_ = loadMnist({ split: 'test', n: 200 });
  saveClassifier(path.join(dir, 'clf'), clf);
});

afterAll(() => {
  clf?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('digit classifier', () => {
  test('a short seeded training run labels held-out digits well above chance', () => {
    expect(clf.config.heldOut.n).toBe(500);
    expect(clf.config.training.trainN).toBe(3000);
    expect(clf.config.accuracy).toBeGreaterThan(0.8);
    expect(clf.config.accuracy).toBe(clf.config.heldOut.correct / 500);
    // evaluateAccuracy agrees with what the config recorded.
    const held = loadMnist({ split: 'test', n: 500 });
    expect(evaluateAccuracy(clf.params, held.x, held.labels!).correct).toBe(clf.config.heldOut.correct);
  });

  test("an image's label does not depend on the rest of its batch", () => {
    const all = predictLabels(clf.params, test_.x);
    const n = test_.n;
    // Reversed order, and each image alone or in odd-sized groups.
    const reversed = new Float32Array(n * PIXELS);
    for (let i = 0; i < n; i++) reversed.set(test_.x.subarray(i * PIXELS, (i + 1) * PIXELS), (n - 1 - i) * PIXELS);
    expect(Array.from(predictLabels(clf.params, reversed)).reverse()).toEqual(Array.from(all));
    for (const [from, to] of [[0, 1], [7, 8], [3, 40], [101, 200]]) {
      expect(Array.from(predictLabels(clf.params, test_.x.subarray(from * PIXELS, to * PIXELS)))).toEqual(Array.from(all.subarray(from, to)));
    }
  });

  test('save then load gives identical predictions and the stored accuracy; a damaged file is refused', () => {
    const loaded = loadClassifier(path.join(dir, 'clf'));
    try {
      expect(loaded.config.kind).toBe('classifier');
      expect(loaded.config.accuracy).toBe(clf.config.accuracy);
      expect(loaded.config.shape).toEqual([28, 28, 1]);
      expect(Array.from(predictLabels(loaded.params, test_.x))).toEqual(Array.from(predictLabels(clf.params, test_.x)));
      for (const [k, v] of Object.entries(clf.params)) expect(Array.from(loaded.params[k].dataSync())).toEqual(Array.from(v.dataSync()));
    } finally {
      loaded.dispose();
    }
    const files = fs.readdirSync(path.join(dir, 'clf')).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^classifier-\d+-[0-9a-f]+\.bin$/);
    expect(files[1]).toBe('config.json');
    const damaged = path.join(dir, 'damaged');
    fs.cpSync(path.join(dir, 'clf'), damaged, { recursive: true });
    const bin = path.join(damaged, files[0]);
    const bytes = fs.readFileSync(bin);
    bytes[10] ^= 1;
    fs.writeFileSync(bin, bytes);
    expect(() => loadClassifier(damaged)).toThrow(/sha256/);
  });

  test('training does not leak tensors', async () => {
    (await trainClassifier({ iters: 2, nTrain: 100, nTest: 10 })).dispose();
    const before = tf.memory().numTensors;
    (await trainClassifier({ iters: 30, nTrain: 100, nTest: 10, batch: 8, progressEvery: 5, onProgress: () => {} })).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('sde classify', () => {
  const dir2 = () => path.join(dir, 'cli');
  beforeAll(() => {
    fs.mkdirSync(dir2(), { recursive: true });
    const rows = (n: number, width: number, value: (i: number, j: number) => string) =>
      Array.from({ length: n }, (_, i) => Array.from({ length: width }, (_, j) => value(i, j)).join(',')).join('\n') + '\n';
    // Held-out digits as sde sample writes an mnist model's samples: intensities in [0, 1].
    fs.writeFileSync(path.join(dir2(), 'digits.csv'), rows(test_.n, PIXELS, (i, j) => String((test_.x[i * PIXELS + j] + 1) / 2)));
    fs.writeFileSync(path.join(dir2(), 'short.csv'), rows(3, 783, () => '0'));
    fs.writeFileSync(path.join(dir2(), 'short3.csv'), rows(3, PIXELS, () => '0'));
    fs.writeFileSync(path.join(dir2(), 'nan.csv'), rows(2, PIXELS, (i, j) => (i === 1 && j === 5 ? 'NaN' : '0')));
    fs.mkdirSync(path.join(dir2(), 'notclf'), { recursive: true });
    fs.writeFileSync(path.join(dir2(), 'notclf', 'config.json'), JSON.stringify({ format: 'sde-checkpoint' }));
    fs.writeFileSync(path.join(dir2(), 'afile'), 'x');
  });

  test('labels a CSV of digits: histogram, predictions, --class fraction and the held-out accuracy', () => {
    const r = runCli(['classify', '--classifier', path.join(dir, 'clf'), '--samples', 'digits.csv', '--class', '1', '--json'], { cwd: dir2() });
    expect(r.code).toBe(0);
    expect(errorLines(r.stderr)).toEqual([]);
    const out = JSON.parse(r.stdout);
    expect(out.n).toBe(test_.n);
    expect(out.range).toBe('unit');
    expect(out.counts).toHaveLength(10);
    expect(out.counts.reduce((a: number, b: number) => a + b, 0)).toBe(test_.n);
    expect(out.predicted).toEqual(Array.from(predictLabels(clf.params, test_.x)));
    expect(out.fraction).toBe(out.counts[1] / test_.n);
    expect(out.heldOutAccuracy).toBe(clf.config.accuracy);
    let correct = 0;
    out.predicted.forEach((p: number, i: number) => (correct += p === test_.labels![i] ? 1 : 0));
    expect(correct / test_.n).toBeGreaterThan(0.8);
  });

  test('--class C1,C2,... reads the rows as equal blocks, one a class', () => {
    // The held-out digits' own labels, in two blocks: rows 0..n/2-1 "sampled as" 3, the rest as 7.
    const half = test_.n / 2;
    const r = runCli(['classify', '--classifier', path.join(dir, 'clf'), '--samples', 'digits.csv', '--class', '3,7', '--json'], { cwd: dir2() });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const predicted = Array.from(predictLabels(clf.params, test_.x));
    const hits = (c: number, from: number, to: number) => predicted.slice(from, to).filter((p) => p === c).length;
    expect(out.classes).toEqual([
      { class: 3, n: half, labeled: hits(3, 0, half), fraction: hits(3, 0, half) / half },
      { class: 7, n: half, labeled: hits(7, half, test_.n), fraction: hits(7, half, test_.n) / half },
    ]);
    expect(out.fraction).toBe((hits(3, 0, half) + hits(7, half, test_.n)) / test_.n);
    expect(out.lowestFraction).toBe(Math.min(out.classes[0].fraction, out.classes[1].fraction));
  });

  test.each([
    [['--classifier', 'CLF', '--samples', 'digits.csv', '--class', '1,1'], /^sde: --class: class 1 is listed twice/],
    [['--classifier', 'CLF', '--samples', 'short3.csv', '--class', '0,1'], /^sde: --class: 2 classes need short3.csv to hold as many rows of each \(a multiple of 2\), it has 3/],
    [['--samples', 'digits.csv'], /^sde: --classifier: required/],
    [['--classifier', 'missing', '--samples', 'digits.csv'], /^sde: --classifier: 'missing' does not exist/],
    [['--classifier', 'afile', '--samples', 'digits.csv'], /^sde: --classifier: 'afile' is a file/],
    [['--classifier', 'notclf', '--samples', 'digits.csv'], /^sde: --classifier: 'notclf' holds no classifier/],
    [['--classifier', 'CLF'], /^sde: --samples: required/],
    [['--classifier', 'CLF', '--samples', 'nope.csv'], /^sde: --samples: 'nope.csv' does not exist/],
    [['--classifier', 'CLF', '--samples', 'short.csv'], /^sde: short.csv: rows have 783 values, expected 784/],
    [['--classifier', 'CLF', '--samples', 'nan.csv'], /^sde: nan.csv: line 2, column 6: NaN is not allowed/],
    [['--classifier', 'CLF', '--samples', 'digits.csv', '--class', '10'], /^sde: --class: expected an integer from 0 to 9/],
    [['--classifier', 'CLF', '--samples', 'digits.csv', '--class', '-1'], /^sde: --class: expected an integer >= 0/],
    [['--classifier', 'CLF', '--samples', 'digits.csv', '--class', 'three'], /^sde: --class: expected a number/],
    [['--classifier', 'CLF', '--samples', 'digits.csv', '--range', 'bytes'], /^sde: --range: expected one of auto, unit, signed/],
    [['--classifier', 'CLF', '--samples', 'digits.csv', '--iters', '5'], /^sde: --iters: only with --train/],
    [['--train'], /^sde: --out: required with --train/],
    [['--train', '--out', 'new', '--samples', 'digits.csv'], /^sde: --samples: only when classifying samples/],
    [['--train', '--out', 'new', '--iters', '0'], /^sde: --iters: expected an integer >= 1/],
    [['--train', '--out', 'new', '--lr', 'NaN'], /^sde: --lr: expected a number/],
    [['--train', '--out', 'afile'], /^sde: --out: 'afile' is a file/],
    [['--train', '--out', 'notclf'], /^sde: --out: 'notclf' exists, is not empty and holds no classifier/],
    [['--train', '--out', 'no/such/dir'], /^sde: --out: parent directory of 'no\/such\/dir' does not exist/],
    [['--train', '--out', 'new', '--out', 'other'], /^sde: --out: given more than once/],
    [['--train=maybe', '--out', 'new'], /^sde: --train: a switch takes no value/],
  ])('%j: one line, exit 2, nothing written', (args, message) => {
    const cliArgs = args.map((a) => (a === 'CLF' ? path.join(dir, 'clf') : a));
    const before = fs.readdirSync(dir2()).sort();
    const r = runCli(['classify', ...cliArgs], { cwd: dir2() });
    expect(r.code).toBe(2);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(r.stdout).toBe('');
    expect(fs.readdirSync(dir2()).sort()).toEqual(before);
  });
});
