import type * as tf from '@tensorflow/tfjs';
import type { ScoreFn, SDE } from '../sde/types.js';

/** Names accepted by `--solver`. */
export const SOLVER_NAMES = ['euler-maruyama', 'reverse-diffusion', 'ddpm', 'pc', 'ode-euler', 'ode-heun', 'ode-rk45', 'ddim', 'dpm-solver', 'dpm-solver++'] as const;
export type SolverName = (typeof SOLVER_NAMES)[number];

/** Time grids from T down to eps. */
export const GRID_KINDS = ['uniform', 'quadratic', 'logsnr'] as const;
export type GridKind = (typeof GRID_KINDS)[number];

/** What a solver is, as data (read by the CLI, checked once by integrate). */
export interface SolverInfo {
  readonly name: SolverName;
  /** 'sde': stochastic sampler of the reverse SDE or chain; 'ode': the probability-flow ODE. */
  readonly kind: 'sde' | 'ode';
  /** Order of convergence (strong for ODEs, weak for SDE samplers) in the step size. */
  readonly order: number;
  readonly adaptive: boolean;
  /** Steps used when `steps` is not given (0 for the adaptive solver: it picks its own). */
  readonly defaultSteps: number;
  readonly defaultGrid: GridKind;
  /** Score evaluations per step, as a function of the options (PC: 1 + corrector steps). */
  readonly nfePerStep: string;
  /** Options besides the common ones that this solver reads. */
  readonly options: readonly (keyof SolverOptions)[];
  readonly description: string;
}

/** A source of standard normal noise: the tensor for (step, stage) of shape `shape`. */
export type NoiseSampler = (shape: number[], step: number, stage: number) => tf.Tensor;

/** Options of the individual solvers. */
export interface SolverOptions {
  /** ode-rk45: relative and absolute tolerances (default 1e-5 each). */
  rtol?: number;
  atol?: number;
  /** ode-rk45: first trial step (default (T - eps) / 100) and the cap on attempted steps (default 100000). */
  firstStep?: number;
  maxSteps?: number;
  /** ode-rk45: largest step size (default: none). */
  maxStep?: number;
  /** pc: signal-to-noise ratio of the Langevin corrector (default 0.16) and corrector steps per time (default 1). */
  snr?: number;
  correctorSteps?: number;
  /** pc: the predictor (default 'reverse-diffusion'). */
  predictor?: 'reverse-diffusion' | 'euler-maruyama';
  /** ddim: 0 is deterministic, 1 is ancestral sampling with the posterior variance (default 0). */
  eta?: number;
  /** dpm-solver: 2 or 3 (default 3). */
  order?: number;
  /** ddpm: posterior variance beta-tilde (default) or beta. */
  variance?: 'beta-tilde' | 'beta';
  /** ddpm: how the VP-SDE becomes the chain (default 'exact': alphaBar_i = mean(t_i)^2). */
  map?: 'exact' | 'score-sde';
}

/** What integrate takes besides the SDE, score and solver. */
export interface IntegrateOptions extends SolverOptions {
  /** Sample shape [n, ...] of the prior draw; needed when xT is not given. */
  shape?: number[];
  /** Start state at t = T (integrate does not dispose it). Default: sde.priorSample(shape, seed). */
  xT?: tf.Tensor;
  /** Number of time steps (default: the solver's defaultSteps). */
  steps?: number;
  /** Base seed of the prior draw and of all step noise (default 0). */
  seed?: number;
  /** End time eps (default 1e-3). */
  eps?: number;
  /** Time grid: a kind (default: the solver's) or explicit decreasing times from T to eps. */
  grid?: GridKind | readonly number[];
  /** One last Tweedie step x0 = (x + std(eps)^2 s(x, eps)) / mean(eps) (1 NFE). */
  denoise?: boolean;
  /**
   * States to keep: 'all' grid times (T included), or a list of times. Fixed-step solvers snap each
   * time to the nearest grid time; ode-rk45 steps onto it exactly. `times` reports the actual times.
   */
  saveAt?: 'all' | readonly number[];
  /** Noise source (default: seeded tf.randomNormal, per step and stage from the base seed). */
  noise?: NoiseSampler;
  /** Called after each step with the step count and the time reached (progress reporting). */
  onStep?: (step: number, t: number) => void;
  /**
   * Inpainting / imputation: coordinates where mask = 1 are known. At every time t the solver
   * reaches (the start state included) they are replaced by a draw of q(x_t | x_0 = values) =
   * mean(t) values + std(t) z (score_sde's replacement method; z from the noise source's own
   * stage IMPUTE_STAGE), and at the end (after denoise) set to the values exactly.
   */
  impute?: Imputation;
}

/**
 * Known values and their mask for IntegrateOptions.impute, each of the sample shape (the same for
 * every sample) or [n, ...sample shape] (one per sample). mask holds 1 (known) or 0 (sampled);
 * values are read only where mask = 1 and must be finite there. integrate does not dispose them.
 */
export interface Imputation {
  values: tf.Tensor;
  mask: tf.Tensor;
}

export interface SolveResult {
  /** Final state (caller disposes). */
  x: tf.Tensor;
  /** Number of score evaluations. */
  nfe: number;
  /** Saved states (caller disposes) and their times, when saveAt was given. */
  path?: tf.Tensor[];
  times?: number[];
  /** ode-rk45: accepted and rejected steps. */
  accepted?: number;
  rejected?: number;
}

/** Everything a step sees: the problem, the counted score, the noise source, the options. */
export interface StepContext {
  sde: SDE;
  /** The score, counted: every call is one NFE. */
  score: ScoreFn;
  noise: NoiseSampler;
  options: IntegrateOptions;
  /**
   * A map of the state applied after every step at the time reached, the step number counting
   * from 1 (integrate applies it to the start state with step 0): the imputation's replacement.
   * Runs inside tf.tidy and must not dispose x. Undefined when there is none.
   */
  afterStep?: (x: tf.Tensor, t: number, step: number) => tf.Tensor;
}

/**
 * A fixed-step solver prepared for one run: its times (times[0] = start, times[N] = end) and a
 * step i: x at times[i] -> x at times[i + 1]. step runs inside tf.tidy; it must not dispose x.
 */
export interface Stepper {
  times: Float64Array;
  step(x: tf.Tensor, i: number): tf.Tensor;
  /** Frees what a multistep solver keeps between steps; integrate calls it once the run ends. */
  dispose?(): void;
}
