import type { Dataset } from '../data/dataset.js';
import { UsageError } from '../errors.js';
import type { DataInfo } from '../models/checkpoint.js';
import type { ModelConfig, Parameterization } from '../models/score-model.js';
import { defaultsOf, parseOptions } from '../options/schema.js';
import type { DiscretizationMap } from '../sde/discrete.js';
import type { SDEConfig } from '../sde/types.js';
import type { LogEntry } from './logger.js';
import type { Objective, Weighting } from './losses.js';
import { TRAIN_SCHEMA } from './options.js';
import type { ProgressReporter } from './progress.js';

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

/** Defaults: the schema's (TRAIN_SCHEMA), with batch 512, lr 1e-3, warm-up 100 for vectors (MLP) and batch 32, lr 2e-4, warm-up 500 for images (U-Net). */
export function defaultSettings(shape: readonly number[]): TrainSettings {
  const image = shape.length === 3;
  const { checkpointEvery: _cadence, ...fixed } = defaultsOf(TRAIN_SCHEMA);
  return { ...(fixed as Omit<TrainSettings, 'batch' | 'lr' | 'warmup'>), batch: image ? 32 : 512, lr: image ? 2e-4 : 1e-3, warmup: image ? 500 : 100 };
}

/** Checks settings against TRAIN_SCHEMA (errors name the field's flag) and the batch against the data's n. */
export function checkSettings(s: TrainSettings, n: number): void {
  parseOptions(TRAIN_SCHEMA, s as unknown as Record<string, unknown>, { unknown: 'ignore' });
  if (s.batch > n) throw new UsageError(`--batch: ${s.batch} is larger than the data (${n} samples); pass a smaller --batch`);
}

