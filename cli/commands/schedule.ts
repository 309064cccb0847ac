import type { Argv, CommandModule } from 'yargs';
import { DISCRETIZATION_MAPS, discretize } from '../../src/sde/discrete.js';
import { makeSDE } from '../../src/sde/registry.js';
import type { SDE } from '../../src/sde/types.js';
import { backendFromArgs, emit, sdeConfigFromArgs, withCommonOptions, withSdeOptions } from '../common.js';
import { formatTable } from '../format.js';
import { integerInRange, oneOf } from '../validate.js';

/** mean(t), std(t), g(t) and log-SNR on `points` uniform times in [0, T]. */
function continuousRows(sde: SDE, points: number) {
  return Array.from({ length: points }, (_, i) => {
    const t = (i * sde.T) / (points - 1);
    const { mean, std } = sde.marginalAt(t);
    return { t, mean, std, diffusion: sde.diffusionAt(t), logSnr: 2 * Math.log(mean / std) };
  });
}

/** Rows of a long table worth printing as text: the first and last few and every k-th between. */
function sampledIndices(n: number, head = 5): number[] {
  if (n <= 3 * head) return Array.from({ length: n }, (_, i) => i);
  const stride = Math.ceil(n / (2 * head));
  const picked = new Set<number>();
  for (let i = 0; i < head; i++) picked.add(i).add(n - 1 - i);
  for (let i = 0; i < n; i += stride) picked.add(i);
  return [...picked].sort((a, b) => a - b);
}

export const scheduleCommand: CommandModule = {
  command: 'schedule',
  describe: 'Print an SDE schedule: mean(t), std(t), g(t) on a grid, or the betas and alpha-bar of its DDPM chain',
  builder: (y: Argv) =>
    withCommonOptions(withSdeOptions(y))
      .option('discrete', { type: 'string', describe: 'print the DDPM chain of N steps instead (VP only)' })
      .option('map', { type: 'string', default: 'exact', describe: `VP -> chain map: ${DISCRETIZATION_MAPS.join(' | ')}` })
      .option('points', { type: 'string', default: '11', describe: 'grid points for the continuous schedule' })
      .example('$0 schedule', 'linear VP-SDE (beta 0.1..20): mean and std on 11 times')
      .example('$0 schedule --schedule cosine --json', 'cosine schedule as JSON')
      .example('$0 schedule --schedule "0.1 + 19.9*t"', 'a user-written beta(t), integrated numerically')
      .example('$0 schedule --discrete 1000 --map score-sde', "Ho et al.'s betas 1e-4 .. 0.02"),
  handler: async (argv) => {
    const config = sdeConfigFromArgs(argv);
    const points = integerInRange('points', argv.points, 2, 1_000_000);
    const steps = argv.discrete === undefined ? undefined : integerInRange('discrete', argv.discrete, 2, 1_000_000);
    const map = oneOf('map', argv.map, DISCRETIZATION_MAPS);
    const sde = makeSDE(config);
    await backendFromArgs(argv);
    if (steps === undefined) {
      const rows = continuousRows(sde, points);
      emit(argv, { config, T: sde.T, priorStd: sde.priorStd, grid: rows }, () =>
        `${config.sde} SDE, schedule ${sde.name === 've' ? `sigma ${config.sigmaMin}..${config.sigmaMax}` : config.schedule}, T = ${sde.T}\n` +
        formatTable(['t', 'mean(t)', 'std(t)', 'g(t)', 'log-SNR'], rows.map((r) => [r.t, r.mean, r.std, r.diffusion, r.logSnr])),
      );
      return;
    }
    const chain = discretize(sde, steps, map);
    const result = {
      config,
      N: chain.N,
      map,
      times: Array.from(chain.times),
      betas: Array.from(chain.betas),
      alphaBars: Array.from(chain.alphaBars),
      posteriorVariance: Array.from(chain.posteriorVariance),
    };
    emit(argv, result, () =>
      `DDPM chain of ${chain.N} steps from the ${config.sde} SDE (${config.schedule}), ${map} map\n` +
      formatTable(
        ['step', 't', 'beta', 'alpha-bar', 'beta-tilde'],
        sampledIndices(chain.N).map((i) => [i, chain.times[i], chain.betas[i], chain.alphaBars[i], chain.posteriorVariance[i]]),
      ),
    );
  },
};
