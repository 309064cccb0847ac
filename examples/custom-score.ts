// A hand-written score function passed to integrate: the data are N(mu, s^2 I) in 2-D, so under
// the VP-SDE x_t ~ N(m(t) mu, v(t) I) with v(t) = m(t)^2 s^2 + std(t)^2, and the exact score is
// grad log p_t(x) = (m(t) mu - x) / v(t). Sampling with it should give back mean mu and std s.
//
//   npm run build && node dist/examples/custom-score.js [--n 4000] [--steps 100] [--solver ode-heun] [--json]
//
// In a project that installed sde, import from 'sde' instead of '../src/index.js'.
import { parseArgs } from 'node:util';
import { configureRuntime, integrate, makeSDE, parseSolverName, runtimeOptionsFromEnv, tf, type ScoreFn } from '../src/index.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '4000' },
    steps: { type: 'string', default: '100' },
    solver: { type: 'string', default: 'ode-heun' },
    seed: { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
  },
});
const n = Number(args.n);
const steps = Number(args.steps);
const solver = parseSolverName(args.solver);

await configureRuntime({ ...runtimeOptionsFromEnv(), log: (line) => process.stderr.write(`${line}\n`) });

const mu = [1.5, -0.5];
const s = 0.5;
const sde = makeSDE({ sde: 'vp', schedule: 'linear', betaMin: 0.1, betaMax: 20 });
const muTensor = tf.tensor1d(mu);

/** The exact score of N(m(t) mu, v(t) I); t is a scalar or one time per sample. */
const score: ScoreFn = (x, t) =>
  tf.tidy(() => {
    const { mean, std } = sde.marginal(t);
    // Per-sample times [B] broadcast over the coordinates as [B, 1].
    const m = t.rank === 0 ? mean : tf.reshape(mean, [-1, 1]);
    const sd = t.rank === 0 ? std : tf.reshape(std, [-1, 1]);
    const v = tf.add(tf.mul(tf.square(m), s * s), tf.square(sd));
    return tf.div(tf.sub(tf.mul(m, muTensor), x), v);
  });

const eps = 1e-3;
const result = integrate(sde, score, solver, { shape: [n, 2], steps, seed: Number(args.seed), eps });
const x = result.x;
const sampleMean = Array.from(tf.tidy(() => tf.mean(x, 0)).dataSync() as Float32Array);
const sampleStd = Array.from(tf.tidy(() => tf.sqrt(tf.moments(x, 0).variance)).dataSync() as Float32Array);
x.dispose();
muTensor.dispose();

// The closed form at the end time eps (not exactly 0): mean m(eps) mu, std sqrt(m^2 s^2 + std^2).
const end = sde.marginalAt(eps);
const exactMean = mu.map((v) => end.mean * v);
const exactStd = Math.sqrt(end.mean ** 2 * s * s + end.std ** 2);

if (args.json) {
  console.log(JSON.stringify({ solver, n, steps, nfe: result.nfe, eps, mean: sampleMean, std: sampleStd, exactMean, exactStd }));
} else {
  console.log(`${solver}, ${steps} steps, ${result.nfe} score evaluations, ${n} samples`);
  console.log(`mean ${sampleMean.map((v) => v.toFixed(4)).join(', ')}  (exact ${exactMean.map((v) => v.toFixed(4)).join(', ')})`);
  console.log(`std  ${sampleStd.map((v) => v.toFixed(4)).join(', ')}  (exact ${exactStd.toFixed(4)})`);
}
