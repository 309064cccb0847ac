import fs from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import type { Dataset } from '../../src/data/dataset.js';
import { UsageError } from '../../src/errors.js';
import { readCheckpointConfig } from '../../src/models/checkpoint.js';
import { MODEL_SCHEMA } from '../../src/models/options.js';
import type { ModelConfig } from '../../src/models/score-model.js';
import { defaultUNetConfig } from '../../src/models/unet.js';
import { makeSDE } from '../../src/sde/registry.js';
import { train, type TrainResult } from '../../src/train/loop.js';
import { TRAIN_SCHEMA } from '../../src/train/options.js';
import { createProgressReporter } from '../../src/train/progress.js';
import { loadRunData, RUN_DATA_SCHEMA } from '../../src/train/run-data.js';
import { checkFreshRunDir, resumesCheckpoint } from '../../src/train/run-dir.js';
import { checkRunLock, releaseAllRunLocks } from '../../src/train/run-lock.js';
import { defaultSettings, type TrainOptions } from '../../src/train/settings.js';
import { checkOutputDir } from '../output-paths.js';
import { csvOptionsFromFlags, withCsvOptions } from '../csv-options.js';
import { optionsFromFlags, withSchemaFlags } from '../schema-flags.js';
import { backendFromArgs, emit, sdeConfigFromArgs, sdeFlagsGiven, withCommonOptions, withSdeOptions } from '../common.js';

/*
 * Flags that define a run have no yargs default (the schemas' defaults are shown in the help), so
 * the handler knows which were given: a new run gets train()'s defaults; --resume takes the
 * checkpoint's values and refuses a given flag that contradicts them (src/train/resume.ts).
 */

type Args = Readonly<Record<string, unknown>>;

/** The run the flags ask for, checked before any data is read. */
function runRequest(argv: Args, notes: string[]) {
  const out = checkOutputDir('out', String(argv.out)); // a directory (or one to create) this process can write
  const resume = resumesCheckpoint(out, Boolean(argv.resume), (line) => notes.push(line));
  const stored = resume ? readCheckpointConfig(out) : undefined;
  const settings = optionsFromFlags(argv, TRAIN_SCHEMA); // the flags given, checked; the others: train()'s defaults or the checkpoint's
  const sde = resume ? sdeFlagsGiven(argv) : sdeConfigFromArgs(argv);
  makeSDE(resume ? { ...stored!.sde, ...sde } : sde); // checks the SDE flags' ranges before any data is read
  const { param: parameterization, ...network } = optionsFromFlags(argv, MODEL_SCHEMA);
  const data = optionsFromFlags(argv, RUN_DATA_SCHEMA);
  if (resume && (network.channels !== undefined || network.patch !== undefined)) {
    throw new UsageError(`--${network.channels !== undefined ? 'channels' : 'patch'}: the network is fixed by the checkpoint in '${out}'; drop it with --resume`);
  }
  const conditional = data.conditional === true;
  if (settings.pUncond !== undefined && !conditional && stored?.model.network.numClasses === undefined) {
    throw new UsageError('--p-uncond: only with --conditional (the probability of training a sample with the null label)');
  }
  if (!resume) checkFreshRunDir(out);
  return {
    out, resume, stored, settings, sde, network, conditional,
    parameterization, nData: data.nData, labelColumn: data.labelColumn, data: data.data,
    csv: csvOptionsFromFlags(argv),
  };
}

type RunRequest = ReturnType<typeof runRequest>;

/** --channels/--patch as a U-Net config for image data (undefined: the default network). */
function networkOverride(r: RunRequest, data: Dataset, spec: string): ModelConfig | undefined {
  const { channels, patch } = r.network;
  if (channels === undefined && patch === undefined) return undefined;
  if (data.shape.length !== 3) throw new UsageError(`--${channels !== undefined ? 'channels' : 'patch'}: only for image data (the U-Net), not for '${spec}'`);
  if (patch !== undefined && (data.shape[0] % (2 * patch) !== 0 || data.shape[1] % (2 * patch) !== 0)) {
    throw new UsageError(`--patch: ${data.shape[0]}x${data.shape[1]} images need a patch p with height and width multiples of 2p, got ${patch}`);
  }
  const network = defaultUNetConfig([data.shape[0], data.shape[1], data.shape[2]], { ...(channels !== undefined ? { channels } : {}), ...(patch !== undefined ? { patch } : {}) });
  return { network, parameterization: r.parameterization ?? 'eps', inputScaling: 'marginal' };
}

/** The batch fits the data (a fresh run's default batch too), checked before the lock and any work. */
function checkBatch(r: RunRequest, data: Dataset): void {
  const batch = r.settings.batch ?? (r.stored ? undefined : defaultSettings(data.shape).batch);
  if (batch !== undefined && batch > data.n) throw new UsageError(`--batch: ${batch} is larger than the data (${data.n} samples)${r.settings.batch === undefined ? '; pass a smaller --batch' : ''}`);
}

/**
 * Runs `run` with SIGINT/SIGTERM turned into an abort (stop after this step, save a checkpoint);
 * a second signal quits at once, as the default action would, after releasing the run's lock.
 */
async function withStopSignals<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    // On a terminal the progress line is open: the message starts on a line of its own.
    process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}${signal}: stopping after this step and saving a checkpoint (send it again to quit at once)\n`);
    controller.abort();
    process.once(signal, () => {
      releaseAllRunLocks();
      process.kill(process.pid, signal);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await run(controller.signal);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** The JSON summary of a finished (or stopped) run. */
function trainSummary(result: TrainResult, out: string, spec: string, seconds: number, backend: string) {
  const last = result.log[result.log.length - 1];
  const numClasses = result.config.model.network.numClasses;
  return {
    out,
    data: spec,
    step: result.step,
    iters: result.settings.iters,
    stopped: result.stopped,
    loss: last?.loss ?? null,
    stepsPerSec: result.stepsPerSec,
    seconds,
    backend,
    ...(numClasses !== undefined ? { conditional: true, numClasses, pUncond: result.settings.pUncond } : {}),
  };
}

export const trainCommand: CommandModule = {
  command: 'train',
  describe: 'Train a score model by denoising score matching (continuous t) or DDPM L_simple (discrete steps)',
  builder: (y: Argv) =>
    withCsvOptions(withSchemaFlags(withSchemaFlags(withSchemaFlags(withCommonOptions(withSdeOptions(y)), TRAIN_SCHEMA), RUN_DATA_SCHEMA), MODEL_SCHEMA))
      .option('out', { type: 'string', default: 'sde-run', describe: 'checkpoint directory (locked while training: one run writes it at a time)' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue the checkpoint in --out exactly; flags that define the run must match it' })
      .example('$0 train --data moons --iters 8000 --out runs/moons', 'continuous DSM on the VP-SDE')
      .example('$0 train --data points.csv --objective ddpm --timesteps 1000', 'DDPM L_simple on a CSV of points')
      .example('$0 train --out runs/moons --iters 16000 --resume', 'continue a run (its data and settings come from the checkpoint)')
      .example('$0 train --data points.csv --label-column 2 --conditional --out runs/cls', 'class-conditional on a labelled CSV (sample with --class C)'),
  handler: async (argv) => {
    // Announced when training starts (after every check), so a refused run prints only its error.
    const notes: string[] = [];
    const r = runRequest(argv, notes);
    const seed = r.settings.seed ?? TRAIN_SCHEMA.seed.default;
    const { spec, data, record, notes: dataNotes } = loadRunData({ data: r.data, csv: r.csv, nData: r.nData, labelColumn: r.labelColumn, conditional: r.conditional, seed, out: r.out, stored: r.stored });
    notes.push(...dataNotes);
    const model = networkOverride(r, data, spec);
    checkBatch(r, data);
    // Another run writing --out is reported after the flags and the data were checked, before any work.
    if (fs.existsSync(r.out) && fs.statSync(r.out).isDirectory()) checkRunLock(r.out);
    const backend = await backendFromArgs(argv);
    const started = performance.now();
    const options: Omit<TrainOptions, 'signal'> = {
      data, sde: r.sde, ...r.settings, outDir: r.out, resume: r.resume, dataRecord: record, notes,
      ...(r.parameterization !== undefined ? { parameterization: r.parameterization } : {}),
      ...(model ? { model } : {}),
      ...(r.conditional ? { conditional: true } : {}),
      notify: (line) => process.stderr.write(line + '\n'),
      progress: createProgressReporter(process.stderr),
    };
    const result = await withStopSignals((signal) => train({ ...options, signal }));
    const summary = trainSummary(result, r.out, spec, (performance.now() - started) / 1000, backend.backend);
    result.dispose();
    emit(argv, summary, () =>
      `${result.stopped ? 'stopped' : 'trained'} ${spec}: step ${summary.step}/${summary.iters}, loss ${summary.loss?.toPrecision(4) ?? 'n/a'}, ${summary.stepsPerSec.toFixed(1)} steps/s -> ${r.out}`,
    );
  },
};
