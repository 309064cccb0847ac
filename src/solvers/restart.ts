import * as tf from '@tensorflow/tfjs';
import { OptionError, type OptionsOf, type Schema } from '../options/schema.js';
import type { SDE } from '../sde/types.js';
import { transition } from './common.js';
import { edmHeunStep } from './edm-heun.js';
import { DEFAULT_RHO, karrasSigmas, sigmaAt, timeAtSigma } from './grids.js';
import { defineSolver, type StepContext, type Stepper } from './types.js';

/**
 * Default restart: one interval [0.06, 0.3] in sigma, K = 2 restarts of N = 2 Heun steps each (the
 * CIFAR-10 setting of Xu et al. 2023, Table 3, whose N_Restart = 3 counts grid points). It lies
 * inside every built-in SDE's range at eps = 1e-3: sigma from ~0.01 (VP), ~1e-4 (sub-VP), ~1e-3
 * (VE) up to ~150 (VP, sub-VP) or ~50 (VE), and at data scale ~1 it is where the modes separate.
 */
export const DEFAULT_RESTART = '0:2:2:0.06:0.3';

const FORMAT = `i:N:K:tmin:tmax entries separated by commas (e.g. ${DEFAULT_RESTART})`;

const RESTART_OPTIONS = {
  restart: {
    type: 'text', accepts: 'i:N:K:tmin:tmax,...', default: DEFAULT_RESTART,
    doc: 'restart: segment i jumps K times from the grid noise level nearest tmin up to tmax and takes N Heun steps back (tmin, tmax: sigma = std/mean)',
  },
} as const satisfies Schema;

/** One restart segment of `--restart` (Xu et al.'s {i: [N, K, t_min, t_max]}, with N counting steps). */
export interface RestartSegment {
  /** The segment's number i (a label; where it restarts follows from tmin). */
  label: number;
  /** N: Heun steps from tmax back down. */
  steps: number;
  /** K: how many times the segment restarts. */
  repeats: number;
  /** tmin, tmax: the interval's noise levels sigma = std/mean. */
  sigmaMin: number;
  sigmaMax: number;
}

/** A number field of one segment, checked; problems are OptionErrors naming --restart. */
function segmentNumber(entry: string, name: string, text: string, ok: (v: number) => boolean, what: string): number {
  const v = text.trim() === '' ? NaN : Number(text);
  if (!(Number.isFinite(v) && ok(v))) throw new OptionError('restart', `expected ${name} to be ${what} in '${entry}', got '${text}'`);
  return v;
}

/**
 * Parses `--restart` "i:N:K:tmin:tmax,...": i an integer >= 0 (distinct), N >= 1 and K >= 0
 * integers, 0 < tmin < tmax. Throws OptionError('restart', ...) on any problem.
 */
export function parseRestart(text: string): RestartSegment[] {
  const entries = text.split(',').map((e) => e.trim());
  const segments = entries.map((entry) => {
    const parts = entry.split(':');
    if (parts.length !== 5) throw new OptionError('restart', `expected ${FORMAT}, got '${entry}'`);
    const isCount = (min: number) => (v: number) => Number.isInteger(v) && v >= min;
    const label = segmentNumber(entry, 'i', parts[0], isCount(0), 'an integer >= 0');
    const steps = segmentNumber(entry, 'N', parts[1], isCount(1), 'an integer >= 1');
    const repeats = segmentNumber(entry, 'K', parts[2], isCount(0), 'an integer >= 0');
    const sigmaMin = segmentNumber(entry, 'tmin', parts[3], (v) => v > 0, 'a noise level > 0');
    const sigmaMax = segmentNumber(entry, 'tmax', parts[4], (v) => v > sigmaMin, `a noise level above tmin = ${sigmaMin}`);
    return { label, steps, repeats, sigmaMin, sigmaMax };
  });
  const repeated = segments.find((s, j) => segments.findIndex((o) => o.label === s.label) !== j);
  if (repeated) throw new OptionError('restart', `expected distinct segment numbers i, got ${repeated.label} twice in '${text}'`);
  return segments;
}

/** A segment placed on the main grid: its forward jump from the grid time up to tmax, repeats, and its own times from tmax back to the grid time. */
interface RestartPlan {
  repeats: number;
  jump: { r: number; v: number };
  times: Float64Array;
}

/**
 * Places each segment at the main-grid index k in 1..N whose sigma_k is nearest tmin (as Xu et
 * al.'s code does; the segment number i does not place it), and makes its restart grid: N + 1
 * Karras noise levels (exponent rho) from tmax down to sigma_k itself, so that the restart lands
 * back on the main grid time t_k exactly. Two segments at one index, or sigma_k >= tmax (too few
 * main steps), are OptionErrors naming --restart.
 */
function placeSegments(sde: SDE, grid: Float64Array, segments: RestartSegment[], rho: number): Map<number, RestartPlan> {
  const sigmas = Array.from(grid, (t) => sigmaAt(sde, t));
  const plans = new Map<number, RestartPlan>();
  for (const s of segments) {
    let k = 1;
    for (let j = 2; j < grid.length; j++) if (Math.abs(sigmas[j] - s.sigmaMin) < Math.abs(sigmas[k] - s.sigmaMin)) k = j;
    if (plans.has(k)) throw new OptionError('restart', `expected segments at distinct grid times, but two restart at grid index ${k} (sigma ${sigmas[k].toPrecision(3)}); use more steps`);
    if (!(sigmas[k] < s.sigmaMax)) throw new OptionError('restart', `expected the grid noise level nearest tmin = ${s.sigmaMin} (sigma_${k} = ${sigmas[k].toPrecision(3)}) below tmax = ${s.sigmaMax}; use more steps or a larger tmax`);
    const levels = karrasSigmas(s.sigmaMax, sigmas[k], s.steps, rho);
    const times = Float64Array.from(levels, (sigma) => timeAtSigma(sde, sigma));
    times[s.steps] = grid[k];
    plans.set(k, { repeats: s.repeats, jump: transition(sde, grid[k], times[0]), times });
  }
  return plans;
}

/**
 * The K restarts of one segment from x at the grid time: each jumps forward, x' = r x + sqrt(v) z
 * (the exact forward transition, i.e. x^ += sqrt(tmax^2 - sigma_k^2) z in x^ = x/mean; draw
 * (step, stage r), no noise interval: the K draws span the same times and must stay independent
 * under Brownian noise), then takes the N edmHeunSteps back. Each part runs in its own tf.tidy.
 */
function restartLoop(ctx: StepContext, x: tf.Tensor, plan: RestartPlan, step: number): tf.Tensor {
  let current = x;
  const advance = (f: (y: tf.Tensor) => tf.Tensor) => {
    const prev = current;
    current = tf.tidy(() => f(prev));
    if (prev !== x) prev.dispose();
  };
  for (let r = 0; r < plan.repeats; r++) {
    advance((y) => tf.add(tf.mul(y, plan.jump.r), tf.mul(ctx.noise(y.shape, step, r), Math.sqrt(plan.jump.v))));
    for (let j = 0; j + 1 < plan.times.length; j++) advance((y) => edmHeunStep(ctx.sde, ctx.score, y, plan.times[j], plan.times[j + 1]));
  }
  return current;
}

/** The restart sampler on a main grid: edmHeunStep per grid step, then the restarts of a segment placed at the index reached. */
function restartStepper(ctx: StepContext<OptionsOf<typeof RESTART_OPTIONS>>, times: Float64Array): Stepper {
  const plans = placeSegments(ctx.sde, times, parseRestart(ctx.options.restart ?? DEFAULT_RESTART), ctx.options.rho ?? DEFAULT_RHO);
  return {
    times,
    step: (x, i) => {
      const next = edmHeunStep(ctx.sde, ctx.score, x, times[i], times[i + 1]);
      const plan = plans.get(i + 1);
      return plan ? restartLoop(ctx, next, plan, i) : next;
    },
  };
}

/**
 * Restart sampling (Xu et al. 2023) on the deterministic EDM Heun sampler (edm-heun, churn 0):
 * after the main step reaching grid index k (see placeSegments) each segment restarts K times
 * (see restartLoop). NFE = 2 N_main + sum over segments of 2 K N (+1 with --denoise).
 */
export const restart = defineSolver({
  info: {
    name: 'restart', kind: 'sde', order: 2, adaptive: false, defaultSteps: 18, defaultGrid: 'karras',
    description: 'Restart sampling (Xu et al. 2023): edm-heun with forward jumps up to tmax and Heun steps back, --restart i:N:K:tmin:tmax,...',
  },
  options: RESTART_OPTIONS,
  nfe: ({ steps, restart: text }) => 2 * steps + parseRestart(text ?? DEFAULT_RESTART).reduce((n, s) => n + 2 * s.repeats * s.steps, 0),
  check: (sde, o) => {
    const top = sigmaAt(sde, sde.T);
    for (const s of parseRestart(o.restart ?? DEFAULT_RESTART)) {
      if (s.sigmaMax > top) throw new OptionError('restart', `expected tmax at most sigma(T) = ${top.toPrecision(4)} (the score is defined up to T only), got ${s.sigmaMax} in segment ${s.label}`);
    }
  },
  create: (ctx, { grid }) => restartStepper(ctx, grid!),
});
