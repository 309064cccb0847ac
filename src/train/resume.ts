import { UsageError } from '../errors.js';
import type { CheckpointConfig } from '../models/checkpoint.js';
import type { ModelConfig, Parameterization } from '../models/score-model.js';
import { SDE_SCHEMA } from '../sde/options.js';
import type { SDEConfig } from '../sde/types.js';
import type { SettingChange, TrainSettings } from './settings.js';
import { CHANGEABLE_ON_RESUME, TRAIN_SCHEMA } from './options.js';
import { flagName } from '../options/schema.js';

/*
 * Strict resume: a resumed run is the run in the checkpoint. Every setting that defines it (the
 * SDE and its schedule, objective, timesteps, parameterization, weighting, batch, seed, EMA,
 * network, label dropping) comes from the checkpoint; one given explicitly with another value
 * is an error naming it and both values. A few may change on resume: the total --iters (only
 * upwards), --lr, --warmup, --grad-clip and --checkpoint-every; each change is reported and
 * recorded in the checkpoint's training.changes.
 */

/** What a resume was asked for: the explicitly given settings (undefined: not given). */
export interface ResumeRequest extends Partial<TrainSettings> {
  sde?: Partial<SDEConfig>;
  model?: ModelConfig;
  parameterization?: Parameterization;
}

/** Settings fixed by the checkpoint (p_uncond is train()'s own check), with the flag that sets each. */
const FIXED = (Object.keys(TRAIN_SCHEMA) as (keyof typeof TRAIN_SCHEMA)[])
  .filter((k) => k !== 'pUncond' && !(CHANGEABLE_ON_RESUME as readonly string[]).includes(k))
  .map((k) => [k, `--${flagName(k)}`] as const);

/** Settings a resume may change, with their flags. */
const CHANGEABLE = CHANGEABLE_ON_RESUME.map((k) => [k, `--${flagName(k)}`] as const);

/** The SDE's fields (fixed by the checkpoint), with their flags. */
const SDE_FLAGS = (Object.keys(SDE_SCHEMA) as (keyof SDEConfig)[]).map((k) => [k, `--${flagName(k)}`] as const);

const show = (v: unknown) => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v));

/**
 * The settings of a resumed run: the checkpoint's (`base` fills settings it predates), with the
 * changeable ones the request gives. A request that contradicts the checkpoint is a UsageError;
 * so is an --iters not above the checkpoint's step, or a complete run resumed without one
 * (unless checkIters is false: a first look before the checkpoint's files are read).
 */
export function resumeSettings(stored: CheckpointConfig, request: ResumeRequest, dir: string, base: TrainSettings, checkIters = true): { settings: TrainSettings; changes: SettingChange[] } {
  const recorded = { ...base, ...(stored.training as Partial<TrainSettings>) };
  const conflict = (flag: string, was: unknown, given: unknown) =>
    new UsageError(`${flag}: the checkpoint in '${dir}' was trained with ${show(was)}, not ${show(given)}; --resume keeps it (drop ${flag}, or start a new run in another --out)`);
  for (const [key, flag] of SDE_FLAGS) {
    const given = request.sde?.[key];
    if (given !== undefined && given !== stored.sde[key]) throw conflict(flag, stored.sde[key], given);
  }
  if (request.parameterization !== undefined && request.parameterization !== stored.model.parameterization) {
    throw conflict('--param', stored.model.parameterization, request.parameterization);
  }
  if (request.model !== undefined && JSON.stringify(request.model) !== JSON.stringify(stored.model)) {
    throw new UsageError(`model: the checkpoint in '${dir}' has another network or parameterization; --resume keeps it`);
  }
  for (const [key, flag] of FIXED) {
    const given = request[key];
    if (given !== undefined && given !== recorded[key]) throw conflict(flag, recorded[key], given);
  }
  const step = stored.step;
  if (checkIters && request.iters !== undefined && request.iters <= step) {
    throw new UsageError(`--iters: the checkpoint in '${dir}' is at step ${step} already; --iters is the total number of steps, give more than ${step} to continue`);
  }
  if (checkIters && request.iters === undefined && recorded.iters <= step) {
    throw new UsageError(`--resume: the run in '${dir}' is complete (step ${step} of ${recorded.iters}); give --iters above ${step} to continue it`);
  }
  const settings: TrainSettings = { ...recorded };
  const changes: SettingChange[] = [];
  for (const [key, flag] of CHANGEABLE) {
    const given = request[key];
    const was = recorded[key] ?? (key === 'checkpointEvery' ? given : undefined);
    if (given === undefined || given === was) continue;
    (settings as unknown as Record<string, unknown>)[key] = given;
    changes.push({ step, flag, from: was as number, to: given as number });
  }
  settings.changes = [...(recorded.changes ?? []), ...changes];
  if (settings.changes.length === 0) delete settings.changes;
  return { settings, changes };
}
