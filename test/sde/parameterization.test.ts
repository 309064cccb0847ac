import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { epsToScore, epsToX0, makeSDE, scoreToEps, scoreToX0, x0ToEps, x0ToScore, type Marginal } from '../../src/sde/index.js';
import { expectClose, rng, take } from './reference.js';

// Every tensor a test makes is disposed when it ends.
beforeEach(() => tf.engine().startScope());
afterEach(() => tf.engine().endScope());

/*
 * x_t = mean x_0 + std eps:  score = -eps/std,  x_0 = (x_t - std eps)/mean,
 * eps = (x_t - mean x_0)/std,  x_0 = (x_t + std^2 score)/mean (Tweedie),  score = -(x_t - mean x_0)/std^2.
 * mean and std come from the VP marginal at per-sample times; the formulas are evaluated in
 * float64 on the float32 values the tensors hold.
 */
const B = 5;
const D = 4;
const TIMES = [0.02, 0.1, 0.3, 0.6, 0.9];

function setup() {
  const u = rng(21);
  const sde = makeSDE();
  const m = sde.marginal(tf.tensor1d(TIMES));
  const mean = Array.from(m.mean.dataSync());
  const std = Array.from(m.std.dataSync());
  const arr = (scale: number) => Array.from({ length: B * D }, () => Math.fround(scale * (2 * u() - 1)));
  const x0 = arr(1);
  const eps = arr(2);
  const xt = x0.map((v, k) => Math.fround(mean[Math.floor(k / D)] * v + std[Math.floor(k / D)] * eps[k]));
  const score = arr(5);
  return { m, mean, std, x0, eps, xt, score };
}

const T2 = (v: number[]) => tf.tensor2d(v, [B, D]);
/** Tolerance: float32 rounding of each term, relative to the size of the terms that are combined. */
function expectFormula(got: tf.Tensor, want: number[], scale: number[], what: string): void {
  expect(got.shape).toEqual([B, D]);
  const g = take(got);
  for (let k = 0; k < want.length; k++) expect(Math.abs(g[k] - want[k]), `${what}[${k}]`).toBeLessThanOrEqual(4e-7 * scale[k] + 1e-6 * Math.abs(want[k]));
}

describe('eps <-> score <-> x0 conversions', () => {
  test('each conversion matches its formula', () => {
    const { m, mean, std, x0, eps, xt, score } = setup();
    const row = (k: number) => Math.floor(k / D);
    expectFormula(epsToScore(T2(eps), m), eps.map((e, k) => -e / std[row(k)]), eps.map((e, k) => Math.abs(e / std[row(k)])), 'epsToScore');
    expectFormula(scoreToEps(T2(score), m), score.map((s, k) => -s * std[row(k)]), score.map((s, k) => Math.abs(s * std[row(k)])), 'scoreToEps');
    expectFormula(
      epsToX0(T2(xt), T2(eps), m),
      xt.map((x, k) => (x - std[row(k)] * eps[k]) / mean[row(k)]),
      xt.map((x, k) => (Math.abs(x) + Math.abs(std[row(k)] * eps[k])) / mean[row(k)]),
      'epsToX0',
    );
    expectFormula(
      x0ToEps(T2(xt), T2(x0), m),
      xt.map((x, k) => (x - mean[row(k)] * x0[k]) / std[row(k)]),
      xt.map((x, k) => (Math.abs(x) + Math.abs(mean[row(k)] * x0[k])) / std[row(k)]),
      'x0ToEps',
    );
    expectFormula(
      scoreToX0(T2(xt), T2(score), m),
      xt.map((x, k) => (x + std[row(k)] ** 2 * score[k]) / mean[row(k)]),
      xt.map((x, k) => (Math.abs(x) + Math.abs(std[row(k)] ** 2 * score[k])) / mean[row(k)]),
      'scoreToX0',
    );
    expectFormula(
      x0ToScore(T2(xt), T2(x0), m),
      xt.map((x, k) => -(x - mean[row(k)] * x0[k]) / std[row(k)] ** 2),
      xt.map((x, k) => (Math.abs(x) + Math.abs(mean[row(k)] * x0[k])) / std[row(k)] ** 2),
      'x0ToScore',
    );
    m.mean.dispose();
    m.std.dispose();
  });

  test('round trips return the input; x_t built from (x0, eps) gives back x0 and eps', () => {
    const { m, x0, eps, xt, score } = setup();
    const close = (a: tf.Tensor, b: number[], what: string) => expectClose(take(a), b, 1e-5, 1e-5, what);
    close(scoreToEps(epsToScore(T2(eps), m), m), eps, 'eps -> score -> eps');
    close(epsToScore(scoreToEps(T2(score), m), m), score, 'score -> eps -> score');
    close(x0ToEps(T2(xt), epsToX0(T2(xt), T2(eps), m), m), eps, 'eps -> x0 -> eps');
    close(x0ToScore(T2(xt), scoreToX0(T2(xt), T2(score), m), m), score, 'score -> x0 -> score');
    close(epsToX0(T2(xt), x0ToEps(T2(xt), T2(x0), m), m), x0, 'x0 -> eps -> x0');
    // the true eps and x0 behind x_t
    close(epsToX0(T2(xt), T2(eps), m), x0, 'x0 from the true eps');
    close(x0ToEps(T2(xt), T2(x0), m), eps, 'eps from the true x0');
    // score of x_t | x_0 is -eps/std whichever way it is computed
    expectClose(take(x0ToScore(T2(xt), T2(x0), m)), take(epsToScore(T2(eps), m)), 1e-4, 1e-4, 'two routes to the score');
    m.mean.dispose();
    m.std.dispose();
  });

  test('scalar mean and std broadcast too', () => {
    const m: Marginal<tf.Tensor> = { mean: tf.scalar(0.8), std: tf.scalar(0.6) };
    const eps = tf.tensor2d([[1, -2], [0.5, 3]]);
    expectClose(take(epsToScore(eps, m)), [-1 / 0.6, 2 / 0.6, -0.5 / 0.6, -3 / 0.6], 1e-6, 0, 'scalar std');
    eps.dispose();
    m.mean.dispose();
    m.std.dispose();
  });
});
