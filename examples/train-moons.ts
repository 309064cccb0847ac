// Train a small score model (an MLP, eps-parameterized, denoising score matching on the VP-SDE)
// on the two-moons set, sample it with the probability-flow ODE and with the reverse SDE, and
// score the samples by sliced W2 against held-out moons. The line "prior" is the untrained
// baseline: draws of the prior N(0, I) scored the same way.
//
//   npm run build && node dist/examples/train-moons.js [--iters 2000] [--n 2000] [--steps 100] [--ema 0.99] [--out DIR] [--json]
//
// With --out DIR the model is saved there as a checkpoint and loaded back before sampling.
// In a project that installed sde, import from 'sde' instead of '../src/index.js'.
import { parseArgs } from 'node:util';
import {
  defaultMLPConfig,
  integrate,
  loadCheckpoint,
  slicedWasserstein,
  toyDataset,
  train,
  type Points,
  type ScoreModel,
  configureRuntime,
  runtimeOptionsFromEnv,
} from '../src/index.js';

const { values: args } = parseArgs({
  options: {
    iters: { type: 'string', default: '2000' },
    n: { type: 'string', default: '2000' },
    steps: { type: 'string', default: '100' },
    ema: { type: 'string', default: '0.99' },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const iters = Number(args.iters);
const n = Number(args.n);
const steps = Number(args.steps);

await configureRuntime({ ...runtimeOptionsFromEnv(), log: (line) => process.stderr.write(`${line}\n`) });

// Standardized moons: 20,000 training points, n held-out ones from another seed.
const data = toyDataset('moons', 20_000, 0);
const heldOut = toyDataset('moons', n, 1);
const reference: Points = Array.from({ length: n }, (_, i) => [heldOut.x[2 * i], heldOut.x[2 * i + 1]]);

const run = await train({
  data,
  sde: { sde: 'vp' },
  model: { network: defaultMLPConfig(2, { hidden: [64, 64] }), parameterization: 'eps', inputScaling: 'marginal' },
  iters,
  batch: 256,
  lr: 2e-3,
  // Sampling uses the EMA of the weights; a short run needs a short memory (the default 0.999
  // averages over ~1000 steps, most of them near the initial weights after a few hundred).
  ema: Number(args.ema),
  seed: 0,
  logEvery: Math.max(1, Math.floor(iters / 10)),
  progress: null,
  ...(args.out ? { outDir: args.out, checkpointEvery: iters } : {}),
});
const losses = run.log.map((e) => e.loss);

// Sample from the trained model, or from the checkpoint it was saved to.
const loaded = args.out ? loadCheckpoint(args.out) : undefined;
const model: ScoreModel = loaded ? loaded.model : run.model;

/** Sliced W2 of n samples of `solver` against the held-out moons. */
function quality(solver: 'ode-heun' | 'euler-maruyama'): { sw2: number; nfe: number } {
  const r = integrate(model.sde, model.score, solver, { shape: [n, 2], steps, seed: 5 });
  const points = r.x.arraySync() as Points;
  r.x.dispose();
  return { sw2: slicedWasserstein(points, reference, 256, 0), nfe: r.nfe };
}
const ode = quality('ode-heun');
const sdeSampler = quality('euler-maruyama');
const priorDraw = model.sde.priorSample([n, 2], 9);
const prior = slicedWasserstein(priorDraw.arraySync() as Points, reference, 256, 0);
priorDraw.dispose();
loaded?.dispose();
run.dispose();

const out = { iters: run.step, stepsPerSec: run.stepsPerSec, firstLoss: losses[0], lastLoss: losses[losses.length - 1], ode, sde: sdeSampler, prior, checkpoint: args.out ?? null };
if (args.json) {
  console.log(JSON.stringify(out));
} else {
  console.log(`trained ${out.iters} steps (${out.stepsPerSec.toFixed(0)} steps/s), loss ${out.firstLoss.toFixed(3)} -> ${out.lastLoss.toFixed(3)}`);
  console.log(`sliced W2 to held-out moons: ode-heun ${ode.sw2.toFixed(3)} (${ode.nfe} NFE), euler-maruyama ${sdeSampler.sw2.toFixed(3)} (${sdeSampler.nfe} NFE), prior ${prior.toFixed(3)}`);
}
