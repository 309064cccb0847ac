import { choice, type OptionsOf, type Schema } from '../options/schema.js';
import { DEFAULT_ATOL, DEFAULT_RTOL } from '../solvers/rk45.js';
import { DEFAULT_LIKELIHOOD_EPS, EXACT_DIVERGENCE_MAX_DIM, PROBES } from './likelihood.js';
import { VLB_GRIDS } from './vlb.js';

/** The two ways to score a data set: the probability-flow ODE (exact) and the DDPM variational bound. */
export const NLL_METHODS = ['ode', 'vlb'] as const;
/** One of NLL_METHODS. */
export type NllMethod = (typeof NLL_METHODS)[number];
/** Reverse-step variances of the variational bound. */
export const VLB_VARIANCES = ['beta', 'beta-tilde'] as const;
/** One of VLB_VARIANCES. */
export type VlbVariance = (typeof VLB_VARIANCES)[number];
/** Default points per batch of datasetNll. */
export const DEFAULT_NLL_BATCH = 1000;

/**
 * The options of a data set's NLL (datasetNll's, `sde nll`'s flags), declared once: datasetNll
 * checks them against it and `sde nll` makes its flags from it. rtol, atol and hutchinson are
 * read by the ODE only, steps, variance and grid by the variational bound only.
 */
export const NLL_SCHEMA = {
  method: choice(NLL_METHODS, { default: 'ode', doc: 'ode: probability-flow ODE, instantaneous change of variables | vlb: DDPM variational bound' }),
  seed: { type: 'number', integer: true, min: 0, default: 0, doc: 'seed of the Hutchinson probe, the dequantization noise and the VLB draws' },
  eps: { type: 'number', above: 0, default: DEFAULT_LIKELIHOOD_EPS, doc: 'ode: start time (the NLL is that of the data diffused to eps); vlb --grid logsnr: first time of the chain' },
  rtol: { type: 'number', above: 0, default: DEFAULT_RTOL, doc: 'ode: Dormand-Prince relative tolerance' },
  atol: { type: 'number', above: 0, default: DEFAULT_ATOL, doc: 'ode: Dormand-Prince absolute tolerance' },
  hutchinson: choice(PROBES, { doc: `ode: use Hutchinson's divergence estimator with this probe (default: exact up to ${EXACT_DIVERGENCE_MAX_DIM} dimensions, rademacher above)` }),
  steps: { type: 'number', integer: true, min: 2, default: 1000, doc: 'vlb: steps N of the discrete chain' },
  variance: choice(VLB_VARIANCES, { default: 'beta', doc: 'vlb: reverse variance beta (and decoder variance 1 - alphaBar_0; tends to the NLL) | beta-tilde (Ho et al.)' }),
  grid: choice(VLB_GRIDS, { default: 'uniform', doc: 'vlb: chain times (uniform: t_i = (i+1)/N)' }),
  dequantize: { type: 'boolean', default: false, doc: '8-bit data on 256 levels of [-1, 1] in model coordinates: ode adds uniform noise and log 127.5 per dim; vlb uses the discretized decoder' },
  batch: { type: 'number', integer: true, min: 1, default: DEFAULT_NLL_BATCH, doc: 'points per batch' },
} as const satisfies Schema;

/** The plain options NLL_SCHEMA describes (every field optional: absent, its default applies). */
export type NllOptions = OptionsOf<typeof NLL_SCHEMA>;
