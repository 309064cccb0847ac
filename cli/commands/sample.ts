import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { formatCsv } from '../../src/data/csv.js';
import { UsageError } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { imageGrid } from '../../src/io/png.js';
import { openStreamFile } from '../../src/io/stream-file.js';
import { deriveSeed } from '../../src/solvers/common.js';
import { integrate } from '../../src/solvers/integrate.js';
import { checkEndTime } from '../../src/solvers/grids.js';
import { SOLVER_NAMES, SOLVERS } from '../../src/solvers/registry.js';
import { backendFromArgs, emit, withCommonOptions, withSdeOptions } from '../common.js';
import { checkConditioning, conditioningFromArgs, conditioningSummary, conditionSource, withConditioningOptions } from '../conditioning-options.js';
import { checkOutputFile, outputError, writingOutput, writingOutputAsync } from '../output-paths.js';
import { checkSourceFlags, loadScoreSource } from '../score-source.js';
import { sourceInfo } from '../source-info.js';
import { solverOptionsFromArgs, withSolverOptions } from '../solver-options.js';
import { checkSampleCount, integerAtLeast, oneOf } from '../validate.js';

/** Most samples one solver run holds: the chunk size of vector samples. */
export const CHUNK_SAMPLES = 65_536;
/** Most float32 values one solver run holds (4 MiB): bounds the chunk of image samples. */
export const CHUNK_VALUES = 2 ** 20;
/** Most images a PNG grid holds (a 64 x 64 grid). */
export const MAX_GRID_IMAGES = 4096;
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
  return k === 0 ? seed : deriveSeed(seed, CHUNK_STREAM, k);
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

export const sampleCommand: CommandModule = {
  command: 'sample',
  describe: 'Draw samples from a trained model or an oracle mixture with one solver',
  builder: (y: Argv) =>
    withConditioningOptions(withCommonOptions(withSolverOptions(withSdeOptions(y))))
      .option('checkpoint', { type: 'string', describe: 'checkpoint directory written by sde train' })
      .option('oracle', { type: 'string', describe: 'Gaussian-mixture JSON whose exact score is used (SDE flags apply)' })
      .option('solver', { type: 'string', demandOption: true, describe: SOLVER_NAMES.join(' | ') })
      .option('steps', { type: 'string', describe: "time steps (default: the solver's; ode-rk45 is adaptive)" })
      .option('out', { type: 'string', default: 'samples.csv', describe: 'output: FILE.csv (one sample a row; image models also write FILE.png, a grid) or FILE.png' })
      .example('$0 sample --oracle mix.json --solver euler-maruyama --steps 1000 --n 5000', 'reverse-SDE samples of an exact mixture score')
      .example('$0 sample --checkpoint runs/moons --solver ode-rk45 --rtol 1e-3 --json', 'probability-flow ODE samples of a trained model')
      .example('$0 sample --checkpoint runs/moons --solver ddpm --steps 20 --out ddpm.csv', 'DDPM ancestral sampling on the exact chain')
      .example('$0 sample --oracle mix.json --solver euler-maruyama --class 1 --guidance 2', 'class 1 of a mixture with "classes", classifier-free guidance W = 2')
      .example('$0 sample --checkpoint runs/mnist-cond --solver ddpm --class 0,1,2,3,4,5,6,7,8,9 --n 10 --out digits.csv', '10 digits of each class; digits.png has one row per class')
      .example('$0 sample --oracle mix.json --solver ode-heun --known-dims 0=1.5', 'inpainting: coordinate 0 fixed at 1.5, the others sampled'),
  handler: async (argv) => {
    // Every flag, the source's shape and the output path are checked before the backend is chosen.
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
    if (pngOnly && !isImage) {
      throw new UsageError(`--out: a .png grid needs image samples; ${known.describe} gives vectors of ${sampleShape[0]} values, use a .csv file`);
    }
    if (pngOnly && total > MAX_GRID_IMAGES) throw new UsageError(`--out: a .png grid holds at most ${MAX_GRID_IMAGES} images, asked for ${total}; write a .csv file`);
    if (options.eps !== undefined) checkEndTime(options.eps, known.T);
    const chunk = chunkSize(d);
    if (conditioning.knownFiles && Math.max(conditioning.knownFiles.known.n, conditioning.knownFiles.mask.n) > 1 && n > chunk) {
      throw new UsageError(`--known: one row per sample works for at most ${chunk} samples, got --n ${n}; give one shared row or fewer samples`);
    }
    const out = checkOutputFile('out', outArg, ['.csv', '.png']);
    const backend = await backendFromArgs(argv);

    // Images get a PNG grid (from model space, where pixels lie in [-1, 1]) when it is small enough.
    const grid = isImage && total <= MAX_GRID_IMAGES;
    const png = out.replace(/\.(csv|png)$/i, '.png');
    const chunks = Math.ceil(n / chunk);
    const started = performance.now();
    const pixelParts: Float32Array[] = [];
    let nfe = 0;
    let adaptiveSteps: { accepted?: number; rejected?: number } = {};
    let describe = '';
    const csv = pngOnly ? undefined : await writingOutputAsync('out', out, () => openStreamFile(out));
    let pending: Promise<void> | undefined;
    try {
      // Each class is its own run from the same seed: with several classes, sample j of every class starts from the same noise.
      for (const label of classes) {
        const source = conditionSource(loadScoreSource(argv), { ...conditioning, ...(label !== undefined ? { label } : {}) }, n);
        try {
          // With several classes, the description names them all (conditionSource notes 'class C').
          describe = classes.length > 1 ? source.describe.replace(`class ${label}`, `classes ${classes.join(',')}`) : source.describe;
          for (let k = 0; k < chunks; k++) {
            const size = Math.min(chunk, n - k * chunk);
            const seed = chunkSeed(options.seed ?? 0, k);
            const run = integrate(source.sde, source.score, solver, { ...options, seed, ...(info.adaptive ? {} : { steps }), shape: [size, ...sampleShape], impute: source.impute });
            try {
              const values = (await run.x.data()) as Float32Array;
              const bad = firstNonFinite(values);
              if (bad >= 0) {
                const where = known.describe.startsWith('checkpoint') ? `the ${known.describe} diverged?` : `${solver} diverged on the ${known.describe}? try more --steps`;
                throw new UsageError(`samples are not finite: sample ${k * chunk + Math.floor(bad / d) + 1}${label !== undefined ? ` of class ${label}` : ''} has ${values[bad]} (${where})`);
              }
              if (grid) pixelParts.push(values.slice());
              if (csv) {
                const text = formatCsv(source.toPoints(run.x).flat(), d);
                if (pending) await pending;
                // The write proceeds while the next chunk is computed; its error is taken up by the next await.
                pending = csv.write(text);
                pending.catch(() => undefined);
              }
            } finally {
              run.x.dispose();
            }
            nfe += run.nfe;
            adaptiveSteps = { accepted: (adaptiveSteps.accepted ?? 0) + (run.accepted ?? 0), rejected: (adaptiveSteps.rejected ?? 0) + (run.rejected ?? 0) };
            if (chunks > 1) process.stderr.write(`chunk ${k + 1}/${chunks}${label !== undefined && classes.length > 1 ? ` of class ${label}` : ''}: ${k * chunk + size} of ${n} samples\n`);
          }
        } finally {
          source.dispose();
        }
      }
      if (pending) await pending;
      const files: string[] = [];
      // The grid first: if it cannot be written, the CSV is not committed either.
      if (grid) {
        writingOutput('out', png, () => writeFileAtomic(png, imageGrid(concatFloat32(pixelParts), total, [sampleShape[0], sampleShape[1], sampleShape[2]], classes.length > 1 ? n : undefined)));
      }
      if (csv) {
        await csv.commit();
        files.push(out);
      }
      if (grid) files.push(png);
      else if (isImage) process.stderr.write(`note: no PNG grid beside ${out}: a grid holds at most ${MAX_GRID_IMAGES} images, there are ${total}\n`);
      const seconds = (performance.now() - started) / 1000;
      const summary = {
        solver,
        steps: info.adaptive ? (adaptiveSteps.accepted ?? 0) : steps,
        nfe,
        seconds,
        n,
        ...(classes.length > 1 ? { total } : {}),
        out,
        files,
        ...(chunks > 1 ? { chunks, chunkSize: chunk } : {}),
        backend: backend.backend,
        ...conditioningSummary(conditioning),
        ...(info.adaptive ? adaptiveSteps : {}),
      };
      emit(argv, summary, () => `${classes.length > 1 ? `${n} samples of each of ${classes.length} classes` : `${n} samples`} from ${describe} with ${solver}: ${summary.steps} steps, ${nfe} NFE, ${seconds.toFixed(2)} s -> ${out}`);
    } catch (e) {
      await pending?.catch(() => undefined);
      await csv?.abort();
      throw outputError('out', out, e);
    }
  },
};
