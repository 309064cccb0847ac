/**
 * Confidence intervals for metric series over seeds: Student t quantiles (computed, exact for
 * integer degrees of freedom), the mean with its t-interval, and the paired difference of two
 * series over the same seeds. Float64 on the host.
 */

/**
 * Degrees of freedom above this are evaluated at this value: beyond it the t quantile moves by
 * about (z^3 + z) / (4e6), under 3e-6 for a 95% interval.
 */
const MAX_DF = 1_000_000;

function checkDf(df: number): number {
  if (!(Number.isInteger(df) && df >= 1)) throw new Error(`Student t: degrees of freedom must be an integer >= 1, got ${df}`);
  return Math.min(df, MAX_DF);
}

/**
 * P(|T| <= t) for T ~ Student t with df degrees of freedom, t >= 0, by the finite series of
 * Abramowitz & Stegun 26.7.3-4 with theta = atan(t / sqrt(df)), c = cos(theta):
 * odd df: (2/pi) (theta + sin(theta) (c + 2/3 c^3 + (2*4)/(3*5) c^5 + ... up to c^(df-2))), df = 1: 2 theta / pi;
 * even df: sin(theta) (1 + 1/2 c^2 + (1*3)/(2*4) c^4 + ... up to c^(df-2)).
 * Exact up to rounding; O(df) work.
 */
function twoSidedCdf(t: number, df: number): number {
  const theta = Math.atan(t / Math.sqrt(df));
  const cos2 = df / (df + t * t);
  const sin = t / Math.sqrt(df + t * t);
  if (df % 2 === 0) {
    let term = 1;
    let sum = 1;
    for (let k = 1; k <= (df - 2) / 2; k++) {
      term *= (cos2 * (2 * k - 1)) / (2 * k);
      sum += term;
    }
    return sin * sum;
  }
  if (df === 1) return (2 * theta) / Math.PI;
  let term = Math.sqrt(cos2);
  let sum = term;
  for (let k = 1; k <= (df - 3) / 2; k++) {
    term *= (cos2 * 2 * k) / (2 * k + 1);
    sum += term;
  }
  return (2 / Math.PI) * (theta + sin * sum);
}

/** Student t CDF F(t) = 1/2 + sign(t) P(|T| <= |t|) / 2, for integer df >= 1 (df above 1e6 is taken as 1e6). */
export function studentTCdf(t: number, df: number): number {
  const nu = checkDf(df);
  if (Number.isNaN(t)) return NaN;
  if (!Number.isFinite(t)) return t > 0 ? 1 : 0;
  return 0.5 + (Math.sign(t) * twoSidedCdf(Math.abs(t), nu)) / 2;
}

/**
 * Student t quantile: the t with F(t) = p, for 0 < p < 1 and integer df >= 1 (df above 1e6 is
 * taken as 1e6). Found by bisection on the two-sided CDF to full float64 precision, so it is
 * computed, not tabled: t_{0.975, 9} = 2.262157...
 */
export function studentTQuantile(p: number, df: number): number {
  const nu = checkDf(df);
  if (!(p > 0 && p < 1)) throw new Error(`Student t quantile: p must be in (0, 1), got ${p}`);
  if (p === 0.5) return 0;
  const target = Math.abs(2 * p - 1); // P(|T| <= t) for the wanted |t|
  let lo = 0;
  let hi = 1;
  while (twoSidedCdf(hi, nu) < target) {
    lo = hi;
    hi *= 2;
  }
  for (let i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (twoSidedCdf(mid, nu) < target) lo = mid;
    else hi = mid;
  }
  return Math.sign(p - 0.5) * (lo + hi) / 2;
}

/** A mean over n values with its two-sided t-interval at `level`. */
export interface MeanInterval {
  n: number;
  mean: number;
  /** Sample standard deviation (divisor n - 1). */
  sd: number;
  /** Standard error sd / sqrt(n). */
  se: number;
  level: number;
  /** t_{(1 + level)/2, n - 1} * se. */
  halfWidth: number;
  lower: number;
  upper: number;
}

function checkLevel(level: number): void {
  if (!(level > 0 && level < 1)) throw new Error(`interval level must be in (0, 1), got ${level}`);
}

/**
 * Mean of the values with the Student t-interval mean +- t_{(1 + level)/2, n - 1} sd / sqrt(n)
 * (level 0.95 by default), exact for normally distributed values. With one value sd, se,
 * halfWidth, lower and upper are NaN (no interval from one seed).
 */
export function meanInterval(values: ArrayLike<number>, level = 0.95): MeanInterval {
  checkLevel(level);
  const n = values.length;
  if (n === 0) throw new Error('meanInterval needs at least one value');
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const mean = sum / n;
  if (n === 1) return { n, mean, sd: NaN, se: NaN, level, halfWidth: NaN, lower: NaN, upper: NaN };
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (values[i] - mean) ** 2;
  const sd = Math.sqrt(sq / (n - 1));
  const se = sd / Math.sqrt(n);
  const halfWidth = studentTQuantile((1 + level) / 2, n - 1) * se;
  return { n, mean, sd, se, level, halfWidth, lower: mean - halfWidth, upper: mean + halfWidth };
}

/** The interval of a paired difference, and whether it excludes zero. */
export interface PairedDifference extends MeanInterval {
  /** The interval lies wholly above or below 0: the two series differ at this level. */
  excludesZero: boolean;
}

/**
 * Paired difference of two metric series over the same seeds: the t-interval of the mean of
 * d_i = a_i - b_i (a[i] and b[i] measured with seed i). What the seeds share (prior draw, noise)
 * cancels in d_i, so this is much narrower than the intervals of a and b apart.
 */
export function pairedDifferenceInterval(a: ArrayLike<number>, b: ArrayLike<number>, level = 0.95): PairedDifference {
  if (a.length !== b.length) throw new Error(`paired difference needs series of one length, got ${a.length} and ${b.length}`);
  const diff = Float64Array.from({ length: a.length }, (_, i) => a[i] - b[i]);
  const interval = meanInterval(diff, level);
  return { ...interval, excludesZero: interval.lower > 0 || interval.upper < 0 };
}
