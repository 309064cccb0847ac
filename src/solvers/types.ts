import type * as tf from '@tensorflow/tfjs';
import type { OptionsOf, Schema } from '../options/schema.js';
import type { ScoreFn, SDE } from '../sde/types.js';
import type { NoiseKind } from './brownian.js';
import type { SolverName, SolverOptions } from './registry.js';

export type { SolverName, SolverOptions };

/** Time grids from T down to eps. */
export const GRID_KINDS = ['uniform', 'quadratic', 'logsnr', 'karras'] as const;
export type GridKind = (typeof GRID_KINDS)[number];

/** What a solver is, as data (read by the CLI, checked once by integrate). */
export interface SolverInfo<N extends string = SolverName> {
  readonly name: N;
  /** 'sde': stochastic sampler of the reverse SDE or chain; 'ode': the probability-flow ODE. */
  readonly kind: 'sde' | 'ode';
  /** Order of convergence (strong for ODEs, weak for SDE samplers) in the step size. */
  readonly order: number;
  readonly adaptive: boolean;
  /** Steps used when `steps` is not given (0 for an adaptive solver: it picks its own). */
  readonly defaultSteps: number;
  readonly defaultGrid: GridKind;
  /**
   * The solver runs on times of its own (ddpm: its chain's) instead of a time grid from T to
   * eps, takes no `grid`, and its last step outputs the denoised x_0 (no `denoise` step).
   */
  readonly ownTimes?: boolean;
  /** One line for `--help` and the README. */
  readonly description: string;
}

/** The options every solver reads (integrate's), besides each solver's own. */
export interface CommonSolverOptions {
  /** Number of time steps (default: the solver's defaultSteps). */
  steps?: number;
  /** Base seed of the prior draw and of all step noise (default 0). */
  seed?: number;
  /** End time eps (default 1e-3). */
  eps?: number;
  /** Time grid: a kind (default: the solver's) or explicit decreasing times from T to eps. */
  grid?: GridKind | readonly number[];
  /** Exponent rho of the karras grid (default 7). */
  rho?: number;
  /** 'independent' (default): fresh normals per step; 'brownian': increments of one seeded Brownian path in t, shared across step counts. */
  noise?: NoiseKind;
  /** One last Tweedie step x0 = (x + std(eps)^2 s(x, eps)) / mean(eps) (1 NFE). */
  denoise?: boolean;
}

/**
 * A solver as one module: its description, the schema of its own options (merged over the
 * common ones, e.g. a larger minimum of `steps`), its NFE as a function of the options (steps
 * resolved; the final denoise step is counted by integrate), domain checks that a schema cannot
 * say, and either a fixed-step constructor or an adaptive run.
 */
interface SolverModuleBase<N extends string, S extends Schema> {
  readonly info: SolverInfo<N>;
  readonly options: S;
  /** Score evaluations of a run with these options (steps given); absent: one per step (an adaptive solver: unknown in advance). */
  nfe?(options: OptionsOf<S> & { steps: number }): number;
  /** Checks beyond the schema's ranges (e.g. which SDEs the solver is defined for). */
  check?(sde: SDE, options: CommonSolverOptions & RunOptions & OptionsOf<S>): void;
}

/** A fixed-step solver: prepared for one run on a grid (times[0] = T .. times[N] = eps), or on its own times (info.ownTimes). */
export interface FixedStepSolverModule<N extends string = string, S extends Schema = Schema> extends SolverModuleBase<N, S> {
  create(ctx: StepContext<OptionsOf<S>>, run: { steps: number; eps: number; grid?: Float64Array }): Stepper;
}

/** What an adaptive run returns. */
export interface AdaptiveRun {
  x: tf.Tensor;
  accepted: number;
  rejected: number;
  path: tf.Tensor[];
  times: number[];
}

/** An adaptive solver: it runs from T (state x0) to tEnd picking its own steps, saving at saveAt. */
export interface AdaptiveSolverModule<N extends string = string, S extends Schema = Schema> extends SolverModuleBase<N, S> {
  run(ctx: StepContext<OptionsOf<S>>, x0: tf.Tensor, tEnd: number, saveAt: readonly number[] | 'all', ownsX0: boolean): AdaptiveRun;
}

export type SolverModule<N extends string = string, S extends Schema = Schema> = FixedStepSolverModule<N, S> | AdaptiveSolverModule<N, S>;

/** Declares a solver module, keeping its name and option types; an adaptive one has `run`, a fixed-step one `create`. */
export function defineSolver<const N extends string, const S extends Schema>(m: SolverModule<N, S>): SolverModule<N, S> {
  if (m.info.adaptive !== 'run' in m) throw new Error(`solver ${m.info.name}: info.adaptive says ${m.info.adaptive}, the module has ${'run' in m ? 'run' : 'create'}`);
  return m;
}

/**
 * The time interval a stochastic draw stands for, from the current time `from` to `to` (from > to
 * in reverse time). With Brownian noise the draw is the normalised increment
 * (W(from) - W(to)) / sqrt(|from - to|) of one seeded Brownian path W in t, so runs at different
 * step counts follow the same path; the per-step noise ignores it.
 */
export interface NoiseInterval {
  from: number;
  to: number;
}

/**
 * A source of standard normal noise: the tensor for (step, stage) of shape `shape`. A solver
 * passes `interval` for every draw that is a Brownian increment of the reverse SDE's path
 * (Langevin corrector noise, at one time, passes none).
 */
export type NoiseSampler = (shape: number[], step: number, stage: number, interval?: NoiseInterval) => tf.Tensor;

/** What integrate takes besides the SDE, score and solver: the common options, the run's, and the solvers' own. */
export type IntegrateOptions = CommonSolverOptions & RunOptions & SolverOptions;

/** The options of one run that are not options of a solver: start state, saved path, noise, callbacks, imputation. */
export interface RunOptions {
  /** Sample shape [n, ...] of the prior draw; needed when xT is not given. */
  shape?: number[];
  /** Start state at t = T (integrate does not dispose it). Default: sde.priorSample(shape, seed). */
  xT?: tf.Tensor;
  /**
   * States to keep: 'all' grid times (T included), or a list of times. Fixed-step solvers snap each
   * time to the nearest grid time; ode-rk45 steps onto it exactly. `times` reports the actual times.
   */
  saveAt?: 'all' | readonly number[];
  /**
   * Noise source for tests and library users (default: normalTensor (host-side normals, the same
   * on every backend), per step and stage from the base seed, or the Brownian path of `noise`).
   */
  noiseSampler?: NoiseSampler;
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
export interface StepContext<O extends object = object> {
  sde: SDE;
  /** The score, counted: every call is one NFE. */
  score: ScoreFn;
  noise: NoiseSampler;
  /** The run's options: the common ones and the solver's own (O). */
  options: CommonSolverOptions & RunOptions & O;
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
