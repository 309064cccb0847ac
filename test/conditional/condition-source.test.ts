import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { checkConditioning, conditionSource, type Conditioning } from '../../src/conditioning/condition-source.js';
import { imputationOf, rowsFromFiles } from '../../src/conditioning/known-values.js';
import type { ScoreSource } from '../../src/conditioning/score-source.js';
import type { Points } from '../../src/eval/metrics.js';
import { mixtureScore, type GaussianMixture } from '../../src/oracle/index.js';
import { makeSDE } from '../../src/sde/registry.js';
import { CLASSED } from './helpers.js';

/*
 * conditionSource called as a library user would, with plain options, against float64 closed
 * forms: the linear VP-SDE (beta 0.1 .. 20) has mean m = exp(-B/2) and var = 1 - exp(-B),
 * B(t) = 0.1 t + 9.95 t^2; the score of a mixture diffused to t is
 * s(x) = sum_k r_k (m mu_k - x) / v_k with v_k = m^2 s_k^2 + var and r_k ∝ w_k N(x; m mu_k, v_k I).
 */
function closedScore(mix: GaussianMixture, t: number, x: readonly number[], only?: number): number[] {
  const B = 0.1 * t + 9.95 * t * t;
  const m = Math.exp(-B / 2);
  const ks = mix.weights.map((_w, k) => k).filter((k) => only === undefined || mix.classes![k] === only);
  const logs = ks.map((k) => {
    const v = m * m * mix.stds[k] ** 2 - Math.expm1(-B);
    const sq = x.reduce((s, xj, j) => s + (xj - m * mix.means[k][j]) ** 2, 0);
    return Math.log(mix.weights[k]) - sq / (2 * v) - (x.length / 2) * Math.log(v);
  });
  const top = Math.max(...logs);
  const r = logs.map((l) => Math.exp(l - top));
  const total = r.reduce((a, b) => a + b, 0);
  return x.map((xj, j) => ks.reduce((s, k, i) => s + (r[i] / total) * (m * mix.means[k][j] - xj) / (m * m * mix.stds[k] ** 2 - Math.expm1(-B)), 0));
}

/** An oracle source built by hand, as a library user would. */
function oracleSource(mix: GaussianMixture): ScoreSource {
  const sde = makeSDE({ sde: 'vp' });
  const score = mixtureScore(sde, mix);
  return { sde, score, sampleShape: [2], toPoints: (x) => x.arraySync() as Points, describe: 'oracle test', dispose: () => score.dispose(), mixture: mix };
}

const POINTS = [[0.5, 1], [-2, -1.5], [3, 0.2]];

describe('conditionSource', () => {
  test.each([0, 2])('class 1 with guidance W = %d: (1 + W) s(x, t, 1) - W s(x, t) against the closed-form scores', (w) => {
    const before = tf.memory().numTensors;
    const source = conditionSource(oracleSource(CLASSED), { label: 1, guidance: w }, 10);
    expect(source.describe).toBe(w > 0 ? `oracle test, class 1 (guidance ${w})` : 'oracle test, class 1');
    const t = 0.3;
    const got = tf.tidy(() => source.score(tf.tensor2d(POINTS), tf.scalar(t)).arraySync() as number[][]);
    POINTS.forEach((p, i) => {
      const c = closedScore(CLASSED, t, p, 1);
      const u = closedScore(CLASSED, t, p);
      c.forEach((cj, j) => expect(got[i][j]).toBeCloseTo((1 + w) * cj - w * u[j], 3));
    });
    // The reference draws the class's mixture: every point near a class-1 mean (x > 0).
    const ref = source.reference!(500, 4);
    expect(ref.filter((p) => p[0] > 0).length).toBe(500);
    source.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('known coordinates: imputation tensors, pinned points, and the exact conditional reference p(x_1 | x_0 = 1.5)', () => {
    const before = tf.memory().numTensors;
    const source = conditionSource(oracleSource(CLASSED), { guidance: 0, knownDims: [[0, 1.5]] }, 4000);
    expect(source.describe).toBe('oracle test, 1 known coordinate');
    expect(source.impute!.mask.arraySync()).toEqual([1, 0]);
    expect(source.impute!.values.arraySync()).toEqual([1.5, 0]);
    const pinned = tf.tidy(() => source.toPoints(tf.tensor2d([[1.4999, 7], [2, -1]])));
    expect(pinned).toEqual([[1.5, 7], [1.5, -1]]);
    // p(x_1 | x_0 = 1.5): weights w_k N(1.5; mu_k0, s_k^2), then x_1 ~ N(mu_k1, s_k^2).
    const lw = CLASSED.weights.map((w, k) => Math.log(w) - (1.5 - CLASSED.means[k][0]) ** 2 / (2 * CLASSED.stds[k] ** 2) - Math.log(CLASSED.stds[k]));
    const top = Math.max(...lw);
    const wk = lw.map((l) => Math.exp(l - top));
    const total = wk.reduce((a, b) => a + b, 0);
    const mean = wk.reduce((s, w, k) => s + (w / total) * CLASSED.means[k][1], 0);
    const second = wk.reduce((s, w, k) => s + (w / total) * (CLASSED.stds[k] ** 2 + CLASSED.means[k][1] ** 2), 0);
    const ref = source.reference!(4000, 9);
    expect(ref.every((p) => p[0] === 1.5)).toBe(true);
    const got = ref.reduce((s, p) => s + p[1], 0) / 4000;
    expect(Math.abs(got - mean)).toBeLessThan(4 * Math.sqrt((second - mean * mean) / 4000));
    source.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('known rows from files: one row per sample, mapped to model coordinates; a class of a model gives no reference', () => {
    const rows = (x: number[][]) => ({ n: x.length, shape: [2], x: Float32Array.from(x.flat()) });
    const c: Conditioning = { guidance: 0, label: 0, knownFiles: { known: rows([[1, 0], [0, 3]]), mask: rows([[1, 0], [0, 1]]), knownFile: 'k.csv', maskFile: 'm.csv' } };
    const base = oracleSource(CLASSED);
    const model: ScoreSource = { ...base, mixture: undefined, reference: () => [], toModel: (raw) => raw.map((v) => (v - 1) / 2), conditional: { score: (x) => tf.zerosLike(x), numClasses: 2 } };
    const source = conditionSource(model, c, 2);
    expect(source.describe).toBe('oracle test, class 0, known k.csv, mask m.csv');
    expect(source.impute!.values.arraySync()).toEqual([[0, -0.5], [-0.5, 1]]);
    expect(source.impute!.mask.arraySync()).toEqual([[1, 0], [0, 1]]);
    expect(source.reference).toBeUndefined();
    expect(tf.tidy(() => source.toPoints(tf.tensor2d([[9, 9], [9, 9]])))).toEqual([[1, 9], [9, 3]]);
    source.dispose();
  });

  test('bad conditioning: one-line errors naming the flag, from checkConditioning before any tensor and from conditionSource', () => {
    const info = { describe: 'model m', D: 2, n: 3 };
    expect(() => checkConditioning({ guidance: 0, labels: [1] }, info)).toThrow(/^--class: model m is not a class-conditional model/);
    expect(() => checkConditioning({ guidance: 0, labels: [0, 2] }, { ...info, numClasses: 2 })).toThrow(/^--class: model m has classes 0\.\.1, got 2$/);
    expect(() => checkConditioning({ guidance: 0, labels: [5] }, { ...info, mixture: CLASSED })).toThrow(/--class/);
    expect(() => checkConditioning({ guidance: 0, knownDims: [[2, 1]] }, info)).toThrow(/^--known-dims: index 2 is out of range, the samples have 2 values/);
    const before = tf.memory().numTensors;
    expect(() => conditionSource(oracleSource(CLASSED), { guidance: 0, label: 0, knownDims: [[3, 1]] }, 1)).toThrow(/^--known-dims: index 3/);
    expect(tf.memory().numTensors).toBe(before);
    const rows = (n: number, d: number) => ({ n, shape: [d], x: new Float32Array(n * d) });
    expect(() => rowsFromFiles({ known: rows(1, 3), mask: rows(1, 2), knownFile: 'k.csv', maskFile: 'm.csv' }, 2, 4)).toThrow(/^--known k\.csv: rows have 3 values, the samples have 2$/);
    expect(() => rowsFromFiles({ known: rows(1, 2), mask: rows(2, 2), knownFile: 'k.csv', maskFile: 'm.csv' }, 2, 4)).toThrow(/^--mask m\.csv: has 2 rows, expected 1/);
  });

  test('imputationOf: one shared row has the shape of one sample', () => {
    const imp = imputationOf({ rows: 1, mask: Float32Array.of(0, 1, 1, 0), values: Float64Array.of(0, 2, 3, 0) }, [2, 2, 1], 8);
    expect(imp.values.shape).toEqual([2, 2, 1]);
    expect(Array.from(imp.values.dataSync())).toEqual([0, 2, 3, 0]);
    tf.dispose([imp.values, imp.mask]);
  });
});
