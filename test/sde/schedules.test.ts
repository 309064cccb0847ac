import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { COSINE_T, cosineSchedule, expressionSchedule, linearSchedule, makeSchedule, makeSDE } from '../../src/sde/index.js';
import {
  cosineAlphaBar,
  cosineBeta,
  cosineOneMinusAlphaBar,
  cosineRelTol,
  expectClose,
  f32,
  linearB,
  linearBeta,
  take,
  vpLinear,
} from './reference.js';

const GRID = [0, 1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1];
const TENSOR_REL = 1e-5;

describe('linear schedule', () => {
  test('beta and B(t) = beta_min t + (beta_max - beta_min) t^2/2, host and tensor', () => {
    const s = linearSchedule(0.1, 20);
    expect(s.T).toBe(1);
    for (const t of GRID) {
      expect(s.betaAt(t)).toBeCloseTo(linearBeta(t), 13);
      expect(s.integralAt(t)).toBeCloseTo(linearB(t), 13);
    }
    const tt = tf.tensor1d(GRID);
    expectClose(take(s.beta(tt)), f32(GRID).map((t) => linearBeta(t)), TENSOR_REL, 0, 'beta');
    expectClose(take(s.integral(tt)), f32(GRID).map((t) => linearB(t)), TENSOR_REL, 0, 'integral');
    tt.dispose();
  });
});

describe('cosine schedule (Nichol & Dhariwal 2021)', () => {
  const times = GRID.filter((t) => t <= COSINE_T).concat([COSINE_T]);

  test('alpha-bar(t) = exp(-B(t)) = f(t)/f(0) and beta = -d/dt log alpha-bar, on the host', () => {
    const s = cosineSchedule();
    expect(s.T).toBe(COSINE_T);
    for (const t of times) {
      expect(Math.abs(Math.exp(-s.integralAt(t)) / cosineAlphaBar(t) - 1)).toBeLessThan(1e-12);
      // and 1 - alpha-bar to full relative precision (what std = sqrt(1 - alpha-bar) needs at small t)
      if (t > 0) expect(Math.abs(-Math.expm1(-s.integralAt(t)) / cosineOneMinusAlphaBar(t) - 1)).toBeLessThan(1e-12);
      expect(Math.abs(s.betaAt(t) / cosineBeta(t) - 1)).toBeLessThan(1e-12);
    }
    // beta is the derivative of B: a central difference in float64
    for (const t of [0.1, 0.5, 0.9]) {
      const h = 1e-5;
      expect(Math.abs((s.integralAt(t + h) - s.integralAt(t - h)) / (2 * h) / s.betaAt(t) - 1)).toBeLessThan(1e-8);
    }
    // at T = 0.9946 alpha-bar has fallen to ~7e-5, i.e. mean ~ 0.0084
    expect(cosineAlphaBar(COSINE_T)).toBeGreaterThan(6e-5);
    expect(cosineAlphaBar(COSINE_T)).toBeLessThan(8e-5);
  });

  test('the VP marginal with the cosine schedule: mean^2 = f(t)/f(0), host and tensor', () => {
    const sde = makeSDE({ schedule: 'cosine' });
    for (const t of times) expect(Math.abs(sde.marginalAt(t).mean ** 2 / cosineAlphaBar(t) - 1)).toBeLessThan(1e-12);
    const tt = tf.tensor1d(times);
    const m = sde.marginal(tt);
    const mean = take(m.mean);
    const std = take(m.std);
    const t32 = f32(times);
    // mean^2 is float32 up to twice the conditioning of cos near pi/2 at T (see cosineRelTol)
    expectClose(Array.from(mean, (v) => v * v), t32.map((t) => cosineAlphaBar(t)), t32.map((t) => 2 * cosineRelTol(t)), 0, 'alpha-bar');
    expectClose(Array.from(std.slice(1), (v) => v * v), t32.slice(1).map((t) => cosineOneMinusAlphaBar(t)), 2 * TENSOR_REL, 0, '1 - alpha-bar');
    expect(std[0]).toBe(0);
    tt.dispose();
  });

  test('tensor beta and integral match the closed forms', () => {
    const s = cosineSchedule();
    const tt = tf.tensor1d(times);
    const t32 = f32(times);
    expectClose(take(s.integral(tt)).slice(1), t32.slice(1).map((t) => -Math.log1p(-cosineOneMinusAlphaBar(t))), TENSOR_REL, 0, 'integral');
    // tan near pi/2 at T is ill-conditioned (see cosineRelTol)
    expectClose(take(s.beta(tt)), t32.map((t) => cosineBeta(t)), t32.map((t) => cosineRelTol(t)), 0, 'beta');
    tt.dispose();
  });
});

describe('expression schedules', () => {
  test('"0.1 + 19.9*t" reproduces the linear schedule: beta, B and the VP marginal (host 1e-6, tensor float32)', () => {
    const expr = makeSchedule('0.1 + 19.9*t');
    const lin = linearSchedule(0.1, 20);
    expect(expr.name).toBe('0.1 + 19.9*t');
    expect(expr.T).toBe(1);
    const ref = vpLinear(0.1, 20);
    const vpExpr = makeSDE({ schedule: '0.1 + 19.9*t' });
    for (const t of GRID) {
      expect(Math.abs(expr.betaAt(t) - linearBeta(t))).toBeLessThan(1e-6);
      expect(Math.abs(expr.integralAt(t) - linearB(t))).toBeLessThan(1e-6);
      expect(Math.abs(expr.betaAt(t) - lin.betaAt(t))).toBeLessThan(1e-6);
      const m = vpExpr.marginalAt(t);
      expect(Math.abs(m.mean - ref.mean(t))).toBeLessThan(1e-6);
      expect(Math.abs(m.std - ref.std(t))).toBeLessThan(1e-6);
    }
    const tt = tf.tensor1d(GRID);
    const t32 = f32(GRID);
    expectClose(take(expr.beta(tt)), t32.map((t) => linearBeta(t)), TENSOR_REL, 0, 'beta');
    expectClose(take(expr.integral(tt)), t32.map((t) => linearB(t)), TENSOR_REL, 1e-12, 'integral');
    const m = vpExpr.marginal(tt);
    expectClose(take(m.mean), t32.map(ref.mean), TENSOR_REL, 0, 'mean');
    expectClose(take(m.std), t32.map(ref.std), TENSOR_REL, 0, 'std');
    const g = vpExpr.diffusion(tt);
    expectClose(take(g), t32.map((t) => Math.sqrt(linearBeta(t))), TENSOR_REL, 0, 'diffusion');
    tt.dispose();
  });

  test('a non-polynomial beta = 0.1 + 19.9 t^2 + sin t: B(t) = 0.1 t + 19.9 t^3/3 + 1 - cos t', () => {
    const s = expressionSchedule('0.1 + 19.9*t^2 + sin(t)');
    // 1 - cos t written as 2 sin^2(t/2) so the reference does not cancel at small t
    const B = (t: number) => 0.1 * t + (19.9 * t ** 3) / 3 + 2 * Math.sin(t / 2) ** 2;
    for (const t of [...GRID, 0.3333, 0.77]) {
      expect(Math.abs(s.integralAt(t) - B(t))).toBeLessThan(1e-9);
      expect(Math.abs(s.betaAt(t) - (0.1 + 19.9 * t * t + Math.sin(t)))).toBeLessThan(1e-12);
    }
    const tt = tf.tensor1d(GRID);
    expectClose(take(s.integral(tt)), f32(GRID).map(B), TENSOR_REL, 1e-12, 'tensor integral');
    tt.dispose();
  });

  test('a constant beta "2": one value per sample, B(t) = 2t', () => {
    const sde = makeSDE({ schedule: '2' });
    const tt = tf.tensor1d([0.1, 0.5, 0.9]);
    const g = sde.diffusion(tt);
    const a = sde.driftCoef(tt);
    expect(g.shape).toEqual([3]);
    expect(a.shape).toEqual([3]);
    expectClose(take(g), [Math.SQRT2, Math.SQRT2, Math.SQRT2], TENSOR_REL, 0, 'g');
    expectClose(take(a), [-1, -1, -1], TENSOR_REL, 0, 'a');
    const m = sde.marginal(tt);
    expectClose(take(m.mean), [0.1, 0.5, 0.9].map((t) => Math.exp(-t)), TENSOR_REL, 0, 'mean');
    expectClose(take(m.std), [0.1, 0.5, 0.9].map((t) => Math.sqrt(-Math.expm1(-2 * t))), TENSOR_REL, 0, 'std');
    tt.dispose();
  });

  test('the functions, pi and e are available', () => {
    const s = expressionSchedule('exp(t) + sqrt(pi) * e^t / 10 + tanh(t)^2 + sigmoid(t)');
    const want = (t: number) => Math.exp(t) + (Math.sqrt(Math.PI) * Math.E ** t) / 10 + Math.tanh(t) ** 2 + 1 / (1 + Math.exp(-t));
    for (const t of [0, 0.3, 1]) expect(s.betaAt(t)).toBeCloseTo(want(t), 12);
    const tt = tf.tensor1d([0, 0.3, 1]);
    expectClose(take(s.beta(tt)), f32([0, 0.3, 1]).map(want), TENSOR_REL, 0, 'tensor');
    tt.dispose();
  });
});
