import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { makeSDE, probabilityFlowDrift, reverseSdeDrift, type ScoreFn, type SDEConfig } from '../../src/sde/index.js';
import { rng, subvpLinear, take, ve, vpCosine, vpLinear, type Closed } from './reference.js';

/*
 * Gaussian data x_0 ~ N(mu, s0^2 I): then p_t = N(mean(t) mu, (mean(t)^2 s0^2 + std(t)^2) I) and
 * the score is -(x - mean mu) / (mean^2 s0^2 + std^2), all in float64 from the closed forms.
 * reverse drift = f - g^2 s, probability-flow drift = f - g^2 s / 2 with f = a(t) x.
 */
const MU = [0.5, -1, 2];
const S0 = 0.3;
const D = MU.length;

interface Case {
  label: string;
  config: Partial<SDEConfig>;
  ref: Closed;
}
const CASES: Case[] = [
  { label: 'VP linear', config: { sde: 'vp' }, ref: vpLinear() },
  { label: 'VP cosine', config: { sde: 'vp', schedule: 'cosine' }, ref: vpCosine() },
  { label: 'sub-VP linear', config: { sde: 'subvp' }, ref: subvpLinear() },
  { label: 'VE', config: { sde: 've' }, ref: ve() },
];

function variance(ref: Closed, t: number): number {
  return ref.mean(t) ** 2 * S0 * S0 + ref.std(t) ** 2;
}
function score64(ref: Closed, x: number, d: number, t: number): number {
  return -(x - ref.mean(t) * MU[d]) / variance(ref, t);
}
/** The exact score as a tensor function: computed on the host in float64 from what x and t hold. */
function gaussianScore(ref: Closed): ScoreFn {
  return (x, t) => {
    const xv = x.dataSync();
    const tv = t.dataSync();
    const out = Array.from(xv, (v, k) => score64(ref, v, k % D, tv.length === 1 ? tv[0] : tv[Math.floor(k / D)]));
    return tf.tensor(out, x.shape);
  };
}

describe.each(CASES)('$label: reverse-time drifts with a Gaussian data distribution', ({ config, ref }) => {
  const sde = makeSDE(config);
  const u = rng(31);
  const times = [0.01, 0.2, 0.5, 0.8, 0.95].map((t) => Math.fround(t * sde.T));
  const B = times.length;
  const x = Array.from({ length: B * D }, (_, k) => {
    const t = times[Math.floor(k / D)];
    return Math.fround(ref.mean(t) * MU[k % D] + Math.sqrt(variance(ref, t)) * (4 * u() - 2));
  });
  const score = gaussianScore(ref);

  function check(fn: typeof reverseSdeDrift, weight: number, what: string) {
    const xT = tf.tensor2d(x, [B, D]);
    const tT = tf.tensor1d(times);
    const got = take(fn(sde, score, xT, tT));
    for (let k = 0; k < x.length; k++) {
      const t = times[Math.floor(k / D)];
      const f = ref.a(t) * x[k];
      const gs = weight * ref.g2(t) * score64(ref, x[k], k % D, t);
      const want = f - gs;
      // float32: relative 1e-5 of the two terms, which can cancel
      expect(Math.abs(got[k] - want), `${what} at t = ${t}, x = ${x[k]}`).toBeLessThanOrEqual(1e-5 * (Math.abs(f) + Math.abs(gs)) + 1e-7);
    }
    xT.dispose();
    tT.dispose();
  }

  test('reverseSdeDrift = f - g^2 s', () => check(reverseSdeDrift, 1, 'reverse'));
  test('probabilityFlowDrift = f - g^2 s / 2', () => check(probabilityFlowDrift, 0.5, 'flow'));

  test('the probability-flow ODE transports the marginals: x(t) = mean mu + sqrt(var(t)) z solves it', () => {
    // For Gaussian data the flow map is affine; its velocity d/dt x(t) (central difference in float64)
    // must equal the code's flow drift at (x(t), t).
    const z = [0.7, -1.1, 0.4];
    const ts = [0.1, 0.4, 0.7].map((t) => t * sde.T);
    const path = (t: number) => MU.map((m, d) => ref.mean(t) * m + Math.sqrt(variance(ref, t)) * z[d]);
    const xs = ts.flatMap(path);
    const xT = tf.tensor2d(xs, [ts.length, D]);
    const tT = tf.tensor1d(ts);
    const got = take(probabilityFlowDrift(sde, score, xT, tT));
    const h = 1e-6;
    for (let i = 0; i < ts.length; i++) {
      const vel = path(ts[i] + h).map((p, d) => (p - path(ts[i] - h)[d]) / (2 * h));
      for (let d = 0; d < D; d++) {
        const k = i * D + d;
        const scale = Math.abs(ref.a(ts[i]) * xs[k]) + Math.abs(vel[d]);
        expect(Math.abs(got[k] - vel[d]), `t = ${ts[i]}, d = ${d}`).toBeLessThanOrEqual(2e-5 * scale + 1e-6);
      }
    }
    xT.dispose();
    tT.dispose();
  });

  test('a scalar t is accepted and broadcast', () => {
    const xT = tf.tensor2d(x.slice(0, 2 * D), [2, D]);
    const tT = tf.scalar(times[2]);
    const got = take(reverseSdeDrift(sde, score, xT, tT));
    const t = times[2];
    for (let k = 0; k < 2 * D; k++) {
      const f = ref.a(t) * x[k];
      const gs = ref.g2(t) * score64(ref, x[k], k % D, t);
      expect(Math.abs(got[k] - (f - gs))).toBeLessThanOrEqual(1e-5 * (Math.abs(f) + Math.abs(gs)) + 1e-7);
    }
    xT.dispose();
    tT.dispose();
  });
});
