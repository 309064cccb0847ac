import type * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { makeSDE } from '../sde/registry.js';
import type { ScoreFn, SDE, SDEConfig } from '../sde/types.js';
import { createNetwork, type Network } from './network.js';
import { checkParams, disposeParams, type Params } from './params.js';
import { parseParameterization, ScoreModel, type EpsFn, type ModelConfig } from './score-model.js';
import { removeStaleTemps, syncDir, writeFailure, writeFileAtomic } from '../io/atomic.js';
import { checkWeightsEntry, readWeights, writeWeights, type WeightsEntry } from './weights-io.js';

/*
 * A checkpoint is a directory:
 *   config.json                 CheckpointConfig: SDE, network, parameterization, data, step, and
 *                               `weights`: for each file below its name, size, sha256 and tensors
 *   model-STEP-HASH.bin         the parameters
 *   ema-STEP-HASH.bin           their exponential moving average (used for sampling)
 *   optimizer-STEP-HASH.bin     optimizer state (e.g. Adam's m/NAME and v/NAME); its entry's meta
 *                               holds the hyperparameters and step
 *   log.jsonl                   training losses (appended by train)
 * A save writes the new binary files (atomically, under new names), then replaces config.json
 * atomically (the commit), then deletes the files the old config.json referred to. A save killed
 * at any point leaves the previous checkpoint whole; a damaged file fails its checksum on load.
 * A save that fails (a full disk) removes the files it wrote and leaves the previous checkpoint.
 * A reader that races with a save (config.json read, then its files deleted by the next commit)
 * sees config.json change and reads again, so it always gets one whole checkpoint.
 */

export const CHECKPOINT_FORMAT = 'sde-checkpoint';
export const CHECKPOINT_VERSION = 2;

/** How model coordinates map back to the data's: raw = mean + std * x (1 or D values each). */
export interface DataInfo {
  /** 'moons', 'mnist', a CSV path, ... */
  source: string;
  /** Per-sample shape. */
  shape: number[];
  normalization: { mean: number[]; std: number[] };
  /** Number of samples (for a built-in set or mnist: how many were drawn, so a resume draws them again). */
  n?: number;
  /** CSV data: the 0-based column holding class labels. */
  labelColumn?: number;
  /** CSV data: sha256 of the file's bytes (a resume checks that the file is the same). */
  sha256?: string;
}

/** Sums of the log window open at a checkpoint, so a resumed run's next log line averages the same steps. */
export interface LogWindow {
  /** Step of the last log line (the window holds steps since+1 .. step). */
  since: number;
  loss: number;
  gradNorm: number;
  lr: number;
}

export interface CheckpointConfig {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  step: number;
  sde: SDEConfig;
  model: ModelConfig;
  data: DataInfo;
  /** Training settings (objective, eps, optimizer, seed, ...), owned by train; opaque here. */
  training?: Record<string, unknown>;
  /** The open log window (set by train). */
  log?: LogWindow;
  /** The weights files (set by saveCheckpoint, ignored when given to it). */
  weights?: Partial<Record<WeightsName, WeightsEntry>>;
}

export interface OptimizerState {
  /** Hyperparameters and counters (JSON). */
  meta: Record<string, unknown>;
  tensors: Params;
}

/** What a checkpoint holds, in memory. */
export interface CheckpointData {
  config: CheckpointConfig;
  params: Params;
  ema?: Params;
  optimizer?: OptimizerState;
}

/** A loaded checkpoint: its tensors plus the SDE and the score model ready for a solver. */
export interface LoadedCheckpoint extends CheckpointData {
  step: number;
  sde: SDE;
  network: Network;
  /** The model on the EMA weights when there are any, else on the raw weights. */
  model: ScoreModel;
  scoreFn: ScoreFn;
  epsFn: EpsFn;
  /** Disposes every tensor the checkpoint loaded. */
  dispose(): void;
}

type WeightsName = 'model' | 'ema' | 'optimizer';

/**
 * Writes a checkpoint to dir (created if needed); see the layout above. Reads tensor values
 * synchronously. A write refused by the machine (full disk, quota, permissions) is a UsageError
 * naming the file; the files this save wrote are removed and the previous checkpoint stays whole.
 */
export function saveCheckpoint(dir: string, data: CheckpointData): void {
  const step = data.config.step;
  if (!(Number.isInteger(step) && step >= 0)) throw new Error(`saveCheckpoint: step must be a non-negative integer, got ${step}`);
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const write = (name: WeightsName, tensors: Params, meta?: Record<string, unknown>): WeightsEntry => {
    const entry = writeWeights(dir, name, tensors, step, meta);
    written.push(entry.file);
    return entry;
  };
  const weights: Partial<Record<WeightsName, WeightsEntry>> = {};
  try {
    weights.model = write('model', data.params);
    if (data.ema) weights.ema = write('ema', data.ema);
    if (data.optimizer) weights.optimizer = write('optimizer', data.optimizer.tensors, data.optimizer.meta);
    const config = { ...data.config, format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, weights };
    const file = path.join(dir, 'config.json');
    try {
      writeFileAtomic(file, JSON.stringify(config, null, 2) + '\n');
    } catch (e) {
      throw writeFailure(file, e);
    }
  } catch (e) {
    // Not committed: remove what this save wrote (unless the current config.json lists it).
    const current = new Set(committedFiles(dir));
    for (const f of written) if (!current.has(f)) fs.rmSync(path.join(dir, f), { force: true });
    throw e;
  }
  // Committed: drop weights files the new config.json does not refer to and temporary files of killed saves.
  const keep = new Set(Object.values(weights).map((w) => w.file));
  for (const f of fs.readdirSync(dir)) {
    if (/^(model|ema|optimizer)-\d+(-[0-9a-f]+)?\.bin$/.test(f) && !keep.has(f)) fs.rmSync(path.join(dir, f), { force: true });
  }
  removeStaleTemps(dir);
  syncDir(dir);
}

/** The weights files dir's config.json lists (none when it is missing or unreadable). */
function committedFiles(dir: string): string[] {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as CheckpointConfig;
    return Object.values(c.weights ?? {}).map((w) => String(w?.file));
  } catch {
    return [];
  }
}

/** True when dir holds a checkpoint's config.json. */
export function isCheckpoint(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'config.json'));
}

type StoredConfig = CheckpointConfig & Required<Pick<CheckpointConfig, 'weights'>>;

/** config.json's text (the errors of a missing directory or file are UsageErrors). */
function readConfigText(dir: string): string {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(dir)) throw new UsageError(`${dir}: no such checkpoint directory`);
  if (!fs.statSync(dir).isDirectory()) throw new UsageError(`${dir}: a checkpoint is a directory, this is a file`);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${dir}: not a checkpoint (no config.json)`);
    throw new UsageError(`${file}: unreadable (${code ?? (e as Error).message})`);
  }
}

function readConfig(dir: string, text = readConfigText(dir)): StoredConfig {
  const file = path.join(dir, 'config.json');
  let config: StoredConfig;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (config?.format !== CHECKPOINT_FORMAT) throw new UsageError(`${file}: not an sde checkpoint (format '${String(config?.format)}')`);
  if (config.version !== CHECKPOINT_VERSION) throw new UsageError(`${file}: checkpoint version ${String(config.version)} is not supported (expected ${CHECKPOINT_VERSION}; retrain with this version of sde)`);
  if (!(Number.isInteger(config.step) && config.step >= 0)) throw new UsageError(`${file}: bad step ${String(config.step)}`);
  if (!config.sde || !config.model?.network || !config.data) throw new UsageError(`${file}: missing sde, model or data section`);
  const data = config.data as Partial<DataInfo>;
  const shapeOk = Array.isArray(data.shape) && data.shape.length > 0 && data.shape.every((d) => Number.isInteger(d) && d > 0);
  const norm = data.normalization;
  const d = shapeOk ? data.shape!.reduce((a, b) => a * b, 1) : 0;
  const fits = (v: unknown, positive: boolean) =>
    Array.isArray(v) && (v.length === 1 || v.length === d) && v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0));
  const normOk = fits(norm?.mean, false) && fits(norm?.std, true);
  if (!shapeOk || !normOk) throw new UsageError(`${file}: bad data section: expected a shape of positive integers and a normalization of 1 or ${d || 'D'} finite means and positive stds`);
  if (typeof config.weights !== 'object' || config.weights === null || !config.weights.model) throw new UsageError(`${file}: no weights listed`);
  for (const [name, entry] of Object.entries(config.weights)) checkWeightsEntry(entry, `${file}: weights.${name}`);
  return config;
}

/** Only the checkpoint's config.json (no tensors). */
export function readCheckpointConfig(dir: string): StoredConfig {
  return readConfig(dir);
}

/**
 * Loads a checkpoint: tensors, the SDE it was trained on, the network and a ScoreModel on the
 * EMA weights (raw weights when there is no EMA). Problems are UsageErrors naming the file.
 */
export function loadCheckpoint(dir: string): LoadedCheckpoint {
  // A save may commit a new config.json and delete the files of the one read here while they are
  // being read: when config.json changed in between, read the new one (a few times, then give up).
  for (let attempt = 1; ; attempt++) {
    const text = readConfigText(dir);
    try {
      return loadCheckpointAs(dir, readConfig(dir, text));
    } catch (e) {
      let now: string | undefined;
      try {
        now = readConfigText(dir);
      } catch {
        now = undefined;
      }
      if (now === text || now === undefined || attempt >= MAX_READ_ATTEMPTS) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(50, 2 * attempt));
    }
  }
}

/** How often loadCheckpoint reads again a checkpoint that changed while it was read. */
const MAX_READ_ATTEMPTS = 50;

function loadCheckpointAs(dir: string, config: StoredConfig): LoadedCheckpoint {
  const configFile = path.join(dir, 'config.json');
  let sde: SDE;
  let network: Network;
  try {
    sde = makeSDE(config.sde);
    network = createNetwork(config.model.network);
    parseParameterization(String(config.model.parameterization), 'model.parameterization');
    if (config.model.inputScaling !== 'none' && config.model.inputScaling !== 'marginal') throw new Error(`model.inputScaling: expected none or marginal, got ${JSON.stringify(config.model.inputScaling)}`);
    const takes = network.config.arch === 'mlp' ? [network.config.dim] : network.config.shape;
    if (String(takes) !== String(config.data.shape)) throw new Error(`the network takes samples of shape [${takes}], the data section says [${config.data.shape}]`);
  } catch (e) {
    throw new UsageError(`${configFile}: ${(e as Error).message}`);
  }
  const loaded: Partial<Record<WeightsName, Params>> = {};
  try {
    for (const f of ['model', 'ema', 'optimizer'] as const) {
      const entry = config.weights[f];
      if (entry) loaded[f] = readWeights(dir, entry);
    }
    for (const f of ['model', 'ema'] as const) {
      if (!loaded[f]) continue;
      try {
        checkParams(network.specs, loaded[f]!, `${path.join(dir, config.weights[f]!.file)}`);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
  } catch (e) {
    for (const w of Object.values(loaded)) disposeParams(w);
    throw e;
  }
  const params = loaded.model!;
  const ema = loaded.ema;
  const optimizer = loaded.optimizer ? { meta: config.weights.optimizer!.meta ?? {}, tensors: loaded.optimizer } : undefined;
  const model = new ScoreModel(sde, config.model, ema ?? params, network);
  return {
    config,
    step: config.step,
    params,
    ...(ema ? { ema } : {}),
    ...(optimizer ? { optimizer } : {}),
    sde,
    network,
    model,
    scoreFn: model.score,
    epsFn: model.eps,
    dispose() {
      disposeParams(params);
      disposeParams(ema);
      disposeParams(optimizer?.tensors);
    },
  };
}

/** Values of named tensors as plain arrays (for tests and reports). */
export function paramsToArrays(params: Params): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(params)) out[k] = (v as tf.Tensor).dataSync() as Float32Array;
  return out;
}
