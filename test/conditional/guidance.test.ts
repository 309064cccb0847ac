import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { evaluationsPerCall, guidedScore } from '../../src/conditioning/index.js';
import { UsageError } from '../../src/errors.js';
import {
  conditionOnClass,
  conditionOnCoordinates,
  givenKnownSampler,
  mixtureAt,
  mixtureConditionalScore,
  mixtureMembership,
  mixtureScoreAt,
  type GaussianMixture,
} from '../../src/oracle/index.js';
import { normalRng, uniformRng } from '../../src/random.js';
import { makeSDE, type ConditionalScore } from '../../src/sde/index.js';
import { CLASSED } from './helpers.js';
import { expectedNfe, integrate, SOLVERS, type IntegrateOptions, type SolverName } from '../../src/solvers/index.js';

const sde = makeSDE({ sde: 'vp' });


const POINTS = [[0.3, -0.2], [-2.5, 1.1], [2.0, -1.7], [4, 3]];

function at(score: (x: tf.Tensor, t: tf.Tensor) => tf.Tensor, t: number): number[][] {
  return tf.tidy(() => score(tf.tensor2d(POINTS), tf.scalar(t)).arraySync() as number[][]);
}

describe('the oracle class-conditional score', () => {
  test('s(x, t, c) is the exact score of the class mixture, s(x, t, null) of the whole mixture (float64 references)', () => {
    const cs = mixtureConditionalScore(sde, CLASSED);
    for (const t of [0.05, 0.3, 0.8]) {
      for (const label of [0, 1, null]) {
        const ref = mixtureAt(sde, label === null ? CLASSED : conditionOnClass(CLASSED, label), t);
        const got = at((x, tt) => cs(x, tt, label), t);
        POINTS.forEach((p, i) => mixtureScoreAt(ref, p).forEach((v, j) => expect(got[i][j]).toBeCloseTo(v, 3)));
      }
    }
    expect(() => at((x, tt) => cs(x, tt, 7), 0.5)).toThrow(/--class: no component of the mixture has class 7/);
    cs.dispose();
    const plain = mixtureConditionalScore(sde, { ...CLASSED, classes: undefined });
    expect(() => at((x, tt) => plain(x, tt, 0), 0.5)).toThrow(UsageError);
    plain.dispose();
  });
});

describe('classifier-free guidance', () => {
  /** A fake conditional score that counts its calls: c x + label (label null: 10). */
  function fake(calls: { n: number }): ConditionalScore {
    return (x, _t, label) => {
      calls.n++;
      return tf.add(x, label === null ? 10 : label);
    };
  }

  test('W = 0 is the conditional score with one evaluation a call; W > 0 is (1 + W) s(c) - W s(none) with two', () => {
    const calls = { n: 0 };
    const x = tf.tensor2d([[1, 2]]);
    const t = tf.scalar(0.5);
    const s0 = guidedScore(fake(calls), 3, 0);
    expect(evaluationsPerCall(s0)).toBe(1);
    expect(tf.tidy(() => s0(x, t).arraySync())).toEqual([[4, 5]]);
    expect(calls.n).toBe(1);
    const s2 = guidedScore(fake(calls), 3, 2);
    expect(evaluationsPerCall(s2)).toBe(2);
    // 3 (x + 3) - 2 (x + 10) = x - 11.
    expect(tf.tidy(() => s2(x, t).arraySync())).toEqual([[-10, -9]]);
    expect(calls.n).toBe(3);
    const u = guidedScore(fake(calls), null);
    expect(tf.tidy(() => u(x, t).arraySync())).toEqual([[11, 12]]);
    expect(evaluationsPerCall((a: tf.Tensor) => a)).toBe(1);
    tf.dispose([x, t]);
    expect(() => guidedScore(fake(calls), 3, -1)).toThrow(/--guidance: expected a number >= 0/);
    expect(() => guidedScore(fake(calls), 3, NaN)).toThrow(/--guidance/);
    expect(() => guidedScore(fake(calls), null, 1)).toThrow(/--guidance: needs a class/);
    expect(() => guidedScore(fake(calls), 1.5)).toThrow(/--class/);
  });

  test('on the oracle, the guided score is (1 + W) s_c - W s at every t (float64 references)', () => {
    const cs = mixtureConditionalScore(sde, CLASSED);
    const g = guidedScore(cs, 1, 1.5);
    const t = 0.4;
    const got = at(g, t);
    const c = mixtureAt(sde, conditionOnClass(CLASSED, 1), t);
    const all = mixtureAt(sde, CLASSED, t);
    POINTS.forEach((p, i) => {
      const sc = mixtureScoreAt(c, p);
      const su = mixtureScoreAt(all, p);
      sc.forEach((v, j) => expect(got[i][j]).toBeCloseTo(2.5 * v - 1.5 * su[j], 3));
    });
    cs.dispose();
  });

  test.each(['euler-maruyama', 'pc', 'ode-heun', 'ddim', 'dpm-solver', 'ddpm', 'ode-rk45'] as SolverName[])(
    '%s: NFE counts two evaluations per score call with W > 0, one with W = 0 (denoise included)',
    (name) => {
      const cs = mixtureConditionalScore(sde, CLASSED);
      let calls = 0;
      const counting: ConditionalScore = (x, t, label) => {
        calls++;
        return cs(x, t, label);
      };
      const opts: IntegrateOptions = { shape: [16, 2], seed: 2, denoise: true, ...(SOLVERS[name].adaptive ? { rtol: 1e-3, atol: 1e-3 } : { steps: 7 }) };
      const plain = integrate(sde, guidedScore(counting, 1, 0), name, opts);
      const plainCalls = calls;
      calls = 0;
      const guided = integrate(sde, guidedScore(counting, 1, 2), name, opts);
      // Two conditional-model calls per guided score call; NFE counts each.
      expect(guided.nfe).toBe(calls);
      expect(plain.nfe).toBe(plainCalls);
      if (!SOLVERS[name].adaptive) {
        expect(plain.nfe).toBe(expectedNfe(name, opts));
        expect(guided.nfe).toBe(2 * expectedNfe(name, opts)!);
      }
      tf.dispose([plain.x, guided.x]);
      cs.dispose();
    },
  );
});

describe('the exact conditional given known coordinates', () => {
  const MIX3: GaussianMixture = { weights: [0.2, 0.5, 0.3], means: [[0, 1, -1], [2, -1, 0], [-1, 0, 2]], stds: [0.6, 1, 0.8] };

  test('weights w_k N(y; mu_kK, s_k^2 I) renormalized equal the membership under the known coordinates alone', () => {
    const known = [[2, 0.5], [0, 1.2]] as const;
    const { mixture, unknown } = conditionOnCoordinates(MIX3, known);
    expect(unknown).toEqual([1]);
    const marginal: GaussianMixture = { ...MIX3, means: MIX3.means.map((m) => [m[2], m[0]]) };
    mixtureMembership(marginal, [0.5, 1.2]).forEach((w, k) => expect(mixture!.weights[k]).toBeCloseTo(w, 12));
    expect(mixture!.means).toEqual([[1], [-1], [0]]);
    expect(conditionOnCoordinates(MIX3, [[0, 1], [1, 2], [2, 3]]).mixture).toBeUndefined();
    expect(() => conditionOnCoordinates(MIX3, [[3, 1]])).toThrow(/out of range/);
  });

  test('givenKnownSampler draws the conditional: known values exact, the rest with the right mean', () => {
    const known = [[0, 2]] as const;
    const draw = givenKnownSampler(MIX3, known);
    const u = uniformRng(1);
    const z = normalRng(2);
    const { mixture } = conditionOnCoordinates(MIX3, known);
    const n = 20000;
    const mean = [0, 0];
    let exactKnown = true;
    for (let i = 0; i < n; i++) {
      const x = draw(u, z);
      exactKnown &&= x[0] === 2;
      mean[0] += x[1] / n;
      mean[1] += x[2] / n;
    }
    expect(exactKnown).toBe(true);
    const exact = [0, 1].map((j) => mixture!.weights.reduce((a, w, k) => a + w * mixture!.means[k][j], 0));
    // Per-coordinate std is at most ~1.6 here: 4 standard errors at n = 20000 is about 0.05.
    mean.forEach((m, j) => expect(Math.abs(m - exact[j])).toBeLessThan(0.05));
  });
});
