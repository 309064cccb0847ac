import type { Argv } from 'yargs';
import { ALL_SOLVER_OPTIONS, type IntegrateOptions } from '../src/solvers/index.js';
import { optionsFromFlags, withSchemaFlags } from './schema-flags.js';

/*
 * The solver flags: one per option of any solver's schema (src/solvers: the common options and
 * each solver's own), so a solver's new option is a flag without an edit here. --steps is
 * declared by each command (one count in sde sample, a list in sde compare).
 */

const OWN_FLAGS = ['steps'];

/** Flags that tune the solvers (each solver reads the ones it knows), and --n. */
export function withSolverOptions<T>(y: Argv<T>) {
  return withSchemaFlags(y.option('n', { type: 'string', default: '1000', describe: 'number of samples' }), ALL_SOLVER_OPTIONS, OWN_FLAGS);
}

/**
 * The solver options the flags give, each checked against its schema entry (a solver's own checks,
 * e.g. eps below the SDE's T, run in integrate's checkSolverOptions). Flags left out stay
 * undefined: the solver's defaults apply.
 */
export function solverOptionsFromArgs(argv: Record<string, unknown>): IntegrateOptions {
  return optionsFromFlags(argv, ALL_SOLVER_OPTIONS, OWN_FLAGS) as IntegrateOptions;
}
