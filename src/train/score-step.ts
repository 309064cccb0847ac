import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset.js';
import { mixSeed, Rng } from '../random.js';
import { ddpmLoss, dropLabels, dsmLoss } from './losses.js';
import type { TrainPlan } from './plan.js';
import type { TrainState } from './state.js';
import { optimiserStep } from './step.js';

/**
 * One step of score-model training, step n: a batch drawn from a PRNG seeded by (seed, n), so a
 * resumed run draws exactly what an uninterrupted one would: indices into the data, noise z, and
 * times t ~ U[eps, T] (or steps ~ U{0..N-1} for DDPM's L_simple), then labels dropped to the null
 * label with probability p_uncond for a conditional model. The loss (dsmLoss or ddpmLoss of the
 * raw weights' eps prediction) gets one optimiser step; returns the loss and gradient norm.
 */
export function scoreTrainingStep(plan: TrainPlan, state: TrainState, data: Dataset, dataT: tf.Tensor, n: number): { loss: tf.Scalar; gradNorm: tf.Scalar } {
  const { settings, sde, chain } = plan;
  const B = settings.batch;
  const numClasses = plan.modelConfig.network.numClasses;
  const rng = new Rng(mixSeed(settings.seed, n));
  const idx = rng.ints(B, data.n);
  const noise = rng.fillNormal(new Float32Array(idx.length * (dataT.size / data.n)));
  const tHost = chain ? rng.ints(B, chain.N) : rng.fillUniform(new Float32Array(B), settings.eps, sde.T);
  // Drawn after the others, so an unconditional run's stream is unchanged.
  const yHost = numClasses !== undefined ? dropLabels(rng, data.labels!, idx, numClasses, settings.pUncond ?? 0) : undefined;
  return tf.tidy(() => {
    const x0 = tf.gather(dataT, tf.tensor1d(idx, 'int32'));
    const z = tf.tensor(noise, [B, ...data.shape], 'float32');
    const t = chain ? tf.tensor1d(tHost as Int32Array, 'int32') : tf.tensor1d(tHost as Float32Array, 'float32');
    const y = yHost ? tf.tensor1d(yHost, 'int32') : undefined;
    const eps = state.rawModel.eps;
    const loss = () => (chain ? ddpmLoss(eps, chain, x0, t, z, y) : dsmLoss(eps, sde, x0, t, z, settings.weighting, y));
    return optimiserStep(state, loss, n);
  });
}
