import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { Rng } from '../../src/random.js';
import { UsageError } from '../../src/errors.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { labelEmbedding, labelEmbeddingSpecs } from '../../src/models/embedding.js';
import { defaultMLPConfig, type MLPConfig } from '../../src/models/mlp.js';
import { createNetwork, type NetworkConfig } from '../../src/models/network.js';
import { countParams, disposeParams, initParams, type Params } from '../../src/models/params.js';
import { ScoreModel, type ModelConfig } from '../../src/models/score-model.js';
import { defaultUNetConfig } from '../../src/models/unet.js';
import { makeSDE } from '../../src/sde/registry.js';
import { dropLabels, dsmLoss } from '../../src/train/losses.js';
import { train } from '../../src/train/loop.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-cond-model-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function bitwiseEqual(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** Fresh parameters with the zero-initialized output layer replaced by random values, so outputs depend on every input. */
function liveParams(config: NetworkConfig, seed: number): Params {
  const net = createNetwork(config);
  const params = initParams(net.specs, seed);
  for (const k of ['out.w', 'out.conv.w']) {
    if (!params[k]) continue;
    const shape = params[k].shape;
    params[k].dispose();
    params[k] = tf.randomNormal(shape, 0, 0.3, 'float32', seed + 11);
  }
  return params;
}

describe('label embedding', () => {
  it('one row of a (K + 1) x E table per label: [B, E] for [B] labels, [1, E] for one label; absent = the null row', () => {
    const specs = labelEmbeddingSpecs(3, 8);
    expect(specs).toEqual([{ name: 'label.table', shape: [4, 8], init: { kind: 'normal', std: 1 }, trainable: true }]);
    const params = initParams(specs, 1);
    const table = params['label.table'].arraySync() as number[][];
    const [rows, one, none] = tf.tidy(() => [
      labelEmbedding(params, tf.tensor1d([2, 0, 3, 2], 'int32'), 4, 3).arraySync() as number[][],
      labelEmbedding(params, tf.scalar(1, 'int32'), 4, 3).arraySync() as number[][],
      labelEmbedding(params, undefined, 4, 3).arraySync() as number[][],
    ]);
    expect(rows).toEqual([table[2], table[0], table[3], table[2]]);
    expect(one).toEqual([table[1]]);
    expect(none).toEqual([table[3]]);
    expect(() => tf.tidy(() => labelEmbedding(params, tf.tensor1d([0, 1], 'int32'), 4, 3))).toThrow(/one value per sample/);
    disposeParams(params);
  });

  const configs: [string, NetworkConfig, number[]][] = [
    ['MLP (concat)', defaultMLPConfig(3, { hidden: [32, 32], numClasses: 4 }), [5, 3]],
    ['MLP (add)', defaultMLPConfig(3, { hidden: [32, 32], timeConditioning: 'add', numClasses: 4 }), [5, 3]],
    ['U-Net', defaultUNetConfig([8, 8, 1], { channels: 8, groups: 4, numClasses: 4 }), [5, 8, 8, 1]],
  ];

  it.each(configs)('%s: a (K + 1) x E table is added; labels change the output; the null label is the default', (_name, config, xShape) => {
    const uncond = createNetwork({ ...config, numClasses: undefined } as NetworkConfig);
    const net = createNetwork(config);
    const E = config.embedding.dim;
    expect(net.specs.find((s) => s.name === 'label.table')?.shape).toEqual([5, E]);
    expect(uncond.specs.some((s) => s.name.startsWith('label.'))).toBe(false);
    expect(countParams(net.specs) - countParams(uncond.specs)).toBe(5 * E);
    const params = liveParams(config, 2);
    let before = 0;
    for (let rep = 0; rep < 3; rep++) {
      // Counted after the first pass: layers may keep constant tensors made on first use.
      if (rep === 1) before = tf.memory().numTensors;
      const [y0, y1, yNull, yNone, yShared, yMixed] = tf.tidy(() => {
        const x = tf.randomNormal(xShape, 0, 1, 'float32', 5);
        const t = tf.tensor1d([0.1, 0.3, 0.5, 0.7, 0.9]);
        const fill = (v: number) => tf.fill([5], v, 'int32');
        return [
          net.apply(params, x, t, fill(0)).dataSync(),
          net.apply(params, x, t, fill(1)).dataSync(),
          net.apply(params, x, t, fill(4)).dataSync(),
          net.apply(params, x, t).dataSync(),
          net.apply(params, x, t, tf.scalar(1, 'int32')).dataSync(),
          net.apply(params, x, t, tf.tensor1d([0, 1, 0, 1, 4], 'int32')).dataSync(),
        ];
      });
      expect(y0.length).toBe(xShape.reduce((a, b) => a * b, 1));
      expect(maxAbsDiff(y0, y1)).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(y1, yNull)).toBeGreaterThan(1e-3);
      expect(bitwiseEqual(yNull, yNone)).toBe(true);
      expect(maxAbsDiff(y1, yShared)).toBeLessThan(1e-5);
      // Per-sample labels pick each sample's own class.
      const per = y0.length / 5;
      const rowsOf = (y: ArrayLike<number>, i: number) => Array.from(y).slice(i * per, (i + 1) * per);
      [y0, y1, y0, y1, yNull].forEach((ref, i) => expect(maxAbsDiff(rowsOf(yMixed, i), rowsOf(ref, i))).toBeLessThan(1e-5));
    }
    expect(tf.memory().numTensors).toBe(before);
    disposeParams(params);
  });

  it('an unconditional network ignores labels and initializes exactly as before (same specs, same values)', () => {
    const config: MLPConfig = defaultMLPConfig(2, { hidden: [16] });
    const net = createNetwork(config);
    expect(net.specs.map((s) => s.name)).toEqual(['temb.w', 'temb.phase', 'h0.w', 'h0.b', 'out.w', 'out.b']);
    expect(() => createNetwork({ ...config, numClasses: 0 })).toThrow(/numClasses/);
    expect(() => createNetwork({ ...config, numClasses: 2.5 })).toThrow(/numClasses/);
  });

  it('the gradient reaches the rows of the table that the batch uses (null row included), and only those', () => {
    const config = defaultMLPConfig(2, { hidden: [16, 16], numClasses: 3 });
    const net = createNetwork(config);
    const params = liveParams(config, 3);
    const table = tf.variable(params['label.table']);
    const vars: Params = { ...params, 'label.table': table };
    const model = new ScoreModel(makeSDE({}), { network: config, parameterization: 'eps', inputScaling: 'marginal' }, vars, net);
    const grad = tf.tidy(() => {
      const x0 = tf.randomNormal([6, 2], 0, 1, 'float32', 1);
      const z = tf.randomNormal([6, 2], 0, 1, 'float32', 2);
      const t = tf.tensor1d([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
      const y = tf.tensor1d([0, 2, 3, 0, 2, 3], 'int32');
      const { grads } = tf.variableGrads(() => dsmLoss(model.eps, model.sde, x0, t, z, 'eps', y), [table]);
      return grads[table.name].arraySync() as number[][];
    });
    const norms = grad.map((row) => Math.hypot(...row));
    expect(norms[0]).toBeGreaterThan(1e-6);
    expect(norms[1]).toBe(0);
    expect(norms[2]).toBeGreaterThan(1e-6);
    expect(norms[3]).toBeGreaterThan(1e-6);
    disposeParams(vars);
    disposeParams(params);
  });
});

describe('ScoreModel with classes', () => {
  it('conditionalScore(x, t, c) is the score with label c for the batch; null and plain score are the null label', () => {
    const config = defaultMLPConfig(2, { hidden: [16], numClasses: 2 });
    const modelConfig: ModelConfig = { network: config, parameterization: 'eps', inputScaling: 'marginal' };
    const params = liveParams(config, 4);
    const model = new ScoreModel(makeSDE({}), modelConfig, params);
    expect(model.numClasses).toBe(2);
    const cond = model.conditionalScore!;
    const before = tf.memory().numTensors;
    for (let rep = 0; rep < 3; rep++) {
      const [c1, lab1, cNull, plain, c0] = tf.tidy(() => {
        const x = tf.randomNormal([8, 2], 0, 1, 'float32', 7);
        const t = tf.scalar(0.4);
        return [
          cond(x, t, 1).dataSync(),
          model.score(x, t, tf.fill([8], 1, 'int32')).dataSync(),
          cond(x, t, null).dataSync(),
          model.score(x, t).dataSync(),
          cond(x, t, 0).dataSync(),
        ];
      });
      expect(maxAbsDiff(c1, lab1)).toBeLessThan(1e-5);
      expect(bitwiseEqual(cNull, plain)).toBe(true);
      expect(maxAbsDiff(c0, c1)).toBeGreaterThan(1e-3);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(() => cond(tf.zeros([1, 2]), tf.scalar(0.5), 2)).toThrow(/out of range/);
    const plainModel = new ScoreModel(makeSDE({}), { ...modelConfig, network: defaultMLPConfig(2, { hidden: [16] }) }, params);
    expect(plainModel.conditionalScore).toBeUndefined();
    disposeParams(params);
  });
});

describe('label dropping (p_uncond)', () => {
  it('drops each label with probability p (fixed seed, within 4 standard errors) and keeps the others', () => {
    const n = 100_000;
    const labels = Int32Array.from({ length: 1000 }, (_, i) => i % 7);
    const idx = new Rng(1).ints(n, labels.length);
    for (const p of [0.1, 0.25]) {
      const y = dropLabels(new Rng(42), labels, idx, 7, p);
      let dropped = 0;
      let changed = 0;
      for (let i = 0; i < n; i++) {
        if (y[i] === 7) dropped++;
        else if (y[i] !== labels[idx[i]]) changed++;
      }
      expect(changed).toBe(0);
      expect(Math.abs(dropped / n - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n));
      // The same seed draws the same labels.
      expect(bitwiseEqual(dropLabels(new Rng(42), labels, idx, 7, p), y)).toBe(true);
    }
    const none = dropLabels(new Rng(42), labels, idx, 7, 0);
    expect(none.every((v, i) => v === labels[idx[i]])).toBe(true);
  });
});

function labelled(n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(2 * n);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 3;
    x[2 * i] = labels[i] - 1 + 0.2 * rng.normal();
    x[2 * i + 1] = 0.2 * rng.normal();
  }
  return { name: 'three', n, shape: [2], x, normalization: { mean: [0], std: [1] }, labels };
}

describe('train --conditional', () => {
  const small: ModelConfig = { network: defaultMLPConfig(2, { hidden: [32, 32] }), parameterization: 'eps', inputScaling: 'marginal' };

  it('records numClasses and p_uncond; a resumed conditional run is bitwise the same as an uninterrupted one', async () => {
    const data = labelled(300, 1);
    const opts = { data, model: small, conditional: true, pUncond: 0.2, batch: 32, lr: 1e-3, warmup: 2, seed: 5, logEvery: 5, checkpointEvery: 5, progress: null };
    const dirA = path.join(tmp, 'a');
    const dirB = path.join(tmp, 'b');
    const a = await train({ ...opts, iters: 20, outDir: dirA });
    expect(a.config.model.network.numClasses).toBe(3);
    expect(a.settings.pUncond).toBe(0.2);
    expect(a.params['label.table'].shape).toEqual([4, 32]);
    const b1 = await train({ ...opts, iters: 10, outDir: dirB });
    b1.dispose();
    // --resume keeps the classes and p_uncond (no conditional flag needed).
    const b = await train({ data, iters: 20, outDir: dirB, resume: true, logEvery: 5, checkpointEvery: 5, progress: null });
    expect(b.settings.pUncond).toBe(0.2);
    for (const k of Object.keys(a.params)) expect(bitwiseEqual(a.params[k].dataSync(), b.params[k].dataSync())).toBe(true);
    const loaded = loadCheckpoint(dirA);
    expect(loaded.config.model.network.numClasses).toBe(3);
    expect(loaded.config.training?.pUncond).toBe(0.2);
    expect(loaded.model.conditionalScore).toBeDefined();
    const [ya, yl] = tf.tidy(() => {
      const x = tf.randomNormal([4, 2], 0, 1, 'float32', 3);
      return [a.model.conditionalScore!(x, tf.scalar(0.3), 2).dataSync(), loaded.model.conditionalScore!(x, tf.scalar(0.3), 2).dataSync()];
    });
    expect(bitwiseEqual(ya, yl)).toBe(true);
    loaded.dispose();
    a.dispose();
    b.dispose();
    // A different p_uncond on resume, or --conditional on an unconditional checkpoint, is refused.
    await expect(train({ data, iters: 25, outDir: dirB, resume: true, pUncond: 0.3, progress: null })).rejects.toThrow(/--p-uncond/);
    const plainDir = path.join(tmp, 'plain');
    (await train({ data, model: small, batch: 32, iters: 2, outDir: plainDir, progress: null })).dispose();
    await expect(train({ data, iters: 4, outDir: plainDir, resume: true, conditional: true, progress: null })).rejects.toThrow(/not class-conditional/);
  });

  it('bad input: no labels, p_uncond outside [0, 1) or without --conditional; nothing written', async () => {
    const data = labelled(64, 2);
    const { labels: _drop, ...unlabelled } = data;
    const dir = path.join(tmp, 'bad');
    const cases: [Partial<Parameters<typeof train>[0]>, RegExp][] = [
      [{ data: unlabelled, conditional: true }, /no class labels/],
      [{ data, conditional: true, pUncond: 1 }, /--p-uncond/],
      [{ data, conditional: true, pUncond: -0.1 }, /--p-uncond/],
      [{ data, pUncond: 0.1 }, /only with --conditional/],
      [{ data: { ...data, labels: Int32Array.from(data.labels!, (v, i) => (i === 5 ? -1 : v)) }, conditional: true }, /negative label/],
    ];
    for (const [opts, message] of cases) {
      const p = train({ model: small, batch: 16, iters: 2, outDir: dir, progress: null, ...opts } as Parameters<typeof train>[0]);
      await expect(p).rejects.toThrow(UsageError);
      await expect(train({ model: small, batch: 16, iters: 2, outDir: dir, progress: null, ...opts } as Parameters<typeof train>[0])).rejects.toThrow(message);
      expect(fs.existsSync(dir)).toBe(false);
    }
  });
});
