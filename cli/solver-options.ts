import type { Argv } from 'yargs';
import { GRID_KINDS, type IntegrateOptions } from '../src/solvers/types.js';
import { UsageError } from '../src/errors.js';
import { integerAtLeast, oneOf, positiveNumber, finiteNumber } from './validate.js';

/** Flags that tune the solvers (each solver reads the ones it knows). */
export function withSolverOptions<T>(y: Argv<T>) {
  return y
    .option('n', { type: 'string', default: '1000', describe: 'number of samples' })
    .option('seed', { type: 'string', default: '0', describe: 'seed of the prior draw and all noise' })
    .option('eps', { type: 'string', default: '1e-3', describe: 'end time of the reverse process' })
    .option('grid', { type: 'string', describe: `time grid: ${GRID_KINDS.join(' | ')} (default: the solver's)` })
    .option('denoise', { type: 'boolean', default: false, describe: 'final Tweedie denoising step at eps (1 NFE)' })
    .option('rtol', { type: 'string', describe: 'ode-rk45 relative tolerance (default 1e-5)' })
    .option('atol', { type: 'string', describe: 'ode-rk45 absolute tolerance (default 1e-5)' })
    .option('snr', { type: 'string', describe: 'pc: Langevin corrector signal-to-noise ratio (default 0.16)' })
    .option('corrector-steps', { type: 'string', describe: 'pc: corrector steps per time (default 1)' })
    .option('eta', { type: 'string', describe: 'ddim: 0 deterministic .. 1 ancestral (default 0)' })
    .option('order', { type: 'string', describe: 'dpm-solver: 2 or 3 (default 3)' })
    .option('variance', { type: 'string', describe: 'ddpm: posterior variance beta-tilde | beta (default beta-tilde)' })
    .option('map', { type: 'string', describe: 'ddpm: VP -> chain map exact | score-sde (default exact)' });
}

/** The solver options the flags give, validated (eps against the SDE's T by the caller); flags left out stay undefined (solver defaults). */
export function solverOptionsFromArgs(argv: Record<string, unknown>): IntegrateOptions {
  const opt = <V>(key: string, parse: (flag: string, value: unknown) => V): V | undefined =>
    argv[key] === undefined ? undefined : parse(key, argv[key]);
  const options: IntegrateOptions = {
    seed: integerAtLeast('seed', argv.seed, 0),
    eps: positiveNumber('eps', argv.eps),
    grid: opt('grid', (f, v) => oneOf(f, v, GRID_KINDS)),
    denoise: Boolean(argv.denoise),
    rtol: opt('rtol', positiveNumber),
    atol: opt('atol', positiveNumber),
    snr: opt('snr', positiveNumber),
    correctorSteps: opt('corrector-steps', (f, v) => integerAtLeast(f, v, 0)),
    eta: opt('eta', (f, v) => {
      const e = finiteNumber(f, v);
      if (e < 0) throw new UsageError(`--eta: expected a number >= 0, got ${e}`);
      return e;
    }),
    order: opt('order', (f, v) => Number(oneOf(f, String(v), ['2', '3']))),
    variance: opt('variance', (f, v) => oneOf(f, v, ['beta-tilde', 'beta'] as const)),
    map: opt('map', (f, v) => oneOf(f, v, ['exact', 'score-sde'] as const)),
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as IntegrateOptions;
}
