export * from './types.js';
export * from './grids.js';
export * from './registry.js';
export * from './integrate.js';
export { IMPUTE_STAGE, normalTensor, seededNoise, tweedie, transition } from './common.js';
export { COMMON_SOLVER_SCHEMA } from './options.js';
export { DEFAULT_SNR, DEFAULT_CORRECTOR_STEPS } from './pc.js';
export { DEFAULT_RTOL, DEFAULT_ATOL, DEFAULT_MAX_STEPS } from './rk45.js';
export { DEFAULT_DPM_ORDER } from './dpm-solver.js';
