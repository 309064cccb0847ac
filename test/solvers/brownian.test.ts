import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { mixtureScore } from '../../src/oracle/index.js';
import { mixSeed, normalArray } from '../../src/random.js';
import { makeSDE } from '../../src/sde/index.js';
import { BrownianPath, brownianNoise, DEFAULT_BROWNIAN_DEPTH } from '../../src/solvers/brownian.js';
import { BROWNIAN_STREAM } from '../../src/solvers/common.js';
import { IMPUTE_STAGE, integrate, seededNoise, timeGrid, type IntegrateOptions, type NoiseInterval, type NoiseSampler, type SolverName } from '../../src/solvers/index.js';
import { MU, S0 } from './helpers.js';

const sde = makeSDE({ sde: 'vp' });
const EPS = 1e-3;

/** Entries of the (one) tensor a sampler returns, as float64 numbers; the tensor is disposed. */
function draw(noise: NoiseSampler, size: number, interval: NoiseInterval): Float64Array {
  const z = noise([size], 0, 0, interval);
  const out = Float64Array.from(z.dataSync());
  z.dispose();
  return out;
}

describe('the Brownian path', () => {
  test('coarse increments are sums of fine ones (float32), at 20, 40 and 80 steps, uniform and quadratic grids', () => {
    const size = 500;
    const noise = brownianNoise(7, sde.T, seededNoise(7));
    let worst = 0;
    for (const kind of ['uniform', 'quadratic'] as const) {
      const grids = [20, 40, 80].map((N) => timeGrid(sde, kind, N, EPS));
      // Unnormalised increments W(t_i) - W(t_{i+1}) = z sqrt(t_i - t_{i+1}) of each step count.
      const increments = grids.map((g) => Array.from({ length: g.length - 1 }, (_v, i) => draw(noise, size, { from: g[i], to: g[i + 1] }).map((z) => z * Math.sqrt(g[i] - g[i + 1]))));
      for (let level = 1; level < grids.length; level++) {
        const r = 2 ** level;
        increments[0].forEach((coarse, i) => {
          for (let j = 0; j < size; j++) {
            let sum = 0;
            let scale = 0;
            for (let k = 0; k < r; k++) {
              sum += increments[level][i * r + k][j];
              scale += Math.abs(increments[level][i * r + k][j]);
            }
            // Each draw is rounded to float32 (relative 6e-8), so the sum agrees to that of its terms.
            worst = Math.max(worst, Math.abs(sum - coarse[j]) / (scale + Math.abs(coarse[j])));
          }
        });
      }
    }
    console.log(`brownian: largest |sum of fine increments - coarse increment| / (sum of |terms|) = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(2.4e-7);
  });

  test('increments over disjoint intervals: mean 0, variance = length, uncorrelated (20,000 coordinates)', () => {
    const n = 20000;
    const path = new BrownianPath(11, 1, n);
    const h = 1 / 2 ** DEFAULT_BROWNIAN_DEPTH;
    // Adjacent and separate intervals, long ones and ones a few leaves long (3.3 h, 1.7 h).
    const intervals: [number, number][] = [[0, 0.3], [0.3, 0.4137], [0.4137, 0.4137 + 3.3 * h], [0.6, 0.6 + 1.7 * h], [0.71, 1]];
    const incs = intervals.map(([a, b]) => path.increment(a, b));
    const sd = (v: Float64Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0) / n);
    let worstVar = 0;
    let worstCorr = 0;
    incs.forEach((v, k) => {
      const len = intervals[k][1] - intervals[k][0];
      const mean = v.reduce((s, x) => s + x, 0) / n;
      const variance = v.reduce((s, x) => s + x * x, 0) / n;
      // Standard errors: sqrt(len / n) for the mean, sqrt(2 / n) = 1.0% for variance / len; 4.5 of them.
      expect(Math.abs(mean)).toBeLessThan(4.5 * Math.sqrt(len / n));
      worstVar = Math.max(worstVar, Math.abs(variance / len - 1));
      for (let m = 0; m < k; m++) {
        const corr = v.reduce((s, x, j) => s + x * incs[m][j], 0) / n / (sd(v) * sd(incs[m]));
        worstCorr = Math.max(worstCorr, Math.abs(corr));
      }
    });
    console.log(`brownian: largest |variance / length - 1| ${worstVar.toFixed(4)} (SE 0.010), largest |correlation| ${worstCorr.toFixed(4)} (SE 0.007)`);
    expect(worstVar).toBeLessThan(4.5 * Math.sqrt(2 / n));
    expect(worstCorr).toBeLessThan(4.5 / Math.sqrt(n));
  });

  test('within one leaf the increment has the documented (smaller) variance', () => {
    const n = 20000;
    const path = new BrownianPath(12, 1, n);
    const h = 1 / 2 ** DEFAULT_BROWNIAN_DEPTH;
    const a = 0.5 + 300 * h;
    const [u1, u2] = [0.25, 0.75];
    const v = path.increment(a + u1 * h, a + u2 * h);
    const variance = v.reduce((s, x) => s + x * x, 0) / n;
    const documented = h * (u2 - u1) ** 2 + h * (Math.sqrt(u2 * (1 - u2)) - Math.sqrt(u1 * (1 - u1))) ** 2;
    console.log(`brownian: increment over half a leaf: variance ${(variance / h).toFixed(4)} h, documented ${(documented / h).toFixed(4)} h, Brownian motion ${(u2 - u1).toFixed(2)} h`);
    expect(Math.abs(variance / documented - 1)).toBeLessThan(4.5 * Math.sqrt(2 / n));
  });

  test('W(t) is the same whatever the order of the queries', () => {
    const times = Array.from({ length: 60 }, (_v, i) => 1e-3 + ((i * 37) % 60) / 59 * (1 - 1e-3)).concat([0, 1, 0.5, 0.25 + 1e-9]);
    const sequential = new BrownianPath(5, 1, 64);
    const reference = [...times].sort((p, q) => q - p).map((t) => [t, Array.from(sequential.at(t))] as const);
    const shuffled = new BrownianPath(5, 1, 64);
    for (const t of times) shuffled.at(t);
    for (const [t, w] of reference) {
      expect(Array.from(shuffled.at(t))).toEqual(w);
      // A fresh path asked only for t.
      expect(Array.from(new BrownianPath(5, 1, 64).at(t))).toEqual(w);
    }
    expect(Array.from(sequential.at(0))).toEqual(new Array(64).fill(0));
    expect(Array.from(new BrownianPath(6, 1, 64).at(0.5))).not.toEqual(Array.from(sequential.at(0.5)));
  });
});

describe('stochastic solvers pass the interval of every Brownian increment', () => {
  const cases: [SolverName, IntegrateOptions][] = [
    ['euler-maruyama', {}],
    ['improved-euler', {}],
    ['reverse-diffusion', {}],
    ['ddpm', {}],
    ['ddpm', { map: 'score-sde', steps: 30 }],
    ['pc', { correctorSteps: 2 }],
    ['pc', { predictor: 'euler-maruyama' }],
    ['ddim', { eta: 1 }],
  ];
  test.each(cases)('%s %j', (name, extra) => {
    const calls: { step: number; stage: number; interval?: NoiseInterval }[] = [];
    const noiseSampler: NoiseSampler = (shape, step, stage, interval) => {
      calls.push({ step, stage, interval });
      return tf.zeros(shape);
    };
    const score = mixtureScore(sde, { weights: [1], means: [[MU, 0]], stds: [S0] });
    const impute = { values: tf.tensor1d([0.3, 0]), mask: tf.tensor1d([1, 0]) };
    const r = integrate(sde, score, name, { shape: [4, 2], steps: 25, saveAt: 'all', noiseSampler, impute, ...extra });
    const times = r.times!;
    const correctorSteps = name === 'pc' ? (extra.correctorSteps ?? 1) : 0;
    let brownian = 0;
    for (const c of calls) {
      if (c.stage === IMPUTE_STAGE || c.stage < correctorSteps) {
        // The imputation's replacement draws and the Langevin corrector's are not increments.
        expect(c.interval).toBeUndefined();
      } else {
        expect(c.interval).toEqual({ from: times[c.step], to: times[c.step + 1] });
        brownian++;
      }
    }
    // One increment per step (ddpm: none on its last step).
    expect(brownian).toBe(times.length - 1 - (name === 'ddpm' ? 1 : 0));
    tf.dispose([r.x, ...r.path!, impute.values, impute.mask]);
    score.dispose();
  });

  test("integrate's brownian draws are the path's normalised increments; noise and noiseSampler together are an error", () => {
    const score = mixtureScore(sde, { weights: [1], means: [[MU]], stds: [S0] });
    const xT = tf.tensor2d([[0.1], [-0.4], [1.2]]);
    const steps = 6;
    const r = integrate(sde, score, 'reverse-diffusion', { xT, steps, noise: 'brownian', seed: 9, saveAt: 'all' });
    const path = new BrownianPath(mixSeed(9, BROWNIAN_STREAM), sde.T, 3);
    const grid = timeGrid(sde, 'uniform', steps, EPS);
    // One reverse-diffusion step in float64: x' = (2 - r) x + v s(x, t) + sqrt(v) z, r = m(t)/m(t'), v = std(t)^2 - r^2 std(t')^2.
    const path32 = r.path!.map((p) => Array.from(p.dataSync()));
    for (let i = 0; i < steps; i++) {
      const [t, u] = [grid[i], grid[i + 1]];
      const a = sde.marginalAt(t);
      const b = sde.marginalAt(u);
      const ratio = a.mean / b.mean;
      const v = a.std ** 2 - ratio * ratio * b.std ** 2;
      const dW = path.increment(u, t);
      path32[i].forEach((x, j) => {
        const s = -(x - a.mean * MU) / (a.mean ** 2 * S0 ** 2 + a.std ** 2);
        const expected = (2 - ratio) * x + v * s + Math.sqrt(v) * (dW[j] / Math.sqrt(t - u));
        expect(Math.abs(path32[i + 1][j] - expected)).toBeLessThan(2e-5 * (1 + Math.abs(expected)));
      });
    }
    expect(() => integrate(sde, score, 'euler-maruyama', { xT, steps, noise: 'brownian', noiseSampler: seededNoise(1) })).toThrow(/--noise/);
    tf.dispose([r.x, ...r.path!, xT]);
    score.dispose();
  });
});

describe("Euler-Maruyama's strong order on the VP reverse SDE (Gaussian data, additive noise)", () => {
  // Closed forms of the linear VP-SDE (beta 0.1 .. 20) and Gaussian data N(MU, S0^2), in float64.
  const beta = (t: number) => 0.1 + 19.9 * t;
  const meanAt = (t: number) => Math.exp(-(0.1 * t + (19.9 * t * t) / 2) / 2);
  const score = (x: number, t: number) => {
    const m = meanAt(t);
    return -(x - m * MU) / (m * m * S0 * S0 + 1 - m * m);
  };
  const uniform = (N: number) => Float64Array.from({ length: N + 1 }, (_v, i) => (i === 0 ? 1 : i === N ? EPS : EPS + (1 - EPS) * (1 - i / N)));

  test('order 1 against a 2^14-step float64 reference on the same path; per-step noise does not converge', () => {
    const n = 200;
    const seed = 4;
    const x0 = Array.from(normalArray(n, 99), (z) => Math.fround(z));
    const xT = tf.tensor2d(x0, [n, 1]);
    // Reference: x' = x + h (beta/2 x + beta s(x, t)) + sqrt(beta) (W(t) - W(t')), fine grid, float64.
    const path = new BrownianPath(mixSeed(seed, BROWNIAN_STREAM), 1, n);
    const fine = uniform(2 ** 14);
    const ref = Float64Array.from(x0);
    for (let i = 0; i + 1 < fine.length; i++) {
      const [t, u] = [fine[i], fine[i + 1]];
      const dW = path.increment(u, t);
      const b = beta(t);
      for (let j = 0; j < n; j++) ref[j] += (t - u) * (0.5 * b * ref[j] + b * score(ref[j], t)) + Math.sqrt(b) * dW[j];
    }
    const oracle = mixtureScore(sde, { weights: [1], means: [[MU]], stds: [S0] });
    const strongError = (N: number, noise: 'brownian' | 'independent') => {
      const r = integrate(sde, oracle, 'euler-maruyama', { xT, steps: N, seed, noise });
      const x = r.x.dataSync();
      r.x.dispose();
      return Math.sqrt(x.reduce((s, v, j) => s + (v - ref[j]) ** 2, 0) / n);
    };
    const Ns = [16, 32, 64, 128, 256];
    const errors = Ns.map((N) => strongError(N, 'brownian'));
    const orders = errors.slice(1).map((e, k) => Math.log2(errors[k] / e));
    const independent = [64, 256].map((N) => strongError(N, 'independent'));
    console.log(`euler-maruyama strong RMS errors at ${Ns.join('/')} steps: ${errors.map((e) => e.toExponential(2)).join(', ')}; orders ${orders.map((o) => o.toFixed(2)).join(', ')}`);
    console.log(`euler-maruyama with per-step noise: RMS distance to the reference ${independent.map((e) => e.toFixed(3)).join(', ')} at 64/256 steps`);
    orders.forEach((o) => expect(o).toBeGreaterThan(0.9));
    orders.forEach((o) => expect(o).toBeLessThan(1.12));
    // Per-step noise is another path: the distance stays of the order of the spread of x_eps.
    independent.forEach((e) => expect(e).toBeGreaterThan(0.3 * S0));
    expect(independent[1]).toBeGreaterThan(20 * errors[Ns.indexOf(256)]);
    xT.dispose();
    oracle.dispose();
  });

  test('brownian runs leak no tensors', () => {
    const oracle = mixtureScore(sde, { weights: [1], means: [[MU]], stds: [S0] });
    const run = (name: SolverName) => integrate(sde, oracle, name, { shape: [32, 1], steps: 20, noise: 'brownian', seed: 3 }).x.dispose();
    run('euler-maruyama');
    const before = tf.memory().numTensors;
    for (const name of ['euler-maruyama', 'improved-euler', 'reverse-diffusion', 'ddpm', 'pc', 'ddim'] as SolverName[]) run(name);
    expect(tf.memory().numTensors).toBe(before);
    oracle.dispose();
  });
});
