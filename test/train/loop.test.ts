import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { Rng } from '../../src/random.js';
import { UsageError } from '../../src/errors.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { defaultMLPConfig } from '../../src/models/mlp.js';
import type { ModelConfig } from '../../src/models/score-model.js';
import { makeSDE } from '../../src/sde/registry.js';
import { benchmarkTraining } from '../../src/train/benchmark.js';
import type { LogEntry } from '../../src/train/logger.js';
import { train } from '../../src/train/loop.js';
import { createProgressReporter } from '../../src/train/progress.js';
import { exactEpsHost, type Mixture } from './gaussian-oracle.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-train-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const gaussian: Mixture = { weights: [1], means: [[1, -0.5]], stds: [0.5] };

function gaussianData(n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) for (let d = 0; d < 2; d++) x[2 * i + d] = gaussian.means[0][d] + gaussian.stds[0] * rng.normal();
  return { name: 'gaussian', n, shape: [2], x, normalization: { mean: [0], std: [1] } };
}

const small: ModelConfig = { network: defaultMLPConfig(2, { hidden: [64, 64] }), parameterization: 'eps', inputScaling: 'marginal' };

function bitwiseEqual(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

describe('train', () => {
  it('a short run on a 2-D Gaussian lowers the loss and learns a score close to the exact one, with flat numTensors', async () => {
    const data = gaussianData(4096, 1);
    const baseline = tf.memory().numTensors;
    const counts: number[] = [];
    const result = await train({
      data, model: small, iters: 400, batch: 256, lr: 3e-3, warmup: 20, seed: 3, logEvery: 50,
      progress: null, onLog: () => counts.push(tf.memory().numTensors),
    });
    // numTensors is the same at every log point: nothing accumulates per step.
    expect(counts.length).toBe(8);
    expect(new Set(counts).size).toBe(1);
    const losses = result.log.map((e) => e.loss);
    expect(losses[losses.length - 1]).toBeLessThan(0.7 * losses[0]);

    // Compare the EMA model's eps with the exact eps* = -std score (float64 host) on x_t ~ p_t.
    const sde = makeSDE({});
    const rng = new Rng(99);
    const n = 512;
    for (const t of [0.05, 0.2, 0.5, 0.9]) {
      const { mean, std } = sde.marginalAt(t);
      const xt = new Float32Array(2 * n);
      for (let i = 0; i < 2 * n; i++) xt[i] = mean * (gaussian.means[0][i % 2] + gaussian.stds[0] * rng.normal()) + std * rng.normal();
      const pred = tf.tidy(() => result.model.eps(tf.tensor2d(xt, [n, 2]), tf.scalar(t)).dataSync());
      const exact = exactEpsHost(gaussian, sde, xt, [t], 2);
      let err = 0;
      let scale = 0;
      for (let i = 0; i < 2 * n; i++) {
        err += (pred[i] - exact[i]) ** 2;
        scale += exact[i] ** 2;
      }
      // Mean squared eps error per coordinate: small in absolute terms and against the size of
      // eps* itself (an untrained model is off by about |eps*|^2, 0.1 to 1 here).
      expect(err / (2 * n)).toBeLessThan(0.02);
      expect(err / scale).toBeLessThan(0.15);
    }
    result.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('a resumed run is bitwise the same as an uninterrupted one; save -> load gives the same network', async () => {
    const data = gaussianData(512, 2);
    const opts = { data, model: small, batch: 64, lr: 1e-3, warmup: 5, seed: 8, logEvery: 10, checkpointEvery: 10, progress: null };
    const dirA = path.join(tmp, 'a');
    const dirB = path.join(tmp, 'b');
    const a = await train({ ...opts, iters: 30, outDir: dirA });
    const b1 = await train({ ...opts, iters: 20, outDir: dirB });
    b1.dispose();
    // As if the run had logged step 25 and then crashed before its next checkpoint.
    fs.appendFileSync(path.join(dirB, 'log.jsonl'), JSON.stringify({ step: 25, loss: 1 }) + '\n');
    const b = await train({ ...opts, iters: 30, outDir: dirB, resume: true });
    expect(b.step).toBe(30);
    for (const k of Object.keys(a.params)) expect(bitwiseEqual(a.params[k].dataSync(), b.params[k].dataSync())).toBe(true);
    for (const k of Object.keys(a.ema)) expect(bitwiseEqual(a.ema[k].dataSync(), b.ema[k].dataSync())).toBe(true);
    const logB = fs.readFileSync(path.join(dirB, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LogEntry);
    expect(logB.map((e) => e.step)).toEqual([10, 20, 30]);
    expect(logB.map((e) => e.loss)).toEqual(a.log.map((e) => e.loss));

    // Load the checkpoint: same weights, EMA and optimizer state; bitwise-equal network outputs.
    const loaded = loadCheckpoint(dirA);
    expect(loaded.step).toBe(30);
    expect(loaded.optimizer?.meta.step).toBe(30);
    expect(loaded.config.model).toEqual(small);
    expect(loaded.config.data).toEqual({ source: 'gaussian', shape: [2], normalization: { mean: [0], std: [1] } });
    for (const k of Object.keys(a.params)) expect(bitwiseEqual(a.params[k].dataSync(), loaded.params[k].dataSync())).toBe(true);
    for (const k of Object.keys(a.ema)) expect(bitwiseEqual(a.ema[k].dataSync(), loaded.ema![k].dataSync())).toBe(true);
    const m = a.optimizer.state().tensors;
    for (const k of Object.keys(m)) expect(bitwiseEqual(m[k].dataSync(), loaded.optimizer!.tensors[k].dataSync())).toBe(true);
    const [y1, y2] = tf.tidy(() => {
      const x = tf.randomNormal([16, 2], 0, 1, 'float32', 1);
      const t = tf.linspace(0.01, 1, 16);
      return [a.model.score(x, t).dataSync(), loaded.scoreFn(x, t).dataSync()];
    });
    expect(bitwiseEqual(y1, y2)).toBe(true);
    // Only the files of the last step remain.
    expect(fs.readdirSync(dirA).sort().map((f) => f.replace(/-[0-9a-f]{8}\.bin$/, '.bin'))).toEqual(
      ['config.json', 'ema-00000030.bin', 'log.jsonl', 'model-00000030.bin', 'optimizer-00000030.bin'],
    );
    loaded.dispose();
    a.dispose();
    b.dispose();

    // A directory that holds a checkpoint is not overwritten without resume.
    await expect(train({ ...opts, iters: 5, outDir: dirA })).rejects.toThrow(UsageError);
  });

  it('the DDPM objective, the score parameterization on VE, likelihood weighting and an abort signal all run', async () => {
    const data = gaussianData(256, 4);
    const base = { data, batch: 32, logEvery: 5, progress: null, seed: 1 };
    const ddpm = await train({ ...base, model: small, iters: 10, objective: 'ddpm', timesteps: 100 });
    expect(ddpm.log.every((e) => Number.isFinite(e.loss))).toBe(true);
    expect(ddpm.config.training?.objective).toBe('ddpm');
    ddpm.dispose();
    const ve = await train({ ...base, sde: { sde: 've' }, model: { ...small, parameterization: 'score' }, iters: 10, weighting: 'likelihood' });
    expect(ve.log.every((e) => Number.isFinite(e.loss))).toBe(true);
    ve.dispose();
    const controller = new AbortController();
    const dir = path.join(tmp, 'stopped');
    const stopped = await train({ ...base, model: small, iters: 1000, outDir: dir, onLog: (e) => e.step >= 10 && controller.abort(), signal: controller.signal });
    expect(stopped.stopped).toBe(true);
    expect(stopped.step).toBe(10);
    expect(loadCheckpoint(dir).step).toBe(10);
    stopped.dispose();
  });
});

describe('benchmarkTraining', () => {
  it('times steps after a warm-up and leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const r = await benchmarkTraining({ data: gaussianData(256, 5), batch: 32, steps: 10, warmup: 5, model: small });
    expect(r.steps).toBe(10);
    expect(r.stepsPerSec).toBeGreaterThan(0);
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('progress reporter', () => {
  const info = { step: 50, total: 200, loss: 0.123456, lr: 1e-3, itPerSec: 40, elapsedSec: 1.25, etaSec: 3.75 };
  it('writes plain lines when stderr is not a TTY', () => {
    const chunks: string[] = [];
    const r = createProgressReporter({ write: (c: string) => chunks.push(c), isTTY: false });
    r.update(info);
    r.update({ ...info, step: 100 });
    r.finish();
    expect(chunks).toEqual([
      'step  50/200  loss 0.1235  40.0 it/s  lr 1.0e-3  elapsed 1s  ETA 4s\n',
      'step 100/200  loss 0.1235  40.0 it/s  lr 1.0e-3  elapsed 1s  ETA 4s\n',
    ]);
  });
  it('rewrites one line on a TTY', () => {
    const chunks: string[] = [];
    const r = createProgressReporter({ write: (c: string) => chunks.push(c), isTTY: true });
    r.update(info);
    r.finish();
    expect(chunks[0].startsWith('\r\x1b[2Kstep  50/200')).toBe(true);
    expect(chunks[chunks.length - 1]).toBe('\n');
  });
});
