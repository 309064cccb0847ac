import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { formatCsv } from '../../src/data/csv.js';
import { withCsvOptions } from '../csv-options.js';
import { UsageError } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { imageGrid } from '../../src/io/png.js';
import { scatterPng } from '../../src/report/scatter-png.js';
import { openStreamFile, type StreamFile } from '../../src/io/stream-file.js';
import { createTaskProgress, reverseTimeFraction, type TaskProgress } from '../../src/progress.js';
import { mixSeed } from '../../src/random.js';
import { integrate } from '../../src/solvers/integrate.js';
import { checkEndTime, DEFAULT_EPS } from '../../src/solvers/grids.js';
import { SOLVER_NAMES, SOLVERS } from '../../src/solvers/registry.js';
import type { IntegrateOptions, SolverName } from '../../src/solvers/types.js';
import { backendFromArgs, emit, withCommonOptions, withSdeOptions } from '../common.js';
import { checkConditioning, conditioningFromArgs, conditioningSummary, conditionSource, withConditioningOptions, type Conditioning, type ConditionedSource } from '../conditioning-options.js';
import { checkOutputFile, outputError, writingOutput, writingOutputAsync } from '../output-paths.js';
import { checkSourceFlags, loadScoreSource } from '../score-source.js';
import { sourceInfo, type SourceInfo } from '../source-info.js';
import { solverOptionsFromArgs, withSolverOptions } from '../solver-options.js';
import { checkSampleCount, integerAtLeast, oneOf } from '../validate.js';

/** Most samples one solver run holds: the chunk size of vector samples. */
export const CHUNK_SAMPLES = 65_536;
/** Most float32 values one solver run holds (4 MiB): bounds the chunk of image samples. */
export const CHUNK_VALUES = 2 ** 20;
/** Most images a PNG grid holds (a 64 x 64 grid). */
export const MAX_GRID_IMAGES = 4096;
/** Most reference points (draws from the data, in grey) behind each class's samples in a scatter plot. */
const SCATTER_REFERENCE = 10_000;
/** Stream id of the chunk seeds under --seed (the solvers use 1 and 2 under each chunk's seed). */
const CHUNK_STREAM = 3;

/** Samples per solver run for samples of `d` values: at most CHUNK_SAMPLES and CHUNK_VALUES values, at least 1. */
export function chunkSize(d: number): number {
  return Math.max(1, Math.min(CHUNK_SAMPLES, Math.floor(CHUNK_VALUES / d)));
}

/**
 * The seed of chunk k under --seed: chunk 0 uses the seed itself (so --n up to one chunk gives
 * what one run over all samples gives), chunk k > 0 a seed derived from (seed, k).
 */
export function chunkSeed(seed: number, k: number): number {
  return k === 0 ? seed : mixSeed(seed, CHUNK_STREAM, k);
}

/** The arrays one after another. */
function concatFloat32(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Index of the first value that is NaN or infinite, or -1. */
function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}

/** The flags of `sde sample`, parsed and checked against the source and the output path before the backend is chosen. */
interface SampleRequest {
  solver: SolverName;
  adaptive: boolean;
  steps: number;
  n: number;
  options: IntegrateOptions;
  conditioning: Conditioning;
  /** The classes sampled one after another (one undefined entry without --class). */
  classes: (number | undefined)[];
  /** n times the number of classes. */
  total: number;
  out: string;
  pngOnly: boolean;
  known: SourceInfo;
  /** Values per sample, and whether samples are images (then a PNG grid is written when it holds them all). */
  d: number;
  grid: boolean;
  /** --out FILE.png of samples of 2 values: a scatter plot instead of the CSV. */
  scatter: boolean;
  chunk: number;
  chunks: number;
}

function sampleRequest(argv: Record<string, unknown>): SampleRequest {
  checkSourceFlags(argv);
  const solver = oneOf('solver', argv.solver, SOLVER_NAMES);
  const info = SOLVERS[solver];
  const steps = argv.steps === undefined ? info.defaultSteps : integerAtLeast('steps', argv.steps, 1);
  if (info.adaptive && argv.steps !== undefined) throw new UsageError(`--steps: ${solver} is adaptive and picks its own steps; set --rtol and --atol instead`);
  const n = integerAtLeast('n', argv.n, 1);
  const options = solverOptionsFromArgs(argv);
  const conditioning = conditioningFromArgs(argv);
  const classes: (number | undefined)[] = conditioning.labels ?? [undefined];
  const outArg = String(argv.out);
  const pngOnly = path.extname(outArg).toLowerCase() === '.png';
  const known = sourceInfo(argv);
  const sampleShape = known.sampleShape;
  const d = sampleShape.reduce((a, b) => a * b, 1);
  const isImage = sampleShape.length === 3;
  const total = n * classes.length;
  checkSampleCount('n', total, sampleShape);
  checkConditioning(conditioning, { ...known, D: d, n });
  const scatter = pngOnly && !isImage && d === 2;
  if (pngOnly && !isImage && !scatter) {
    throw new UsageError(`--out: a .png is a scatter plot of samples of 2 values or a grid of images; ${known.describe} gives vectors of ${d} values, use a .csv file`);
  }
  if (pngOnly && isImage && total > MAX_GRID_IMAGES) throw new UsageError(`--out: a .png grid holds at most ${MAX_GRID_IMAGES} images, asked for ${total}; write a .csv file`);
  if (options.eps !== undefined) checkEndTime(options.eps, known.T);
  const chunk = chunkSize(d);
  if (conditioning.knownFiles && Math.max(conditioning.knownFiles.known.n, conditioning.knownFiles.mask.n) > 1 && n > chunk) {
    throw new UsageError(`--known: one row per sample works for at most ${chunk} samples, got --n ${n}; give one shared row or fewer samples`);
  }
  const out = checkOutputFile('out', outArg, ['.csv', '.png']);
  // Images get a PNG grid (from model space, where pixels lie in [-1, 1]) when it is small enough.
  const grid = isImage && total <= MAX_GRID_IMAGES;
  return { solver, adaptive: info.adaptive, steps, n, options, conditioning, classes, total, out, pngOnly, known, d, grid, scatter, chunk, chunks: Math.ceil(n / chunk) };
}

/** The CSV written chunk by chunk: a write proceeds while the next chunk is computed; its error is taken up by the next write or flush. */
class ChunkedCsv {
  private pending: Promise<void> | undefined;
  constructor(readonly file: StreamFile | undefined) {}

  async write(text: string): Promise<void> {
    if (!this.file) return;
    if (this.pending) await this.pending;
    this.pending = this.file.write(text);
    this.pending.catch(() => undefined);
  }

  async flush(): Promise<void> {
    if (this.pending) await this.pending;
  }

  /** After a failure: waits for the write in flight (its error ignored) and removes the temporary file. */
  async abort(): Promise<void> {
    await this.pending?.catch(() => undefined);
    await this.file?.abort();
  }
}

/** What the runs add up to: NFE, accepted and rejected steps (adaptive solvers), the grid's pixels, the scatter plot's points and the source's description. */
interface SampleTally {
  nfe: number;
  accepted: number;
  rejected: number;
  pixels: Float32Array[];
  /** Scatter plot: the samples and the reference draws, flat [n, 2] in data space, one array a chunk (a class). */
  points: Float32Array[];
  reference: Float32Array[];
  describe: string;
}

/** Progress of `sde sample` on stderr (none under --json): steps of all runs (classes x chunks), or runs with an adaptive solver. */
function sampleProgress(argv: Record<string, unknown>, req: SampleRequest): TaskProgress {
  const runs = req.classes.length * req.chunks;
  return createTaskProgress({ label: `sample ${req.solver}`, total: req.adaptive ? runs : runs * req.steps, unit: req.adaptive ? 'runs' : 'steps', enabled: !argv.json });
}

/** The onStep of run `run` (0-based, class by class, chunk by chunk): steps done, or runs done with the current one's part by the time reached (adaptive). */
function runProgress(req: SampleRequest, progress: TaskProgress, run: number, T: number): (step: number, t: number) => void {
  const eps = req.options.eps ?? DEFAULT_EPS;
  return req.adaptive ? (_step, t) => progress.tick(run + reverseTimeFraction(t, T, eps)) : (step) => progress.tick(run * req.steps + step);
}

/** Chunk k of one class: a solver run, checked finite, kept for the grid, written to the CSV; its steps reported to onStep. */
async function sampleChunk(req: SampleRequest, source: ConditionedSource, label: number | undefined, k: number, csv: ChunkedCsv, tally: SampleTally, onStep: (step: number, t: number) => void): Promise<void> {
  const size = Math.min(req.chunk, req.n - k * req.chunk);
  const seed = chunkSeed(req.options.seed ?? 0, k);
  const run = integrate(source.sde, source.score, req.solver, { ...req.options, seed, ...(req.adaptive ? {} : { steps: req.steps }), shape: [size, ...req.known.sampleShape], impute: source.impute, onStep });
  try {
    const values = (await run.x.data()) as Float32Array;
    const bad = firstNonFinite(values);
    if (bad >= 0) {
      const where = req.known.describe.startsWith('checkpoint') ? `the ${req.known.describe} diverged?` : `${req.solver} diverged on the ${req.known.describe}? try more --steps`;
      throw new UsageError(`samples are not finite: sample ${k * req.chunk + Math.floor(bad / req.d) + 1}${label !== undefined ? ` of class ${label}` : ''} has ${values[bad]} (${where})`);
    }
    if (req.grid) tally.pixels.push(values.slice());
    if (csv.file || req.scatter) {
      const points = source.toPoints(run.x).flat();
      if (req.scatter) tally.points.push(Float32Array.from(points));
      if (csv.file) await csv.write(formatCsv(points, req.d));
    }
  } finally {
    run.x.dispose();
  }
  tally.nfe += run.nfe;
  tally.accepted += run.accepted ?? 0;
  tally.rejected += run.rejected ?? 0;
}

/** Every class, each its own run from the same seed (with several classes, sample j of every class starts from the same noise), in chunks. */
async function sampleClasses(argv: Record<string, unknown>, req: SampleRequest, csv: ChunkedCsv, tally: SampleTally, progress: TaskProgress): Promise<void> {
  for (const [c, label] of req.classes.entries()) {
    const source = conditionSource(loadScoreSource(argv), { ...req.conditioning, ...(label !== undefined ? { label } : {}) }, req.n);
    try {
      // With several classes, the description names them all (conditionSource notes 'class C').
      tally.describe = req.classes.length > 1 ? source.describe.replace(`class ${label}`, `classes ${req.classes.join(',')}`) : source.describe;
      if (req.scatter && source.reference) tally.reference.push(Float32Array.from(source.reference(Math.min(req.n, SCATTER_REFERENCE), req.options.seed ?? 0).flat()));
      for (let k = 0; k < req.chunks; k++) await sampleChunk(req, source, label, k, csv, tally, runProgress(req, progress, c * req.chunks + k, source.sde.T));
    } finally {
      source.dispose();
    }
  }
}

/** Writes the grid or the scatter plot (first: if it cannot be written, the CSV is not committed either) and commits the CSV; the files written. */
async function commitOutputs(req: SampleRequest, csv: ChunkedCsv, tally: SampleTally): Promise<string[]> {
  const png = req.out.replace(/\.(csv|png)$/i, '.png');
  const shape = req.known.sampleShape;
  if (req.grid) {
    writingOutput('out', png, () => writeFileAtomic(png, imageGrid(concatFloat32(tally.pixels), req.total, [shape[0], shape[1], shape[2]], req.classes.length > 1 ? req.n : undefined)));
  }
  if (req.scatter) writingOutput('out', png, () => writeFileAtomic(png, scatterPng(concatFloat32(tally.points), { reference: concatFloat32(tally.reference) })));
  const files: string[] = [];
  if (csv.file) {
    await csv.file.commit();
    files.push(req.out);
  }
  if (req.grid || req.scatter) files.push(png);
  else if (shape.length === 3) process.stderr.write(`note: no PNG grid beside ${req.out}: a grid holds at most ${MAX_GRID_IMAGES} images, there are ${req.total}\n`);
  return files;
}

/** The JSON result of `sde sample`. */
function sampleSummary(req: SampleRequest, tally: SampleTally, files: string[], seconds: number, backend: string): Record<string, unknown> {
  return {
    solver: req.solver,
    steps: req.adaptive ? tally.accepted : req.steps,
    nfe: tally.nfe,
    seconds,
    n: req.n,
    ...(req.classes.length > 1 ? { total: req.total } : {}),
    out: req.out,
    files,
    ...(req.chunks > 1 ? { chunks: req.chunks, chunkSize: req.chunk } : {}),
    backend,
    ...conditioningSummary(req.conditioning),
    ...(req.adaptive ? { accepted: tally.accepted, rejected: tally.rejected } : {}),
  };
}

export const sampleCommand: CommandModule = {
  command: 'sample',
  describe: 'Draw samples from a trained model or an oracle mixture with one solver',
  builder: (y: Argv) =>
    withCsvOptions(withConditioningOptions(withCommonOptions(withSolverOptions(withSdeOptions(y)))))
      .option('checkpoint', { type: 'string', describe: 'checkpoint directory written by sde train' })
      .option('oracle', { type: 'string', describe: 'Gaussian-mixture JSON whose exact score is used (SDE flags apply)' })
      .option('solver', { type: 'string', demandOption: true, describe: SOLVER_NAMES.join(' | ') })
      .option('steps', { type: 'string', describe: "time steps (default: the solver's; ode-rk45 is adaptive)" })
      .option('out', { type: 'string', default: 'samples.csv', describe: 'output: FILE.csv (one sample a row; image models also write FILE.png, a grid) or FILE.png (the grid, or a scatter plot of 2-D samples)' })
      .example('$0 sample --oracle mix.json --solver euler-maruyama --steps 1000 --n 5000', 'reverse-SDE samples of an exact mixture score')
      .example('$0 sample --checkpoint runs/moons --solver ode-rk45 --rtol 1e-3 --json', 'probability-flow ODE samples of a trained model')
      .example('$0 sample --checkpoint runs/moons --solver ddpm --steps 20 --out ddpm.csv', 'DDPM ancestral sampling on the exact chain')
      .example('$0 sample --oracle mix.json --solver euler-maruyama --class 1 --guidance 2', 'class 1 of a mixture with "classes", classifier-free guidance W = 2')
      .example('$0 sample --checkpoint runs/mnist-cond --solver ddpm --class 0,1,2,3,4,5,6,7,8,9 --n 10 --out digits.csv', '10 digits of each class; digits.png has one row per class')
      .example('$0 sample --oracle mix.json --solver ode-heun --known-dims 0=1.5', 'inpainting: coordinate 0 fixed at 1.5, the others sampled'),
  handler: async (argv) => {
    // Every flag, the source's shape and the output path are checked before the backend is chosen.
    const req = sampleRequest(argv);
    const backend = await backendFromArgs(argv);
    const started = performance.now();
    const csv = new ChunkedCsv(req.pngOnly ? undefined : await writingOutputAsync('out', req.out, () => openStreamFile(req.out)));
    const tally: SampleTally = { nfe: 0, accepted: 0, rejected: 0, pixels: [], points: [], reference: [], describe: '' };
    const progress = sampleProgress(argv, req);
    try {
      await sampleClasses(argv, req, csv, tally, progress);
      progress.finish();
      await csv.flush();
      const files = await commitOutputs(req, csv, tally);
      const seconds = (performance.now() - started) / 1000;
      const summary = sampleSummary(req, tally, files, seconds, backend.backend);
      const what = req.classes.length > 1 ? `${req.n} samples of each of ${req.classes.length} classes` : `${req.n} samples`;
      emit(argv, summary, () => `${what} from ${tally.describe} with ${req.solver}: ${summary.steps} steps, ${tally.nfe} NFE, ${seconds.toFixed(2)} s -> ${req.out}`);
    } catch (e) {
      progress.finish();
      await csv.abort();
      throw outputError('out', req.out, e);
    }
  },
};
