import type { Argv, CommandModule } from 'yargs';
import { formatCsv } from '../../src/data/csv.js';
import { TOY_DATASETS, toyRaw } from '../../src/data/toy.js';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { emit } from '../common.js';
import { checkOutputFile, writingOutput } from '../output-paths.js';
import { integerInRange, oneOf } from '../validate.js';

/**
 * `sde data`: draws --n points of a built-in 2-D set in its own (unstandardized) coordinates,
 * with --seed, and writes them as a CSV (one point a row, no header): training data for
 * `sde train --data FILE.csv`, or held-out references for `sde compare` and `sde nll`.
 */
export const dataCommand: CommandModule = {
  command: 'data',
  describe: 'Write draws of a built-in 2-D data set to a CSV file (training data or a held-out reference)',
  builder: (y: Argv) =>
    y
      .option('data', { type: 'string', demandOption: true, describe: TOY_DATASETS.join(' | ') })
      .option('n', { type: 'string', default: '10000', describe: 'number of points' })
      .option('seed', { type: 'string', default: '0', describe: 'seed of the draw' })
      .option('out', { type: 'string', demandOption: true, describe: 'CSV file to write' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object on stdout and nothing else there' })
      .example('$0 data --data moons --n 100000 --seed 0 --out moons.csv', 'training data for sde train --data moons.csv')
      .example('$0 data --data moons --n 5000 --seed 1 --out heldout.csv', 'a held-out reference for sde compare --reference'),
  handler: (argv) => {
    const name = oneOf('data', argv.data, TOY_DATASETS);
    const n = integerInRange('n', argv.n, 1, 10_000_000);
    const seed = integerInRange('seed', argv.seed, 0, 2 ** 32 - 1);
    const out = checkOutputFile('out', String(argv.out), ['.csv']);
    writingOutput('out', out, () => writeFileAtomic(out, formatCsv(toyRaw(name, n, seed), 2)));
    emit(argv, { data: name, n, seed, out }, () => `${n} points of ${name} (seed ${seed}) -> ${out}`);
  },
};
