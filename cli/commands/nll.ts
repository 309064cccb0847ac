import type { Argv, CommandModule } from 'yargs';
import { loadCsv } from '../../src/data/csv.js';
import type { Dataset } from '../../src/data/dataset.js';
import { datasetNll, NLL_METHODS, VLB_VARIANCES, type DatasetNll, type DatasetNllOptions } from '../../src/eval/dataset-nll.js';
import { DEFAULT_LIKELIHOOD_EPS, EXACT_DIVERGENCE_MAX_DIM, PROBES } from '../../src/eval/likelihood.js';
import { VLB_GRIDS } from '../../src/eval/vlb.js';
import { checkEndTime } from '../../src/solvers/grids.js';
import { UsageError } from '../../src/errors.js';
import { readCheckpointConfig } from '../../src/models/checkpoint.js';
import { backendFromArgs, emit, withCommonOptions, withSdeOptions } from '../common.js';
import { checkSourceFlags, loadScoreSource } from '../score-source.js';
import { sourceInfo } from '../source-info.js';
import { integerAtLeast, oneOf, positiveNumber } from '../validate.js';

/** Flags that only one method reads: given with the other method they are an error. */
const ODE_ONLY = ['rtol', 'atol', 'hutchinson'];
const VLB_ONLY = ['steps', 'variance', 'grid'];

/** The flags of `sde nll`, parsed and checked against the source before the backend is chosen: the data file, read, and datasetNll's options. */
function nllRequest(argv: Record<string, unknown>): { file: string; data: Dataset; options: DatasetNllOptions } {
  checkSourceFlags(argv);
  const method = oneOf('method', argv.method, NLL_METHODS);
  for (const flag of method === 'ode' ? VLB_ONLY : ODE_ONLY) {
    if (argv[flag] !== undefined) throw new UsageError(`--${flag}: only read by --method ${method === 'ode' ? 'vlb' : 'ode'}`);
  }
  const options: DatasetNllOptions = {
    method,
    seed: integerAtLeast('seed', argv.seed, 0),
    eps: positiveNumber('eps', argv.eps),
    batch: integerAtLeast('batch', argv.batch, 1),
    dequantize: Boolean(argv.dequantize),
    ...(argv.rtol === undefined ? {} : { rtol: positiveNumber('rtol', argv.rtol) }),
    ...(argv.atol === undefined ? {} : { atol: positiveNumber('atol', argv.atol) }),
    ...(argv.hutchinson === undefined ? {} : { probe: oneOf('hutchinson', argv.hutchinson, PROBES) }),
    steps: argv.steps === undefined ? 1000 : integerAtLeast('steps', argv.steps, 2),
    variance: argv.variance === undefined ? 'beta' : oneOf('variance', argv.variance, VLB_VARIANCES),
    grid: argv.grid === undefined ? 'uniform' : oneOf('grid', argv.grid, VLB_GRIDS),
  };
  const file = String(argv.data);
  const data = loadCsv(file, { label: `--data ${file}` });
  // The source's shape and SDE, checked against the data and the flags before the backend is chosen.
  const known = sourceInfo(argv);
  const D = known.sampleShape.reduce((a, b) => a * b, 1);
  const d = data.shape.reduce((a, b) => a * b, 1);
  if (d !== D) throw new UsageError(`--data ${file}: rows have ${d} values, the model's samples have ${D}`);
  checkEndTime(options.eps!, known.T);
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
    withCommonOptions(withSdeOptions(y))
      .option('checkpoint', { type: 'string', describe: 'checkpoint directory written by sde train' })
      .option('oracle', { type: 'string', describe: 'Gaussian-mixture JSON whose exact score is used (SDE flags apply)' })
      .option('data', { type: 'string', demandOption: true, describe: 'CSV of points in data coordinates (as sde sample writes them), one a row' })
      .option('method', { type: 'string', default: 'ode', describe: 'ode: probability-flow ODE, instantaneous change of variables | vlb: DDPM variational bound' })
      .option('seed', { type: 'string', default: '0', describe: 'seed of the Hutchinson probe, the dequantization noise and the VLB draws' })
      .option('eps', { type: 'string', default: String(DEFAULT_LIKELIHOOD_EPS), describe: 'ode: start time (the NLL is that of the data diffused to eps); vlb --grid logsnr: first time of the chain' })
      .option('rtol', { type: 'string', describe: 'ode: Dormand-Prince relative tolerance (default 1e-5)' })
      .option('atol', { type: 'string', describe: 'ode: Dormand-Prince absolute tolerance (default 1e-5)' })
      .option('hutchinson', { type: 'string', describe: `ode: use Hutchinson's divergence estimator with this probe: ${PROBES.join(' | ')} (default: exact up to ${EXACT_DIVERGENCE_MAX_DIM} dimensions, rademacher above)` })
      .option('steps', { type: 'string', describe: 'vlb: steps N of the discrete chain (default 1000)' })
      .option('variance', { type: 'string', describe: 'vlb: reverse variance beta (and decoder variance 1 - alphaBar_0; tends to the NLL) | beta-tilde (Ho et al.) (default beta)' })
      .option('grid', { type: 'string', describe: `vlb: chain times ${VLB_GRIDS.join(' | ')} (default uniform: t_i = (i+1)/N)` })
      .option('dequantize', { type: 'boolean', default: false, describe: '8-bit data on 256 levels of [-1, 1] in model coordinates: ode adds uniform noise and log 127.5 per dim; vlb uses the discretized decoder' })
      .option('batch', { type: 'string', default: '1000', describe: 'points per batch' })
      .example('$0 nll --oracle mix.json --data points.csv', 'exact NLL of points under a Gaussian-mixture oracle (nats/dim, bits/dim)')
      .example('$0 nll --checkpoint runs/moons --data heldout.csv --method vlb --steps 1000 --json', 'the discrete variational bound of a trained model')
      .example('$0 nll --checkpoint runs/mnist --data digits.csv --dequantize --hutchinson rademacher', 'bits/dim of 8-bit images'),
  handler: async (argv) => {
    const { file, data, options } = nllRequest(argv);
    const backend = await backendFromArgs(argv);
    const source = loadScoreSource(argv);
    try {
      // Model coordinates: a checkpoint's normalization x = (raw - mean) / std; the oracle's are the data's.
      const normalization = argv.checkpoint !== undefined ? readCheckpointConfig(String(argv.checkpoint)).data.normalization : undefined;
      const started = performance.now();
      const r = datasetNll(source.sde, source.score, { x: data.x, sampleShape: source.sampleShape }, {
        ...options,
        ...(normalization ? { normalization } : {}),
        onBatch: (b, batches, done) => {
          if (batches > 1) process.stderr.write(`batch ${b}/${batches}: ${done} of ${data.n} points\n`);
        },
      });
      const seconds = (performance.now() - started) / 1000;
      emit(argv, nllSummary(r, seconds, backend.backend), () => nllLine(r, file, source.describe, seconds));
    } finally {
      source.dispose();
    }
  },
};
