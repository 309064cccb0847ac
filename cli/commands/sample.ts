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

/**
 * Writes samples to `out`: a CSV of data-space values (one sample a row) and, for images
 * [H, W, C], a PNG grid beside it (same name, .png) drawn from `modelPixels`, the model-space
 * values in [-1, 1]; `out` ending in .png writes only the grid. Returns the files written.
 */
function writeSamples(out: string, points: Points, shape: readonly number[], modelPixels?: Float32Array): string[] {
  const isImage = shape.length === 3 && modelPixels !== undefined;
  const png = out.replace(/\.(csv|png)$/i, '.png');
  const files: string[] = [];
  if (path.extname(out).toLowerCase() === '.csv') {
    writeFileAtomic(out, formatCsv(points.flat(), shape.reduce((a, b) => a * b, 1)));
    files.push(out);
  }
  if (isImage) {
    writeFileAtomic(png, imageGrid(modelPixels, points.length, [shape[0], shape[1], shape[2]]));
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
    const source = conditionSource(loadScoreSource(argv), conditioning, n);
    checkSampleCount('n', n, source.sampleShape);
    if (path.extname(out).toLowerCase() === '.png' && source.sampleShape.length !== 3) {
      source.dispose();
      throw new UsageError(`--out: a .png grid needs image samples; ${source.describe} gives vectors of ${source.sampleShape[0]} values, use a .csv file`);
    }
    if (options.eps! >= source.sde.T) throw new UsageError(`--eps: expected a time below T = ${source.sde.T}, got ${options.eps}`);
    const started = performance.now();
    const result = integrate(source.sde, source.score, solver, { ...options, ...(info.adaptive ? {} : { steps }), shape: [n, ...source.sampleShape], impute: source.impute });
    const points = source.toPoints(result.x);
    // Images are drawn from model space, where pixels lie in [-1, 1] whatever the data's scale.
    const modelPixels = source.sampleShape.length === 3 ? ((await result.x.data()) as Float32Array) : undefined;
    const seconds = (performance.now() - started) / 1000;
    result.x.dispose();
    source.dispose();
    const files = writeSamples(out, points, source.sampleShape, modelPixels);
    const summary = {
      solver,
      steps: info.adaptive ? (result.accepted ?? 0) : steps,
      nfe: result.nfe,
      seconds,
      n,
      out,
      files,
      backend: backend.backend,
      ...conditioningSummary(conditioning),
      ...(info.adaptive ? { accepted: result.accepted, rejected: result.rejected } : {}),
    };
    emit(argv, summary, () => `${n} samples from ${source.describe} with ${solver}: ${summary.steps} steps, ${result.nfe} NFE, ${seconds.toFixed(2)} s -> ${out}`);
  },
};
