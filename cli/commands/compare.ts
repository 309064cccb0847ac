import type { Argv, CommandModule } from 'yargs';
import { loadCsv } from '../../src/data/csv.js';
import type { CsvFormat } from '../../src/data/csv-options.js';
import { csvOptionsFromFlags, withCsvOptions } from '../csv-options.js';
import type { Dataset } from '../../src/data/dataset.js';
import { isToyName } from '../../src/data/toy.js';
import { compareSolvers, comparisonRuns, resultRow, runLabel, sampleQuality, type ComparisonResult } from '../../src/eval/compare.js';
import type { Points } from '../../src/eval/metrics.js';
import { UsageError } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { renderReport, type ComparisonRow } from '../../src/report/html.js';
import { createTaskProgress, reverseTimeFraction } from '../../src/progress.js';
import { checkEndTime, DEFAULT_EPS } from '../../src/solvers/grids.js';
import { SOLVER_NAMES } from '../../src/solvers/registry.js';
import { backendFromArgs, emit, withCommonOptions, withSdeOptions } from '../common.js';
import { formatTable } from '../format.js';
import { checkConditioning, conditioningFromArgs, conditioningSummary, conditionSource, withConditioningOptions } from '../conditioning-options.js';
import { checkOutputFile, writingOutput } from '../output-paths.js';
import { checkSourceFlags, loadScoreSource, type ScoreSource } from '../score-source.js';
import { sourceInfo } from '../source-info.js';
import { solverOptionsFromArgs, withSolverOptions } from '../solver-options.js';
import { checkSampleCount, integerAtLeast, integerInRange, MAX_RUN_SAMPLES, oneOf, positiveNumber } from '../validate.js';

/** A comma-separated list of flag values, each parsed. */
function list<T>(flag: string, value: unknown, parse: (flag: string, v: string) => T): T[] {
  const parts = String(value).split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new UsageError(`--${flag}: expected a comma-separated list, got '${String(value)}'`);
  return parts.map((p) => parse(flag, p));
}

/** Reads --reference FILE and checks it against the samples' shape (before any work). */
function readReference(file: string, sampleShape: readonly number[], csv: CsvFormat): Dataset {
  const data = loadCsv(file, { label: `--reference ${file}`, ...csv });
  const d = data.shape.reduce((a, b) => a * b, 1);
  const want = sampleShape.reduce((a, b) => a * b, 1);
  if (d !== want) throw new UsageError(`--reference ${file}: rows have ${d} values, the samples have ${want}`);
  if (data.n < 4) throw new UsageError(`--reference ${file}: needs at least 4 rows, has ${data.n}`);
  return data;
}

/**
 * Two independent reference sets of size m: drawn from the oracle, or the first 2m rows of the
 * reference file (m = min(n, rows / 2)).
 */
function referenceSets(source: ScoreSource, file: string | undefined, data: Dataset | undefined, n: number, seed: number): [Points, Points] {
  if (file !== undefined && data !== undefined) {
    const d = data.shape.reduce((a, b) => a * b, 1);
    const m = Math.min(n, Math.floor(data.n / 2));
    const row = (i: number) => Array.from(data.x.subarray(i * d, (i + 1) * d));
    return [Array.from({ length: m }, (_, i) => row(i)), Array.from({ length: m }, (_, i) => row(m + i))];
  }
  if (!source.reference) throw new UsageError('--reference: required with --checkpoint (a CSV of held-out data)');
  return [source.reference(n, seed + 1_000_001), source.reference(n, seed + 2_000_003)];
}

export const compareCommand: CommandModule = {
  command: 'compare',
  describe: 'Run several solvers at several step counts and compare sample quality, NFE and time',
  builder: (y: Argv) =>
    withCsvOptions(withConditioningOptions(withCommonOptions(withSolverOptions(withSdeOptions(y)))))
      .option('checkpoint', { type: 'string', describe: 'checkpoint directory written by sde train' })
      .option('oracle', { type: 'string', describe: 'Gaussian-mixture JSON whose exact score is used (SDE flags apply)' })
      .option('solvers', { type: 'string', default: 'euler-maruyama,ddpm,ode-heun,dpm-solver', describe: `comma-separated: ${SOLVER_NAMES.join(', ')}` })
      .option('steps', { type: 'string', default: '10,20,50,100', describe: 'comma-separated step counts of the fixed-step solvers' })
      .option('tolerances', { type: 'string', default: '1e-2,1e-3,1e-5', describe: 'comma-separated rtol = atol of the adaptive ode-rk45' })
      .option('reference', { type: 'string', describe: 'CSV of reference data (default: draws from the oracle)' })
      .option('report', { type: 'string', describe: 'write a self-contained HTML report here' })
      .example('$0 compare --oracle mix.json --solvers euler-maruyama,ddpm,dpm-solver --steps 10,20,50,100', 'quality against NFE with no model error')
      .example('$0 compare --checkpoint runs/moons --reference heldout.csv --report compare.html', 'a trained model against held-out data'),
  handler: async (argv) => {
    checkSourceFlags(argv);
    const solvers = list('solvers', argv.solvers, (f, v) => oneOf(f, v, SOLVER_NAMES));
    const steps = list('steps', argv.steps, (f, v) => integerAtLeast(f, v, 1));
    const tolerances = list('tolerances', argv.tolerances, positiveNumber);
    // Every run holds all --n samples at once (sde sample streams instead).
    const n = integerInRange('n', argv.n, 2, MAX_RUN_SAMPLES);
    const options = solverOptionsFromArgs(argv);
    const conditioning = conditioningFromArgs(argv);
    if (conditioning.labels && conditioning.labels.length > 1) throw new UsageError(`--class: sde compare takes one class, got '${String(argv.class)}'`);
    // The sizes, times and the report's path are checked before the backend is chosen (and before the long comparison).
    const known = sourceInfo(argv);
    checkSampleCount('n', n, known.sampleShape);
    checkConditioning(conditioning, { ...known, D: known.sampleShape.reduce((a, b) => a * b, 1), n });
    if (options.eps !== undefined) checkEndTime(options.eps, known.T);
    const referenceFile = argv.reference === undefined ? undefined : String(argv.reference);
    const referenceData = referenceFile === undefined ? undefined : readReference(referenceFile, known.sampleShape, csvOptionsFromFlags(argv));
    // A checkpoint's own reference is fresh draws of its built-in 2-D set, unconditioned.
    const conditioned = conditioning.label !== undefined || conditioning.knownDims !== undefined || conditioning.knownFiles !== undefined;
    if (referenceFile === undefined && known.dataSource !== undefined && (!isToyName(known.dataSource) || conditioned)) {
      throw new UsageError('--reference: required with --checkpoint (a CSV of held-out data)');
    }
    const report = argv.report === undefined ? undefined : checkOutputFile('report', String(argv.report), ['.html']);
    const backend = await backendFromArgs(argv);
    const source = conditionSource(loadScoreSource(argv), conditioning, n);
    const [reference, second] = referenceSets(source, referenceFile, referenceData, n, options.seed ?? 0);
    const noiseFloor = sampleQuality(second, reference);
    // Progress in cells done: each cell's part by its steps, or (ode-rk45) by the time it has reached.
    const runs = comparisonRuns(solvers, steps, tolerances);
    const progress = createTaskProgress({ label: 'compare', total: runs.length, unit: 'cells', enabled: !argv.json });
    const eps = options.eps ?? DEFAULT_EPS;
    let cell = 0;
    const cellFraction = (step: number, t: number) => {
      const run = runs[cell];
      return run.steps === undefined ? reverseTimeFraction(t, source.sde.T, eps) : step / run.steps;
    };
    let results: ComparisonResult[];
    try {
      results = compareSolvers({
        sde: source.sde,
        score: source.score,
        shape: [n, ...source.sampleShape],
        toPoints: source.toPoints,
        reference,
        runs,
        solverOptions: { ...options, impute: source.impute, onStep: (step, t) => progress.tick(cell + cellFraction(step, t)) },
        onResult: (r) => {
          progress.tick(++cell);
          progress.log(`${r.solver} ${r.steps} steps: ${r.nfe} NFE, ${r.seconds.toFixed(2)} s, sliced W2 ${r.sw2.toFixed(4)}`);
        },
      });
    } finally {
      progress.finish();
    }
    const rows: ComparisonRow[] = results.map(resultRow);
    // The scatter plots show the last (largest) run of each solver next to the reference.
    const scatter: { label: string; points: Points }[] = [
      { label: 'reference', points: reference.slice(0, 2000) },
      ...solvers.map((s) => results.filter((r) => r.solver === s).pop()!).map((r) => ({ label: `${runLabel(r)} (${r.nfe} NFE)`, points: r.points.slice(0, 2000) })),
    ];
    source.dispose();
    if (report) {
      const twoD = source.sampleShape.length === 1 && source.sampleShape[0] >= 2;
      writingOutput('report', report, () => writeFileAtomic(report, renderReport({
        title: `Solver comparison: ${source.describe}`,
        facts: { source: source.describe, backend: backend.description, samples: n, reference: argv.reference ? String(argv.reference) : 'oracle draws' },
        rows,
        noiseFloor,
        ...(twoD ? { scatter: scatter.map((s) => ({ label: s.label, points: s.points.map((p) => [p[0], p[1]]) })) } : {}),
      })));
    }
    emit(argv, { n, noiseFloor, rows, report: report ?? null, backend: backend.backend, ...conditioningSummary(conditioning) }, () =>
      formatTable(['solver', 'steps', 'NFE', 'seconds', 'sliced W2', 'energy'], rows.map((r) => [runLabel(r), r.steps, r.nfe, r.seconds, r.sw2, r.energy])) +
      `\nnoise floor: sliced W2 ${noiseFloor.sw2.toPrecision(4)}, energy ${noiseFloor.energy.toPrecision(4)}` +
      (report ? `\nreport: ${report}` : ''),
    );
  },
};
