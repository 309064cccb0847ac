import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { makeSDE, type SDE, type SDEConfig } from '../../src/sde/index.js';
import { cosineRelTol, expectClose, f32, subvpLinear, take, ve, vpCosine, vpLinear, type Closed } from './reference.js';

// Every tensor a test makes is disposed when it ends.
beforeEach(() => tf.engine().startScope());
afterEach(() => tf.engine().endScope());

interface Case {
  label: string;
  config: Partial<SDEConfig>;
  ref: Closed;
}

const CASES: Case[] = [
  { label: 'VP linear (0.1, 20)', config: { sde: 'vp' }, ref: vpLinear(0.1, 20) },
  { label: 'VP linear (0.05, 8)', config: { sde: 'vp', betaMin: 0.05, betaMax: 8 }, ref: vpLinear(0.05, 8) },
  { label: 'VP cosine', config: { sde: 'vp', schedule: 'cosine' }, ref: vpCosine() },
  { label: 'sub-VP linear (0.1, 20)', config: { sde: 'subvp' }, ref: subvpLinear(0.1, 20) },
  { label: 'VE (0.01, 50)', config: { sde: 've' }, ref: ve(0.01, 50) },
  { label: 'VE (0.1, 5)', config: { sde: 've', sigmaMin: 0.1, sigmaMax: 5 }, ref: ve(0.1, 5) },
];

/** From the training eps (1e-5) up to T, where the small-t end is where cancellation would show. */
function times(sde: SDE): number[] {
  return [1e-5, 1e-4, 1e-3, 3e-3, 0.0065, 0.01, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, sde.T].filter((t) => t <= sde.T);
}

/** Host results are float64: relative 1e-12. */
const HOST_REL = 1e-12;
/** Tensor results are float32: relative 1e-5 against the closed form at the float32 value of t. */
const TENSOR_REL = 1e-5;

describe.each(CASES)('$label: marginals against the closed forms', ({ config, ref }) => {
  const sde = makeSDE(config);

  test('host marginalAt, driftCoefAt, diffusionAt (float64)', () => {
    for (const t of times(sde)) {
      const m = sde.marginalAt(t);
      expectClose([m.mean, m.std], [ref.mean(t), ref.std(t)], HOST_REL, 0, `marginalAt(${t})`);
      expectClose([sde.driftCoefAt(t), sde.diffusionAt(t) ** 2], [ref.a(t), ref.g2(t)], HOST_REL, 0, `coefficients at ${t}`);
    }
  });

  test('tensor marginal(), driftCoef(), diffusion() on a [batch] t (float32)', () => {
    const ts = times(sde);
    const t32 = f32(ts);
    const tt = tf.tensor1d(ts);
    const m = sde.marginal(tt);
    expect(m.mean.shape).toEqual([ts.length]);
    expect(m.std.shape).toEqual([ts.length]);
    // The cosine schedule's mean is cos(x) and its beta tan(x) with x -> pi/2 at T: float32 allows
    // their conditioning on top of 1e-5 (cosineRelTol, up to ~5e-5 at T). std is well conditioned.
    const rel = config.schedule === 'cosine' ? t32.map((t) => cosineRelTol(t, TENSOR_REL)) : TENSOR_REL;
    expectClose(take(m.mean), t32.map(ref.mean), rel, 0, 'mean');
    expectClose(take(m.std), t32.map(ref.std), TENSOR_REL, 0, 'std');
    const a = sde.driftCoef(tt);
    const g = sde.diffusion(tt);
    expect(a.shape).toEqual([ts.length]);
    expect(g.shape).toEqual([ts.length]);
    expectClose(take(a), t32.map(ref.a), rel, 0, 'driftCoef');
    expectClose(take(g), t32.map((t) => Math.sqrt(ref.g2(t))), rel, 0, 'diffusion');
    tt.dispose();
  });

  test('a scalar t gives scalar mean and std', () => {
    const t = tf.scalar(0.5);
    const m = sde.marginal(t);
    expect(m.mean.shape).toEqual([]);
    expect(m.std.shape).toEqual([]);
    expectClose([take(m.mean)[0], take(m.std)[0]], [ref.mean(0.5), ref.std(0.5)], TENSOR_REL, 0, 'scalar t');
    t.dispose();
  });

  test('drift(x, t) = a(t) x broadcasts a per-sample t over x [batch, 2, 3]', () => {
    const ts = [0.02, 0.4, 0.8];
    const x = tf.tensor3d(Array.from({ length: 18 }, (_, i) => (i - 8) / 3), [3, 2, 3]);
    const f = sde.drift(x, tf.tensor1d(ts));
    expect(f.shape).toEqual([3, 2, 3]);
    const xv = x.dataSync();
    const want = Array.from(xv, (v, i) => ref.a(Math.fround(ts[Math.floor(i / 6)])) * v);
    expectClose(take(f), want, TENSOR_REL, 1e-7, 'drift');
    x.dispose();
  });
});

describe('prior', () => {
  test('priorStd is std(T): 1 for VP and sub-VP, sqrt(sigma_max^2 - sigma_min^2) for VE', () => {
    expect(makeSDE().priorStd).toBe(1);
    expect(makeSDE({ sde: 'subvp' }).priorStd).toBe(1);
    expect(makeSDE({ sde: 've' }).priorStd).toBeCloseTo(Math.sqrt(50 ** 2 - 0.01 ** 2), 10);
    // and the VP marginal at T is close to it: std(1) = sqrt(1 - exp(-10.05))
    expect(makeSDE().marginalAt(1).std).toBeCloseTo(1, 4);
  });
});
