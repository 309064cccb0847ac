import { OptionError, parseOptions, type OptionsOf, type Schema } from '../options/schema.js';
import type { SDE } from '../sde/types.js';
import { ddim } from './ddim.js';
import { ddpm } from './ddpm.js';
import { dpmSolver } from './dpm-solver.js';
import { dpmSolverPlusPlus } from './dpm-solver-pp.js';
import { edmHeun } from './edm-heun.js';
import { eulerMaruyama } from './euler-maruyama.js';
import { improvedEuler } from './improved-euler.js';
import { odeEuler, odeHeun } from './ode.js';
import { checkEndTime } from './grids.js';
import { COMMON_SOLVER_SCHEMA } from './options.js';
import { predictorCorrector } from './pc.js';
import { reverseDiffusion } from './reverse-diffusion.js';
import { restart } from './restart.js';
import { rk45 } from './rk45.js';
import { sdeAdaptive } from './sde-adaptive.js';
import type { IntegrateOptions, SolverInfo, SolverModule } from './types.js';

/** Every solver module, in the order `--help` lists them. Adding a solver: its module, and one entry here. */
export const SOLVER_MODULES = [eulerMaruyama, improvedEuler, reverseDiffusion, ddpm, predictorCorrector, odeEuler, odeHeun, rk45, sdeAdaptive, ddim, dpmSolver, dpmSolverPlusPlus, edmHeun, restart] as const;

type Module = (typeof SOLVER_MODULES)[number];

/** Names accepted by `--solver`. */
export type SolverName = Module['info']['name'];
export const SOLVER_NAMES: readonly SolverName[] = SOLVER_MODULES.map((m) => m.info.name);

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/** The options of all solvers together (each solver reads its own). */
export type SolverOptions = UnionToIntersection<OptionsOf<Module['options']>>;

const BY_NAME: ReadonlyMap<string, SolverModule> = new Map(SOLVER_MODULES.map((m) => [m.info.name, m as SolverModule]));

/** The module of a solver name from `--solver` (or one entry of `--solvers`). */
export function solverModule(value: string, flag = '--solver'): SolverModule<SolverName> {
  const m = BY_NAME.get(value);
  if (!m) throw new OptionError(flag.replace(/^--/, ''), `unknown solver '${value}', expected one of ${SOLVER_NAMES.join(', ')}`);
  return m as SolverModule<SolverName>;
}

/** Checks a solver name from `--solver` (or one entry of `--solvers`). */
export function parseSolverName(value: string, flag = '--solver'): SolverName {
  return solverModule(value, flag).info.name;
}

/** Every solver's description, by name. */
export const SOLVERS: Readonly<Record<SolverName, SolverInfo>> = Object.fromEntries(SOLVER_MODULES.map((m) => [m.info.name, m.info])) as Record<SolverName, SolverInfo>;

/** A solver's full option schema: the common options with the solver's own over them. */
export function solverSchema(name: SolverName): Schema {
  return { ...COMMON_SOLVER_SCHEMA, ...solverModule(name).options };
}

/**
 * Every solver option once: the common ones, then each solver's own in registry order (a field
 * already declared keeps its first spec: ddpm's larger minimum of `steps` is checked per solver).
 * The CLI makes one flag of each; a run's options are checked against its solver's schema.
 */
export const ALL_SOLVER_OPTIONS: Schema = SOLVER_MODULES.reduce<Schema>(
  (all, m) => ({ ...all, ...Object.fromEntries(Object.entries(m.options as Schema).filter(([field]) => !(field in all))) }),
  COMMON_SOLVER_SCHEMA,
);

/** Score evaluations a fixed-step run will make (undefined for an adaptive solver), the final denoise step included. */
export function expectedNfe(name: SolverName, options: IntegrateOptions = {}): number | undefined {
  const m = solverModule(name);
  const steps = options.steps ?? m.info.defaultSteps;
  if (m.info.adaptive) return undefined;
  const n = m.nfe ? m.nfe({ ...options, steps } as never) : steps;
  return n + (options.denoise && !m.info.ownTimes ? 1 : 0);
}

/**
 * Checks the options of a run once, before any step, against the solver's schema (the common
 * options and its own; options of other solvers are ignored) and its own checks; problems are
 * OptionErrors naming the field's flag.
 */
export function checkSolverOptions(sde: SDE, name: SolverName, options: IntegrateOptions): void {
  const m = solverModule(name);
  const { grid, ...rest } = options;
  parseOptions(solverSchema(name), { ...rest, ...(typeof grid === 'string' ? { grid } : {}) }, { unknown: 'ignore' });
  if (options.eps !== undefined) checkEndTime(options.eps, sde.T);
  m.check?.(sde, options);
  if (options.xT === undefined && options.shape === undefined) throw new Error('integrate: give either xT or shape');
  if (options.saveAt !== undefined && options.saveAt !== 'all') {
    for (const t of options.saveAt) if (!(Number.isFinite(t) && t >= 0 && t <= sde.T)) throw new Error(`integrate: saveAt times must lie in [0, T = ${sde.T}], got ${t}`);
  }
}
