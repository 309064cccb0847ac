import type * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { makeSDE } from '../sde/registry.js';
import type { ScoreFn, SDE, SDEConfig } from '../sde/types.js';
import { createNetwork, type Network } from './network.js';
import { checkParams, disposeParams, type Params } from './params.js';
import { ScoreModel, type EpsFn, type ModelConfig } from './score-model.js';
import { readWeights, syncDir, writeFileAtomic, writeWeights } from './weights-io.js';

/*
 * A checkpoint is a directory:
 *   config.json              CheckpointConfig: SDE, network, parameterization, data, step (written last)
 *   model.json + model-STEP.bin          the parameters
 *   ema.json + ema-STEP.bin              their exponential moving average (used for sampling)
 *   optimizer.json + optimizer-STEP.bin  optimizer state (e.g. Adam's m/NAME and v/NAME), meta: hyperparameters
 *   log.jsonl                            training losses (appended by train)
 * Each file is written atomically; config.json is replaced last, and every manifest records its
 * step, so an interrupted save is detected on load rather than read as a mix of two steps.
 */

export const CHECKPOINT_FORMAT = 'sde-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** How model coordinates map back to the data's: raw = mean + std * x (1 or D values each). */
export interface DataInfo {
  /** 'moons', 'mnist', a CSV path, ... */
  source: string;
  /** Per-sample shape. */
  shape: number[];
  normalization: { mean: number[]; std: number[] };
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

const WEIGHT_FILES = ['model', 'ema', 'optimizer'] as const;

/** Writes a checkpoint to dir (created if needed); see the layout above. Reads tensor values synchronously. */
export function saveCheckpoint(dir: string, data: CheckpointData): void {
  const step = data.config.step;
  if (!(Number.isInteger(step) && step >= 0)) throw new Error(`saveCheckpoint: step must be a non-negative integer, got ${step}`);
  fs.mkdirSync(dir, { recursive: true });
  writeWeights(dir, 'model', data.params, step);
  const present = new Set<string>(['model']);
  if (data.ema) {
    writeWeights(dir, 'ema', data.ema, step);
    present.add('ema');
  }
  if (data.optimizer) {
    writeWeights(dir, 'optimizer', data.optimizer.tensors, step, data.optimizer.meta);
    present.add('optimizer');
  }
  const config = { ...data.config, format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, files: [...present] };
  writeFileAtomic(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  // The commit is done; drop binaries of other steps and manifests this save did not write.
  for (const f of fs.readdirSync(dir)) {
    const m = /^(model|ema|optimizer)-(\d+)\.bin$/.exec(f);
    if (m && (Number(m[2]) !== step || !present.has(m[1]))) fs.rmSync(path.join(dir, f), { force: true });
    const j = /^(ema|optimizer)\.json$/.exec(f);
    if (j && !present.has(j[1])) fs.rmSync(path.join(dir, f), { force: true });
  }
  syncDir(dir);
}

/** True when dir holds a checkpoint's config.json. */
export function isCheckpoint(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'config.json'));
}

function readConfig(dir: string): CheckpointConfig & { files?: string[] } {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(dir)) throw new UsageError(`${dir}: no such checkpoint directory`);
  if (!fs.statSync(dir).isDirectory()) throw new UsageError(`${dir}: a checkpoint is a directory, this is a file`);
  if (!fs.existsSync(file)) throw new UsageError(`${dir}: not a checkpoint (no config.json)`);
  let config: CheckpointConfig & { files?: string[] };
  try {
    config = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (config?.format !== CHECKPOINT_FORMAT) throw new UsageError(`${file}: not an sde checkpoint (format '${String(config?.format)}')`);
  if (config.version !== CHECKPOINT_VERSION) throw new UsageError(`${file}: checkpoint version ${String(config.version)} is not supported (expected ${CHECKPOINT_VERSION})`);
  if (!(Number.isInteger(config.step) && config.step >= 0)) throw new UsageError(`${file}: bad step ${String(config.step)}`);
  if (!config.sde || !config.model?.network || !config.data) throw new UsageError(`${file}: missing sde, model or data section`);
  return config;
}

/** Only the checkpoint's config.json (no tensors). */
export function readCheckpointConfig(dir: string): CheckpointConfig {
  return readConfig(dir);
}

/**
 * Loads a checkpoint: tensors, the SDE it was trained on, the network and a ScoreModel on the
 * EMA weights (raw weights when there is no EMA). Problems are UsageErrors naming the file.
 */
export function loadCheckpoint(dir: string): LoadedCheckpoint {
  const config = readConfig(dir);
  const configFile = path.join(dir, 'config.json');
  let sde: SDE;
  let network: Network;
  try {
    sde = makeSDE(config.sde);
    network = createNetwork(config.model.network);
  } catch (e) {
    throw new UsageError(`${configFile}: ${(e as Error).message}`);
  }
  const files = config.files ?? ['model', 'ema', 'optimizer'].filter((f) => fs.existsSync(path.join(dir, `${f}.json`)));
  const loaded: Partial<Record<(typeof WEIGHT_FILES)[number], ReturnType<typeof readWeights>>> = {};
  try {
    for (const f of WEIGHT_FILES) {
      if (!files.includes(f)) continue;
      const w = readWeights(dir, f);
      loaded[f] = w;
      if (w.step !== config.step) {
        throw new UsageError(`${path.join(dir, `${f}.json`)}: step ${w.step} does not match config.json's step ${config.step} (an interrupted save?)`);
      }
    }
    if (!loaded.model) throw new UsageError(`${dir}: checkpoint has no model weights`);
    for (const f of ['model', 'ema'] as const) {
      if (!loaded[f]) continue;
      try {
        checkParams(network.specs, loaded[f]!.tensors, `${path.join(dir, `${f}.json`)}`);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
  } catch (e) {
    for (const w of Object.values(loaded)) disposeParams(w?.tensors);
    throw e;
  }
  const params = loaded.model!.tensors;
  const ema = loaded.ema?.tensors;
  const optimizer = loaded.optimizer ? { meta: loaded.optimizer.meta ?? {}, tensors: loaded.optimizer.tensors } : undefined;
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
