import fs from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { loadDataset, normalize, sampleSize, standardize, TOY_DATASETS, isToyName } from '../../src/data/index.js';
import { UsageError } from '../../src/errors.js';
import { isCheckpoint, readCheckpointConfig, type CheckpointConfig } from '../../src/models/checkpoint.js';
import { sha256Hex } from '../../src/models/weights-io.js';
import { parseParameterization } from '../../src/models/score-model.js';
import { defaultUNetConfig } from '../../src/models/unet.js';
import { DEFAULT_SDE_CONFIG, makeSDE, parseSdeName } from '../../src/sde/registry.js';
import type { SDEConfig } from '../../src/sde/types.js';
import { createProgressReporter } from '../../src/train/progress.js';
import { train } from '../../src/train/loop.js';
import { defaultSettings } from '../../src/train/settings.js';
import { TRAIN_SCHEMA } from '../../src/train/options.js';
import { checkRunLock, LOCK_FILE, releaseAllRunLocks } from '../../src/train/run-lock.js';
import { checkOutputDir } from '../output-paths.js';
import { optionsFromFlags, withSchemaFlags } from '../schema-flags.js';
import { backendFromArgs, emit, withCommonOptions, withSdeOptions } from '../common.js';
import { finiteNumber, integerInRange } from '../validate.js';

/*
 * Flags that define a run have no yargs default here, so the handler knows which were given:
 * a new run gets train()'s defaults (TRAIN_SCHEMA's, shown in the help); --resume takes the
 * checkpoint's values and refuses a given flag that contradicts them (src/train/resume.ts).
 */
const SDE_KEYS: [string, keyof SDEConfig][] = [['sde', 'sde'], ['schedule', 'schedule'], ['beta-min', 'betaMin'], ['beta-max', 'betaMax'], ['sigma-min', 'sigmaMin'], ['sigma-max', 'sigmaMax']];

/** withSdeOptions without yargs defaults (shown in the descriptions instead). */
function withSdeFlagsUndefaulted(y: Argv): Argv {
  const d = DEFAULT_SDE_CONFIG;
  const describe: Record<string, string> = {
    sde: 'vp | subvp | ve',
    schedule: 'VP/sub-VP beta(t): linear | cosine | an expression in t, e.g. "0.1 + 19.9*t"',
    'beta-min': 'linear schedule beta(0)',
    'beta-max': 'linear schedule beta(1)',
    'sigma-min': 'VE sigma(0)',
    'sigma-max': 'VE sigma(1)',
  };
  let out = withSdeOptions(y);
  for (const [flag, key] of SDE_KEYS) out = out.option(flag, { type: 'string', default: undefined, describe: `${describe[flag]} (default: ${String(d[key])})` });
  return out;
}

/** The SDE flags given (resume) or all of them with defaults (a new run). */
function sdeFromArgs(argv: Record<string, unknown>, fillDefaults: boolean): Partial<SDEConfig> {
  const out: Partial<SDEConfig> = {};
  for (const [flag, key] of SDE_KEYS) {
    const v = argv[flag] ?? (fillDefaults ? String(DEFAULT_SDE_CONFIG[key]) : undefined);
    if (v === undefined) continue;
    if (key === 'sde') out.sde = parseSdeName(String(v));
    else if (key === 'schedule') out.schedule = String(v);
    else out[key] = finiteNumber(flag, v);
  }
  return out;
}

/** Files a run leaves before its first checkpoint: log.jsonl, its lock, temporary files, weights files of an uncommitted save. */
function isRunLeftover(name: string): boolean {
  return name === 'log.jsonl' || name === LOCK_FILE || /^\.lock\.\d+\.stale$/.test(name) || /^\..+\.\d+\.tmp$/.test(name) || /^(model|ema|optimizer)-\d+(-[0-9a-f]+)?\.bin$/.test(name);
}

/** True when dir is a directory holding only what a run left before its first checkpoint (at least its log). */
function onlyRunLeftovers(dir: string): boolean {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return false;
  const names = fs.readdirSync(dir);
  return names.includes('log.jsonl') && names.every(isRunLeftover);
}

/**
 * On resume, the data: the checkpoint's recorded source unless --data is given, and a given one
 * must be the same (a built-in set by name, a CSV by content when its sha256 is recorded).
 */
function resumedDataSpec(given: string | undefined, stored: CheckpointConfig, out: string): string {
  const source = stored.data.source;
  const builtIn = (s: string) => isToyName(s) || s === 'mnist';
  const sha = stored.data.sha256;
  const spec = given ?? source;
  if (builtIn(source) || builtIn(spec)) {
    if (spec !== source) throw new UsageError(`--data: the checkpoint in '${out}' was trained on '${source}', not '${spec}'; --resume keeps it (drop --data, or start a new run in another --out)`);
    return spec;
  }
  if (!fs.existsSync(spec) || !fs.statSync(spec).isFile()) {
    if (given === undefined) throw new UsageError(`--data: the checkpoint in '${out}' was trained on '${source}', which cannot be read from here (no such file); give --data FILE with the same rows`);
    return spec; // reported as a missing file by the usual check
  }
  if (sha === undefined && spec !== source) {
    throw new UsageError(`--data: the checkpoint in '${out}' was trained on '${source}', not '${spec}'; --resume keeps it (drop --data, or start a new run in another --out)`);
  }
  return spec;
}

/** On resume from a CSV whose sha256 is recorded: the file must hold the same bytes (checked after its dimension). */
function checkSameCsv(spec: string, given: string | undefined, stored: CheckpointConfig, out: string, bytesSha: string, note: (line: string) => void): void {
  const { source, sha256 } = stored.data;
  if (sha256 === undefined) return;
  if (bytesSha !== sha256) {
    throw new UsageError(given === undefined || spec === source
      ? `--data: '${spec}' changed since the checkpoint in '${out}' was trained on it (its sha256 differs); --resume needs the same data`
      : `--data: '${spec}' is not the data the checkpoint in '${out}' was trained on ('${source}', another sha256); --resume keeps it`);
  }
  if (spec !== source) note(`--data: '${spec}' holds the same bytes as the recorded '${source}'; the checkpoint now records '${spec}'`);
}

export const trainCommand: CommandModule = {
  command: 'train',
  describe: 'Train a score model by denoising score matching (continuous t) or DDPM L_simple (discrete steps)',
  builder: (y: Argv) =>
    withSchemaFlags(withCommonOptions(withSdeFlagsUndefaulted(y)), TRAIN_SCHEMA)
      .option('data', { type: 'string', describe: `${TOY_DATASETS.join(' | ')} | mnist | FILE.csv (required, except with --resume: the checkpoint's)` })
      .option('param', { type: 'string', describe: 'network output: eps (score = -eps/std) | score (default: eps)' })
      .option('n-data', { type: 'string', describe: 'points drawn from a built-in 2-D set (default 100000)' })
      .option('out', { type: 'string', default: 'sde-run', describe: 'checkpoint directory (locked while training: one run writes it at a time)' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue the checkpoint in --out exactly; flags that define the run must match it' })
      .option('conditional', { type: 'boolean', describe: 'class-conditional model for classifier-free guidance (needs labels: mnist, or a CSV with --label-column)' })
      .option('channels', { type: 'string', describe: 'image data: U-Net channels at the first resolution (default 16)' })
      .option('patch', { type: 'string', describe: 'image data: fold p x p pixel patches into channels before the U-Net (default 1)' })
      .option('label-column', { type: 'string', describe: 'CSV data: 0-based column K holding integer class labels 0..C-1 (not part of the data)' })
      .example('$0 train --data moons --iters 8000 --out runs/moons', 'continuous DSM on the VP-SDE')
      .example('$0 train --data points.csv --objective ddpm --timesteps 1000', 'DDPM L_simple on a CSV of points')
      .example('$0 train --out runs/moons --iters 16000 --resume', 'continue a run (its data and settings come from the checkpoint)')
      .example('$0 train --data points.csv --label-column 2 --conditional --out runs/cls', 'class-conditional on a labelled CSV (sample with --class C)'),
  handler: async (argv) => {
    const say = (line: string) => process.stderr.write(line + '\n');
    // Announced when training starts (after every check), so a refused run prints only its error.
    const notes: string[] = [];
    const note = (line: string) => notes.push(line);
    const out = checkOutputDir('out', String(argv.out)); // a directory (or one to create) this process can write
    let resume = Boolean(argv.resume);
    if (resume && !isCheckpoint(out)) {
      if (!onlyRunLeftovers(out)) throw new UsageError(`--resume: '${out}' holds no checkpoint to continue`);
      // Killed before its first checkpoint: nothing to continue, so the run starts again.
      note(`--resume: '${out}' has no checkpoint yet (its run stopped before the first one); starting from step 0`);
      resume = false;
    }
    // On resume the data must match the checkpoint's and is mapped with its stored normalization.
    const stored = resume ? readCheckpointConfig(out) : undefined;
    const parameterization = argv.param === undefined ? undefined : parseParameterization(String(argv.param));
    const settings = optionsFromFlags(argv, TRAIN_SCHEMA); // the flags given, checked; the others: train()'s defaults or the checkpoint's
    const sdeConfig = sdeFromArgs(argv, !resume);
    makeSDE(resume ? { ...stored!.sde, ...sdeConfig } : sdeConfig); // checks the SDE flags' ranges before any data is read
    const opt = <V>(key: string, parse: (flag: string, v: unknown) => V): V | undefined => (argv[key] === undefined ? undefined : parse(key, argv[key]));
    const nData = opt('n-data', (f, v) => integerInRange(f, v, 1, 10_000_000));
    const conditional = argv.conditional === true;
    const givenLabelColumn = opt('label-column', (f, v) => integerInRange(f, v, 0, 1_000_000));
    const channels = opt('channels', (f, v) => integerInRange(f, v, 4, 512));
    const patch = opt('patch', (f, v) => integerInRange(f, v, 1, 8));
    if (resume && (channels !== undefined || patch !== undefined)) {
      throw new UsageError(`--${channels !== undefined ? 'channels' : 'patch'}: the network is fixed by the checkpoint in '${out}'; drop it with --resume`);
    }
    const trained = stored?.data;
    const storedClasses = stored?.model.network.numClasses;
    if (settings.pUncond !== undefined && !conditional && storedClasses === undefined) {
      throw new UsageError('--p-uncond: only with --conditional (the probability of training a sample with the null label)');
    }
    if (!resume && fs.existsSync(out) && fs.readdirSync(out).length > 0 && !onlyRunLeftovers(out)) {
      checkRunLock(out); // a run writing it is what to report
      throw new UsageError(`--out: '${out}' exists and is not empty; pass --resume to continue it or choose another directory`);
    }
    const givenData = argv.data === undefined ? undefined : String(argv.data);
    if (!resume && givenData === undefined) throw new UsageError(`--data: required: ${TOY_DATASETS.join(', ')}, mnist or a CSV file (with --resume the checkpoint's data is used)`);
    const spec = stored ? resumedDataSpec(givenData, stored, out) : givenData!;
    const csv = !isToyName(spec) && spec !== 'mnist';
    if (csv && !fs.existsSync(spec)) throw new UsageError(`--data: '${spec}' is neither a built-in data set (${TOY_DATASETS.join(', ')}, mnist) nor an existing CSV file`);
    if (csv && nData !== undefined) throw new UsageError(`--n-data: only for the built-in data sets and mnist, not for the CSV file '${spec}'`);
    if (!csv && givenLabelColumn !== undefined) throw new UsageError(`--label-column: only for CSV data, not for the built-in data set '${spec}'`);
    if (trained && nData !== undefined && trained.n !== undefined && nData !== trained.n) {
      throw new UsageError(`--n-data: the checkpoint in '${out}' was trained on ${trained.n} points, not ${nData}; --resume keeps it (drop --n-data)`);
    }
    if (trained && givenLabelColumn !== undefined && trained.labelColumn !== undefined && givenLabelColumn !== trained.labelColumn) {
      throw new UsageError(`--label-column: the checkpoint in '${out}' was trained with labels in column ${trained.labelColumn}, not ${givenLabelColumn}; --resume keeps it`);
    }
    const labelColumn = givenLabelColumn ?? trained?.labelColumn;
    if (conditional || storedClasses !== undefined) {
      const why = conditional ? '--conditional' : `--resume: the checkpoint in '${out}' is class-conditional and`;
      if (isToyName(spec)) throw new UsageError(`${why}: needs class labels, and the built-in data set '${spec}' has none (use mnist or a CSV with --label-column K)`);
      if (csv && labelColumn === undefined) throw new UsageError(`${why}: needs class labels: give --label-column K, the CSV column of ${spec} that holds them`);
    }
    // A built-in set is drawn with the run's seed and size: on resume the recorded ones.
    const dataSeed = stored ? Number((stored.training as { seed?: number } | undefined)?.seed ?? 0) : (settings.seed ?? TRAIN_SCHEMA.seed.default);
    const loaded = loadDataset(spec, { n: nData ?? trained?.n, seed: dataSeed, ...(labelColumn !== undefined ? { labelColumn } : {}) });
    const d = sampleSize(loaded.shape);
    if (trained && sampleSize(trained.shape) !== d) {
      throw new UsageError(`--data ${spec}: samples have ${d} values, the checkpoint in '${out}' was trained on ${sampleSize(trained.shape)}`);
    }
    const csvSha = csv ? sha256Hex(fs.readFileSync(spec)) : undefined;
    if (stored && csvSha !== undefined) checkSameCsv(spec, givenData, stored, out, csvSha, note);
    // CSV files come raw; built-in sets are standardized already, MNIST is in [-1, 1].
    const data = !csv ? loaded : trained ? { ...loaded, x: normalize(loaded.x, trained.normalization, d), normalization: trained.normalization } : standardize(loaded);
    if ((channels !== undefined || patch !== undefined) && data.shape.length !== 3) {
      throw new UsageError(`--${channels !== undefined ? 'channels' : 'patch'}: only for image data (the U-Net), not for '${spec}'`);
    }
    if (patch !== undefined && (data.shape[0] % (2 * patch) !== 0 || data.shape[1] % (2 * patch) !== 0)) {
      throw new UsageError(`--patch: ${data.shape[0]}x${data.shape[1]} images need a patch p with height and width multiples of 2p, got ${patch}`);
    }
    const batch = settings.batch ?? (stored ? undefined : defaultSettings(data.shape).batch);
    if (batch !== undefined && batch > data.n) throw new UsageError(`--batch: ${batch} is larger than the data (${data.n} samples)${settings.batch === undefined ? '; pass a smaller --batch' : ''}`);
    // Another run writing --out is reported after the flags and the data were checked, before any work.
    if (fs.existsSync(out) && fs.statSync(out).isDirectory()) checkRunLock(out);
    const dataRecord = { n: loaded.n, ...(labelColumn !== undefined ? { labelColumn } : {}), ...(csvSha !== undefined ? { sha256: csvSha } : {}) };
    const backend = await backendFromArgs(argv);

    const controller = new AbortController();
    const stop = (signal: NodeJS.Signals) => {
      process.stderr.write(`${signal}: stopping after this step and saving a checkpoint (send it again to quit at once)\n`);
      controller.abort();
      // A second signal quits at once, as the default action would, but releases the run's lock first.
      process.once(signal, () => {
        releaseAllRunLocks();
        process.kill(process.pid, signal);
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const started = performance.now();
    const result = await train({
      data,
      sde: sdeConfig,
      ...(parameterization !== undefined ? { parameterization } : {}),
      ...(channels !== undefined || patch !== undefined
        ? { model: { network: defaultUNetConfig([data.shape[0], data.shape[1], data.shape[2]], { ...(channels !== undefined ? { channels } : {}), ...(patch !== undefined ? { patch } : {}) }), parameterization: parameterization ?? 'eps', inputScaling: 'marginal' as const } }
        : {}),
      ...(conditional ? { conditional } : {}),
      ...settings,
      outDir: out,
      resume,
      dataRecord,
      notify: say,
      notes,
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
