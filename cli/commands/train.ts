import fs from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { loadDataset, normalize, sampleSize, standardize, TOY_DATASETS, isToyName } from '../../src/data/index.js';
import { UsageError } from '../../src/errors.js';
import { isCheckpoint, readCheckpointConfig } from '../../src/models/checkpoint.js';
import { parseParameterization } from '../../src/models/score-model.js';
import { defaultUNetConfig } from '../../src/models/unet.js';
import { makeSDE } from '../../src/sde/registry.js';
import { createProgressReporter } from '../../src/train/progress.js';
import { OBJECTIVES, WEIGHTINGS } from '../../src/train/losses.js';
import { train } from '../../src/train/loop.js';
import { backendFromArgs, emit, sdeConfigFromArgs, withCommonOptions, withSdeOptions } from '../common.js';
import { finiteNumber, integerAtLeast, integerInRange, oneOf, positiveNumber } from '../validate.js';

export const trainCommand: CommandModule = {
  command: 'train',
  describe: 'Train a score model by denoising score matching (continuous t) or DDPM L_simple (discrete steps)',
  builder: (y: Argv) =>
    withCommonOptions(withSdeOptions(y))
      .option('data', { type: 'string', demandOption: true, describe: `${TOY_DATASETS.join(' | ')} | mnist | FILE.csv` })
      .option('objective', { type: 'string', default: 'dsm', describe: 'dsm: t ~ U[eps, T]; ddpm: L_simple on --timesteps integer steps' })
      .option('timesteps', { type: 'string', default: '1000', describe: 'ddpm objective: steps N of the chain' })
      .option('param', { type: 'string', default: 'eps', describe: 'network output: eps (score = -eps/std) | score' })
      .option('weighting', { type: 'string', default: 'eps', describe: 'dsm weighting: eps (lambda = std^2) | likelihood (lambda = g^2)' })
      .option('iters', { type: 'string', describe: 'training steps (default 10000)' })
      .option('batch', { type: 'string', describe: 'batch size (default 512, images 32)' })
      .option('lr', { type: 'string', describe: 'Adam learning rate (default 1e-3, images 2e-4)' })
      .option('warmup', { type: 'string', describe: 'linear learning-rate warm-up steps' })
      .option('grad-clip', { type: 'string', describe: 'global gradient-norm clip (default 1)' })
      .option('ema', { type: 'string', describe: 'EMA decay in [0, 1) (default 0.999)' })
      .option('seed', { type: 'string', default: '0', describe: 'seed of initialisation, batches and noise' })
      .option('n-data', { type: 'string', describe: 'points drawn from a built-in 2-D set (default 100000)' })
      .option('out', { type: 'string', default: 'sde-run', describe: 'checkpoint directory' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue the checkpoint in --out' })
      .option('checkpoint-every', { type: 'string', default: '1000', describe: 'steps between checkpoints' })
      .option('conditional', { type: 'boolean', default: false, describe: 'class-conditional model for classifier-free guidance (needs labels: mnist, or a CSV with --label-column)' })
      .option('p-uncond', { type: 'string', describe: 'with --conditional: probability in [0, 1) of training a sample with the null label (default 0.1)' })
      .option('channels', { type: 'string', describe: 'image data: U-Net channels at the first resolution (default 16)' })
      .option('patch', { type: 'string', describe: 'image data: fold p x p pixel patches into channels before the U-Net (default 1)' })
      .option('label-column', { type: 'string', describe: 'CSV data: 0-based column K holding integer class labels 0..C-1 (not part of the data)' })
      .example('$0 train --data moons --iters 8000 --out runs/moons', 'continuous DSM on the VP-SDE')
      .example('$0 train --data points.csv --objective ddpm --timesteps 1000', 'DDPM L_simple on a CSV of points')
      .example('$0 train --data moons --out runs/moons --iters 16000 --resume', 'continue a run')
      .example('$0 train --data points.csv --label-column 2 --conditional --out runs/cls', 'class-conditional on a labelled CSV (sample with --class C)'),
  handler: async (argv) => {
    const spec = String(argv.data);
    const objective = oneOf('objective', argv.objective, OBJECTIVES);
    const weighting = oneOf('weighting', argv.weighting, WEIGHTINGS);
    const parameterization = parseParameterization(String(argv.param));
    const opt = <V>(key: string, parse: (flag: string, v: unknown) => V): V | undefined => (argv[key] === undefined ? undefined : parse(key, argv[key]));
    const ema = opt('ema', (f, v) => {
      const e = finiteNumber(f, v);
      if (!(e >= 0 && e < 1)) throw new UsageError(`--ema: expected a decay in [0, 1), got ${e}`);
      return e;
    });
    const settings = {
      objective,
      weighting,
      timesteps: integerInRange('timesteps', argv.timesteps, 2, 1_000_000),
      iters: opt('iters', (f, v) => integerAtLeast(f, v, 1)),
      batch: opt('batch', (f, v) => integerAtLeast(f, v, 1)),
      lr: opt('lr', positiveNumber),
      warmup: opt('warmup', (f, v) => integerAtLeast(f, v, 0)),
      gradClip: opt('grad-clip', positiveNumber),
      ema,
      seed: integerAtLeast('seed', argv.seed, 0),
    };
    const sdeConfig = sdeConfigFromArgs(argv);
    makeSDE(sdeConfig); // checks the SDE flags' ranges before any data is read
    const nData = opt('n-data', (f, v) => integerInRange(f, v, 1, 10_000_000));
    const checkpointEvery = integerAtLeast('checkpoint-every', argv['checkpoint-every'], 1);
    const out = String(argv.out);
    const resume = Boolean(argv.resume);
    const conditional = Boolean(argv.conditional);
    const pUncond = opt('p-uncond', (f, v) => {
      const p = finiteNumber(f, v);
      if (!(p >= 0 && p < 1)) throw new UsageError(`--p-uncond: expected a probability in [0, 1), got ${p}`);
      return p;
    });
    const labelColumn = opt('label-column', (f, v) => integerInRange(f, v, 0, 1_000_000));
    const channels = opt('channels', (f, v) => integerInRange(f, v, 4, 512));
    const patch = opt('patch', (f, v) => integerInRange(f, v, 1, 8));
    if (resume && (channels !== undefined || patch !== undefined)) {
      throw new UsageError(`--${channels !== undefined ? 'channels' : 'patch'}: the network is fixed by the checkpoint in '${out}'; drop it with --resume`);
    }
    if (resume && !isCheckpoint(out)) throw new UsageError(`--resume: '${out}' holds no checkpoint to continue`);
    // On resume the data must match the checkpoint's and is mapped with its stored normalization.
    const stored = resume ? readCheckpointConfig(out) : undefined;
    const trained = stored?.data;
    const storedClasses = stored?.model.network.numClasses;
    if (pUncond !== undefined && !conditional && storedClasses === undefined) {
      throw new UsageError('--p-uncond: only with --conditional (the probability of training a sample with the null label)');
    }
    if (!resume && fs.existsSync(out) && (!fs.statSync(out).isDirectory() || fs.readdirSync(out).length > 0)) {
      throw new UsageError(`--out: '${out}' exists and is not empty; pass --resume to continue it or choose another directory`);
    }
    if (!fs.existsSync(path.dirname(path.resolve(out)))) throw new UsageError(`--out: parent directory of '${out}' does not exist`);
    const csv = !isToyName(spec) && spec !== 'mnist';
    if (csv && !fs.existsSync(spec)) throw new UsageError(`--data: '${spec}' is neither a built-in data set (${TOY_DATASETS.join(', ')}, mnist) nor an existing CSV file`);
    if (csv && nData !== undefined) throw new UsageError(`--n-data: only for the built-in data sets and mnist, not for the CSV file '${spec}'`);
    if (!csv && labelColumn !== undefined) throw new UsageError(`--label-column: only for CSV data, not for the built-in data set '${spec}'`);
    if (conditional || storedClasses !== undefined) {
      const why = conditional ? '--conditional' : `--resume: the checkpoint in '${out}' is class-conditional and`;
      if (isToyName(spec)) throw new UsageError(`${why}: needs class labels, and the built-in data set '${spec}' has none (use mnist or a CSV with --label-column K)`);
      if (csv && labelColumn === undefined) throw new UsageError(`${why}: needs class labels: give --label-column K, the CSV column of ${spec} that holds them`);
    }
    const loaded = loadDataset(spec, { n: nData, seed: settings.seed, ...(labelColumn !== undefined ? { labelColumn } : {}) });
    const d = sampleSize(loaded.shape);
    if (trained && sampleSize(trained.shape) !== d) {
      throw new UsageError(`--data ${spec}: samples have ${d} values, the checkpoint in '${out}' was trained on ${sampleSize(trained.shape)}`);
    }
    // CSV files come raw; built-in sets are standardized already, MNIST is in [-1, 1].
    const data = !csv ? loaded : trained ? { ...loaded, x: normalize(loaded.x, trained.normalization, d), normalization: trained.normalization } : standardize(loaded);
    if ((channels !== undefined || patch !== undefined) && data.shape.length !== 3) {
      throw new UsageError(`--${channels !== undefined ? 'channels' : 'patch'}: only for image data (the U-Net), not for '${spec}'`);
    }
    if (patch !== undefined && (data.shape[0] % (2 * patch) !== 0 || data.shape[1] % (2 * patch) !== 0)) {
      throw new UsageError(`--patch: ${data.shape[0]}x${data.shape[1]} images need a patch p with height and width multiples of 2p, got ${patch}`);
    }
    if (settings.batch !== undefined && settings.batch > data.n) throw new UsageError(`--batch: ${settings.batch} is larger than the data (${data.n} samples)`);
    const backend = await backendFromArgs(argv);

    const controller = new AbortController();
    const stop = (signal: NodeJS.Signals) => {
      process.stderr.write(`${signal}: stopping after this step and saving a checkpoint (send it again to quit at once)\n`);
      controller.abort();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const started = performance.now();
    const result = await train({
      data,
      sde: sdeConfig,
      parameterization,
      ...(channels !== undefined || patch !== undefined
        ? { model: { network: defaultUNetConfig([data.shape[0], data.shape[1], data.shape[2]], { ...(channels !== undefined ? { channels } : {}), ...(patch !== undefined ? { patch } : {}) }), parameterization, inputScaling: 'marginal' as const } }
        : {}),
      ...(conditional ? { conditional } : {}),
      ...(pUncond !== undefined ? { pUncond } : {}),
      ...Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)),
      outDir: out,
      resume,
      checkpointEvery,
      progress: createProgressReporter(process.stderr),
      signal: controller.signal,
    });
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    const last = result.log[result.log.length - 1];
    const summary = {
      out,
      data: spec,
      step: result.step,
      iters: result.settings.iters,
      stopped: result.stopped,
      loss: last?.loss ?? null,
      stepsPerSec: result.stepsPerSec,
      seconds: (performance.now() - started) / 1000,
      backend: backend.backend,
      ...(result.config.model.network.numClasses !== undefined
        ? { conditional: true, numClasses: result.config.model.network.numClasses, pUncond: result.settings.pUncond }
        : {}),
    };
    result.dispose();
    emit(argv, summary, () =>
      `${result.stopped ? 'stopped' : 'trained'} ${spec}: step ${summary.step}/${summary.iters}, loss ${summary.loss?.toPrecision(4) ?? 'n/a'}, ${summary.stepsPerSec.toFixed(1)} steps/s -> ${out}`,
    );
  },
};
