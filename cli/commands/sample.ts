import fs from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { formatCsv } from '../../src/data/csv.js';
import { UsageError } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { imageGrid } from '../../src/io/png.js';
import type { Points } from '../../src/eval/metrics.js';
import { integrate } from '../../src/solvers/integrate.js';
import { SOLVERS } from '../../src/solvers/registry.js';
import { SOLVER_NAMES } from '../../src/solvers/types.js';
import { backendFromArgs, emit, withCommonOptions, withSdeOptions } from '../common.js';
import { conditioningFromArgs, conditioningSummary, conditionSource, withConditioningOptions } from '../conditioning-options.js';
import { checkSourceFlags, loadScoreSource } from '../score-source.js';
import { solverOptionsFromArgs, withSolverOptions } from '../solver-options.js';
import { checkSampleCount, integerAtLeast, oneOf } from '../validate.js';

/** Checks that an output file can be written: its extension and an existing directory. */
export function checkOutputPath(flag: string, file: string, extensions: readonly string[]): string {
  const ext = path.extname(file).toLowerCase();
  if (!extensions.includes(ext)) throw new UsageError(`--${flag}: expected a ${extensions.join(' or ')} file name, got '${file}'`);
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`--${flag}: directory '${path.dirname(file)}' does not exist`);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new UsageError(`--${flag}: '${file}' is a directory`);
  return file;
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

/**
 * Writes samples to `out`: a CSV of data-space values (one sample a row) and, for images
 * [H, W, C], a PNG grid beside it (same name, .png) drawn from `modelPixels`, the model-space
 * values in [-1, 1], `columns` images a row (default: a square grid); `out` ending in .png
 * writes only the grid. Returns the files written.
 */
function writeSamples(out: string, points: Points, shape: readonly number[], modelPixels?: Float32Array, columns?: number): string[] {
  const isImage = shape.length === 3 && modelPixels !== undefined;
  const png = out.replace(/\.(csv|png)$/i, '.png');
  const files: string[] = [];
  if (path.extname(out).toLowerCase() === '.csv') {
    writeFileAtomic(out, formatCsv(points.flat(), shape.reduce((a, b) => a * b, 1)));
    files.push(out);
  }
  if (isImage) {
    writeFileAtomic(png, imageGrid(modelPixels, points.length, [shape[0], shape[1], shape[2]], columns));
    files.push(png);
  }
  return files;
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
    checkSourceFlags(argv);
    const solver = oneOf('solver', argv.solver, SOLVER_NAMES);
    const info = SOLVERS[solver];
    const steps = argv.steps === undefined ? info.defaultSteps : integerAtLeast('steps', argv.steps, 1);
    if (info.adaptive && argv.steps !== undefined) throw new UsageError(`--steps: ${solver} is adaptive and picks its own steps; set --rtol and --atol instead`);
    const n = integerAtLeast('n', argv.n, 1);
    const options = solverOptionsFromArgs(argv);
    const conditioning = conditioningFromArgs(argv);
    const out = checkOutputPath('out', String(argv.out), ['.csv', '.png']);
    const backend = await backendFromArgs(argv);
    const classes: (number | undefined)[] = conditioning.labels ?? [undefined];
    const started = performance.now();
    let points: Points = [];
    const pixelParts: Float32Array[] = [];
    let nfe = 0;
    let adaptiveSteps: { accepted?: number; rejected?: number } = {};
    let sampleShape: readonly number[] = [];
    let describe = '';
    // Each class is its own run from the same seed: with several classes, sample j of every class starts from the same noise.
    for (const label of classes) {
      const source = conditionSource(loadScoreSource(argv), { ...conditioning, ...(label !== undefined ? { label } : {}) }, n);
      try {
        sampleShape = source.sampleShape;
        // With several classes, the description names them all (conditionSource notes 'class C').
        describe = classes.length > 1 ? source.describe.replace(`class ${label}`, `classes ${classes.join(',')}`) : source.describe;
        checkSampleCount('n', n * classes.length, sampleShape);
        if (path.extname(out).toLowerCase() === '.png' && sampleShape.length !== 3) {
          throw new UsageError(`--out: a .png grid needs image samples; ${describe} gives vectors of ${sampleShape[0]} values, use a .csv file`);
        }
        if (options.eps! >= source.sde.T) throw new UsageError(`--eps: expected a time below T = ${source.sde.T}, got ${options.eps}`);
        const run = integrate(source.sde, source.score, solver, { ...options, ...(info.adaptive ? {} : { steps }), shape: [n, ...sampleShape], impute: source.impute });
        points = points.concat(source.toPoints(run.x));
        // Images are drawn from model space, where pixels lie in [-1, 1] whatever the data's scale.
        if (sampleShape.length === 3) pixelParts.push((await run.x.data()) as Float32Array);
        run.x.dispose();
        nfe += run.nfe;
        adaptiveSteps = { accepted: (adaptiveSteps.accepted ?? 0) + (run.accepted ?? 0), rejected: (adaptiveSteps.rejected ?? 0) + (run.rejected ?? 0) };
      } finally {
        source.dispose();
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const modelPixels = pixelParts.length ? concatFloat32(pixelParts) : undefined;
    const files = writeSamples(out, points, sampleShape, modelPixels, classes.length > 1 ? n : undefined);
    const summary = {
      solver,
      steps: info.adaptive ? (adaptiveSteps.accepted ?? 0) : steps,
      nfe,
      seconds,
      n,
      ...(classes.length > 1 ? { total: points.length } : {}),
      out,
      files,
      backend: backend.backend,
      ...conditioningSummary(conditioning),
      ...(info.adaptive ? adaptiveSteps : {}),
    };
    emit(argv, summary, () => `${classes.length > 1 ? `${n} samples of each of ${classes.length} classes` : `${n} samples`} from ${describe} with ${solver}: ${summary.steps} steps, ${nfe} NFE, ${seconds.toFixed(2)} s -> ${out}`);
  },
};
