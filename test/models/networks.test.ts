import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SINUSOIDAL, embeddingSpecs, timeEmbedding } from '../../src/models/embedding.js';
import { createModel, defaultModelConfig } from '../../src/models/factory.js';
import { defaultMLPConfig } from '../../src/models/mlp.js';
import { createNetwork } from '../../src/models/network.js';
import { countParams, disposeParams, initParams } from '../../src/models/params.js';
import { ScoreModel } from '../../src/models/score-model.js';
import { defaultUNetConfig } from '../../src/models/unet.js';
import { makeSDE } from '../../src/sde/registry.js';

function bitwiseEqual(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

describe('time embeddings', () => {
  it('sinusoidal: [sin(t w_k), cos(t w_k)] with w_k = 1000 * 10000^(-k/(half-1)), float64 reference', () => {
    const specs = embeddingSpecs(DEFAULT_SINUSOIDAL);
    const params = initParams(specs, 0);
    const ts = [1e-5, 0.3, 1];
    const e = tf.tidy(() => timeEmbedding(params, tf.tensor1d(ts), 3).dataSync());
    const half = DEFAULT_SINUSOIDAL.dim / 2;
    ts.forEach((t, b) => {
      for (let k = 0; k < half; k++) {
        const w = 1000 * Math.pow(10000, -k / (half - 1));
        // float32 angles up to 1000 rad: absolute error ~ 1000 * 2^-24 in the argument.
        expect(Math.abs(e[b * 2 * half + k] - Math.sin(t * w))).toBeLessThan(2e-4);
        expect(Math.abs(e[b * 2 * half + half + k] - Math.cos(t * w))).toBeLessThan(2e-4);
      }
    });
    disposeParams(params);
  });

  it('fourier: seeded frequencies, the same in the sin and cos halves', () => {
    const specs = embeddingSpecs({ kind: 'fourier', dim: 32, scale: 16 });
    const a = initParams(specs, 4);
    const b = initParams(specs, 4);
    const c = initParams(specs, 5);
    const wa = a['temb.w'].dataSync();
    expect(bitwiseEqual(wa, b['temb.w'].dataSync())).toBe(true);
    expect(bitwiseEqual(wa, c['temb.w'].dataSync())).toBe(false);
    const half = wa.length / 2;
    for (let k = 0; k < half; k++) expect(wa[k]).toBe(wa[k + half]);
    [a, b, c].forEach(disposeParams);
  });
});

describe('MLP', () => {
  for (const timeConditioning of ['concat', 'add'] as const) {
    it(`${timeConditioning}: maps [B, D] to [B, D]; a scalar t equals the same t per sample`, () => {
      const net = createNetwork(defaultMLPConfig(3, { hidden: [16, 16], timeConditioning }));
      const params = initParams(net.specs, 1);
      // Non-zero output layer so the output depends on the input.
      params['out.w'].dispose();
      params['out.w'] = tf.randomNormal([16, 3], 0, 1, 'float32', 2);
      const x = tf.randomNormal([5, 3], 0, 1, 'float32', 3);
      const [y1, y2] = tf.tidy(() => [net.apply(params, x, tf.scalar(0.4)), net.apply(params, x, tf.fill([5], 0.4))].map((y) => {
        expect(y.shape).toEqual([5, 3]);
        return y.dataSync();
      }));
      for (let i = 0; i < y1.length; i++) expect(Math.abs(y1[i] - y2[i])).toBeLessThan(1e-6);
      expect(Math.max(...Array.from(y1, Math.abs))).toBeGreaterThan(1e-3);
      disposeParams(params);
      x.dispose();
    });
  }

  it('the default MLP: 3 hidden layers of 128, zero output at initialization, seeded', () => {
    const sde = makeSDE({});
    const a = createModel(sde, defaultModelConfig([2]), 7);
    const b = createModel(sde, defaultModelConfig([2]), 7);
    const cfg = a.config.network;
    expect(cfg.arch === 'mlp' && cfg.hidden).toEqual([128, 128, 128]);
    expect(countParams(a.network.specs)).toBe((2 + 32) * 128 + 128 + 2 * (128 * 128 + 128) + 128 * 2 + 2);
    for (const k of Object.keys(a.params)) expect(bitwiseEqual(a.params[k].dataSync(), b.params[k].dataSync())).toBe(true);
    const out = tf.tidy(() => a.eps(tf.ones([4, 2]), tf.scalar(0.5)).dataSync());
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    disposeParams(a.params);
    disposeParams(b.params);
  });
});

describe('U-Net', () => {
  it('maps [B, H, W, C] to the same shape, trains its every parameter, and leaks no tensors', () => {
    const net = createNetwork(defaultUNetConfig([8, 8, 1], { channels: 8, groups: 4 }));
    const params = initParams(net.specs, 1);
    params['out.conv.w'].dispose();
    params['out.conv.w'] = tf.randomNormal([3, 3, 8, 1], 0, 0.1, 'float32', 2);
    const vars = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, tf.variable(v, !k.startsWith('temb.w') && !k.endsWith('phase'))]));
    const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 3);
    const t = tf.tensor1d([0.1, 0.9]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const y = net.apply(vars, x, t);
      expect(y.shape).toEqual([2, 8, 8, 1]);
      const trainable = Object.values(vars).filter((v) => v.trainable);
      const { grads } = tf.variableGrads(() => tf.mean(tf.square(net.apply(vars, x, t))) as tf.Scalar, trainable);
      expect(Object.keys(grads).length).toBe(trainable.length);
      let nonzero = 0;
      for (const g of Object.values(grads)) if (tf.max(tf.abs(g)).dataSync()[0] > 0) nonzero++;
      // Every parameter receives gradient (the zero-initialized output conv was replaced above).
      expect(nonzero).toBe(trainable.length);
    });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, t, ...Object.values(vars), ...Object.values(params)]);
  });

  it('the default 28x28 U-Net builds and runs a forward pass', () => {
    const net = createNetwork(defaultUNetConfig([28, 28, 1]));
    const params = initParams(net.specs, 0);
    const y = tf.tidy(() => net.apply(params, tf.zeros([1, 28, 28, 1]), tf.scalar(0.5)));
    expect(y.shape).toEqual([1, 28, 28, 1]);
    y.dispose();
    disposeParams(params);
  });
});

describe('ScoreModel', () => {
  it("'eps': score = -eps / std(t); 'score': eps = -std(t) score; VE inputs are scaled by 1/sqrt(mean^2 + std^2)", () => {
    for (const sdeName of ['vp', 've'] as const) {
      const sde = makeSDE({ sde: sdeName });
      for (const parameterization of ['eps', 'score'] as const) {
        const config = { ...defaultModelConfig([2], parameterization) };
        const base = createModel(sde, config, 1);
        base.params['out.w'].dispose();
        base.params['out.w'] = tf.randomNormal([128, 2], 0, 1, 'float32', 5);
        const model = new ScoreModel(sde, config, base.params);
        const ts = [0.01, 0.5, 0.99];
        const x = tf.randomNormal([3, 2], 0, 3, 'float32', 6);
        const [out, eps, score] = tf.tidy(() => {
          const t = tf.tensor1d(ts);
          return [model.output(x, t), model.eps(x, t), model.score(x, t)].map((v) => v.dataSync());
        });
        ts.forEach((t, b) => {
          const std = sde.marginalAt(t).std;
          for (let d = 0; d < 2; d++) {
            const i = b * 2 + d;
            if (parameterization === 'eps') {
              expect(eps[i]).toBe(out[i]);
              expect(Math.abs(score[i] + eps[i] / std)).toBeLessThan(1e-5 * (1 + Math.abs(score[i])));
            } else {
              expect(score[i]).toBe(out[i]);
              expect(Math.abs(eps[i] + std * score[i])).toBeLessThan(1e-5 * (1 + Math.abs(eps[i])));
            }
          }
        });
        // Input scaling: the network sees x / sqrt(mean^2 + std^2) (VE: mean = 1), nothing on VP.
        const { mean, std } = sde.marginalAt(0.5);
        const c = sdeName === 'vp' ? 1 : 1 / Math.sqrt(mean * mean + std * std);
        const [direct, wrapped] = tf.tidy(() => [
          model.network.apply(model.params, tf.mul(x, c), tf.scalar(0.5)).dataSync(),
          model.output(x, tf.scalar(0.5)).dataSync(),
        ]);
        for (let i = 0; i < direct.length; i++) expect(Math.abs(direct[i] - wrapped[i])).toBeLessThan(1e-5 * (1 + Math.abs(direct[i])));
        disposeParams(base.params);
        x.dispose();
      }
    }
  });
});
