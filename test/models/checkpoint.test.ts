import * as tf from '@tensorflow/tfjs';
import { integrate } from '../../src/solvers/index.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { loadCheckpoint, readCheckpointConfig, saveCheckpoint, type CheckpointConfig } from '../../src/models/checkpoint.js';
import { createModel, defaultModelConfig } from '../../src/models/factory.js';
import { cloneParams, disposeParams } from '../../src/models/params.js';
import { ScoreModel } from '../../src/models/score-model.js';
import { makeSDE } from '../../src/sde/registry.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-ckpt-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function bitwiseEqual(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function setup(sdeName: 'vp' | 've', step: number) {
  const sde = makeSDE({ sde: sdeName, sigmaMax: 20 });
  const config = defaultModelConfig([3], 'eps');
  const model = createModel(sde, config, 4);
  model.params['out.w'].dispose();
  model.params['out.w'] = tf.randomNormal([128, 3], 0, 1, 'float32', 1);
  const ema = cloneParams(model.params);
  for (const k of Object.keys(ema)) {
    const old = ema[k];
    ema[k] = tf.tidy(() => tf.add(old, tf.randomNormal(old.shape, 0, 1e-3, 'float32', 2)));
    old.dispose();
  }
  const opt = { m: tf.randomNormal([2, 2], 0, 1, 'float32', 3), v: tf.randomUniform([2, 2], 0, 1, 'float32', 4) };
  const ckpt: CheckpointConfig = {
    format: 'sde-checkpoint', version: 2, step,
    sde: sde.config, model: config,
    data: { source: 'data.csv', shape: [3], normalization: { mean: [1, 2, 3], std: [0.5, 1, 2] } },
    training: { objective: 'dsm', seed: 5 },
  };
  return { sde, model, ema, opt, ckpt };
}

describe('checkpoints', () => {
  it('save -> load: the same config, weights, EMA weights, optimizer state and step; bitwise-equal outputs', () => {
    const dir = path.join(tmp, 'ok');
    const { model, ema, opt, ckpt } = setup('ve', 1234);
    saveCheckpoint(dir, { config: ckpt, params: model.params, ema, optimizer: { meta: { kind: 'adam', step: 1234 }, tensors: opt } });
    const loaded = loadCheckpoint(dir);
    expect(loaded.step).toBe(1234);
    expect(readCheckpointConfig(dir)).toMatchObject(ckpt);
    expect(loaded.config.data.normalization).toEqual({ mean: [1, 2, 3], std: [0.5, 1, 2] });
    expect(loaded.sde.config).toEqual(ckpt.sde);
    for (const k of Object.keys(model.params)) expect(bitwiseEqual(model.params[k].dataSync(), loaded.params[k].dataSync())).toBe(true);
    for (const k of Object.keys(ema)) expect(bitwiseEqual(ema[k].dataSync(), loaded.ema![k].dataSync())).toBe(true);
    expect(loaded.optimizer!.meta).toEqual({ kind: 'adam', step: 1234 });
    expect(bitwiseEqual(opt.m.dataSync(), loaded.optimizer!.tensors.m.dataSync())).toBe(true);
    // The loaded score model runs on the EMA weights.
    const x = tf.randomNormal([8, 3], 0, 2, 'float32', 9);
    const t = tf.linspace(0.001, 1, 8);
    const [a, b] = tf.tidy(() => {
      const fromEma = new ScoreModel(loaded.sde, ckpt.model, ema);
      return [fromEma.score(x, t).dataSync(), loaded.scoreFn(x, t).dataSync()];
    });
    expect(bitwiseEqual(a, b)).toBe(true);
    // Sampling: the model before saving and the loaded one give the same samples, draw for draw.
    for (const solver of ['euler-maruyama', 'dpm-solver++'] as const) {
      const before = new ScoreModel(loaded.sde, ckpt.model, ema);
      const r1 = integrate(loaded.sde, before.score, solver, { shape: [16, 3], steps: 20, seed: 3 });
      const r2 = integrate(loaded.sde, loaded.scoreFn, solver, { shape: [16, 3], steps: 20, seed: 3 });
      expect(bitwiseEqual(r1.x.dataSync(), r2.x.dataSync())).toBe(true);
      tf.dispose([r1.x, r2.x]);
    }
    // Saving again at a later step replaces the files of the old step.
    saveCheckpoint(dir, { config: { ...ckpt, step: 1300 }, params: model.params });
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', readCheckpointConfig(dir).weights!.model!.file]);
    expect(readCheckpointConfig(dir).weights!.model!.file).toMatch(/^model-00001300-[0-9a-f]{8}\.bin$/);
    const again = loadCheckpoint(dir);
    expect(again.ema).toBeUndefined();
    expect(again.optimizer).toBeUndefined();
    again.dispose();
    loaded.dispose();
    disposeParams(model.params);
    disposeParams(ema);
    tf.dispose([opt.m, opt.v, x, t]);
  });

  it('reports missing, foreign, inconsistent and mismatched checkpoints as UsageErrors naming the file', () => {
    expect(() => loadCheckpoint(path.join(tmp, 'nope'))).toThrow(/nope: no such checkpoint directory/);
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    expect(() => loadCheckpoint(empty)).toThrow(/no config\.json/);
    fs.writeFileSync(path.join(empty, 'config.json'), '{not json');
    expect(() => loadCheckpoint(empty)).toThrow(UsageError);
    expect(() => loadCheckpoint(empty)).toThrow(/config\.json: not valid JSON/);

    const { model, ema, ckpt } = setup('vp', 10);
    const dir = path.join(tmp, 'torn');
    saveCheckpoint(dir, { config: ckpt, params: model.params, ema });
    // A damaged EMA file (same length, one byte changed) fails its checksum; a short one its size.
    const emaFile = path.join(dir, readCheckpointConfig(dir).weights!.ema!.file);
    const bytes = fs.readFileSync(emaFile);
    bytes[100] ^= 1;
    fs.writeFileSync(emaFile, bytes);
    expect(() => loadCheckpoint(dir)).toThrow(/ema-00000010-[0-9a-f]{8}\.bin: damaged: its sha256 does not match/);
    fs.writeFileSync(emaFile, bytes.subarray(0, 1000));
    expect(() => loadCheckpoint(dir)).toThrow(/ema-00000010-[0-9a-f]{8}\.bin: truncated or damaged: 1000 bytes/);

    const other = path.join(tmp, 'other');
    // Weights of a 3-D model under a config (network and data) for 4-D samples.
    const data4 = { ...ckpt.data, shape: [4], normalization: { mean: [0], std: [1] } };
    saveCheckpoint(other, { config: { ...ckpt, model: defaultModelConfig([4]), data: data4 }, params: model.params });
    expect(() => loadCheckpoint(other)).toThrow(/model-00000010-[0-9a-f]{8}\.bin: parameter 'h0\.w' has shape \[35,128\], expected \[36,128\]/);
    fs.rmSync(path.join(other, readCheckpointConfig(other).weights!.model!.file));
    expect(() => loadCheckpoint(other)).toThrow(/model-00000010-[0-9a-f]{8}\.bin: missing/);
    // A network whose input does not match the data section.
    saveCheckpoint(other, { config: { ...ckpt, model: defaultModelConfig([4]) }, params: model.params });
    expect(() => loadCheckpoint(other)).toThrow(/config\.json: the network takes samples of shape \[4\], the data section says \[3\]/);
    const before = tf.memory().numTensors;
    expect(() => loadCheckpoint(dir)).toThrow(UsageError);
    expect(tf.memory().numTensors).toBe(before);
    disposeParams(model.params);
    disposeParams(ema);
  });
});
