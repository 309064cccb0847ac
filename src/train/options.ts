import { choice, type Schema } from '../options/schema.js';
import { DISCRETIZATION_MAPS } from '../sde/discrete.js';
import { DEFAULT_TRAIN_EPS, OBJECTIVES, WEIGHTINGS } from './losses.js';

/** Default p_uncond of class-conditional training (Ho & Salimans 2022 use 0.1 or 0.2). */
export const DEFAULT_P_UNCOND = 0.1;

/**
 * The training settings (TrainSettings' fields), declared once: train() checks a run's settings
 * against it and `sde train` makes its flags from it. batch, lr and warmup have no fixed default
 * (they depend on the data: defaultSettings); pUncond applies to class-conditional runs only.
 */
export const TRAIN_SCHEMA = {
  objective: choice(OBJECTIVES, { default: 'dsm', doc: 'dsm: t ~ U[eps, T]; ddpm: L_simple on --timesteps integer steps' }),
  weighting: choice(WEIGHTINGS, { default: 'eps', doc: 'dsm weighting: eps (lambda = std^2) | likelihood (lambda = g^2)' }),
  timesteps: { type: 'number', integer: true, min: 2, max: 1_000_000, default: 1000, doc: 'ddpm objective: steps N of the chain' },
  discretization: choice(DISCRETIZATION_MAPS, { default: 'exact', doc: 'ddpm objective: the VP -> chain map' }),
  eps: { type: 'number', above: 0, below: 1, default: DEFAULT_TRAIN_EPS, doc: 'training times t ~ U[eps, T] (below the SDE\'s T)' },
  iters: { type: 'number', integer: true, min: 1, default: 10_000, doc: 'total training steps; with --resume it may be raised' },
  batch: { type: 'number', integer: true, min: 1, doc: 'batch size (default 512, images 32)' },
  lr: { type: 'number', above: 0, doc: 'Adam learning rate (default 1e-3, images 2e-4); may change on --resume' },
  warmup: { type: 'number', integer: true, min: 0, doc: 'linear learning-rate warm-up steps (default 100, images 500); may change on --resume' },
  gradClip: { type: 'number', min: 0, default: 1, doc: 'global gradient-norm clip (0: none); may change on --resume' },
  beta1: { type: 'number', min: 0, below: 1, default: 0.9, doc: 'Adam beta1' },
  beta2: { type: 'number', min: 0, below: 1, default: 0.999, doc: 'Adam beta2' },
  adamEpsilon: { type: 'number', above: 0, default: 1e-8, doc: 'Adam epsilon' },
  ema: { type: 'number', min: 0, below: 1, noun: 'a decay', default: 0.999, doc: 'EMA decay of the weights used for sampling' },
  seed: { type: 'number', integer: true, min: 0, default: 0, doc: 'seed of initialisation, batches and noise' },
  pUncond: { type: 'number', min: 0, below: 1, noun: 'a probability', doc: `with --conditional: probability of training a sample with the null label (default ${DEFAULT_P_UNCOND})` },
  checkpointEvery: { type: 'number', integer: true, min: 1, default: 1000, doc: 'steps between checkpoints; may change on --resume' },
} as const satisfies Schema;

/** Settings a resume may change (each change is announced and recorded); all others are fixed by the checkpoint. */
export const CHANGEABLE_ON_RESUME = ['iters', 'lr', 'warmup', 'gradClip', 'checkpointEvery'] as const;
