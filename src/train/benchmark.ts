import type { Dataset } from '../data/dataset.js';
import type { ModelConfig } from '../models/score-model.js';
import type { SDEConfig } from '../sde/types.js';
import { train } from './loop.js';

export interface TrainBenchmark {
  batch: number;
  steps: number;
  /** Training steps per second after the warm-up steps (no checkpoint writes). */
  stepsPerSec: number;
  msPerStep: number;
  /** Mean loss over the timed steps (a sanity check that it trained). */
  loss: number;
}

/**
 * Times the training step of `train` (loss, gradients, Adam, EMA; no files): `warmup` untimed
 * steps, then `steps` timed ones, in chunks of `warmup` steps.
 */
export async function benchmarkTraining(options: {
  data: Dataset;
  batch: number;
  steps?: number;
  warmup?: number;
  model?: ModelConfig;
  sde?: Partial<SDEConfig>;
  seed?: number;
}): Promise<TrainBenchmark> {
  const warmup = options.warmup ?? 20;
  const chunks = Math.max(1, Math.round((options.steps ?? 200) / warmup));
  const result = await train({
    data: options.data,
    batch: options.batch,
    model: options.model,
    sde: options.sde,
    seed: options.seed ?? 0,
    iters: warmup * (chunks + 1),
    logEvery: warmup,
    progress: null,
  });
  const [first, ...rest] = result.log;
  const last = rest[rest.length - 1];
  const steps = last.step - first.step;
  const seconds = last.elapsedSec - first.elapsedSec;
  const loss = rest.reduce((s, e) => s + e.loss, 0) / rest.length;
  result.dispose();
  return { batch: options.batch, steps, stepsPerSec: steps / seconds, msPerStep: (1000 * seconds) / steps, loss };
}
