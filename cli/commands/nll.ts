import * as tf from '@tensorflow/tfjs';
import type { Argv, CommandModule } from 'yargs';
import { loadCsv } from '../../src/data/csv.js';
import { normalize, type Normalization } from '../../src/data/dataset.js';
import {
  bitsPerDim,
  DEFAULT_LIKELIHOOD_EPS,
  dequantize,
  EXACT_DIVERGENCE_MAX_DIM,
  odeLogLikelihood,
  offEightBitGrid,
  PROBES,
  type DivergenceMethod,
} from '../../src/eval/likelihood.js';
import { epsFromScore, variationalBound, VLB_GRIDS } from '../../src/eval/vlb.js';
import { checkEndTime } from '../../src/solvers/grids.js';
import { UsageError } from '../../src/errors.js';
import { readCheckpointConfig } from '../../src/models/checkpoint.js';
import { backendFromArgs, emit, withCommonOptions, withSdeOptions } from '../common.js';
import { checkSourceFlags, loadScoreSource } from '../score-source.js';
import { sourceInfo } from '../source-info.js';
import { integerAtLeast, oneOf, positiveNumber } from '../validate.js';

const METHODS = ['ode', 'vlb'] as const;
const VARIANCES = ['beta', 'beta-tilde'] as const;

/** Flags that only one method reads: given with the other method they are an error. */
const ODE_ONLY = ['rtol', 'atol', 'hutchinson'];
const VLB_ONLY = ['steps', 'variance', 'grid'];

/** sum_j log std_j over D coordinates: log |d raw / d x| of raw = mean + std x, added to the model's NLL to get the data's. */
function logJacobian(norm: Normalization, D: number): number {
  let s = 0;
  for (let j = 0; j < D; j++) s += Math.log(norm.std.length === 1 ? norm.std[0] : norm.std[j]);
  return s;
}

function meanAndSe(values: number[]): { mean: number; se: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, se: Math.sqrt(variance / n) };
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
    checkSourceFlags(argv);
    const method = oneOf('method', argv.method, METHODS);
    for (const flag of method === 'ode' ? VLB_ONLY : ODE_ONLY) {
      if (argv[flag] !== undefined) throw new UsageError(`--${flag}: only read by --method ${method === 'ode' ? 'vlb' : 'ode'}`);
    }
    const seed = integerAtLeast('seed', argv.seed, 0);
    const eps = positiveNumber('eps', argv.eps);
    const batch = integerAtLeast('batch', argv.batch, 1);
    const dequantized = Boolean(argv.dequantize);
    const rtol = argv.rtol === undefined ? undefined : positiveNumber('rtol', argv.rtol);
    const atol = argv.atol === undefined ? undefined : positiveNumber('atol', argv.atol);
    const probe = argv.hutchinson === undefined ? undefined : oneOf('hutchinson', argv.hutchinson, PROBES);
    const steps = argv.steps === undefined ? 1000 : integerAtLeast('steps', argv.steps, 2);
    const variance = argv.variance === undefined ? 'beta' : oneOf('variance', argv.variance, VARIANCES);
    const grid = argv.grid === undefined ? 'uniform' : oneOf('grid', argv.grid, VLB_GRIDS);
    const file = String(argv.data);
    const data = loadCsv(file, { label: `--data ${file}` });
    // The source's shape and SDE, checked against the data and the flags before the backend is chosen.
    const known = sourceInfo(argv);
    const D = known.sampleShape.reduce((a, b) => a * b, 1);
    const d = data.shape.reduce((a, b) => a * b, 1);
    if (d !== D) throw new UsageError(`--data ${file}: rows have ${d} values, the model's samples have ${D}`);
    checkEndTime(eps, known.T);
    if (method === 'vlb' && known.sdeName !== 'vp') throw new UsageError(`--method vlb: the DDPM chain is defined for the VP-SDE, not '${known.sdeName}'`);

    const backend = await backendFromArgs(argv);
    const source = loadScoreSource(argv);
    try {
      const { sde } = source;
      // Model coordinates: a checkpoint's normalization x = (raw - mean) / std; the oracle's are the data's.
      const norm: Normalization = argv.checkpoint !== undefined ? readCheckpointConfig(String(argv.checkpoint)).data.normalization : { mean: [0], std: [1] };
      const x = normalize(data.x, norm, D);
      if (dequantized) {
        const bad = offEightBitGrid(x);
        if (bad >= 0) {
          throw new UsageError(`--dequantize: ${file} row ${Math.floor(bad / D) + 1}, column ${(bad % D) + 1} is ${data.x[bad]}, not one of the 256 levels of 8-bit data (k / 127.5 - 1 in model coordinates)`);
        }
      }
      // A discrete probability does not change with the coordinates; a density does, by the normalization's Jacobian.
      const jacobian = dequantized ? 0 : logJacobian(norm, D);
      const n = data.n;
      const nats: number[] = [];
      let nfe = 0;
      let accepted = 0;
      let rejected = 0;
      let divergence: DivergenceMethod | undefined;
      const terms = { prior: 0, diffusion: 0, decoder: 0 };
      const batches = Math.ceil(n / batch);
      const started = performance.now();
      for (let b = 0; b < batches; b++) {
        const lo = b * batch;
        const hi = Math.min(n, lo + batch);
        const rows = x.subarray(lo * D, hi * D);
        const values = dequantized && method === 'ode' ? dequantize(rows, seed + 7919 * b) : rows;
        const xb = tf.tensor(values, [hi - lo, ...source.sampleShape], 'float32');
        try {
          if (method === 'ode') {
            const r = odeLogLikelihood(sde, source.score, xb, {
              eps,
              rtol,
              atol,
              divergence: probe ? 'hutchinson' : 'auto',
              probe: probe ?? 'rademacher',
              seed: seed + b,
            });
            r.logp.forEach((v) => nats.push(-v + jacobian));
            nfe += r.nfe;
            accepted += r.accepted;
            rejected += r.rejected;
            divergence = r.divergence;
          } else {
            const r = variationalBound(sde, epsFromScore(sde, source.score), xb, {
              steps,
              grid,
              eps,
              variance,
              decoderVariance: variance === 'beta' ? 'beta' : 'clipped',
              decoder: dequantized ? 'discretized' : 'gaussian',
              seed: seed + b,
            });
            r.nats.forEach((v) => nats.push(v + jacobian));
            nfe += r.nfe;
            const w = (hi - lo) / n;
            terms.prior += w * r.terms.prior;
            terms.diffusion += w * r.terms.diffusion;
            terms.decoder += w * r.terms.decoder;
          }
        } finally {
          xb.dispose();
        }
        if (batches > 1) process.stderr.write(`batch ${b + 1}/${batches}: ${hi} of ${n} points\n`);
      }
      const seconds = (performance.now() - started) / 1000;
      const { mean, se } = meanAndSe(nats);
      const natsPerDim = mean / D;
      // The ODE's dequantized density gets the 8-bit bin offset; the VLB's discretized decoder is already a discrete probability.
      const bits = bitsPerDim(natsPerDim, dequantized && method === 'ode');
      const summary = {
        method,
        natsPerDim,
        bitsPerDim: bits,
        seNatsPerDim: se / D,
        nfe,
        seconds,
        n,
        dims: D,
        batches,
        dequantized,
        ...(method === 'ode'
          ? { eps, rtol: rtol ?? 1e-5, atol: atol ?? 1e-5, divergence, ...(divergence === 'hutchinson' ? { probe: probe ?? 'rademacher' } : {}), accepted, rejected }
          : { steps, grid, variance, ...(grid === 'logsnr' ? { eps } : {}), termsPerDim: { prior: terms.prior / D, diffusion: terms.diffusion / D, decoder: terms.decoder / D } }),
        backend: backend.backend,
      };
      const how = method === 'ode' ? `probability-flow ODE, ${divergence} divergence` : `variational bound, ${steps} steps`;
      emit(argv, summary, () =>
        `NLL of ${n} points of ${file} under ${source.describe} (${how}): ${natsPerDim.toFixed(5)} nats/dim (SE ${(se / D).toFixed(5)}), ` +
        `${bits.toFixed(5)} bits/dim${dequantized && method === 'ode' ? ' (dequantized, + log2 127.5)' : ''}; ${nfe} NFE, ${seconds.toFixed(2)} s`,
      );
    } finally {
      source.dispose();
    }
  },
};
