/**
 * `node dist/bench/unet.js [--batch 64,128] [--repeats 5] [--steps 5] [--profile]`: times the
 * MNIST U-Net (28x28x1, default config) on the selected backend: the forward pass, and a training
 * step (forward, eps-MSE loss, backward, Adam with clipping) at each batch size, as medians of
 * --repeats runs of --steps steps each, after warm-up steps. Nothing is read back inside a timed
 * run except one dataSync at its end. With --profile, also a per-kernel breakdown of one
 * training step (tf.profile: wall time per kernel on wasm, summed by kernel name and by layer
 * shape). Prints one JSON object; progress goes to stderr.
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { parseBackendName } from '../src/backend.js';
import { configureRuntime, runtimeOptionsFromEnv } from '../src/runtime.js';
import { initParams, toVariables, trainableNames } from '../src/models/params.js';
import { createUNet, defaultUNetConfig } from '../src/models/unet.js';
import { Adam } from '../src/train/adam.js';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: process.env.SDE_BACKEND ?? 'auto' },
    batch: { type: 'string', default: '64,128' },
    repeats: { type: 'string', default: '5' },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '3' },
    channels: { type: 'string', default: '16' },
    profile: { type: 'boolean', default: false },
    'profile-top': { type: 'string', default: '25' },
  },
});
const repeats = Number(args.repeats);
const steps = Number(args.steps);
const warmup = Number(args.warmup);
const log = (line: string) => process.stderr.write(line + '\n');

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const round = (v: number, d = 3) => Number(v.toFixed(d));

async function main(): Promise<void> {
  const backend = await configureRuntime({ ...runtimeOptionsFromEnv(), backend: parseBackendName(args.backend!, '--backend'), log });
  const config = defaultUNetConfig([28, 28, 1], { channels: Number(args.channels) });
  const net = createUNet(config);
  const params = toVariables(net.specs, initParams(net.specs, 0));
  const names = trainableNames(net.specs);
  const trainable: Record<string, tf.Variable> = {};
  for (const k of names) trainable[k] = params[k];
  const adam = new Adam({ lr: 1e-4 }, trainable);
  const result: Record<string, unknown> = { backend: backend.description, config, batches: {} };

  const step = (x: tf.Tensor, z: tf.Tensor, t: tf.Tensor): tf.Scalar => {
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.squaredDifference(net.apply(params, tf.add(x, tf.mul(0.5, z)), t), z)) as tf.Scalar, names.map((k) => trainable[k]));
    const named: Record<string, tf.Tensor> = {};
    for (const k of names) named[k] = grads[trainable[k].name];
    const norm = adam.apply(trainable, named);
    tf.dispose(grads);
    norm.dispose();
    return value;
  };

  for (const batch of String(args.batch).split(',').map(Number)) {
    log(`batch ${batch}`);
    const x = tf.randomUniform([batch, 28, 28, 1], -1, 1, 'float32', 1);
    const z = tf.randomNormal([batch, 28, 28, 1], 0, 1, 'float32', 2);
    const t = tf.randomUniform([batch], 1e-3, 1, 'float32', 3);
    const forward = () => tf.tidy(() => net.apply(params, x, t));
    // Wall and process CPU time per step (ms). The CPU time (user + system, all threads) is less
    // sensitive to other processes on a shared machine; wasm runs on one thread here.
    const timeRuns = (run: () => tf.Tensor): { wall: number[]; cpu: number[] } => {
      for (let i = 0; i < warmup; i++) run().dataSync();
      const wall: number[] = [];
      const cpu: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        let last: tf.Tensor | undefined;
        for (let i = 0; i < steps; i++) {
          last?.dispose();
          last = run();
        }
        last!.dataSync();
        last!.dispose();
        const c = process.cpuUsage(c0);
        wall.push((performance.now() - t0) / steps);
        cpu.push((c.user + c.system) / 1000 / steps);
      }
      return { wall, cpu };
    };
    const fwd = timeRuns(forward);
    // Forward + backward without the optimizer, to separate Adam's ~10 small kernels per parameter.
    const grad = timeRuns(() => {
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.squaredDifference(net.apply(params, tf.add(x, tf.mul(0.5, z)), t), z)) as tf.Scalar, names.map((k) => trainable[k]));
      tf.dispose(grads);
      return value;
    });
    const stp = timeRuns(() => step(x, z, t));
    const stepMs = stp.wall;
    const entry: Record<string, unknown> = {
      forwardMs: round(median(fwd.wall), 1),
      forwardCpuMs: round(median(fwd.cpu), 1),
      forwardMsRuns: fwd.wall.map((v) => round(v, 1)),
      gradMs: round(median(grad.wall), 1),
      gradCpuMs: round(median(grad.cpu), 1),
      stepMs: round(median(stepMs), 1),
      stepCpuMs: round(median(stp.cpu), 1),
      stepMsRuns: stepMs.map((v) => round(v, 1)),
      stepsPerSec: round(1000 / median(stepMs), 2),
      imagesPerSec: round((1000 * batch) / median(stepMs), 0),
    };
    if (args.profile) {
      const info = await tf.profile(() => {
        const v = step(x, z, t);
        v.dataSync();
        v.dispose();
      });
      const byName = new Map<string, { ms: number; n: number }>();
      const byShape = new Map<string, { ms: number; n: number }>();
      let total = 0;
      // tf.profile also lists op and customGrad scopes around the kernels: keep only kernels.
      for (const k of info.kernels.filter((k) => tf.getKernel(k.name, tf.getBackend()) !== undefined)) {
        const ms = Number(await k.kernelTimeMs);
        total += ms;
        const a = byName.get(k.name) ?? { ms: 0, n: 0 };
        a.ms += ms;
        a.n += 1;
        byName.set(k.name, a);
        const key = `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join(' ')} -> ${k.outputShapes.map((s) => `[${s}]`).join(' ')}`;
        const b = byShape.get(key) ?? { ms: 0, n: 0 };
        b.ms += ms;
        b.n += 1;
        byShape.set(key, b);
      }
      const top = Number(args['profile-top']);
      const sorted = (m: Map<string, { ms: number; n: number }>) =>
        [...m.entries()].sort((p, q) => q[1].ms - p[1].ms).slice(0, top).map(([k, v]) => ({ kernel: k, ms: round(v.ms, 2), count: v.n }));
      entry.profile = { kernels: [...byName.values()].reduce((s, v) => s + v.n, 0), kernelMs: round(total, 1), byName: sorted(byName), byShape: sorted(byShape) };
    }
    (result.batches as Record<string, unknown>)[batch] = entry;
    log(JSON.stringify(entry).slice(0, 200));
    tf.dispose([x, z, t]);
  }
  console.log(JSON.stringify(result, null, 1));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
