import type * as tf from '@tensorflow/tfjs';
import type { ScoreFn, SDE } from '../sde/types.js';
import { integrate } from '../solvers/integrate.js';
import { SOLVERS } from '../solvers/registry.js';
import type { IntegrateOptions, SolverName } from '../solvers/types.js';
import { energyDistance, slicedWasserstein, type Points } from './metrics.js';

/** Energy distance is O(n^2): it uses at most this many points of each set. */
export const ENERGY_MAX_POINTS = 4000;

/** Sliced W2 (256 directions) and energy distance of samples against a reference set. */
export function sampleQuality(samples: Points, reference: Points, seed = 7): { sw2: number; energy: number } {
  return {
    sw2: slicedWasserstein(samples.slice(0, reference.length), reference, 256, seed),
    energy: energyDistance(samples.slice(0, ENERGY_MAX_POINTS), reference.slice(0, ENERGY_MAX_POINTS)),
  };
}

export interface ComparisonRun {
  solver: SolverName;
  /** Steps of a fixed-step solver, or rtol = atol of the adaptive one. */
  steps?: number;
  tolerance?: number;
}

/** A result's numbers without its samples: a report row, a line of the JSON summary. */
export function resultRow({ points: _points, ...row }: ComparisonResult): Omit<ComparisonResult, 'points'> {
  return row;
}

/** The runs of a comparison: each fixed-step solver at each step count, the adaptive one at each tolerance. */
export function comparisonRuns(solvers: readonly SolverName[], steps: readonly number[], tolerances: readonly number[]): ComparisonRun[] {
  return solvers.flatMap((solver): ComparisonRun[] =>
    SOLVERS[solver].adaptive ? tolerances.map((tolerance) => ({ solver, tolerance })) : steps.map((s) => ({ solver, steps: s })),
  );
}

/**
 * The name of a comparison run in tables and plots: the solver, and for the adaptive one its
 * tolerance ('ode-rk45 tol 1e-5'), which is what it was asked for (its step count is an outcome).
 */
export function runLabel(run: { solver: string; tolerance?: number }): string {
  return run.tolerance === undefined ? run.solver : `${run.solver} tol ${run.tolerance.toExponential()}`;
}

export interface ComparisonResult {
  solver: SolverName;
  /** Steps of a fixed-step solver, or the accepted steps of the adaptive one. */
  steps: number;
  /** The adaptive solver's rtol = atol (absent for a fixed-step solver). */
  tolerance?: number;
  nfe: number;
  seconds: number;
  sw2: number;
  energy: number;
  /** The samples in data space. */
  points: Points;
}

export interface CompareOptions {
  sde: SDE;
  score: ScoreFn;
  /** [n, ...sample shape]. */
  shape: number[];
  /** Maps a batch of samples to rows in data space. */
  toPoints: (x: tf.Tensor) => Points;
  reference: Points;
  runs: readonly ComparisonRun[];
  /** Options shared by every run (seed, eps, ...). */
  solverOptions?: IntegrateOptions;
  onResult?: (r: ComparisonResult) => void;
}

/**
 * Runs each solver configuration on the same SDE, score and seed, timing it (samples read back
 * to the host included) and scoring its samples against the reference.
 */
export function compareSolvers(options: CompareOptions): ComparisonResult[] {
  const results: ComparisonResult[] = [];
  for (const run of options.runs) {
    const started = performance.now();
    const r = integrate(options.sde, options.score, run.solver, {
      ...options.solverOptions,
      ...(run.tolerance === undefined ? { steps: run.steps } : { rtol: run.tolerance, atol: run.tolerance }),
      shape: options.shape,
    });
    const points = options.toPoints(r.x);
    const seconds = (performance.now() - started) / 1000;
    r.x.dispose();
    const result: ComparisonResult = {
      solver: run.solver,
      steps: run.steps ?? r.accepted ?? 0,
      ...(run.tolerance === undefined ? {} : { tolerance: run.tolerance }),
      nfe: r.nfe,
      seconds,
      ...sampleQuality(points, options.reference),
      points,
    };
    options.onResult?.(result);
    results.push(result);
  }
  return results;
}
