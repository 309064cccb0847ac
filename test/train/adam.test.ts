import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Adam } from '../../src/train/adam.js';
import { EMA } from '../../src/train/ema.js';

/** Float64 reference of one Adam run with warm-up and global-norm clipping. */
function reference(p0: number[][], grads: number[][][], cfg: { lr: number; warmup: number; gradClip: number; beta1: number; beta2: number; epsilon: number }) {
  const p = p0.map((a) => [...a]);
  const m = p0.map((a) => a.map(() => 0));
  const v = p0.map((a) => a.map(() => 0));
  grads.forEach((g, n) => {
    const norm = Math.sqrt(g.flat().reduce((s, x) => s + x * x, 0));
    const f = cfg.gradClip > 0 ? cfg.gradClip / Math.max(norm, cfg.gradClip) : 1;
    const lr = cfg.lr * Math.min(1, (n + 1) / cfg.warmup);
    const lrT = (lr * Math.sqrt(1 - cfg.beta2 ** (n + 1))) / (1 - cfg.beta1 ** (n + 1));
    g.forEach((gi, i) =>
      gi.forEach((gij, j) => {
        const c = f * gij;
        m[i][j] = cfg.beta1 * m[i][j] + (1 - cfg.beta1) * c;
        v[i][j] = cfg.beta2 * v[i][j] + (1 - cfg.beta2) * c * c;
        p[i][j] -= (lrT * m[i][j]) / (Math.sqrt(v[i][j]) + cfg.epsilon);
      }),
    );
  });
  return p;
}

describe('Adam', () => {
  it('matches a float64 reference with warm-up and clipping, and restores from its saved state', () => {
    const cfg = { lr: 0.05, warmup: 3, gradClip: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
    const p0 = [[0.5, -1, 2], [0.1, 0.2]];
    // Some gradients with norm above the clip, some below.
    const grads = [
      [[3, -1, 0.5], [2, 2]],
      [[0.1, 0.2, -0.1], [0.05, 0]],
      [[-2, 4, 1], [0, -3]],
      [[0.3, -0.2, 0.1], [0.2, 0.1]],
      [[1, 1, 1], [1, 1]],
    ];
    const vars = { a: tf.variable(tf.tensor1d(p0[0])), b: tf.variable(tf.tensor1d(p0[1])) };
    const adam = new Adam(cfg, vars);
    const norms: number[] = [];
    grads.slice(0, 3).forEach((g) => {
      const gt = { a: tf.tensor1d(g[0]), b: tf.tensor1d(g[1]) };
      const n = adam.apply(vars, gt);
      norms.push(n.dataSync()[0]);
      tf.dispose([n, gt.a, gt.b]);
    });
    expect(norms[0]).toBeCloseTo(Math.sqrt(9 + 1 + 0.25 + 4 + 4), 5);
    // Continue from a copy of the saved state in a new optimizer.
    const state = adam.state();
    const saved = { meta: { ...state.meta }, tensors: Object.fromEntries(Object.entries(state.tensors).map(([k, t]) => [k, tf.clone(t)])) };
    adam.dispose();
    const resumed = new Adam(cfg, vars, saved);
    expect(resumed.step).toBe(3);
    grads.slice(3).forEach((g) => {
      const gt = { a: tf.tensor1d(g[0]), b: tf.tensor1d(g[1]) };
      tf.dispose([resumed.apply(vars, gt), gt.a, gt.b]);
    });
    const ref = reference(p0, grads, cfg);
    const got = [Array.from(vars.a.dataSync()), Array.from(vars.b.dataSync())];
    ref.forEach((r, i) => r.forEach((x, j) => expect(Math.abs(got[i][j] - x)).toBeLessThan(1e-6)));
    resumed.dispose();
    tf.dispose([vars.a, vars.b, ...Object.values(saved.tensors)]);
  });
});

describe('EMA', () => {
  it('ema <- d ema + (1 - d) p with d_n = min(decay, (1 + n) / (10 + n))', () => {
    const p = { w: tf.variable(tf.tensor1d([1, 2])) };
    const ema = new EMA(0.999, p);
    let ref = [1, 2];
    for (let n = 0; n < 5; n++) {
      p.w.assign(tf.tensor1d([n + 3, -n]));
      ema.update(p, n);
      const d = Math.min(0.999, (1 + n) / (10 + n));
      ref = ref.map((e, i) => d * e + (1 - d) * [n + 3, -n][i]);
    }
    const got = ema.shadow.w.dataSync();
    ref.forEach((x, i) => expect(Math.abs(got[i] - x)).toBeLessThan(1e-5));
    expect(ema.decayAt(1e6)).toBe(0.999);
    ema.dispose();
    p.w.dispose();
  });
});
