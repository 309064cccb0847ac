import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import { sampleSize, type Dataset } from '../data/dataset.js';
import { mixSeed, Rng } from '../data/random.js';
import { UsageError } from '../errors.js';
import { checkOption, defaultsOf, parseOptions } from '../options/schema.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, isCheckpoint, loadCheckpoint, readCheckpointConfig, saveCheckpoint, type CheckpointConfig, type DataInfo, type LoadedCheckpoint } from '../models/checkpoint.js';
import { defaultModelConfig } from '../models/factory.js';
import { removeStaleTemps, writeFailure, writeFileAtomic } from '../io/atomic.js';
import { createNetwork, type Network } from '../models/network.js';
import { disposeParams, initParams, toVariables, type Params } from '../models/params.js';
import { ScoreModel, type ModelConfig, type Parameterization } from '../models/score-model.js';
import { discretize, type DiscreteChain, type DiscretizationMap } from '../sde/discrete.js';
import { DEFAULT_SDE_CONFIG, makeSDE } from '../sde/registry.js';
import type { SDE, SDEConfig } from '../sde/types.js';
import { Adam } from './adam.js';
import { EMA } from './ema.js';
import { ddpmLoss, dropLabels, dsmLoss, type Objective, type Weighting } from './losses.js';
import { DEFAULT_P_UNCOND, TRAIN_SCHEMA } from './options.js';
import { createProgressReporter, type ProgressInfo, type ProgressReporter } from './progress.js';
import { resumeSettings } from './resume.js';
import { acquireRunLock } from './run-lock.js';

/** Everything that defines a run besides the data; stored in the checkpoint's `training`. */
export interface TrainSettings {
  objective: Objective;
  weighting: Weighting;
  /** DDPM objective: number of discrete steps N and the map from the SDE to the chain. */
  timesteps: number;
  discretization: DiscretizationMap;
  /** Training times t ~ U[eps, T]. */
  eps: number;
  iters: number;
  batch: number;
  lr: number;
  warmup: number;
  gradClip: number;
  beta1: number;
  beta2: number;
  adamEpsilon: number;
  /** EMA decay (0.999). */
  ema: number;
  seed: number;
  /**
   * Class-conditional runs only: the probability that a sample's label is replaced by the null
   * label (classifier-free guidance's unconditional training), default 0.1.
   */
  pUncond?: number;
  /** Steps between checkpoints (recorded so a resume keeps the cadence). */
  checkpointEvery?: number;
  /** Settings changed on resume, in order (recorded in the checkpoint). */
  changes?: SettingChange[];
}

/** A setting changed by a resume: from step `step` on, `flag` is `to` instead of `from`. */
export interface SettingChange {
  step: number;
  flag: string;
  from: number;
  to: number;
}


export interface TrainOptions extends Partial<TrainSettings> {
  data: Dataset;
  /** SDE flags (missing fields: the defaults). On resume the checkpoint's SDE is used; a given field must match it. */
  sde?: Partial<SDEConfig>;
  /** Network and parameterization (default: defaultModelConfig for the data's shape). */
  model?: ModelConfig;
  /** Used when `model` is absent. */
  parameterization?: Parameterization;
  /**
   * Train a class-conditional model on data.labels (classes 0..max label, or the `model`'s
   * numClasses), dropping labels to the null label with probability pUncond. On resume the
   * checkpoint decides; true there requires a conditional checkpoint.
   */
  conditional?: boolean;
  /** Checkpoint directory (config.json, weights, log.jsonl); none: nothing is written. */
  outDir?: string;
  /**
   * Continue the checkpoint in outDir: its SDE, model and settings are used, with the optimizer
   * state, EMA and step. A given option that contradicts the checkpoint is a UsageError; iters
   * (upwards only), lr, warmup, gradClip and checkpointEvery may change (see resume.ts).
   */
  resume?: boolean;
  /** Extra facts about the data recorded in the checkpoint's data section (n, labelColumn, sha256). */
  dataRecord?: Pick<DataInfo, 'n' | 'labelColumn' | 'sha256'>;
  /**
   * Lines for the user (settings changed on resume, then `notes`), given once every check has
   * passed and training starts (so a refused run prints only its error); default: none.
   */
  notify?: (line: string) => void;
  /** The caller's own lines to announce with the others when training starts. */
  notes?: string[];
  /** Steps between reads of the loss for log.jsonl and progress (default 100). */
  logEvery?: number;
  /** Progress reporter (default: stderr); null for none. */
  progress?: ProgressReporter | null;
  onLog?: (entry: LogEntry) => void;
  /** Stop early (after the current step, with a checkpoint) when aborted. */
  signal?: AbortSignal;
}

/** One line of log.jsonl: means over the steps since the previous line. */
export interface LogEntry {
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
  itPerSec: number;
  elapsedSec: number;
}

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

/** Defaults: the schema's (TRAIN_SCHEMA), with batch 512, lr 1e-3, warm-up 100 for vectors (MLP) and batch 32, lr 2e-4, warm-up 500 for images (U-Net). */
export function defaultSettings(shape: readonly number[]): TrainSettings {
  const image = shape.length === 3;
  const { checkpointEvery: _cadence, ...fixed } = defaultsOf(TRAIN_SCHEMA);
  return { ...(fixed as Omit<TrainSettings, 'batch' | 'lr' | 'warmup'>), batch: image ? 32 : 512, lr: image ? 2e-4 : 1e-3, warmup: image ? 500 : 100 };
}

/** Checks settings against TRAIN_SCHEMA (errors name the field's flag) and the batch against the data's n. */
function checkSettings(s: TrainSettings, n: number): void {
  parseOptions(TRAIN_SCHEMA, s as unknown as Record<string, unknown>, { unknown: 'ignore' });
  if (s.batch > n) throw new UsageError(`--batch: ${s.batch} is larger than the data (${n} samples); pass a smaller --batch`);
}

/** The labels of a conditional run's data: every one an integer in 0..numClasses-1. */
function checkLabels(data: Dataset, numClasses: number): Int32Array {
  const labels = data.labels;
  if (!labels || labels.length !== data.n) throw new UsageError(`--conditional: the data ${data.name} has no class labels (use mnist or a CSV with --label-column K)`);
  for (let i = 0; i < labels.length; i++) {
    if (!(labels[i] >= 0 && labels[i] < numClasses)) throw new UsageError(`--conditional: ${data.name}: sample ${i + 1} has label ${labels[i]}, the model has classes 0..${numClasses - 1}`);
  }
  return labels;
}

/** Classes of a labelled data set: its numClasses when set, else max label + 1. */
function classesOf(data: Dataset): number {
  const labels = data.labels;
  if (!labels || labels.length !== data.n) throw new UsageError(`--conditional: the data ${data.name} has no class labels (use mnist or a CSV with --label-column K)`);
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0) throw new UsageError(`--conditional: ${data.name}: sample ${i + 1} has the negative label ${labels[i]}`);
    max = Math.max(max, labels[i]);
  }
  return Math.max(max + 1, data.numClasses ?? 0);
}

/** A resumed checkpoint's optimizer state matches its step and network: m/NAME and v/NAME for every trainable parameter. */
function checkResumedState(resumed: LoadedCheckpoint, network: Network): void {
  const { meta, tensors } = resumed.optimizer!;
  if (meta.step !== resumed.step) throw new UsageError(`--resume: the optimizer state is at step ${String(meta.step)}, the checkpoint at step ${resumed.step}`);
  for (const spec of network.specs.filter((s) => s.trainable)) {
    for (const key of [`m/${spec.name}`, `v/${spec.name}`]) {
      const t = tensors[key];
      if (!t || String(t.shape) !== String(spec.shape)) throw new UsageError(`--resume: the optimizer state has no ${key} of shape [${spec.shape}]`);
    }
  }
}

/** A failed write of a run's file: --out names it, and says which checkpoint is left. */
function outFailure(file: string, e: unknown, left?: string): Error {
  const err = writeFailure(file, e);
  return err instanceof UsageError ? new UsageError(`--out: ${err.message}${left ? `; ${left}` : ''}`) : err;
}

function pick<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
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
  const data = options.data;
  const d = sampleSize(data.shape);
  if (data.n < 1 || data.x.length !== data.n * d) throw new Error(`train: data has ${data.x.length} values, expected ${data.n} x ${d}`);
  const outDir = options.outDir;
  const logEvery = options.logEvery ?? 100;
  if (!(Number.isInteger(logEvery) && logEvery >= 1)) throw new Error(`train: logEvery must be a positive integer, got ${logEvery}`);
  if (options.checkpointEvery !== undefined) checkOption('checkpointEvery', TRAIN_SCHEMA.checkpointEvery, options.checkpointEvery);

  const notes: string[] = [];
  let resumed: LoadedCheckpoint | undefined;
  let resumedData: DataInfo | undefined;
  let resumedLog: CheckpointConfig['log'];
  let settings: TrainSettings;
  let sdeConfig: SDEConfig;
  let modelConfig: ModelConfig;
  if (options.resume) {
    if (!outDir) throw new UsageError('--resume: needs --out DIR holding the checkpoint to continue');
    if (!isCheckpoint(outDir)) throw new UsageError(`--resume: ${outDir} holds no checkpoint (no config.json)`);
    resumed = loadCheckpoint(outDir);
    const c = resumed.config;
    resumedData = c.data;
    resumedLog = c.log;
    if (c.data.shape.length !== data.shape.length || c.data.shape.some((v, i) => v !== data.shape[i])) {
      resumed.dispose();
      throw new UsageError(`--resume: the checkpoint in ${outDir} was trained on samples of shape [${c.data.shape}], the data has [${data.shape}]`);
    }
    if (!resumed.optimizer || !resumed.ema) {
      resumed.dispose();
      throw new UsageError(`--resume: the checkpoint in ${outDir} has no optimizer state or EMA to continue from`);
    }
    try {
      const resumedWith = resumeSettings(c, options, outDir, defaultSettings(data.shape));
      settings = resumedWith.settings;
      // Raising --iters is what a resume is for: recorded, not announced.
      for (const ch of resumedWith.changes.filter((c) => c.flag !== '--iters')) notes.push(`${ch.flag}: ${ch.from} -> ${ch.to} from step ${ch.step} on (the checkpoint in '${outDir}' was trained with ${ch.from}; recorded in its config.json)`);
    } catch (e) {
      resumed.dispose();
      throw e;
    }
    sdeConfig = c.sde;
    modelConfig = c.model;
    const K = modelConfig.network?.numClasses;
    const fail = (msg: string) => {
      resumed!.dispose();
      return new UsageError(msg);
    };
    if (options.conditional && K === undefined) throw fail(`--conditional: the checkpoint in ${outDir} is not class-conditional; --resume continues it as it was trained`);
    if (options.pUncond !== undefined && options.pUncond !== settings.pUncond) {
      throw fail(`--p-uncond: the checkpoint in ${outDir} was trained with ${settings.pUncond === undefined ? 'no label dropping (not conditional)' : `p_uncond ${settings.pUncond}`}; --resume keeps it`);
    }
    if (K !== undefined && settings.pUncond === undefined) settings.pUncond = DEFAULT_P_UNCOND;
  } else {
    if (outDir && isCheckpoint(outDir)) {
      throw new UsageError(`--out: ${outDir} already holds a checkpoint; pass --resume to continue it or choose another directory`);
    }
    settings = { ...defaultSettings(data.shape), ...pick({
      objective: options.objective, weighting: options.weighting, timesteps: options.timesteps, discretization: options.discretization,
      eps: options.eps, iters: options.iters, batch: options.batch, lr: options.lr, warmup: options.warmup, gradClip: options.gradClip,
      beta1: options.beta1, beta2: options.beta2, adamEpsilon: options.adamEpsilon, ema: options.ema, seed: options.seed,
    }), checkpointEvery: options.checkpointEvery ?? 1000 };
    sdeConfig = { ...DEFAULT_SDE_CONFIG, ...options.sde };
    modelConfig = options.model ?? defaultModelConfig(data.shape, options.parameterization ?? 'eps');
    // A given model config with numClasses is conditional too.
    if (options.conditional || modelConfig.network.numClasses !== undefined) {
      const K = modelConfig.network.numClasses ?? classesOf(data);
      modelConfig = { ...modelConfig, network: { ...modelConfig.network, numClasses: K } };
      settings.pUncond = options.pUncond ?? DEFAULT_P_UNCOND;
    } else if (options.pUncond !== undefined) {
      throw new UsageError('--p-uncond: only with --conditional (the probability of training a label as the null label)');
    }
  }
  let sde: SDE;
  let chain: DiscreteChain | undefined;
  let network: Network;
  try {
    checkSettings(settings, data.n);
    sde = makeSDE(sdeConfig);
    if (settings.objective === 'ddpm') chain = discretize(sde, settings.timesteps, settings.discretization);
    if (settings.eps >= sde.T) throw new UsageError(`--eps: ${settings.eps} must be below the SDE's end time ${sde.T}`);
    try {
      network = createNetwork(modelConfig.network);
    } catch (e) {
      throw new UsageError(`model: ${(e as Error).message}`);
    }
    if (resumed) checkResumedState(resumed, network);
    if (modelConfig.network.numClasses !== undefined) checkLabels(data, modelConfig.network.numClasses);
  } catch (e) {
    resumed?.dispose();
    // On resume the settings come from the checkpoint: a bad one is the checkpoint's fault, not a bug.
    throw resumed ? new UsageError(`--resume: ${path.join(outDir!, 'config.json')}: ${(e as Error).message}`) : e;
  }
  const trainable = new Set(network.specs.filter((s) => s.trainable).map((s) => s.name));

  // State: variables for the parameters, the optimizer and the EMA.
  const initial = resumed ? resumed.params : initParams(network.specs, mixSeed(settings.seed, -1));
  const vars = toVariables(network.specs, initial);
  const trainVars: Record<string, tf.Variable> = {};
  for (const k of trainable) trainVars[k] = vars[k];
  const fixed: Params = {};
  for (const s of network.specs) if (!trainable.has(s.name)) fixed[s.name] = vars[s.name];
  const adam = new Adam(
    { lr: settings.lr, beta1: settings.beta1, beta2: settings.beta2, epsilon: settings.adamEpsilon, warmup: settings.warmup, gradClip: settings.gradClip },
    trainVars,
    resumed?.optimizer,
  );
  const savedEma: Params | undefined = resumed?.ema ? Object.fromEntries([...trainable].map((k) => [k, resumed!.ema![k]])) : undefined;
  const ema = new EMA(settings.ema, trainVars, savedEma);
  const emaParams: Params = { ...fixed, ...ema.shadow };
  if (resumed) resumed.dispose();
  else disposeParams(initial);
  let step = adam.step;

  const rawModel = new ScoreModel(sde, modelConfig, vars, network);
  const model = new ScoreModel(sde, modelConfig, emaParams, network);
  const config = (): CheckpointConfig => ({
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    step,
    sde: sdeConfig,
    model: modelConfig,
    data: {
      source: data.name,
      shape: [...data.shape],
      normalization: { mean: [...data.normalization.mean], std: [...data.normalization.std] },
      ...(resumed ? pick({ n: resumedData?.n, labelColumn: resumedData?.labelColumn, sha256: resumedData?.sha256 }) : {}),
      ...pick({ ...options.dataRecord }),
    },
    training: { ...settings },
  });
  const checkpointEvery = settings.checkpointEvery ?? 1000;
  // Step of the checkpoint in outDir (none yet: -1). Only finite weights are saved, so a run that
  // diverges keeps its last good checkpoint.
  let savedStep = resumed ? step : -1;
  const diverged = (what: string) =>
    new UsageError(
      `training diverged: ${what} at step ${step}; ` +
        (savedStep >= 0 ? `the last good checkpoint (step ${savedStep}) is kept in ${outDir}; ` : outDir ? 'no checkpoint was written; ' : '') +
        'try a smaller --lr or --grad-clip',
    );
  const nonFinite = (loss: number, norm: number) => (Number.isFinite(loss) ? `the gradient norm is ${norm}` : `the loss is ${loss}`);
  const save = () => {
    if (!outDir || savedStep === step) return;
    const [loss, norm] = [lossSum.dataSync()[0], normSum.dataSync()[0]];
    if (!Number.isFinite(loss) || !Number.isFinite(norm)) throw diverged(nonFinite(loss, norm));
    const total = tf.tidy(() => tf.addN(Object.values(vars).map((v) => tf.sum(v))).dataSync()[0]);
    if (!Number.isFinite(total)) throw diverged('the weights are not finite');
    const window = { since: lastLogStep, loss, gradNorm: norm, lr: lrSum };
    try {
      saveCheckpoint(outDir, { config: { ...config(), log: window }, params: vars, ema: emaParams, optimizer: adam.state() });
    } catch (e) {
      throw e instanceof UsageError ? new UsageError(`--out: ${e.message}; ${savedStep >= 0 ? `the checkpoint of step ${savedStep} is kept` : 'no checkpoint was written'}`) : e;
    }
    savedStep = step;
  };

  const dataT = tf.keep(tf.tensor(data.x, [data.n, ...data.shape], 'float32'));
  const lossSum = tf.tidy(() => tf.variable(tf.scalar(0), false));
  const normSum = tf.tidy(() => tf.variable(tf.scalar(0), false));
  const B = settings.batch;
  const trainList = Object.values(trainVars);
  const numClasses = modelConfig.network.numClasses;
  const pUncond = settings.pUncond ?? 0;

  const logPath = outDir ? path.join(outDir, 'log.jsonl') : undefined;
  if (outDir) {
    // Temporary files of killed processes (never of live ones: another process may be writing).
    removeStaleTemps(outDir);
    // A fresh log; on resume, drop lines logged after the checkpoint (they will be redone).
    let kept = '';
    if (resumed && fs.existsSync(logPath!)) {
      kept = fs
        .readFileSync(logPath!, 'utf8')
        .split('\n')
        .filter((line) => {
          try {
            return line.trim() !== '' && (JSON.parse(line) as LogEntry).step <= step;
          } catch {
            return false;
          }
        })
        .map((line) => line + '\n')
        .join('');
    }
    try {
      writeFileAtomic(logPath!, kept);
    } catch (e) {
      throw outFailure(logPath!, e);
    }
    state.wroteLog = true;
  }
  const progress = options.progress === undefined ? createProgressReporter() : options.progress;
  const log: LogEntry[] = [];

  const startStep = step;
  const t0 = performance.now();
  let lastLogStep = step;
  let lastLogTime = t0;
  let stopped = false;
  let lrSum = 0;
  // The log window open at the checkpoint: its first line after a resume averages the same steps
  // as an uninterrupted run's (the sums were saved with the checkpoint).
  if (resumedLog && Number.isInteger(resumedLog.since) && resumedLog.since <= step && resumedLog.since >= 0 && [resumedLog.loss, resumedLog.gradNorm, resumedLog.lr].every(Number.isFinite)) {
    const [loss, norm] = [resumedLog.loss, resumedLog.gradNorm];
    tf.tidy(() => {
      lossSum.assign(tf.scalar(loss));
      normSum.assign(tf.scalar(norm));
    });
    lrSum = resumedLog.lr;
    lastLogStep = resumedLog.since;
  }

  const runStep = () => {
    const rng = new Rng(mixSeed(settings.seed, step));
    const idx = rng.ints(B, data.n);
    const noise = rng.fillNormal(new Float32Array(B * d));
    const tHost = chain ? rng.ints(B, chain.N) : rng.fillUniform(new Float32Array(B), settings.eps, sde.T);
    // Drawn after the others, so an unconditional run's stream is unchanged.
    const yHost = numClasses !== undefined ? dropLabels(rng, data.labels!, idx, numClasses, pUncond) : undefined;
    lrSum += adam.learningRate(step);
    tf.tidy(() => {
      const x0 = tf.gather(dataT, tf.tensor1d(idx, 'int32'));
      const z = tf.tensor(noise, [B, ...data.shape], 'float32');
      const tT = chain ? tf.tensor1d(tHost as Int32Array, 'int32') : tf.tensor1d(tHost as Float32Array, 'float32');
      const y = yHost ? tf.tensor1d(yHost, 'int32') : undefined;
      const lossFn = () => (chain ? ddpmLoss(rawModel.eps, chain, x0, tT, z, y) : dsmLoss(rawModel.eps, sde, x0, tT, z, settings.weighting, y));
      const { value, grads } = tf.variableGrads(lossFn, trainList);
      const named: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(trainVars)) named[k] = grads[v.name];
      const norm = adam.apply(trainVars, named);
      ema.update(trainVars, step);
      lossSum.assign(tf.add(lossSum, value));
      normSum.assign(tf.add(normSum, norm));
    });
    step++;
  };

  const writeLog = () => {
    const count = step - lastLogStep;
    if (count === 0) return;
    const timed = step - Math.max(lastLogStep, startStep);
    const now = performance.now();
    const [loss, gradNorm] = [lossSum.dataSync()[0] / count, normSum.dataSync()[0] / count];
    const entry: LogEntry = {
      step,
      loss,
      gradNorm,
      lr: lrSum / count,
      itPerSec: (timed * 1000) / (now - lastLogTime),
      elapsedSec: (now - t0) / 1000,
    };
    tf.tidy(() => {
      lossSum.assign(tf.zerosLike(lossSum));
      normSum.assign(tf.zerosLike(normSum));
    });
    lrSum = 0;
    lastLogStep = step;
    lastLogTime = now;
    log.push(entry);
    if (logPath) {
      try {
        fs.appendFileSync(logPath, JSON.stringify(entry) + '\n');
      } catch (e) {
        throw outFailure(logPath, e, savedStep >= 0 ? `the checkpoint of step ${savedStep} is kept` : 'no checkpoint was written');
      }
    }
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) throw diverged(nonFinite(loss, gradNorm));
    options.onLog?.(entry);
    const done = step - startStep;
    const rate = (done * 1000) / (now - t0);
    progress?.update(progressInfo(entry, rate));
  };
  const progressInfo = (e: LogEntry, rate: number): ProgressInfo => ({
    step: e.step,
    total: settings.iters,
    loss: e.loss,
    lr: e.lr,
    itPerSec: rate,
    elapsedSec: e.elapsedSec,
    etaSec: (settings.iters - e.step) / rate,
  });

  for (const line of [...notes, ...(options.notes ?? [])]) options.notify?.(line);
  try {
    while (step < settings.iters) {
      runStep();
      if (step % logEvery === 0 || step === settings.iters) writeLog();
      if (step % checkpointEvery === 0 && step < settings.iters) save();
      // Yield after every step, so signal handlers (Ctrl-C -> abort) run promptly.
      await new Promise<void>((r) => setImmediate(r));
      if (options.signal?.aborted) {
        stopped = step < settings.iters;
        break;
      }
    }
    writeLog();
    save();
  } catch (e) {
    progress?.finish();
    disposeParams(vars);
    adam.dispose();
    ema.dispose();
    throw e;
  } finally {
    tf.dispose([dataT, lossSum, normSum]);
  }
  const elapsed = (performance.now() - t0) / 1000;
  const stepsPerSec = (step - startStep) / elapsed;
  progress?.finish();
  return {
    step,
    config: config(),
    settings,
    log,
    stepsPerSec,
    stopped,
    model,
    rawModel,
    params: vars,
    ema: emaParams,
    optimizer: adam,
    dispose() {
      disposeParams(vars);
      adam.dispose();
      ema.dispose();
    },
  };
}
