import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { mixtureScore, sampleMixture, type GaussianMixture } from '../../src/oracle/index.js';
import { normalRng } from '../../src/random.js';
import { makeSDE, type SDEName } from '../../src/sde/index.js';

/** log p_t(x) for x_t = m x_0 + s z, from the mixture directly in float64 (max-shifted sum). */
function logDensityAt(mix: GaussianMixture, m: number, s: number, x: number[]): number {
  const terms = mix.weights.map((w, k) => {
    const v = m * m * mix.stds[k] ** 2 + s * s;
    const sq = x.reduce((a, xi, j) => a + (xi - m * mix.means[k][j]) ** 2, 0);
    return Math.log(w) - sq / (2 * v) - (x.length / 2) * Math.log(2 * Math.PI * v);
  });
  const top = Math.max(...terms);
  return top + Math.log(terms.reduce((a, v) => a + Math.exp(v - top), 0));
}

/** Central finite-difference gradient of the float64 log-density. */
function fdScore(mix: GaussianMixture, m: number, s: number, x: number[]): number[] {
  const h = 1e-5 * Math.max(1, Math.sqrt(m * m + s * s));
  return x.map((_v, j) => {
    const up = [...x];
    const dn = [...x];
    up[j] += h;
    dn[j] -= h;
    return (logDensityAt(mix, m, s, up) - logDensityAt(mix, m, s, dn)) / (2 * h);
  });
}

const MIXES: Record<string, GaussianMixture> = {
  triangle2d: { weights: [0.2, 0.3, 0.5], means: [[0, 2.31], [-2, -1.15], [2, -1.15]], stds: [0.5, 0.5, 0.5] },
  mixed3d: { weights: [0.1, 0.4, 0.3, 0.2], means: [[0, 0, 0], [3, -1, 2], [-2, 2, 1], [1, 1, -3]], stds: [0.3, 1, 0.7, 2] },
};

describe.each(['vp', 'subvp', 've'] as SDEName[])('mixtureScore on %s equals the gradient of the float64 log-density', (name) => {
  const sde = makeSDE({ sde: name });
  test.each(Object.keys(MIXES))('%s', (key) => {
    const mix = MIXES[key];
    const score = mixtureScore(sde, mix);
    const before = tf.memory().numTensors;
    const D = mix.means[0].length;
    const z = normalRng(11);
    let worst = 0;
    for (const t of [1e-3, 0.05, 0.3, 0.7, 1]) {
      const { mean: m, std: s } = sde.marginalAt(t);
      // Points from p_t (data pushed through the SDE) plus wider ones that sit between and beyond the components.
      const data = sampleMixture(mix, 48, Math.round(t * 1000));
      const x0 = data.x.arraySync();
      data.x.dispose();
      const pts = x0.map((p) => p.map((v) => m * v + s * z()));
      for (let i = 0; i < 16; i++) pts.push(Array.from({ length: D }, () => 3 * Math.sqrt(m * m + s * s) * z()));
      const B = pts.length;
      const x = tf.tensor2d(pts, [B, D]);
      const ts = tf.scalar(t);
      const tb = tf.fill([B], t);
      const scalarT = score(x, ts);
      const perSampleT = score(x, tb);
      const a = scalarT.arraySync() as number[][];
      const b = perSampleT.arraySync() as number[][];
      tf.dispose([x, ts, tb, scalarT, perSampleT]);
      pts.forEach((p, i) => {
        const ref = fdScore(mix, m, s, p);
        const scale = 1 + Math.hypot(...ref);
        for (let j = 0; j < D; j++) {
          worst = Math.max(worst, Math.abs(a[i][j] - ref[j]) / scale, Math.abs(b[i][j] - ref[j]) / scale);
        }
      });
    }
    expect(tf.memory().numTensors).toBe(before);
    score.dispose();
    console.log(`score ${name} ${key}: max |s - fd| / (1 + |fd|) = ${worst.toExponential(2)}`);
    // float32 against float64 (measured ~1e-6), relative to 1 + |score|.
    expect(worst).toBeLessThan(2e-5);
  });
});

test('mixtureScore broadcasts over [batch, ...] shapes and rejects a wrong dimension', () => {
  const sde = makeSDE({ sde: 'vp' });
  const mix: GaussianMixture = { weights: [0.5, 0.5], means: [[0, 0, 0, 0], [1, 1, 1, 1]], stds: [1, 0.5] };
  const score = mixtureScore(sde, mix);
  const x = tf.randomNormal([5, 2, 2], 0, 1, 'float32', 3);
  const s4 = score(x, tf.scalar(0.5));
  const s2 = score(x.reshape([5, 4]), tf.scalar(0.5));
  expect(s4.shape).toEqual([5, 2, 2]);
  expect(Array.from(s4.dataSync())).toEqual(Array.from(s2.dataSync()));
  expect(() => score(tf.zeros([5, 3]), tf.scalar(0.5))).toThrow(/dimension 4/);
  tf.dispose([x, s4, s2]);
  score.dispose();
});
