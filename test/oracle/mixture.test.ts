import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { UsageError } from '../../src/errors.js';
import {
  assignComponents,
  conditionOnClass,
  diffuseMixture,
  loadMixture,
  mixtureCovariance,
  mixtureLogDensity,
  mixtureMean,
  mixtureMembership,
  mixtureScoreAt,
  parseMixture,
  sampleMixture,
  type GaussianMixture,
} from '../../src/oracle/index.js';

/** A 2-D example whose moments are worked out by hand: mean (3, 0), cov diag(6.25, 3.25). */
const HAND: GaussianMixture = { weights: [0.25, 0.75], means: [[0, 0], [4, 0]], stds: [1, 2], classes: [0, 1] };

/** p(x) summed directly (no log-sum-exp), float64. */
function density(mix: GaussianMixture, x: number[]): number {
  return mix.weights.reduce((p, w, k) => {
    const s2 = mix.stds[k] ** 2;
    const sq = x.reduce((a, v, j) => a + (v - mix.means[k][j]) ** 2, 0);
    return p + w * (2 * Math.PI * s2) ** (-x.length / 2) * Math.exp(-sq / (2 * s2));
  }, 0);
}

function usageMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('expected a UsageError');
}

describe('mixture files', () => {
  test('valid JSON parses, with optional classes', () => {
    const mix = parseMixture('{"weights": [0.2, 0.8], "means": [[0, 1, 2], [3, 4, 5]], "stds": [0.5, 1], "classes": [1, 0]}', 'mix.json');
    expect(mix).toEqual({ weights: [0.2, 0.8], means: [[0, 1, 2], [3, 4, 5]], stds: [0.5, 1], classes: [1, 0] });
  });

  test.each([
    ['{"weights": [1], "means": [[0]], ', 'invalid JSON'],
    ['[1, 2]', 'expected a JSON object'],
    ['{"weights": [0.5, 0.5], "means": [[0], [1]], "stds": [1, 0]}', 'stds[1] must be a finite number > 0'],
    ['{"weights": [0.5, 0.5], "means": [[0], [1]], "stds": [1, -2]}', 'stds[1] must be a finite number > 0'],
    ['{"weights": [0.5, 0.6], "means": [[0], [1]], "stds": [1, 1]}', 'weights must sum to 1'],
    ['{"weights": [0.5, 0.500002], "means": [[0], [1]], "stds": [1, 1]}', 'weights must sum to 1'],
    ['{"weights": [1.5, -0.5], "means": [[0], [1]], "stds": [1, 1]}', 'weights[1] must be a finite number >= 0'],
    ['{"weights": [0.5, 0.5], "means": [[0, 1], [1]], "stds": [1, 1]}', 'means of mixed dimension'],
    ['{"weights": [0.5, 0.5], "means": [[0]], "stds": [1, 1]}', 'length mismatch'],
    ['{"weights": [0.5, 0.5], "means": [[0], [1]], "stds": [1]}', 'length mismatch'],
    ['{"weights": [1], "means": [["a"]], "stds": [1]}', 'means[0][0] must be a finite number'],
    ['{"weights": [1], "means": [[0]], "stds": [1], "std": 2}', "unknown key 'std'"],
    ['{"weights": [1], "means": [[0]], "stds": [1], "classes": [0.5]}', 'classes[0] must be an integer'],
    ['{"means": [[0]], "stds": [1]}', '"weights" must be a non-empty array'],
  ])('%s is rejected: %s', (text, expected) => {
    const msg = usageMessage(() => parseMixture(text, 'bad.json'));
    expect(msg.startsWith('bad.json: ')).toBe(true);
    expect(msg).toContain(expected);
  });

  test('weights summing to 1 within 1e-6 are accepted', () => {
    expect(parseMixture('{"weights": [0.3333333, 0.3333333, 0.3333333], "means": [[0], [1], [2]], "stds": [1, 1, 1]}', 'm.json').weights).toHaveLength(3);
  });

  test('loadMixture reads a file and names it in errors', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'oracle-'));
    const good = path.join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(HAND));
    expect(loadMixture(good)).toEqual(HAND);
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{"weights": [1], "means": [[0]], "stds": [0]}');
    expect(usageMessage(() => loadMixture(bad))).toContain(`${bad}: stds[0]`);
    const missing = path.join(dir, 'missing.json');
    expect(usageMessage(() => loadMixture(missing))).toContain(`${missing}: cannot read`);
  });
});

describe('host helpers against hand-computed closed forms', () => {
  test('mean and covariance', () => {
    expect(mixtureMean(HAND)).toEqual([3, 0]);
    const cov = mixtureCovariance(HAND);
    expect(cov[0][0]).toBeCloseTo(6.25, 12);
    expect(cov[1][1]).toBeCloseTo(3.25, 12);
    expect(cov[0][1]).toBeCloseTo(0, 12);
  });

  test('log-density, membership and score at a few points', () => {
    for (const x of [[0, 0], [2, 1], [4, -3], [10, 10], [-30, 5]]) {
      const p = density(HAND, x);
      if (p > 1e-300) expect(mixtureLogDensity(HAND, x)).toBeCloseTo(Math.log(p), 10);
      const r = mixtureMembership(HAND, x);
      expect(r[0] + r[1]).toBeCloseTo(1, 14);
      if (p > 1e-300) {
        const s2 = HAND.stds[0] ** 2;
        const p0 = (0.25 / (2 * Math.PI * s2)) * Math.exp(-(x[0] ** 2 + x[1] ** 2) / (2 * s2));
        expect(r[0]).toBeCloseTo(p0 / p, 10);
      }
      // Central differences of the direct log-density.
      const h = 1e-5;
      const fd = x.map((_v, j) => {
        const up = [...x];
        const dn = [...x];
        up[j] += h;
        dn[j] -= h;
        return (mixtureLogDensity(HAND, up) - mixtureLogDensity(HAND, dn)) / (2 * h);
      });
      mixtureScoreAt(HAND, x).forEach((s, j) => expect(s).toBeCloseTo(fd[j], 5));
    }
    expect(Array.from(assignComponents(HAND, [[0, 0], [5, 0]]))).toEqual([0, 1]);
  });

  test('diffusing a mixture scales means and adds variance', () => {
    const d = diffuseMixture(HAND, 0.5, 0.6);
    expect(d.means).toEqual([[0, 0], [2, 0]]);
    expect(d.stds[1]).toBeCloseTo(Math.sqrt(0.25 * 4 + 0.36), 14);
  });

  test('conditionOnClass keeps the class and renormalizes', () => {
    const mix: GaussianMixture = { weights: [0.2, 0.3, 0.5], means: [[0], [1], [2]], stds: [1, 1, 1], classes: [0, 1, 0] };
    const c0 = conditionOnClass(mix, 0);
    expect(c0.weights[0]).toBeCloseTo(0.2 / 0.7, 14);
    expect(c0.means).toEqual([[0], [2]]);
    expect(usageMessage(() => conditionOnClass(mix, 7))).toContain('--class: no component');
    expect(usageMessage(() => conditionOnClass({ ...HAND, classes: undefined }, 0))).toContain('--class');
  });
});

describe('sampling the mixture', () => {
  test('is seeded and matches weights, mean and covariance within statistical error', () => {
    const n = 20000;
    const a = sampleMixture(HAND, n, 7);
    const b = sampleMixture(HAND, n, 7);
    const c = sampleMixture(HAND, n, 8);
    const xa = a.x.arraySync();
    expect(xa).toEqual(b.x.arraySync());
    expect(xa).not.toEqual(c.x.arraySync());
    expect(Array.from(a.classes!)).toEqual(Array.from(a.components));
    const w1 = a.components.reduce((s, k) => s + k, 0) / n;
    expect(Math.abs(w1 - 0.75)).toBeLessThan(4 * Math.sqrt((0.75 * 0.25) / n));
    const mean = [0, 1].map((j) => xa.reduce((s, p) => s + p[j], 0) / n);
    const cov = [0, 1].map((i) => [0, 1].map((j) => xa.reduce((s, p) => s + (p[i] - mean[i]) * (p[j] - mean[j]), 0) / n));
    // Hand values: mean (3, 0), cov diag(6.25, 3.25); standard errors sqrt(var/n) and ~sqrt(2 var^2 (1 + kurtosis excess)/n).
    expect(Math.abs(mean[0] - 3)).toBeLessThan(4 * Math.sqrt(6.25 / n));
    expect(Math.abs(mean[1])).toBeLessThan(4 * Math.sqrt(3.25 / n));
    expect(Math.abs(cov[0][0] - 6.25)).toBeLessThan(0.3);
    expect(Math.abs(cov[1][1] - 3.25)).toBeLessThan(0.25);
    expect(Math.abs(cov[0][1])).toBeLessThan(0.15);
    for (const s of [a, b, c]) s.x.dispose();
    expect(tf.memory().numTensors).toBeGreaterThanOrEqual(0);
  });
});
