import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import { removeStaleTemps, writeFailure } from '../io/atomic.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, isCheckpoint, readCheckpointConfig, type CheckpointConfig } from '../models/checkpoint.js';
import type { Params } from '../models/params.js';
import type { ScoreModel } from '../models/score-model.js';
import type { Adam } from './adam.js';
import { CheckpointWriter, nonFiniteMeasure } from './checkpoint-writer.js';
import { startLogFile, TrainLogger, type LogEntry } from './logger.js';
import { defined, planRun, type TrainPlan } from './plan.js';
import { createProgressReporter } from './progress.js';
import { resumeSettings } from './resume.js';
import { acquireRunLock } from './run-lock.js';
import { runSteps } from './run-steps.js';
import { scoreTrainingStep } from './score-step.js';
import { defaultSettings, type TrainOptions, type TrainSettings } from './settings.js';
import { createTrainState } from './state.js';

export interface TrainResult {
  /** Steps done in total (including those before a resume). */
  step: number;
  config: CheckpointConfig;
  settings: TrainSettings;
  log: LogEntry[];
  /** Steps per second over this call (checkpoint writes included). */
  stepsPerSec: number;
  /** True when stopped by the signal before iters. */
  stopped: boolean;
  /** The model on the EMA weights (for sampling) and on the raw weights. */
  model: ScoreModel;
  rawModel: ScoreModel;
  params: Record<string, tf.Variable>;
  ema: Params;
  optimizer: Adam;
  dispose(): void;
}

/**
 * Trains a score model on `data` by denoising score matching (or DDPM's L_simple), with Adam,
 * warm-up, gradient clipping and an EMA of the weights. Per-step randomness (batch indices,
 * times or steps, noise) comes from a PRNG seeded by (seed, step), so a resumed run draws
 * exactly what an uninterrupted one would. The loss is read back only every logEvery steps.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const outDir = options.outDir;
  if (!outDir) return trainIn(options, { wroteLog: false });
  // A flag that contradicts the checkpoint is reported even while another run holds the lock
  // (checked again on the checkpoint loaded under the lock).
  if (options.resume && isCheckpoint(outDir)) resumeSettings(readCheckpointConfig(outDir), options, outDir, defaultSettings(options.data.shape), false);
  // One writer per run directory: the lock is taken before the checkpoint is looked at.
  let created: string | undefined;
  try {
    created = fs.mkdirSync(outDir, { recursive: true });
  } catch (e) {
    throw writeFailure(outDir, e);
  }
  let lock;
  try {
    lock = acquireRunLock(outDir);
  } catch (e) {
    if (created) fs.rmSync(created, { recursive: false, force: true }); // only if still empty: never another run's files
    throw writeFailure(path.join(outDir, '.lock'), e);
  }
  const state = { wroteLog: false };
  try {
    return await trainIn(options, state);
  } catch (e) {
    // A fresh run that fails before its first checkpoint leaves nothing behind.
    if (!options.resume && !isCheckpoint(outDir)) {
      lock.release();
      if (created) fs.rmSync(created, { recursive: true, force: true });
      else if (state.wroteLog) fs.rmSync(path.join(outDir, 'log.jsonl'), { force: true });
    }
    throw e;
  } finally {
    lock.release();
  }
}


async function trainIn(options: TrainOptions, state: { wroteLog: boolean }): Promise<TrainResult> {
  const logEvery = options.logEvery ?? 100;
  if (!(Number.isInteger(logEvery) && logEvery >= 1)) throw new Error(`train: logEvery must be a positive integer, got ${logEvery}`);
  const plan = planRun(options);
  const resumedConfig = plan.resumed?.config;
  const training = createTrainState(plan);
  const { adam } = training;
  const { settings } = plan;
  const from = adam.step;
  const { outDir, data } = options;
  const writer = new CheckpointWriter(outDir, training, resumedConfig ? from : -1);
  let logFile: string | undefined;
  if (outDir) {
    // Temporary files of killed processes (never of live ones: another process may be writing).
    removeStaleTemps(outDir);
    logFile = startLogFile(outDir, from, resumedConfig !== undefined);
    state.wroteLog = true;
  }
  const logger = new TrainLogger(from, logFile, resumedConfig?.log);
  const progress = options.progress === undefined ? createProgressReporter() : options.progress;
  const config = (step: number) => runConfig(plan, options, step);
  const dataT = tf.tensor(data.x, [data.n, ...data.shape], 'float32');
  for (const line of [...plan.notes, ...(options.notes ?? [])]) options.notify?.(line);
  const t0 = performance.now();
  let done: { step: number; stopped: boolean };
  try {
    done = await runSteps({
      from,
      iters: settings.iters,
      logEvery,
      checkpointEvery: settings.checkpointEvery ?? 1000,
      signal: options.signal,
      step: (n) => {
        const { loss, gradNorm } = scoreTrainingStep(plan, training, data, dataT, n);
        logger.add(loss, gradNorm, adam.learningRate(n));
      },
      log: async (step) => {
        const entry = await logger.line(step, writer.left());
        if (!entry) return;
        if (!Number.isFinite(entry.loss) || !Number.isFinite(entry.gradNorm)) throw writer.diverged(nonFiniteMeasure(entry.loss, entry.gradNorm), step);
        options.onLog?.(entry);
        const rate = ((step - from) * 1000) / (performance.now() - t0);
        progress?.update({ step, total: settings.iters, loss: entry.loss, lr: entry.lr, itPerSec: rate, elapsedSec: entry.elapsedSec, etaSec: (settings.iters - step) / rate });
      },
      checkpoint: async (step) => writer.save(step, config(step), await logger.window()),
    });
  } catch (e) {
    progress?.finish();
    training.dispose();
    throw e;
  } finally {
    tf.dispose(dataT);
    logger.dispose();
  }
  progress?.finish();
  const { vars, emaParams, model, rawModel } = training;
  return {
    ...done,
    config: config(done.step),
    settings,
    log: logger.entries,
    stepsPerSec: (done.step - from) / ((performance.now() - t0) / 1000),
    model,
    rawModel,
    params: vars,
    ema: emaParams,
    optimizer: adam,
    dispose: () => training.dispose(),
  };
}

/** The checkpoint config of a run at `step`: format, SDE, model, data (with a resumed run's recorded facts) and settings. */
function runConfig(plan: TrainPlan, options: TrainOptions, step: number): CheckpointConfig {
  const { data } = options;
  const recorded = plan.resumed?.config.data;
  return {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    step,
    sde: plan.sdeConfig,
    model: plan.modelConfig,
    data: {
      source: data.name,
      shape: [...data.shape],
      normalization: { mean: [...data.normalization.mean], std: [...data.normalization.std] },
      ...(recorded ? defined({ n: recorded.n, labelColumn: recorded.labelColumn, sha256: recorded.sha256 }) : {}),
      ...defined({ ...options.dataRecord }),
    },
    training: { ...plan.settings },
  };
}
