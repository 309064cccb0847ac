import type { Argv, CommandModule } from 'yargs';
import { loadCsv } from '../../src/data/csv.js';
import { csvOptionsFromFlags, withCsvOptions } from '../csv-options.js';
import type { Dataset } from '../../src/data/dataset.js';
import { datasetNll, type DatasetNll, type DatasetNllOptions } from '../../src/eval/dataset-nll.js';
import { NLL_SCHEMA } from '../../src/eval/nll-options.js';
import { flagName } from '../../src/options/schema.js';
import { createTaskProgress } from '../../src/progress.js';
import { checkEndTime } from '../../src/solvers/grids.js';
import { UsageError } from '../../src/errors.js';
import { readCheckpointConfig } from '../../src/models/checkpoint.js';
import { backendFromArgs, emit, withCommonOptions, withSdeOptions } from '../common.js';
import { optionsFromFlags, withSchemaFlags } from '../schema-flags.js';
import { checkSourceFlags, loadScoreSource } from '../score-source.js';
import { sourceInfo } from '../source-info.js';

/** Options that only one method reads: given with the other method they are an error. */
const ONLY_READ_BY = {
  ode: ['rtol', 'atol', 'hutchinson'],
  vlb: ['steps', 'variance', 'grid'],
} as const satisfies Record<string, readonly (keyof typeof NLL_SCHEMA)[]>;

/** The flags of `sde nll`, parsed and checked against the source before the backend is chosen: the data file, read, and datasetNll's options. */
function nllRequest(argv: Record<string, unknown>): { file: string; data: Dataset; options: DatasetNllOptions } {
  checkSourceFlags(argv);
  const options = optionsFromFlags(argv, NLL_SCHEMA); // the flags given, checked; the others: datasetNll's defaults
  const method = options.method ?? NLL_SCHEMA.method.default;
  const other = method === 'ode' ? 'vlb' : 'ode';
  for (const field of ONLY_READ_BY[other]) {
    if (options[field] !== undefined) throw new UsageError(`--${flagName(field)}: only read by --method ${other}`);
  }
  const file = String(argv.data);
  const data = loadCsv(file, { label: `--data ${file}`, ...csvOptionsFromFlags(argv) });
  // The source's shape and SDE, checked against the data and the flags before the backend is chosen.
  const known = sourceInfo(argv);
  const D = known.sampleShape.reduce((a, b) => a * b, 1);
  const d = data.shape.reduce((a, b) => a * b, 1);
  if (d !== D) throw new UsageError(`--data ${file}: rows have ${d} values, the model's samples have ${D}`);
  checkEndTime(options.eps ?? NLL_SCHEMA.eps.default, known.T);
  if (method === 'vlb' && known.sdeName !== 'vp') throw new UsageError(`--method vlb: the DDPM chain is defined for the VP-SDE, not '${known.sdeName}'`);
  return { file, data, options: { ...options, dataName: file } };
}

/** The JSON result of `sde nll`: datasetNll's figures and settings (per-point values left out), the time and the backend. */
function nllSummary(r: DatasetNll, seconds: number, backend: string): Record<string, unknown> {
  const common = { method: r.method, natsPerDim: r.natsPerDim, bitsPerDim: r.bitsPerDim, seNatsPerDim: r.seNatsPerDim, nfe: r.nfe, seconds, n: r.n, dims: r.dims, batches: r.batches, dequantized: r.dequantized };
  const specific = r.method === 'ode'
    ? { eps: r.eps, rtol: r.rtol, atol: r.atol, divergence: r.divergence, ...(r.probe ? { probe: r.probe } : {}), accepted: r.accepted, rejected: r.rejected }
    : { steps: r.steps, grid: r.grid, variance: r.variance, ...(r.grid === 'logsnr' ? { eps: r.eps } : {}), termsPerDim: r.termsPerDim };
  return { ...common, ...specific, backend };
}

/** The one line `sde nll` prints without --json. */
function nllLine(r: DatasetNll, file: string, describe: string, seconds: number): string {
  const how = r.method === 'ode' ? `probability-flow ODE, ${r.divergence} divergence` : `variational bound, ${r.steps} steps`;
  const offset = r.dequantized && r.method === 'ode';
  return `NLL of ${r.n} points of ${file} under ${describe} (${how}): ${r.natsPerDim.toFixed(5)} nats/dim (SE ${r.seNatsPerDim.toFixed(5)}), ` +
    `${r.bitsPerDim.toFixed(5)} bits/dim${offset ? ' (dequantized, + log2 127.5)' : ''}; ${r.nfe} NFE, ${seconds.toFixed(2)} s`;
}

/**
 * `sde nll`: the mean NLL of the rows of --data, in data coordinates, per dimension:
 * ode: -log p_eps(x) = -log p_T(x_T) - int_eps^T div F dt (odeLogLikelihood), plus sum_j log std_j of a
 * checkpoint's normalization; vlb: the variational bound (variationalBound) plus the same Jacobian.
 * With --dequantize (8-bit data on [-1, 1] in model coordinates), ode bits/dim = (nats/dim + log 127.5) / log 2
 * on x + (u - 1/2)/127.5, and vlb uses the discretized decoder (a discrete probability, no offset).
 */
export const nllCommand: CommandModule = {
  command: 'nll',
  describe: 'Negative log-likelihood of data under a model: probability-flow ODE (exact) or the DDPM variational bound',
  builder: (y: Argv) =>
    withSchemaFlags(
      withCsvOptions(withCommonOptions(withSdeOptions(y)))
        .option('checkpoint', { type: 'string', describe: 'checkpoint directory written by sde train' })
        .option('oracle', { type: 'string', describe: 'Gaussian-mixture JSON whose exact score is used (SDE flags apply)' })
        .option('data', { type: 'string', demandOption: true, describe: 'CSV of points in data coordinates (as sde sample writes them), one a row' }),
      NLL_SCHEMA,
    )
      .example('$0 nll --oracle mix.json --data points.csv', 'exact NLL of points under a Gaussian-mixture oracle (nats/dim, bits/dim)')
      .example('$0 nll --checkpoint runs/moons --data heldout.csv --method vlb --steps 1000 --json', 'the discrete variational bound of a trained model')
      .example('$0 nll --checkpoint runs/mnist --data digits.csv --dequantize --hutchinson rademacher', 'bits/dim of 8-bit images'),
  handler: async (argv) => {
    const { file, data, options } = nllRequest(argv);
    const backend = await backendFromArgs(argv);
    const source = loadScoreSource(argv);
    // Progress in points done, batch by batch (none under --json).
    const progress = createTaskProgress({ label: `nll ${options.method ?? NLL_SCHEMA.method.default}`, total: data.n, unit: 'points', enabled: !argv.json });
    try {
      // Model coordinates: a checkpoint's normalization x = (raw - mean) / std; the oracle's are the data's.
      const normalization = argv.checkpoint !== undefined ? readCheckpointConfig(String(argv.checkpoint)).data.normalization : undefined;
      const started = performance.now();
      const r = datasetNll(source.sde, source.score, { x: data.x, sampleShape: source.sampleShape }, {
        ...options,
        ...(normalization ? { normalization } : {}),
        onBatch: (_b, _batches, done) => progress.tick(done),
      });
      progress.finish();
      const seconds = (performance.now() - started) / 1000;
      emit(argv, nllSummary(r, seconds, backend.backend), () => nllLine(r, file, source.describe, seconds));
    } finally {
      progress.finish();
      source.dispose();
    }
  },
};
