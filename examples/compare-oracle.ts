// Two solvers on an oracle: a Gaussian mixture whose score under the SDE is exact, so any
// difference from exact draws of the mixture is the solver's (and the sample's) alone.
// compareSolvers runs each on the same seed and scores it by sliced W2 and energy distance
// against exact draws; the line "exact" is a second set of exact draws, the noise floor.
//
//   npm run build && node dist/examples/compare-oracle.js [--n 4000] [--steps 20] [--solvers euler-maruyama,ode-heun] [--json]
//
// In a project that installed sde, import from 'sde' instead of '../src/index.js'.
import { parseArgs } from 'node:util';
import {
  compareSolvers,
  comparisonRuns,
  makeSDE,
  mixtureScore,
  parseSolverName,
  sampleMixture,
  sampleQuality,
  type GaussianMixture,
  type Points,
  configureRuntime,
  runtimeOptionsFromEnv,
} from '../src/index.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '4000' },
    steps: { type: 'string', default: '20' },
    solvers: { type: 'string', default: 'euler-maruyama,ode-heun' },
    json: { type: 'boolean', default: false },
  },
});
const n = Number(args.n);
const steps = Number(args.steps);
const solvers = args.solvers.split(',').map((name) => parseSolverName(name));

await configureRuntime({ ...runtimeOptionsFromEnv(), log: (line) => process.stderr.write(`${line}\n`) });

// Eight Gaussians on a circle of radius 2.
const K = 8;
const mixture: GaussianMixture = {
  weights: Array.from({ length: K }, () => 1 / K),
  means: Array.from({ length: K }, (_, k) => [2 * Math.cos((2 * Math.PI * k) / K), 2 * Math.sin((2 * Math.PI * k) / K)]),
  stds: Array.from({ length: K }, () => 0.2),
};
const sde = makeSDE({ sde: 'vp' });
const score = mixtureScore(sde, mixture);

/** n exact draws of the mixture as rows. */
function exactDraws(seed: number): Points {
  const { x } = sampleMixture(mixture, n, seed);
  const rows = x.arraySync();
  x.dispose();
  return rows;
}
const reference = exactDraws(1);
const floor = sampleQuality(exactDraws(2), reference);

const results = compareSolvers({
  sde,
  score,
  shape: [n, 2],
  toPoints: (x) => x.arraySync() as Points,
  reference,
  runs: comparisonRuns(solvers, [steps], [1e-3]),
  solverOptions: { seed: 3 },
});
score.dispose();

const rows = results.map((r) => ({ solver: r.solver, steps: r.steps, nfe: r.nfe, seconds: r.seconds, sw2: r.sw2, energy: r.energy }));
if (args.json) {
  console.log(JSON.stringify({ n, results: rows, exact: floor }));
} else {
  console.log(`${'solver'.padEnd(16)} ${'steps'.padStart(5)} ${'NFE'.padStart(5)} ${'sliced W2'.padStart(10)} ${'energy'.padStart(8)} ${'seconds'.padStart(8)}`);
  for (const r of rows) {
    console.log(`${r.solver.padEnd(16)} ${String(r.steps).padStart(5)} ${String(r.nfe).padStart(5)} ${r.sw2.toFixed(4).padStart(10)} ${r.energy.toFixed(4).padStart(8)} ${r.seconds.toFixed(2).padStart(8)}`);
  }
  console.log(`${'exact'.padEnd(16)} ${''.padStart(5)} ${''.padStart(5)} ${floor.sw2.toFixed(4).padStart(10)} ${floor.energy.toFixed(4).padStart(8)}`);
}
