import { UsageError } from '../errors.js';
import type { SDE } from '../sde/types.js';
import { GRID_KINDS, SOLVER_NAMES, type IntegrateOptions, type SolverInfo, type SolverName } from './types.js';

/** Every solver, described as data: what `sde sample --solver NAME` and `sde compare` read. */
export const SOLVERS: Readonly<Record<SolverName, SolverInfo>> = {
  'euler-maruyama': {
    name: 'euler-maruyama', kind: 'sde', order: 1, adaptive: false, defaultSteps: 500, defaultGrid: 'uniform',
    nfePerStep: '1', options: [], description: 'Euler-Maruyama on the reverse-time SDE',
  },
  'reverse-diffusion': {
    name: 'reverse-diffusion', kind: 'sde', order: 1, adaptive: false, defaultSteps: 500, defaultGrid: 'uniform',
    nfePerStep: '1', options: [], description: 'reverse-diffusion predictor of Song et al. (2021): x - f_i + G_i^2 s + G_i z',
  },
  ddpm: {
    name: 'ddpm', kind: 'sde', order: 1, adaptive: false, defaultSteps: 1000, defaultGrid: 'uniform',
    nfePerStep: '1', options: ['variance', 'map'], description: 'ancestral sampling of the DDPM chain (VP only; exact alpha-bar map by default)',
  },
  pc: {
    name: 'pc', kind: 'sde', order: 1, adaptive: false, defaultSteps: 250, defaultGrid: 'uniform',
    nfePerStep: '1 + correctorSteps', options: ['snr', 'correctorSteps', 'predictor'],
    description: 'predictor-corrector: reverse-diffusion predictor and Langevin corrector (snr 0.16, 1 corrector step)',
  },
  'ode-euler': {
    name: 'ode-euler', kind: 'ode', order: 1, adaptive: false, defaultSteps: 250, defaultGrid: 'uniform',
    nfePerStep: '1', options: [], description: 'Euler on the probability-flow ODE',
  },
  'ode-heun': {
    name: 'ode-heun', kind: 'ode', order: 2, adaptive: false, defaultSteps: 100, defaultGrid: 'uniform',
    nfePerStep: '2', options: [], description: 'Heun (trapezoid) on the probability-flow ODE',
  },
  'ode-rk45': {
    name: 'ode-rk45', kind: 'ode', order: 5, adaptive: true, defaultSteps: 0, defaultGrid: 'uniform',
    nfePerStep: '6 (+1 at the start)', options: ['rtol', 'atol', 'firstStep', 'maxStep', 'maxSteps'],
    description: 'adaptive Dormand-Prince 5(4) on the probability-flow ODE (rtol = atol = 1e-5)',
  },
  ddim: {
    name: 'ddim', kind: 'ode', order: 1, adaptive: false, defaultSteps: 100, defaultGrid: 'quadratic',
    nfePerStep: '1', options: ['eta'], description: 'DDIM; eta = 0 deterministic (ODE), eta = 1 ancestral',
  },
  'dpm-solver': {
    name: 'dpm-solver', kind: 'ode', order: 3, adaptive: false, defaultSteps: 6, defaultGrid: 'quadratic',
    nfePerStep: 'order (3 by default, or 2)', options: ['order'], description: 'singlestep DPM-Solver-3 (or -2) in log-SNR time (Lu et al. 2022)',
  },
  'dpm-solver++': {
    name: 'dpm-solver++', kind: 'ode', order: 2, adaptive: false, defaultSteps: 20, defaultGrid: 'logsnr',
    nfePerStep: '1', options: [], description: 'multistep DPM-Solver++(2M) on the data prediction, log-SNR grid (Lu et al. 2022)',
  },
};

/** Checks a solver name from `--solver` (or one entry of `--solvers`). */
export function parseSolverName(value: string, flag = '--solver'): SolverName {
  if ((SOLVER_NAMES as readonly string[]).includes(value)) return value as SolverName;
  throw new UsageError(`${flag}: unknown solver '${value}', expected one of ${SOLVER_NAMES.join(', ')}`);
}

/** The number of steps a run uses: `steps` or the solver's default. */
export function stepsFor(info: SolverInfo, options: IntegrateOptions): number {
  return options.steps ?? info.defaultSteps;
}

/** Score evaluations a fixed-step run will make (undefined for the adaptive solver). */
export function expectedNfe(name: SolverName, options: IntegrateOptions = {}): number | undefined {
  const info = SOLVERS[name];
  if (info.adaptive) return undefined;
  const steps = stepsFor(info, options);
  const perStep = name === 'pc' ? 1 + (options.correctorSteps ?? 1) : name === 'ode-heun' ? 2 : name === 'dpm-solver' ? (options.order ?? 3) : 1;
  return steps * perStep + (options.denoise && name !== 'ddpm' ? 1 : 0);
}

const positive = (v: number | undefined) => v === undefined || (Number.isFinite(v) && v > 0);

/**
 * Checks the options of a run once, before any step; problems are UsageErrors naming the flag.
 */
export function checkSolverOptions(sde: SDE, name: SolverName, options: IntegrateOptions): void {
  const { steps } = options;
  if (steps !== undefined && !(Number.isInteger(steps) && steps >= (name === 'ddpm' ? 2 : 1))) {
    throw new UsageError(`--steps: expected an integer >= ${name === 'ddpm' ? 2 : 1}, got ${steps}`);
  }
  if (options.eps !== undefined && !(options.eps > 0 && options.eps < sde.T)) throw new UsageError(`--eps: expected an end time in (0, T = ${sde.T}), got ${options.eps}`);
  if (!positive(options.rtol)) throw new UsageError(`--rtol: expected a positive number, got ${options.rtol}`);
  if (!positive(options.atol)) throw new UsageError(`--atol: expected a positive number, got ${options.atol}`);
  if (!positive(options.maxStep)) throw new UsageError(`--max-step: expected a positive number, got ${options.maxStep}`);
  if (!positive(options.firstStep)) throw new UsageError(`--first-step: expected a positive number, got ${options.firstStep}`);
  if (options.maxSteps !== undefined && !(Number.isInteger(options.maxSteps) && options.maxSteps >= 1)) throw new UsageError(`--max-steps: expected an integer >= 1, got ${options.maxSteps}`);
  if (!positive(options.snr)) throw new UsageError(`--snr: expected a positive number, got ${options.snr}`);
  const m = options.correctorSteps;
  if (m !== undefined && !(Number.isInteger(m) && m >= 0)) throw new UsageError(`--corrector-steps: expected an integer >= 0, got ${m}`);
  if (options.predictor !== undefined && !['reverse-diffusion', 'euler-maruyama'].includes(options.predictor)) {
    throw new UsageError(`--predictor: expected reverse-diffusion or euler-maruyama, got '${options.predictor}'`);
  }
  if (options.eta !== undefined && !(Number.isFinite(options.eta) && options.eta >= 0)) throw new UsageError(`--eta: expected a number >= 0, got ${options.eta}`);
  if (options.order !== undefined && options.order !== 2 && options.order !== 3) throw new UsageError(`--order: dpm-solver supports order 2 or 3, got ${options.order}`);
  if (options.variance !== undefined && !['beta-tilde', 'beta'].includes(options.variance)) throw new UsageError(`--variance: expected beta-tilde or beta, got '${options.variance}'`);
  if (options.map !== undefined && !['exact', 'score-sde'].includes(options.map)) throw new UsageError(`--map: expected exact or score-sde, got '${options.map}'`);
  if (typeof options.grid === 'string' && !(GRID_KINDS as readonly string[]).includes(options.grid)) {
    throw new UsageError(`--grid: unknown time grid '${options.grid}', expected one of ${GRID_KINDS.join(', ')}`);
  }
  if (name === 'ddpm' && sde.name !== 'vp') throw new UsageError(`--solver ddpm: the DDPM chain is defined for --sde vp, not '${sde.name}'`);
  if (name === 'ddpm' && Array.isArray(options.grid)) throw new UsageError(`--grid: ddpm uses the times of its discrete chain and takes no explicit grid`);
  if (options.xT === undefined && options.shape === undefined) throw new Error('integrate: give either xT or shape');
  if (options.saveAt !== undefined && options.saveAt !== 'all') {
    for (const t of options.saveAt) if (!(Number.isFinite(t) && t >= 0 && t <= sde.T)) throw new UsageError(`--save-at: times must lie in [0, T = ${sde.T}], got ${t}`);
  }
}
