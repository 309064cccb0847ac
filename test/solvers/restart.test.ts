import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { mixtureScore } from '../../src/oracle/index.js';
import { makeSDE, type ScoreFn, type SDE, type SDEName } from '../../src/sde/index.js';
import { checkSolverOptions, expectedNfe, integrate, type IntegrateOptions } from '../../src/solvers/index.js';
import { parseRestart } from '../../src/solvers/restart.js';
import { gaussianMarginal, MU, S0, TRIANGLE } from './helpers.js';
import { expectTriangle, sampleTriangle, WITHIN_VAR_TOLERANCE } from './mixture-cases.js';

const EPS = 1e-3;

/** Runs f and returns the UsageError it throws (fails the test when it throws none, or another error). */
function usageError(f: () => unknown): Error {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UsageError);
  expect((err as Error).message).not.toContain('\n');
  return err as Error;
}

describe('--restart: parsing and validation', () => {
  const vp = makeSDE({ sde: 'vp' });
  const ve = makeSDE({ sde: 've' });

  test('segments parse into numbers (N steps, K restarts, noise levels tmin < tmax)', () => {
    expect(parseRestart(' 0:2:2:0.06:0.3 , 3:4:1:0.5:2e0')).toEqual([
      { label: 0, steps: 2, repeats: 2, sigmaMin: 0.06, sigmaMax: 0.3 },
      { label: 3, steps: 4, repeats: 1, sigmaMin: 0.5, sigmaMax: 2 },
    ]);
  });

  test('bad text is one line naming --restart and what it expected', () => {
    const cases: [string, string][] = [
      ['no-such-choice', "expected i:N:K:tmin:tmax entries separated by commas (e.g. 0:2:2:0.06:0.3), got 'no-such-choice'"],
      ['0:2:2:0.06', 'expected i:N:K:tmin:tmax'],
      ['0:2:2:0.06:0.3,', "expected i:N:K:tmin:tmax entries separated by commas (e.g. 0:2:2:0.06:0.3), got ''"],
      ['-1:2:2:0.06:0.3', "expected i to be an integer >= 0 in '-1:2:2:0.06:0.3', got '-1'"],
      ['0:0:2:0.06:0.3', "expected N to be an integer >= 1 in '0:0:2:0.06:0.3', got '0'"],
      ['0:2.5:2:0.06:0.3', 'expected N to be an integer >= 1'],
      ['0:2:-1:0.06:0.3', 'expected K to be an integer >= 0'],
      ['0:2:x:0.06:0.3', "expected K to be an integer >= 0 in '0:2:x:0.06:0.3', got 'x'"],
      ['0:2:2:0:0.3', 'expected tmin to be a noise level > 0'],
      ['0:2:2:0.3:0.3', 'expected tmax to be a noise level above tmin = 0.3'],
      ['0:2:2::0.3', 'expected tmin to be a noise level > 0'],
      ['0:2:2:0.06:0.3,0:1:1:1:2', 'expected distinct segment numbers i, got 0 twice'],
    ];
    for (const [text, problem] of cases) {
      const err = usageError(() => checkSolverOptions(vp, 'restart', { shape: [1, 1], restart: text }));
      expect(err.message, text).toContain(`--restart: ${problem}`);
      expect(err.message.startsWith('--restart: expected ')).toBe(true);
    }
    // tmax beyond sigma(T) (VE: sigma(1) = 50): the score is not defined there.
    expect(usageError(() => checkSolverOptions(ve, 'restart', { shape: [1, 1], restart: '0:2:1:1:60' })).message).toMatch(/^--restart: expected tmax at most sigma\(T\) = 50\.00 .*got 60 in segment 0$/);
    expect(() => checkSolverOptions(vp, 'restart', { shape: [1, 1], restart: '0:2:1:1:60' })).not.toThrow();
  });

  test('placement problems on the grid are named when the run starts', () => {
    const score = mixtureScore(vp, TRIANGLE);
    // 2 karras steps on VP: sigma ~ 152, 5.8, 0.0105. Both segments are nearest grid index 2.
    const twice = usageError(() => integrate(vp, score, 'restart', { shape: [2, 2], steps: 2, restart: '0:1:1:0.05:0.3,1:1:1:0.1:0.5' }));
    expect(twice.message).toMatch(/^--restart: expected segments at distinct grid times, but two restart at grid index 2 /);
    // tmin = 3 is nearest sigma_1 ~ 5.8, above tmax = 4: no interval to restart on.
    const above = usageError(() => integrate(vp, score, 'restart', { shape: [2, 2], steps: 2, restart: '0:1:1:3:4' }));
    expect(above.message).toMatch(/^--restart: expected the grid noise level nearest tmin = 3 \(sigma_1 = 5\.8\d\) below tmax = 4; use more steps/);
    score.dispose();
  });
});

describe('restart: NFE, K = 0 and the mixture', () => {
  const vp = makeSDE({ sde: 'vp' });

  test('NFE = 2 N_main + sum 2 K N (+1 with --denoise)', () => {
    const score = mixtureScore(vp, TRIANGLE);
    const cases: [IntegrateOptions, number][] = [
      [{}, 2 * 18 + 2 * 2 * 2],
      [{ steps: 12, restart: '0:3:2:0.06:0.3,1:2:1:0.5:2' }, 24 + 2 * 2 * 3 + 2 * 1 * 2],
      [{ steps: 12, restart: '0:3:2:0.06:0.3,1:2:1:0.5:2', denoise: true }, 41],
      [{ steps: 9, restart: '5:4:0:0.06:0.3' }, 18],
    ];
    for (const [options, nfe] of cases) {
      const r = integrate(vp, score, 'restart', { shape: [4, 2], ...options });
      expect(r.nfe, JSON.stringify(options)).toBe(nfe);
      expect(expectedNfe('restart', options)).toBe(nfe);
      r.x.dispose();
    }
    score.dispose();
  });

  test('with K = 0 it is edm-heun, number for number', () => {
    const score = mixtureScore(vp, TRIANGLE);
    const xT = vp.priorSample([256, 2], 3);
    for (const options of [{ steps: 15 }, { steps: 8, denoise: true, rho: 4 }] as IntegrateOptions[]) {
      const a = integrate(vp, score, 'restart', { xT, ...options, restart: '0:3:0:0.06:0.3,1:2:0:0.5:2' });
      const b = integrate(vp, score, 'edm-heun', { xT, ...options });
      expect(Array.from(a.x.dataSync())).toEqual(Array.from(b.x.dataSync()));
      expect(a.nfe).toBe(b.nfe);
      tf.dispose([a.x, b.x]);
    }
    xT.dispose();
    score.dispose();
  });

  test('it converges to the triangle mixture as the main steps grow', () => {
    const err = (steps: number) => {
      const { check } = sampleTriangle('restart', { steps });
      return { check, err: Math.abs(check.withinVar / check.withinRef - 1) };
    };
    const coarse = err(12);
    const fine = err(48);
    expectTriangle(fine.check);
    expect(coarse.err).toBeGreaterThan(WITHIN_VAR_TOLERANCE);
    expect(fine.err).toBeLessThan(coarse.err / 4);
  });
});

/**
 * The exact law of a sampler affine in (x_T, noise) on 1-D Gaussian data: one run on `draws` + 2
 * particles, particle j getting noise 1 at the j-th distinct (step, stage) draw only (as
 * helpers.ts affineLaw, with stages told apart). Returns the output mean and std for
 * x_T ~ N(start.mean, start.std^2), and the number of draws made.
 */
function stagedLaw(sde: SDE, score: ScoreFn, options: IntegrateOptions, draws: number, start: { mean: number; std: number }) {
  const n = draws + 2;
  const xT = tf.tensor2d(Array.from({ length: n }, (_v, j) => [j === draws + 1 ? 1 : 0]), [n, 1]);
  const index = new Map<string, number>();
  const noise = (shape: number[], step: number, stage: number) => {
    const key = `${step}:${stage}`;
    if (!index.has(key)) index.set(key, index.size);
    const z = new Float32Array(n);
    z[index.get(key)!] = 1;
    return tf.tensor(z, shape);
  };
  const r = integrate(sde, score, 'restart', { ...options, xT, noiseSampler: noise });
  const x = r.x.dataSync();
  tf.dispose([r.x, xT]);
  expect(index.size).toBeLessThanOrEqual(draws);
  const beta = x[draws];
  const alpha = x[draws + 1] - beta;
  let v = alpha * alpha * start.std * start.std;
  for (let j = 0; j < draws; j++) v += (x[j] - beta) ** 2;
  return { mean: alpha * start.mean + beta, std: Math.sqrt(v), draws: index.size, nfe: r.nfe };
}

const sigmaOf = (sde: SDE, t: number) => sde.marginalAt(t).std / sde.marginalAt(t).mean;
const karras = (sMax: number, sMin: number, N: number, rho = 7) =>
  Array.from({ length: N + 1 }, (_v, i) => (sMax ** (1 / rho) + (i / N) * (sMin ** (1 / rho) - sMax ** (1 / rho))) ** rho);
const denoiser = (xh: number, sigma: number) => MU + ((S0 * S0) / (S0 * S0 + sigma * sigma)) * (xh - MU);

/** One float64 Heun step in sigma on dx^/dsigma = (x^ - D)/sigma, as the affine map x^ -> A x^ + B. */
function heunMap(s: number, sNext: number): { A: number; B: number } {
  const heun = (xh: number) => {
    const d1 = (xh - denoiser(xh, s)) / s;
    const e = xh + (sNext - s) * d1;
    return xh + ((sNext - s) * (d1 + (e - denoiser(e, sNext)) / sNext)) / 2;
  };
  return { A: heun(1) - heun(0), B: heun(0) };
}

/**
 * Restart's exact output law on N(MU, S0^2) data, float64, written from Xu et al.'s algorithm:
 * Heun in sigma on the main Karras grid; at the grid index k >= 1 nearest tmin, K times: x^ gets
 * variance tmax^2 - sigma_k^2 added, then N Heun steps on Karras levels from tmax to sigma_k.
 */
function restartLaw(sde: SDE, N: number, seg: { N: number; K: number; tmin: number; tmax: number }, start: { mean: number; std: number }) {
  const sigmas = karras(sigmaOf(sde, sde.T), sigmaOf(sde, EPS), N);
  let k = 1;
  for (let j = 2; j <= N; j++) if (Math.abs(sigmas[j] - seg.tmin) < Math.abs(sigmas[k] - seg.tmin)) k = j;
  const mT = sde.marginalAt(sde.T).mean;
  let m = start.mean / mT;
  let v = (start.std / mT) ** 2;
  const apply = ({ A, B }: { A: number; B: number }) => {
    m = A * m + B;
    v *= A * A;
  };
  for (let i = 0; i < N; i++) {
    apply(heunMap(sigmas[i], sigmas[i + 1]));
    if (i + 1 !== k) continue;
    const levels = karras(seg.tmax, sigmas[k], seg.N);
    for (let r = 0; r < seg.K; r++) {
      v += seg.tmax ** 2 - sigmas[k] ** 2;
      for (let j = 0; j < seg.N; j++) apply(heunMap(levels[j], levels[j + 1]));
    }
  }
  const mEps = sde.marginalAt(EPS).mean;
  return { mean: mEps * m, std: mEps * Math.sqrt(v) };
}

describe.each(['vp', 'subvp', 've'] as SDEName[])('restart on %s: exact law on Gaussian data', (name) => {
  const sde = makeSDE({ sde: name });

  test('equals the float64 restart recursion, and tends to the data law at order 2 as main and restart steps grow', () => {
    const score = mixtureScore(sde, { weights: [1], means: [[MU]], stds: [S0] });
    const start = gaussianMarginal(sde, sde.T);
    const end = gaussianMarginal(sde, EPS);
    const rows: string[] = [];
    // The restart interval's own N Heun steps grow with the main steps (N = main / 5).
    const steps = [10, 20, 40, 80];
    const errs = steps.map((N) => {
      const seg = { N: N / 5, K: 4, tmin: 0.06, tmax: 0.5 };
      const restart = `0:${seg.N}:${seg.K}:${seg.tmin}:${seg.tmax}`;
      const law = stagedLaw(sde, score, { steps: N, eps: EPS, restart }, seg.K, start);
      const ref = restartLaw(sde, N, seg, start);
      rows.push(`${N}: |mean - ref| ${Math.abs(law.mean - ref.mean).toExponential(1)}, |std - ref| ${Math.abs(law.std - ref.std).toExponential(1)}`);
      expect(law.draws).toBe(seg.K);
      expect(law.nfe).toBe(2 * N + 2 * seg.K * seg.N);
      expect(Math.abs(law.mean - ref.mean)).toBeLessThan(1e-5);
      expect(Math.abs(law.std - ref.std)).toBeLessThan(1e-5 * ref.std);
      return Math.abs(law.mean - end.mean) + Math.abs(law.std - end.std);
    });
    const orders = errs.slice(1).map((e, i) => Math.log2(errs[i] / e));
    console.log(`${name} restart 0:N:4:0.06:0.5 with N = steps/5: vs the float64 recursion ${rows.join('; ')}; |dmean| + |dstd| vs the data law (steps ${steps.join(',')}) ${errs.map((e) => e.toExponential(2)).join(' ')}, orders ${orders.map((o) => o.toFixed(2)).join(' ')}`);
    for (const o of orders) expect(o).toBeGreaterThan(1.6);
    expect(errs[errs.length - 1]).toBeLessThan(1e-3);
    score.dispose();
  });
});
