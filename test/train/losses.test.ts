import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/random.js';
import { createModel, defaultModelConfig } from '../../src/models/factory.js';
import { disposeParams } from '../../src/models/params.js';
import { discretize } from '../../src/sde/discrete.js';
import { makeSDE } from '../../src/sde/registry.js';
import { ddpmLoss, dsmLoss, dsmLossPerSample } from '../../src/train/losses.js';
import { exactEpsFn, exactEpsHost, sampleMixture, type Mixture } from './gaussian-oracle.js';

const D = 2;
const EPS = 1e-5;

/** A batch for the DSM loss: x0 from the mixture, t ~ U[eps, 1], z ~ N(0, I), all seeded. */
function batch(mix: Mixture, n: number, seed: number) {
  const rng = new Rng(seed);
  const x0 = sampleMixture(mix, n, rng.fillUniform(new Float64Array(n)), rng.fillNormal(new Float64Array(n * D)));
  const t = rng.fillUniform(new Float32Array(n), EPS, 1);
  const z = rng.fillNormal(new Float32Array(n * D));
  return { x0, t, z };
}

/** h(x, t) = tanh(x) (1 + t): a smooth perturbation direction. */
function h(x: tf.Tensor, t: tf.Tensor): tf.Tensor {
  return tf.mul(tf.tanh(x), tf.add(1, t.reshape([-1, 1])));
}

/** Mean and standard error of per-sample values. */
function meanSe(v: ArrayLike<number>): { mean: number; se: number } {
  const n = v.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += v[i];
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (v[i] - mean) ** 2;
  return { mean, se: Math.sqrt(ss / (n - 1) / n) };
}

describe('denoising score matching at the exact score', () => {
  const sde = makeSDE({ sde: 'vp' });
  const gaussian: Mixture = { weights: [1], means: [[0.5, -1]], stds: [0.7] };
  const mixture: Mixture = { weights: [0.3, 0.7], means: [[-1.5, 0], [1, 1]], stds: [0.4, 0.6] };

  it('the exact eps-model of a Gaussian attains the closed-form minimum E_t[m^2 s^2 / (m^2 s^2 + sigma^2)]', () => {
    const n = 8192;
    const { x0, t, z } = batch(gaussian, n, 11);
    const per = tf.tidy(() =>
      dsmLossPerSample(exactEpsFn(gaussian, sde), sde, tf.tensor2d(x0, [n, D]), tf.tensor1d(t), tf.tensor2d(z, [n, D])).dataSync(),
    );
    // E over t ~ U[eps, 1] of the per-dimension conditional variance Var(z | x_t), by Simpson in float64.
    const s2 = gaussian.stds[0] ** 2;
    const f = (tt: number) => {
      const { mean: m, std: sg } = sde.marginalAt(tt);
      return (m * m * s2) / (m * m * s2 + sg * sg);
    };
    const M = 2000;
    const hstep = (1 - EPS) / M;
    let integral = f(EPS) + f(1);
    for (let i = 1; i < M; i++) integral += (i % 2 ? 4 : 2) * f(EPS + i * hstep);
    integral *= hstep / 3 / (1 - EPS);
    const { mean, se } = meanSe(per);
    expect(Math.abs(mean - integral)).toBeLessThan(4 * se);
    expect(se).toBeLessThan(0.01);
  });

  for (const [name, mix] of [['Gaussian', gaussian], ['two-component mixture', mixture]] as const) {
    it(`${name}: the exact model has a lower loss than perturbed ones and a zero gradient along a perturbation`, () => {
      const n = 8192;
      const { x0, t, z } = batch(mix, n, 5);
      const exact = exactEpsFn(mix, sde);
      tf.tidy(() => {
        const x0T = tf.tensor2d(x0, [n, D]);
        const tT = tf.tensor1d(t);
        const zT = tf.tensor2d(z, [n, D]);
        const perturbed = (a: number | tf.Scalar) => (x: tf.Tensor, tt: tf.Tensor) => tf.add(exact(x, tt), tf.mul(a, h(x, tt)));
        const loss = (a: number) => dsmLoss(perturbed(a), sde, x0T, tT, zT).dataSync()[0];
        const l0 = loss(0);
        for (const a of [-0.2, -0.05, 0.05, 0.2]) expect(loss(a)).toBeGreaterThan(l0);

        // d loss / da at a = 0 is 2 mean((eps* - z) h) / D: zero in expectation because eps* = E[z | x_t].
        const grad = tf.grad((a: tf.Tensor) => dsmLoss(perturbed(a as tf.Scalar), sde, x0T, tT, zT))(tf.scalar(0)).dataSync()[0];
        // Its Monte Carlo standard error from the same per-sample terms, computed on the host.
        const { mean, std } = sde.marginal(tT);
        const xt = tf.add(tf.mul(mean.reshape([-1, 1]), x0T), tf.mul(std.reshape([-1, 1]), zT));
        const xtHost = xt.dataSync() as Float32Array;
        const epsStar = exactEpsHost(mix, sde, xtHost, t, D);
        const hv = h(xt, tT).dataSync();
        const terms = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          for (let d = 0; d < D; d++) terms[i] += (2 / D) * (epsStar[i * D + d] - z[i * D + d]) * hv[i * D + d];
        }
        const ref = meanSe(terms);
        expect(Math.abs(grad - ref.mean)).toBeLessThan(1e-3 + 1e-3 * Math.abs(ref.mean));
        expect(Math.abs(grad)).toBeLessThan(4 * ref.se);

        // A wrong model (eps* of another data set) has a clearly non-zero gradient along the same direction.
        const wrong = exactEpsFn({ weights: [1], means: [[0, 0]], stds: [1.5] }, sde);
        const gWrong = tf.grad((a: tf.Tensor) =>
          dsmLoss((x, tt) => tf.add(wrong(x, tt), tf.mul(a, h(x, tt))), sde, x0T, tT, zT),
        )(tf.scalar(0)).dataSync()[0];
        expect(Math.abs(gWrong)).toBeGreaterThan(10 * ref.se);
      });
    });
  }

  it('likelihood weighting multiplies each sample by g(t)^2 / std(t)^2', () => {
    const n = 256;
    const { x0, t, z } = batch(mixture, n, 3);
    const exact = exactEpsFn(mixture, sde);
    const model = (x: tf.Tensor, tt: tf.Tensor) => tf.add(exact(x, tt), tf.mul(0.3, h(x, tt)));
    const [eps, lik, mean] = tf.tidy(() => {
      const args = [sde, tf.tensor2d(x0, [n, D]), tf.tensor1d(t), tf.tensor2d(z, [n, D])] as const;
      return [dsmLossPerSample(model, ...args).dataSync(), dsmLossPerSample(model, ...args, 'likelihood').dataSync(), dsmLoss(model, ...args, 'likelihood').dataSync()[0]];
    });
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = sde.diffusionAt(t[i]) ** 2 / sde.marginalAt(t[i]).std ** 2;
      // float32 tensors against a float64 weight: relative agreement.
      expect(Math.abs(lik[i] - w * eps[i])).toBeLessThanOrEqual(1e-4 * w * eps[i] + 1e-7);
      total += lik[i];
    }
    expect(Math.abs(mean - total / n)).toBeLessThan(1e-4 * (total / n));
  });
});

describe('DDPM L_simple', () => {
  it('equals the continuous eps-weighted loss on the grid t_i (same x0, noise and times)', () => {
    const sde = makeSDE({ sde: 'vp' });
    const chain = discretize(sde, 1000, 'exact');
    const model = createModel(sde, defaultModelConfig([D]), 3);
    // Give the zero-initialized output layer weights, so the network is not identically zero.
    model.params['out.w'].dispose();
    model.params['out.w'] = tf.randomNormal([128, D], 0, 0.3, 'float32', 9);
    const n = 512;
    const rng = new Rng(2);
    const x0 = rng.fillNormal(new Float32Array(n * D));
    const z = rng.fillNormal(new Float32Array(n * D));
    const steps = rng.ints(n, chain.N);
    const times = Float32Array.from(steps, (i) => chain.times[i]);
    const [discrete, continuous] = tf.tidy(() => {
      const x0T = tf.tensor2d(x0, [n, D]);
      const zT = tf.tensor2d(z, [n, D]);
      return [
        ddpmLoss(model.eps, chain, x0T, tf.tensor1d(steps, 'int32'), zT).dataSync()[0],
        dsmLoss(model.eps, sde, x0T, tf.tensor1d(times), zT).dataSync()[0],
      ];
    });
    expect(discrete).toBeGreaterThan(0.05);
    expect(Math.abs(discrete - continuous)).toBeLessThan(2e-5 * discrete);
    disposeParams(model.params);
  });
});
