import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { makeSDE, type SDEConfig } from '../../src/sde/index.js';
import { subvpLinear, ve, vpCosine, vpLinear, type Closed } from './reference.js';

/*
 * Forward Euler-Maruyama on the code's drift and diffusion, x_{k+1} = x_k + f(x_k, t_k) dt + g(t_k) sqrt(dt) z_k,
 * from a fixed x0 with many particles: the sample mean and std at a few times must match the
 * closed forms mean(t) x0 and std(t) within statistical error plus the scheme's O(dt) bias.
 * The bias is computed exactly in float64: for f = a(t) x, EM's mean and variance obey
 * m_{k+1} = (1 + a_k dt) m_k and v_{k+1} = (1 + a_k dt)^2 v_k + g_k^2 dt.
 *
 * The four SDEs are advanced side by side on the same noise z_k (common random numbers): each
 * one's statistics are still those of an independent EM run, and tf.randomNormal, which
 * dominates the cost, is called once a step instead of four times.
 */

const PARTICLES = 20_000;
const STEPS = 1000;
const X0 = 1.5;
const SEED = 1000;
/** Standard errors allowed: sample mean sigma/sqrt(n), sample std sigma/sqrt(2n). */
const Z = 4;
const CHECKPOINTS = [STEPS / 10, STEPS / 2, STEPS];

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

interface Snapshot {
  t: number;
  /** sample mean and std of the particles */
  mean: number;
  std: number;
  /** EM's exact expected mean (as a multiple of x0) and variance */
  emMean: number;
  emVar: number;
}

const snapshots = new Map<string, Snapshot[]>();
let leaked = NaN;

beforeAll(() => {
  const sdes = CASES.map((c) => makeSDE(c.config));
  const start = tf.memory().numTensors;
  let xs: tf.Tensor[] = sdes.map(() => tf.fill([PARTICLES, 1], X0));
  const em = CASES.map(() => ({ mean: 1, variance: 0 }));
  for (const c of CASES) snapshots.set(c.label, []);
  for (let k = 0; k < STEPS; k++) {
    const noise = tf.randomNormal([PARTICLES, 1], 0, 1, 'float32', SEED + k);
    xs = xs.map((prev, i) => {
      const sde = sdes[i];
      const dt = sde.T / STEPS;
      const tk = k * dt;
      const next = tf.tidy(() => {
        const t = tf.scalar(tk);
        const f = sde.drift(prev, t);
        return tf.add(prev, tf.add(tf.mul(f, dt), tf.mul(tf.mul(sde.diffusion(t), Math.sqrt(dt)), noise)));
      });
      prev.dispose();
      const ref = CASES[i].ref;
      const grow = 1 + ref.a(tk) * dt;
      em[i].mean *= grow;
      em[i].variance = grow * grow * em[i].variance + ref.g2(tk) * dt;
      if (CHECKPOINTS.includes(k + 1)) {
        const v = next.dataSync();
        let s1 = 0;
        for (const a of v) s1 += a;
        const mean = s1 / PARTICLES;
        let s2 = 0;
        for (const a of v) s2 += (a - mean) ** 2;
        snapshots.get(CASES[i].label)!.push({ t: (k + 1) * dt, mean, std: Math.sqrt(s2 / (PARTICLES - 1)), emMean: em[i].mean, emVar: em[i].variance });
      }
      return next;
    });
    noise.dispose();
  }
  for (const x of xs) x.dispose();
  leaked = tf.memory().numTensors - start;
});

describe(`Euler-Maruyama, ${PARTICLES} particles from x0 = ${X0}, ${STEPS} steps`, () => {
  test.each(CASES)('$label: sample mean and std match mean(t) x0 and std(t)', ({ label, ref }) => {
    const snaps = snapshots.get(label)!;
    expect(snaps).toHaveLength(CHECKPOINTS.length);
    const rows: string[] = [];
    for (const s of snaps) {
      const sigma = ref.std(s.t);
      const meanBias = Math.abs(s.emMean - ref.mean(s.t)) * X0;
      const stdBias = Math.abs(Math.sqrt(s.emVar) - sigma);
      const meanErr = Math.abs(s.mean - ref.mean(s.t) * X0);
      const meanTol = (Z * sigma) / Math.sqrt(PARTICLES) + meanBias;
      const stdErr = Math.abs(s.std - sigma);
      const stdTol = (Z * sigma) / Math.sqrt(2 * PARTICLES) + stdBias;
      const row =
        `t=${s.t.toFixed(4)}: mean err ${meanErr.toExponential(2)} / tol ${meanTol.toExponential(2)} (EM bias ${meanBias.toExponential(2)}), ` +
        `std err ${stdErr.toExponential(2)} / tol ${stdTol.toExponential(2)} (EM bias ${stdBias.toExponential(2)}, std ${sigma.toPrecision(4)})`;
      rows.push(row);
      expect(meanErr, row).toBeLessThanOrEqual(meanTol);
      expect(stdErr, row).toBeLessThanOrEqual(stdTol);
    }
    if (process.env.SDE_TEST_REPORT) console.log(`${label}\n${rows.join('\n')}`);
  });

  test('the step loop keeps one live x per SDE and leaves no tensor behind', () => {
    expect(leaked).toBe(0);
  });
});
