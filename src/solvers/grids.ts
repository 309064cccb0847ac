import { UsageError } from '../errors.js';
import { OptionError } from '../options/schema.js';
import type { SDE } from '../sde/types.js';
import { GRID_KINDS, type GridKind } from './types.js';

/** Default end time of sampling. */
export const DEFAULT_EPS = 1e-3;

/** Default exponent rho of the Karras grid (Karras et al. 2022). */
export const DEFAULT_RHO = 7;

/** Half log-SNR lambda(t) = log(mean(t) / std(t)), float64 (decreasing in t; +inf at t = 0). */
export function logSnrAt(sde: SDE, t: number): number {
  const { mean, std } = sde.marginalAt(t);
  return Math.log(mean) - Math.log(std);
}

/**
 * The time t in [0, T] with lambda(t) = lambda, by float64 bisection on marginalAt
 * (lambda is decreasing; values outside [lambda(T), +inf) clamp to T or 0).
 */
export function timeAtLogSnr(sde: SDE, lambda: number): number {
  let lo = 0;
  let hi = sde.T;
  if (lambda <= logSnrAt(sde, hi)) return hi;
  for (let i = 0; i < 200 && hi - lo > 1e-15 * sde.T; i++) {
    const mid = 0.5 * (lo + hi);
    if (logSnrAt(sde, mid) > lambda) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** EDM's noise level sigma(t) = std(t) / mean(t) = exp(-lambda(t)), float64 (increasing in t; 0 at t = 0). */
export function sigmaAt(sde: SDE, t: number): number {
  const { mean, std } = sde.marginalAt(t);
  return std / mean;
}

/** The time t in [0, T] with sigma(t) = sigma: timeAtLogSnr at lambda = -log sigma (sigma >= sigma(T) gives T). */
export function timeAtSigma(sde: SDE, sigma: number): number {
  return timeAtLogSnr(sde, -Math.log(sigma));
}

/**
 * Karras et al.'s (2022) N + 1 noise levels from sigmaMax down to sigmaMin, float64:
 * sigma_i = (sigmaMax^(1/rho) + (i/N) (sigmaMin^(1/rho) - sigmaMax^(1/rho)))^rho, endpoints exact.
 */
export function karrasSigmas(sigmaMax: number, sigmaMin: number, steps: number, rho = DEFAULT_RHO): Float64Array {
  const a = sigmaMax ** (1 / rho);
  const b = sigmaMin ** (1 / rho);
  const out = Float64Array.from({ length: steps + 1 }, (_v, i) => (a + (i / steps) * (b - a)) ** rho);
  out[0] = sigmaMax;
  out[steps] = sigmaMin;
  return out;
}

/** Checks a grid kind from `--grid`. */
export function parseGridKind(value: string, flag = '--grid'): GridKind {
  if ((GRID_KINDS as readonly string[]).includes(value)) return value as GridKind;
  throw new UsageError(`${flag}: unknown time grid '${value}', expected one of ${GRID_KINDS.join(', ')}`);
}

/**
 * N + 1 decreasing float64 times from t_0 = T to t_N = eps:
 * - uniform: t_i = T - (T - eps) i / N;
 * - quadratic: t_i = eps + (T - eps) (1 - i/N)^2, dense near eps (DDIM's "quad");
 * - logsnr: lambda uniform from lambda(T) to lambda(eps), mapped back by bisection (DPM-Solver);
 * - karras: sigma = std/mean on karrasSigmas(sigma(T), sigma(eps), steps, rho), mapped back by
 *   bisection in lambda = -log sigma (EDM's time steps; rho = 7 by default).
 */
export function timeGrid(sde: SDE, kind: GridKind, steps: number, eps = DEFAULT_EPS, rho = DEFAULT_RHO): Float64Array {
  if (!(Number.isInteger(steps) && steps >= 1)) throw new UsageError(`--steps: expected an integer >= 1, got ${steps}`);
  checkEndTime(eps, sde.T);
  const T = sde.T;
  const out = new Float64Array(steps + 1);
  if (kind === 'logsnr') {
    const l0 = logSnrAt(sde, T);
    const l1 = logSnrAt(sde, eps);
    for (let i = 0; i <= steps; i++) out[i] = timeAtLogSnr(sde, l0 + ((l1 - l0) * i) / steps);
  } else if (kind === 'karras') {
    const sigmas = karrasSigmas(sigmaAt(sde, T), sigmaAt(sde, eps), steps, rho);
    for (let i = 0; i <= steps; i++) out[i] = timeAtSigma(sde, sigmas[i]);
  } else {
    for (let i = 0; i <= steps; i++) {
      const u = 1 - i / steps;
      out[i] = kind === 'quadratic' ? eps + (T - eps) * u * u : eps + (T - eps) * u;
    }
  }
  out[0] = T;
  out[steps] = eps;
  return out;
}

/** Checks explicit grid times: finite, strictly decreasing, within (0, T]. */
export function checkGrid(sde: SDE, times: readonly number[], flag = '--grid'): Float64Array {
  if (times.length < 2) throw new UsageError(`${flag}: a time grid needs at least two times`);
  for (let i = 0; i < times.length; i++) {
    const t = times[i];
    if (!(Number.isFinite(t) && t > 0 && t <= sde.T)) throw new UsageError(`${flag}: every time must lie in (0, T = ${sde.T}], got ${t}`);
    if (i > 0 && !(t < times[i - 1])) throw new UsageError(`${flag}: times must be strictly decreasing (from T down to eps)`);
  }
  return Float64Array.from(times);
}

/** Checks an end time against the SDE's horizon, 0 < eps < T (the schema alone knows only eps > 0); the error names --eps. */
export function checkEndTime(eps: number, T: number): void {
  if (!(eps > 0 && eps < T)) throw new OptionError('eps', `expected a time below T = ${T} (and above 0), got ${eps}`);
}
