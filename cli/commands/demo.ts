import type * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { formatCsv } from '../../src/data/csv.js';
import { toyDataset, toyRaw } from '../../src/data/toy.js';
import { compareSolvers, comparisonRuns, resultRow, runLabel, sampleQuality } from '../../src/eval/compare.js';
import type { Points } from '../../src/eval/metrics.js';
import type { BackendInfo } from '../../src/backend.js';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { renderReport } from '../../src/report/html.js';
import { train } from '../../src/train/loop.js';
import { createProgressReporter } from '../../src/train/progress.js';
import type { SolverName } from '../../src/solvers/types.js';
import { integrate } from '../../src/solvers/integrate.js';
import type { ScoreFn, SDE } from '../../src/sde/types.js';
import { backendFromArgs, emit, withCommonOptions } from '../common.js';
import { formatTable } from '../format.js';
import { checkOutputDir, outputError } from '../output-paths.js';
import { checkSampleCount, integerAtLeast, integerInRange, MAX_RUN_SAMPLES } from '../validate.js';

const DEMO_SOLVERS: SolverName[] = ['euler-maruyama', 'ddpm', 'ode-rk45', 'dpm-solver++'];
const DEMO_STEPS = [10, 20, 50, 200];
const DEMO_TOLERANCES = [1e-2, 1e-3, 1e-4];

const DEMO_EPS = 1e-3;

/** k + 1 times from T down to eps, eps itself exactly (so an adaptive solver ends on it). */
function trajectoryTimes(T: number, eps: number, k: number): number[] {
  return Array.from({ length: k + 1 }, (_, i) => (i === k ? eps : T - (i / k) * (T - eps)));
}

/** Coordinate 0 of 8 particles over t (in data space) for one solver at its default settings. */
function particlePaths(sde: SDE, score: ScoreFn, solver: SolverName, toPoints: (x: tf.Tensor) => Points) {
  const times = trajectoryTimes(sde.T, DEMO_EPS, 20);
  const r = integrate(sde, score, solver, { shape: [8, 2], seed: 3, eps: DEMO_EPS, saveAt: times });
  r.x.dispose();
  const states = r.path!.map((p) => toPoints(p));
  r.path!.forEach((p) => p.dispose());
  return { label: solver, times: r.times!, particles: Array.from({ length: 8 }, (_, k) => states.map((state) => state[k][0])) };
}

/** Rows of raw toy points. */
function toyPoints(n: number, seed: number): Points {
  const raw = toyRaw('moons', n, seed);
  return Array.from({ length: n }, (_, i) => [raw[2 * i], raw[2 * i + 1]]);
}

export const demoCommand: CommandModule = {
  command: 'demo',
  describe: 'Train on moons, sample with several solvers, write samples and an HTML report',
  builder: (y: Argv) =>
    withCommonOptions(y)
      .option('out', { type: 'string', default: 'demo-out', describe: 'directory for the model, samples and report (its demo files are replaced)' })
      .option('iters', { type: 'string', default: '4000', describe: 'training steps' })
      .option('n', { type: 'string', default: '2000', describe: 'samples per solver run' })
      .example('$0 demo', 'the whole loop in about two minutes: demo-out/report.html')
      .example('$0 demo --iters 8000 --n 5000 --out big-demo', 'a longer run'),
  handler: async (argv) => {
    const out = String(argv.out);
    const iters = integerAtLeast('iters', argv.iters, 1);
    // Every run holds all --n samples at once (sde sample streams instead).
    const n = integerInRange('n', argv.n, 2, MAX_RUN_SAMPLES);
    checkSampleCount('n', n, [2]);
    // The directory exists and is writable, or its parent is: checked before the training.
    checkOutputDir('out', out);
    const backend = await backendFromArgs(argv);
    try {
      await runDemo(argv, out, iters, n, backend);
    } catch (e) {
      throw outputError('out', out, e);
    }
  },
};

/** Trains, samples and writes the demo's files into `out` (checked by checkOutputDir). */
async function runDemo(argv: Record<string, unknown>, out: string, iters: number, n: number, backend: BackendInfo): Promise<void> {
  fs.mkdirSync(out, { recursive: true });
  const modelDir = path.join(out, 'model');
  fs.rmSync(modelDir, { recursive: true, force: true });

  process.stderr.write(`training a score model on moons for ${iters} steps\n`);
  const trained = await train({
    data: toyDataset('moons', 100_000, 0),
    iters,
    outDir: modelDir,
    checkpointEvery: iters,
    progress: createProgressReporter(process.stderr),
  });
  const normalization = trained.config.data.normalization;
  const toPoints = (x: tf.Tensor): Points =>
    (x.arraySync() as number[][]).map((p) => p.map((v, j) => normalization.mean[j] + normalization.std[j] * v));

  // Held-out reference: fresh draws of the generator with seeds the training set did not use.
  const reference = toyPoints(n, 101);
  const noiseFloor = sampleQuality(toyPoints(n, 202), reference);
  process.stderr.write(`sampling ${n} points with ${DEMO_SOLVERS.join(', ')}\n`);
  const results = compareSolvers({
    sde: trained.model.sde,
    score: trained.model.score,
    shape: [n, 2],
    toPoints,
    reference,
    runs: comparisonRuns(DEMO_SOLVERS, DEMO_STEPS, DEMO_TOLERANCES),
    solverOptions: { seed: 1, eps: DEMO_EPS },
    onResult: (r) => process.stderr.write(`  ${runLabel(r)} ${r.steps} steps: ${r.nfe} NFE, ${r.seconds.toFixed(2)} s, sliced W2 ${r.sw2.toFixed(4)}\n`),
  });
  const best = DEMO_SOLVERS.map((s) => results.filter((r) => r.solver === s).pop()!);
  const sampleFiles = best.map((r) => {
    const file = path.join(out, `samples-${r.solver}.csv`);
    writeFileAtomic(file, formatCsv(r.points.flat(), 2));
    return file;
  });
  const rows = results.map(resultRow);
  const report = path.join(out, 'report.html');
  writeFileAtomic(report, renderReport({
    title: 'sde demo: moons',
    facts: { backend: backend.description, 'training steps': trained.step, 'training steps/s': Number(trained.stepsPerSec.toFixed(1)), samples: n, reference: 'fresh moons draws' },
    rows,
    noiseFloor,
    scatter: [{ label: 'reference (held out)', points: reference }, ...best.map((r) => ({ label: `${r.solver} (${r.nfe} NFE)`, points: r.points }))],
    trajectories: DEMO_SOLVERS.map((solver) => particlePaths(trained.model.sde, trained.model.score, solver, toPoints)),
    loss: trained.log.map((e) => ({ step: e.step, loss: e.loss })),
  }));
  const summary = { out, report, checkpoint: modelDir, samples: sampleFiles, trainingSteps: trained.step, stepsPerSec: trained.stepsPerSec, noiseFloor, rows, backend: backend.backend };
  trained.dispose();
  writeFileAtomic(path.join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  emit(argv, summary, () =>
    formatTable(['solver', 'steps', 'NFE', 'seconds', 'sliced W2', 'energy'], rows.map((r) => [runLabel(r), r.steps, r.nfe, r.seconds, r.sw2, r.energy])) +
    `\nnoise floor: sliced W2 ${noiseFloor.sw2.toPrecision(4)}\nreport: ${report}`,
  );
}
