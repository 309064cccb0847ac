import { choice, type Schema } from '../options/schema.js';
import { NOISE_KINDS } from './brownian.js';
import { DEFAULT_EPS, DEFAULT_RHO } from './grids.js';
import { GRID_KINDS } from './types.js';

/**
 * The options every solver reads (integrate's): steps, seed, end time, time grid and the final
 * denoise step. A solver's own schema may redeclare one (ddpm: at least 2 steps).
 */
export const COMMON_SOLVER_SCHEMA = {
  steps: { type: 'number', integer: true, min: 1, doc: "time steps (default: the solver's)" },
  seed: { type: 'number', integer: true, min: 0, default: 0, doc: 'seed of the prior draw and all noise' },
  eps: { type: 'number', above: 0, default: DEFAULT_EPS, doc: 'end time of the reverse process (below the SDE\'s T)' },
  grid: choice(GRID_KINDS, { doc: "time grid (default: the solver's)" }),
  rho: { type: 'number', above: 0, default: DEFAULT_RHO, doc: 'karras grid: exponent rho of the noise-level spacing (larger: denser near eps)' },
  noise: choice(NOISE_KINDS, { default: 'independent', doc: 'independent: fresh normals per step; brownian: increments of one seeded Brownian path in t, the same path at every step count' }),
  denoise: { type: 'boolean', default: false, doc: 'final Tweedie denoising step at eps (1 NFE)' },
} as const satisfies Schema;
