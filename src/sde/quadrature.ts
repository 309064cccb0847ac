/**
 * Gauss-Legendre nodes x_k and weights w_k on [-1, 1] for n points, so that
 * int_{-1}^{1} f(x) dx ~= sum_k w_k f(x_k), exact for polynomials of degree 2n - 1.
 * Computed in float64 by Newton's iteration on the Legendre polynomial P_n.
 */
export function gaussLegendre(n: number): { nodes: Float64Array; weights: Float64Array } {
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= n; k++) {
        const pk = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = pk;
      }
      dp = (n * (x * p1 - p0)) / (x * x - 1);
      const dx = p1 / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-16) break;
    }
    nodes[i] = x;
    weights[i] = 2 / ((1 - x * x) * dp * dp);
  }
  return { nodes, weights };
}

/**
 * int_a^b f(s) ds by composite Gauss-Legendre (float64): `panels` equal panels of `n` nodes each.
 */
export function integrate(f: (s: number) => number, a: number, b: number, panels = 8, n = 16): number {
  const { nodes, weights } = gaussLegendre(n);
  const h = (b - a) / panels;
  let total = 0;
  for (let p = 0; p < panels; p++) {
    const mid = a + (p + 0.5) * h;
    for (let k = 0; k < n; k++) total += weights[k] * f(mid + 0.5 * h * nodes[k]);
  }
  return 0.5 * h * total;
}
