import path from 'node:path';
import { sampleSize, type Dataset } from '../data/dataset.js';
import { UsageError } from '../errors.js';
import { checkOption } from '../options/schema.js';
import { isCheckpoint, loadCheckpoint, type CheckpointConfig, type LoadedCheckpoint } from '../models/checkpoint.js';
import { defaultModelConfig } from '../models/factory.js';
import { createNetwork, type Network } from '../models/network.js';
import type { ModelConfig } from '../models/score-model.js';
import { discretize, type DiscreteChain } from '../sde/discrete.js';
import { DEFAULT_SDE_CONFIG, makeSDE } from '../sde/registry.js';
import type { SDE, SDEConfig } from '../sde/types.js';
import { DEFAULT_P_UNCOND, TRAIN_SCHEMA } from './options.js';
import { resumeSettings } from './resume.js';
import { checkSettings, defaultSettings, type TrainOptions, type TrainSettings } from './settings.js';

/**
 * A run, validated before anything is built or written: its settings, SDE, model and network,
 * the DDPM chain of the discrete objective, and on resume the loaded checkpoint (owned by the
 * plan until the training state takes its tensors).
 */
export interface TrainPlan {
  settings: TrainSettings;
  sdeConfig: SDEConfig;
  modelConfig: ModelConfig;
  sde: SDE;
  chain?: DiscreteChain;
  network: Network;
  /** The checkpoint continued by --resume. */
  resumed?: LoadedCheckpoint;
  /** Lines for the user (settings changed on resume). */
  notes: string[];
}

/** The settings, SDE and model of a run before its SDE and network are built. */
type PlanConfig = Pick<TrainPlan, 'settings' | 'sdeConfig' | 'modelConfig' | 'resumed' | 'notes'>;

/**
 * Validates a run: a fresh run's settings from the options over the defaults, a resumed run's
 * from the checkpoint in outDir (resume.ts: the options may change only a few). Throws a
 * UsageError naming the flag for anything wrong, disposing a checkpoint it loaded.
 */
export function planRun(options: TrainOptions): TrainPlan {
  const data = options.data;
  const d = sampleSize(data.shape);
  if (data.n < 1 || data.x.length !== data.n * d) throw new Error(`train: data has ${data.x.length} values, expected ${data.n} x ${d}`);
  if (options.checkpointEvery !== undefined) checkOption('checkpointEvery', TRAIN_SCHEMA.checkpointEvery, options.checkpointEvery);
  const planned = options.resume ? resumedConfig(options) : freshConfig(options);
  const { resumed } = planned;
  try {
    return { ...planned, ...buildPlan(planned, data) };
  } catch (e) {
    resumed?.dispose();
    // On resume the settings come from the checkpoint: a bad one is the checkpoint's fault, not a bug.
    throw resumed ? new UsageError(`--resume: ${path.join(options.outDir!, 'config.json')}: ${(e as Error).message}`) : e;
  }
}

/** The SDE, DDPM chain and network of checked settings, and the data's labels checked against the classes. */
function buildPlan(planned: PlanConfig, data: Dataset): Pick<TrainPlan, 'sde' | 'chain' | 'network'> {
  const { settings, modelConfig, resumed } = planned;
  checkSettings(settings, data.n);
  const sde = makeSDE(planned.sdeConfig);
  const chain = settings.objective === 'ddpm' ? discretize(sde, settings.timesteps, settings.discretization) : undefined;
  if (settings.eps >= sde.T) throw new UsageError(`--eps: ${settings.eps} must be below the SDE's end time ${sde.T}`);
  let network: Network;
  try {
    network = createNetwork(modelConfig.network);
  } catch (e) {
    throw new UsageError(`model: ${(e as Error).message}`);
  }
  if (resumed) checkResumedState(resumed, network);
  if (modelConfig.network.numClasses !== undefined) checkLabels(data, modelConfig.network.numClasses);
  return { sde, chain, network };
}

/** A fresh run: the given settings over the defaults, the default SDE and model for the data's shape. */
function freshConfig(options: TrainOptions): PlanConfig {
  const { data, outDir } = options;
  if (outDir && isCheckpoint(outDir)) {
    throw new UsageError(`--out: ${outDir} already holds a checkpoint; pass --resume to continue it or choose another directory`);
  }
  const settings: TrainSettings = {
    ...defaultSettings(data.shape),
    ...defined({
      objective: options.objective, weighting: options.weighting, timesteps: options.timesteps, discretization: options.discretization,
      eps: options.eps, iters: options.iters, batch: options.batch, lr: options.lr, warmup: options.warmup, gradClip: options.gradClip,
      beta1: options.beta1, beta2: options.beta2, adamEpsilon: options.adamEpsilon, ema: options.ema, seed: options.seed,
    }),
    checkpointEvery: options.checkpointEvery ?? 1000,
  };
  let modelConfig = options.model ?? defaultModelConfig(data.shape, options.parameterization ?? 'eps');
  // A given model config with numClasses is conditional too.
  if (options.conditional || modelConfig.network.numClasses !== undefined) {
    const K = modelConfig.network.numClasses ?? classesOf(data);
    modelConfig = { ...modelConfig, network: { ...modelConfig.network, numClasses: K } };
    settings.pUncond = options.pUncond ?? DEFAULT_P_UNCOND;
  } else if (options.pUncond !== undefined) {
    throw new UsageError('--p-uncond: only with --conditional (the probability of training a label as the null label)');
  }
  return { settings, sdeConfig: { ...DEFAULT_SDE_CONFIG, ...options.sde }, modelConfig, notes: [] };
}

/** A resumed run: the checkpoint in outDir, its settings with the changes the options may make. */
function resumedConfig(options: TrainOptions): PlanConfig {
  const { data, outDir } = options;
  if (!outDir) throw new UsageError('--resume: needs --out DIR holding the checkpoint to continue');
  if (!isCheckpoint(outDir)) throw new UsageError(`--resume: ${outDir} holds no checkpoint (no config.json)`);
  const resumed = loadCheckpoint(outDir);
  try {
    const c = resumed.config;
    if (c.data.shape.length !== data.shape.length || c.data.shape.some((v, i) => v !== data.shape[i])) {
      throw new UsageError(`--resume: the checkpoint in ${outDir} was trained on samples of shape [${c.data.shape}], the data has [${data.shape}]`);
    }
    if (!resumed.optimizer || !resumed.ema) throw new UsageError(`--resume: the checkpoint in ${outDir} has no optimizer state or EMA to continue from`);
    const { settings, changes } = resumeSettings(c, options, outDir, defaultSettings(data.shape));
    // Raising --iters is what a resume is for: recorded, not announced.
    const notes = changes
      .filter((ch) => ch.flag !== '--iters')
      .map((ch) => `${ch.flag}: ${ch.from} -> ${ch.to} from step ${ch.step} on (the checkpoint in '${outDir}' was trained with ${ch.from}; recorded in its config.json)`);
    checkResumedLabels(c, settings, options);
    return { settings, sdeConfig: c.sde, modelConfig: c.model, resumed, notes };
  } catch (e) {
    resumed.dispose();
    throw e;
  }
}

/** Label dropping on resume: kept from the checkpoint; --conditional needs a conditional one. Sets the default p_uncond of older checkpoints. */
function checkResumedLabels(c: CheckpointConfig, settings: TrainSettings, options: TrainOptions): void {
  const K = c.model.network?.numClasses;
  if (options.conditional && K === undefined) throw new UsageError(`--conditional: the checkpoint in ${options.outDir} is not class-conditional; --resume continues it as it was trained`);
  if (options.pUncond !== undefined && options.pUncond !== settings.pUncond) {
    throw new UsageError(`--p-uncond: the checkpoint in ${options.outDir} was trained with ${settings.pUncond === undefined ? 'no label dropping (not conditional)' : `p_uncond ${settings.pUncond}`}; --resume keeps it`);
  }
  if (K !== undefined && settings.pUncond === undefined) settings.pUncond = DEFAULT_P_UNCOND;
}

/** The labels of a conditional run's data: every one an integer in 0..numClasses-1. */
function checkLabels(data: Dataset, numClasses: number): void {
  const labels = labelsOf(data);
  for (let i = 0; i < labels.length; i++) {
    if (!(labels[i] >= 0 && labels[i] < numClasses)) throw new UsageError(`--conditional: ${data.name}: sample ${i + 1} has label ${labels[i]}, the model has classes 0..${numClasses - 1}`);
  }
}

/** Classes of a labelled data set: its numClasses when set, else max label + 1. */
function classesOf(data: Dataset): number {
  const labels = labelsOf(data);
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0) throw new UsageError(`--conditional: ${data.name}: sample ${i + 1} has the negative label ${labels[i]}`);
    max = Math.max(max, labels[i]);
  }
  return Math.max(max + 1, data.numClasses ?? 0);
}

/** The data's labels, one per sample, or the error of a conditional run without them. */
function labelsOf(data: Dataset): Int32Array {
  const labels = data.labels;
  if (!labels || labels.length !== data.n) throw new UsageError(`--conditional: the data ${data.name} has no class labels (use mnist or a CSV with --label-column K)`);
  return labels;
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

/** The fields of `o` that are set. */
export function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
