import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { mixtureScore } from '../../src/oracle/index.js';
import { makeSDE, type SDE, type SDEName } from '../../src/sde/index.js';
import { checkSolverOptions, expectedNfe, integrate, timeGrid, type IntegrateOptions } from '../../src/solvers/index.js';
import { affineLaw, gaussianMarginal, MU, S0, TRIANGLE } from './helpers.js';
import { expectTriangle, sampleTriangle, WITHIN_VAR_TOLERANCE } from './mixture-cases.js';

const EPS = 1e-3;
const SDES: SDEName[] = ['vp', 'subvp', 've'];

/** sigma(t) = std/mean from the SDE's float64 marginal. */
const sigmaOf = (sde: SDE, t: number) => sde.marginalAt(t).std / sde.marginalAt(t).mean;

/** The Karras et al. noise levels, written out here: (smax^(1/rho) + i/N (smin^(1/rho) - smax^(1/rho)))^rho. */
function karrasFormula(sMax: number, sMin: number, N: number, rho: number): number[] {
  return Array.from({ length: N + 1 }, (_v, i) => (sMax ** (1 / rho) + (i / N) * (sMin ** (1 / rho) - sMax ** (1 / rho))) ** rho);
}

/** Tweedie's denoiser of N(MU, S0^2) data in x^ = x0 + sigma z: E[x0 | x^] = MU + S0^2 / (S0^2 + sigma^2) (x^ - MU). */
const denoiser = (xh: number, sigma: number) => MU + ((S0 * S0) / (S0 * S0 + sigma * sigma)) * (xh - MU);

/** One Heun step in sigma of dx^/dsigma = (x^ - D(x^; sigma)) / sigma, float64 (EDM Algorithm 1's inner step). */
function heunInSigma(xh: number, s: number, sNext: number): number {
  const d1 = (xh - denoiser(xh, s)) / s;
  const euler = xh + (sNext - s) * d1;
  const d2 = (euler - denoiser(euler, sNext)) / sNext;
  return xh + ((sNext - s) * (d1 + d2)) / 2;
}

const orders = (errs: number[]) => errs.slice(1).map((e, i) => Math.log2(errs[i] / e));
const fmt = (v: number[]) => v.map((e) => e.toExponential(2)).join(' ');

describe.each(SDES)('karras grid on %s', (name) => {
  const sde = makeSDE({ sde: name });

  test('its noise levels are the formula, endpoints exact, strictly decreasing; rho reaches integrate', () => {
    for (const [N, rho, eps] of [[17, 7, 2e-3], [5, 3, 1e-3], [40, 7, 1e-5]] as const) {
      const g = timeGrid(sde, 'karras', N, eps, rho);
      const want = karrasFormula(sigmaOf(sde, sde.T), sigmaOf(sde, eps), N, rho);
      expect(g.length).toBe(N + 1);
      expect(g[0]).toBe(sde.T);
      expect(g[N]).toBe(eps);
      let worst = 0;
      g.forEach((t, i) => {
        worst = Math.max(worst, Math.abs(sigmaOf(sde, t) / want[i] - 1));
        if (i > 0) expect(t).toBeLessThan(g[i - 1]);
      });
      expect(worst).toBeLessThan(1e-9);
    }
    const score = (x: tf.Tensor) => tf.zerosLike(x);
    const x = tf.zeros([2, 1]);
    const r = integrate(sde, score, 'ode-euler', { xT: x, steps: 6, grid: 'karras', rho: 3, saveAt: 'all' });
    expect(r.times).toEqual(Array.from(timeGrid(sde, 'karras', 6, 1e-3, 3)));
    tf.dispose([x, r.x, ...r.path!]);
  });

  test('ode-heun on it solves the probability-flow ODE (Gaussian data, closed-form map)', () => {
    const { score, xT, exact } = gaussianProblem(sde);
    const errs = [20, 40].map((N) => maxError(integrate(sde, score, 'ode-heun', { xT, steps: N, grid: 'karras', eps: EPS }).x, exact));
    console.log(`${name} ode-heun on the karras grid, 20 and 40 steps: max error ${fmt(errs)}`);
    expect(errs[1]).toBeLessThan(errs[0] / 3);
    expect(errs[1]).toBeLessThan(0.05);
    tf.dispose(xT);
    score.dispose();
  });
});

/** Gaussian data N(MU, S0^2): its oracle score, 64 prior quantiles and their exact probability-flow images at EPS. */
function gaussianProblem(sde: SDE) {
  const score = mixtureScore(sde, { weights: [1], means: [[MU]], stds: [S0] });
  const start = gaussianMarginal(sde, sde.T);
  const end = gaussianMarginal(sde, EPS);
  const z = Array.from({ length: 64 }, (_v, i) => -2.5 + (5 * i) / 63);
  const x0 = z.map((v) => start.mean + start.std * v);
  const xT = tf.tensor2d(x0.map((v) => [v]), [64, 1]);
  return { score, start, x0, xT, exact: z.map((v) => end.mean + end.std * v) };
}

/** Max |x - exact|, disposing x. */
function maxError(x: tf.Tensor, exact: number[]): number {
  const a = x.dataSync();
  x.dispose();
  return exact.reduce((m, e, i) => Math.max(m, Math.abs(a[i] - e)), 0);
}

describe.each(SDES)('edm-heun on %s (Gaussian data)', (name) => {
  const sde = makeSDE({ sde: name });

  test('churn 0 is Heun in sigma on x^ = x/mean (float64 reference); --denoise is EDM\'s last Euler step to sigma = 0', () => {
    const p = gaussianProblem(sde);
    const N = 12;
    const sigmas = karrasFormula(sigmaOf(sde, sde.T), sigmaOf(sde, EPS), N, 7);
    const mT = sde.marginalAt(sde.T).mean;
    const mEps = sde.marginalAt(EPS).mean;
    // EDM Algorithm 2 with N + 1 levels and 0 (S_churn = 0): Heun on every interval but the last, Euler to 0 = D.
    const hats = p.x0.map((x) => sigmas.slice(0, N).reduce((xh, s, i) => heunInSigma(xh, s, sigmas[i + 1]), x / mT));
    const rows: string[] = [];
    for (const denoise of [false, true]) {
      const want = hats.map((xh) => (denoise ? denoiser(xh, sigmas[N]) : mEps * xh));
      const r = integrate(sde, p.score, 'edm-heun', { xT: p.xT, steps: N, eps: EPS, denoise });
      expect(r.nfe).toBe(2 * N + (denoise ? 1 : 0));
      const err = maxError(r.x, want);
      rows.push(`denoise ${denoise}: max |edm-heun - float64 Heun in sigma| ${err.toExponential(2)}`);
      expect(err).toBeLessThan(2e-5 * Math.max(1, ...want.map(Math.abs)));
    }
    console.log(`${name} edm-heun ${N} steps: ${rows.join('; ')}`);
    tf.dispose(p.xT);
    p.score.dispose();
  });

  test('order 2 by halving the step on the probability-flow map', () => {
    const p = gaussianProblem(sde);
    const steps = [10, 20, 40, 80];
    const errs = steps.map((N) => maxError(integrate(sde, p.score, 'edm-heun', { xT: p.xT, steps: N, eps: EPS }).x, p.exact));
    const o = orders(errs);
    console.log(`${name} edm-heun (karras grid) steps ${steps.join(',')}: max error ${fmt(errs)}; orders ${o.map((v) => v.toFixed(2)).join(' ')}`);
    expect(Math.abs(o[o.length - 1] - 2)).toBeLessThan(0.25);
    for (const v of o) expect(v).toBeGreaterThan(1.6);
    tf.dispose(p.xT);
    p.score.dispose();
  });

  test('with churn its exact law is the float64 churned Heun recursion, and it tends to the data law as steps grow', () => {
    const score = mixtureScore(sde, { weights: [1], means: [[MU]], stds: [S0] });
    const start = gaussianMarginal(sde, sde.T);
    const end = gaussianMarginal(sde, EPS);
    // The recursion, with every option away from its default (S_noise != 1 inflates the law on purpose).
    const inflated = { churn: 10, sTmin: 0.05, sTmax: 20, sNoise: 1.2 };
    const rows: string[] = [];
    for (const N of [10, 40]) {
      const law = affineLaw(sde, score, 'edm-heun', { steps: N, eps: EPS, ...inflated }, N, start);
      const ref = churnedLaw(sde, N, inflated, start);
      rows.push(`${N} steps: |mean - ref| ${Math.abs(law.mean - ref.mean).toExponential(1)}, |std - ref| ${Math.abs(law.std - ref.std).toExponential(1)}`);
      expect(Math.abs(law.mean - ref.mean)).toBeLessThan(1e-5);
      expect(Math.abs(law.std - ref.std)).toBeLessThan(1e-5 * ref.std);
      expect(law.nfe).toBe(2 * N);
    }
    // With S_noise = 1 the churn preserves the marginals in the limit: the law tends to the data's.
    const o = { churn: 10, sTmin: 0.05, sTmax: 20 };
    const steps = [10, 20, 40, 80];
    const errs = steps.map((N) => {
      const law = affineLaw(sde, score, 'edm-heun', { steps: N, eps: EPS, ...o }, N, start);
      const ref = churnedLaw(sde, N, { ...o, sNoise: 1 }, start);
      expect(Math.abs(law.std - ref.std)).toBeLessThan(1e-5 * ref.std);
      return Math.abs(law.mean - end.mean) + Math.abs(law.std - end.std);
    });
    console.log(`${name} edm-heun ${JSON.stringify(inflated)} vs the float64 recursion: ${rows.join('; ')}. ${JSON.stringify(o)} steps ${steps.join(',')}: |dmean| + |dstd| vs the data law ${fmt(errs)}, orders ${orders(errs).map((v) => v.toFixed(2)).join(' ')}`);
    for (let i = 1; i < errs.length; i++) expect(errs[i]).toBeLessThan(errs[i - 1]);
    expect(errs[errs.length - 1]).toBeLessThan(1e-2);
    score.dispose();
  });
});

/**
 * The exact law of EDM Algorithm 2 on N(MU, S0^2) data, in float64: x^ = x/mean is Gaussian; the
 * churn adds variance (sigma^2 - sigma_i^2) S_noise^2 with sigma^ = min(sigma_i (1 + gamma_i), sigma(T)),
 * gamma_i = min(S_churn/N, sqrt 2 - 1) on [sTmin, sTmax], and the Heun step is affine (A x^ + B).
 */
function churnedLaw(sde: SDE, N: number, o: { churn: number; sTmin: number; sTmax: number; sNoise: number }, start: { mean: number; std: number }) {
  const sigmaT = sigmaOf(sde, sde.T);
  const sigmas = karrasFormula(sigmaT, sigmaOf(sde, EPS), N, 7);
  const mT = sde.marginalAt(sde.T).mean;
  let mean = start.mean / mT;
  let variance = (start.std / mT) ** 2;
  for (let i = 0; i < N; i++) {
    const s = sigmas[i];
    const gamma = s >= o.sTmin && s <= o.sTmax ? Math.min(o.churn / N, Math.SQRT2 - 1) : 0;
    const hat = Math.min(s * (1 + gamma), sigmaT);
    variance += (hat * hat - s * s) * o.sNoise ** 2;
    const B = heunInSigma(0, hat, sigmas[i + 1]);
    const A = heunInSigma(1, hat, sigmas[i + 1]) - B;
    mean = A * mean + B;
    variance *= A * A;
  }
  const mEps = sde.marginalAt(EPS).mean;
  return { mean: mEps * mean, std: mEps * Math.sqrt(variance) };
}

describe('edm-heun: options, NFE and the mixture', () => {
  const vp = makeSDE({ sde: 'vp' });

  test('bad options are one-line UsageErrors naming the flag', () => {
    const cases: [IntegrateOptions, string][] = [
      [{ rho: 0 }, '--rho'],
      [{ churn: -1 }, '--churn'],
      [{ sNoise: -0.5 }, '--s-noise'],
      [{ sTmax: 0 }, '--s-tmax'],
      [{ sTmin: 2, sTmax: 1 }, '--s-tmin'],
    ];
    for (const [options, flag] of cases) {
      let err: unknown;
      try {
        checkSolverOptions(vp, 'edm-heun', { shape: [1, 1], ...options });
      } catch (e) {
        err = e;
      }
      expect(err, flag).toBeInstanceOf(UsageError);
      expect((err as Error).message.startsWith(`${flag}: `), (err as Error).message).toBe(true);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  test('NFE is 2 per step (+1 with --denoise); churn draws one noise per churned step, never at the first (sigma^ is clamped to sigma(T))', () => {
    const score = mixtureScore(vp, TRIANGLE);
    for (const [options, nfe] of [[{ steps: 7 }, 14], [{ steps: 7, denoise: true }, 15], [{ steps: 5, churn: 3 }, 10], [{}, 36]] as [IntegrateOptions, number][]) {
      const draws: number[] = [];
      const noise = (shape: number[], step: number) => {
        draws.push(step);
        return tf.randomNormal(shape, 0, 1, 'float32', step);
      };
      const r = integrate(vp, score, 'edm-heun', { shape: [4, 2], noiseSampler: noise, ...options });
      expect(r.nfe).toBe(nfe);
      expect(expectedNfe('edm-heun', options)).toBe(nfe);
      expect(draws).toEqual(options.churn ? [1, 2, 3, 4] : []);
      r.x.dispose();
    }
    score.dispose();
  });

  test('with churn it converges to the triangle mixture as the steps grow', () => {
    const err = (steps: number) => {
      const { check } = sampleTriangle('edm-heun', { churn: 10, steps });
      return { check, err: Math.abs(check.withinVar / check.withinRef - 1) };
    };
    const coarse = err(16);
    const fine = err(64);
    expectTriangle(fine.check);
    expect(coarse.err).toBeGreaterThan(WITHIN_VAR_TOLERANCE);
    expect(fine.err).toBeLessThan(coarse.err / 4);
  });
});
