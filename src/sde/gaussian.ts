import * as tf from '@tensorflow/tfjs';

/**
 * KL(N(m1, exp(lv1)) || N(m2, exp(lv2))) elementwise, in nats:
 * 1/2 (lv2 - lv1 + exp(lv1 - lv2) + (m1 - m2)^2 exp(-lv2) - 1).
 */
export function normalKL(mean1: tf.Tensor, logVar1: tf.Tensor, mean2: tf.Tensor, logVar2: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const logRatio = tf.sub(logVar1, logVar2);
    const meanTerm = tf.mul(tf.square(tf.sub(mean1, mean2)), tf.exp(tf.neg(logVar2)));
    return tf.mul(0.5, tf.add(tf.sub(tf.exp(logRatio), tf.add(logRatio, 1)), meanTerm));
  });
}

/** Standard normal CDF Phi(x) = (1 + erf(x / sqrt 2)) / 2. */
function normalCdf(x: tf.Tensor): tf.Tensor {
  return tf.mul(0.5, tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

/**
 * Log-likelihood of data x in [-1, 1], quantized to `bins` levels (256 for 8-bit images),
 * under a Gaussian N(mean, exp(logScale)^2) discretized onto those bins (Ho et al. 2020, L_0):
 * log[Phi((x + 1/(bins-1) - mean)/s) - Phi((x - 1/(bins-1) - mean)/s)], with the edge bins
 * extended to -inf and +inf. Elementwise, in nats.
 */
export function discretizedGaussianLogLikelihood(x: tf.Tensor, mean: tf.Tensor, logScale: tf.Tensor, bins = 256): tf.Tensor {
  const half = 1 / (bins - 1);
  return tf.tidy(() => {
    const centered = tf.sub(x, mean);
    const invStd = tf.exp(tf.neg(logScale));
    const upper = tf.mul(invStd, tf.add(centered, half));
    const lower = tf.mul(invStd, tf.sub(centered, half));
    const cdfUpper = normalCdf(upper);
    // 1 - Phi(lower) = Phi(-lower), which keeps precision in the upper tail.
    const survivalLower = normalCdf(tf.neg(lower));
    const tiny = 1e-12;
    const logCdfUpper = tf.log(tf.maximum(cdfUpper, tiny));
    const logSurvivalLower = tf.log(tf.maximum(survivalLower, tiny));
    // Bin mass as a difference on whichever side of the mean keeps precision.
    const massBelow = tf.sub(cdfUpper, normalCdf(lower));
    const massAbove = tf.sub(survivalLower, normalCdf(tf.neg(upper)));
    const mass = tf.where(tf.greater(lower, 0), massAbove, massBelow);
    const logMass = tf.log(tf.maximum(mass, tiny));
    const edge = 1 - half / 2;
    return tf.where(tf.less(x, -edge), logCdfUpper, tf.where(tf.greater(x, edge), logSurvivalLower, logMass));
  });
}
