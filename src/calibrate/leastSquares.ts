/**
 * Small dense least-squares solvers for fitting step-time coefficients (no dependency):
 * Householder QR on column-scaled data, and Lawson–Hanson non-negative least squares on top
 * (step-time coefficients are costs, so they must not be negative).
 */

/** Rows of a design matrix: X[i] is the feature vector of sample i. */
export type Design = readonly (readonly number[])[];

/**
 * Minimise sum_i (w_i * (X_i . b - y_i))^2 over b, using only the columns in `cols` (the others
 * are 0 in the result). Householder QR on columns scaled to unit norm (features differ by many
 * orders of magnitude). Returns NaN entries if the chosen columns are rank deficient.
 */
export function leastSquares(X: Design, y: readonly number[], w?: readonly number[], cols?: readonly number[]): number[] {
  const m = X.length;
  const p = X[0]?.length ?? 0;
  const use = cols ?? Array.from({ length: p }, (_, j) => j);
  const n = use.length;
  const out = new Array<number>(p).fill(0);
  if (n === 0) return out;
  if (m < n) throw new Error(`least squares: ${m} samples for ${n} unknowns`);
  // A (column-major, weighted, scaled) and rhs.
  const A = new Float64Array(m * n);
  const b = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const wi = w ? w[i] : 1;
    b[i] = wi * y[i];
    for (let k = 0; k < n; k++) A[k * m + i] = wi * X[i][use[k]];
  }
  const scale = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let s = 0;
    for (let i = 0; i < m; i++) s += A[k * m + i] ** 2;
    scale[k] = Math.sqrt(s) || 1;
    for (let i = 0; i < m; i++) A[k * m + i] /= scale[k];
  }
  // Householder QR: for each column k, reflect A[k:, k] onto e_k; apply to the rest and to b.
  const diag = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let norm = 0;
    for (let i = k; i < m; i++) norm += A[k * m + i] ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) {
      out.fill(NaN);
      return out;
    }
    const alpha = A[k * m + k] > 0 ? -norm : norm;
    // v = x - alpha e1, stored in place of column k (v_k = x_k - alpha).
    A[k * m + k] -= alpha;
    let vnorm2 = 0;
    for (let i = k; i < m; i++) vnorm2 += A[k * m + i] ** 2;
    diag[k] = alpha;
    if (vnorm2 === 0) continue;
    for (let j = k + 1; j < n; j++) {
      let dot = 0;
      for (let i = k; i < m; i++) dot += A[k * m + i] * A[j * m + i];
      const f = (2 * dot) / vnorm2;
      for (let i = k; i < m; i++) A[j * m + i] -= f * A[k * m + i];
    }
    let dot = 0;
    for (let i = k; i < m; i++) dot += A[k * m + i] * b[i];
    const f = (2 * dot) / vnorm2;
    for (let i = k; i < m; i++) b[i] -= f * A[k * m + i];
  }
  // Back substitution R x = Q^T b (R's diagonal in `diag`, above it in A[j*m + k], j > k).
  const x = new Float64Array(n);
  const tol = Math.max(...Array.from(diag, Math.abs)) * 1e-12;
  for (let k = n - 1; k >= 0; k--) {
    if (Math.abs(diag[k]) <= tol) {
      out.fill(NaN);
      return out;
    }
    let s = b[k];
    for (let j = k + 1; j < n; j++) s -= A[j * m + k] * x[j];
    x[k] = s / diag[k];
  }
  for (let k = 0; k < n; k++) out[use[k]] = x[k] / scale[k];
  return out;
}

/**
 * Non-negative least squares (Lawson & Hanson 1974, "Solving Least Squares Problems", ch. 23):
 * minimise sum_i (w_i * (X_i . b - y_i))^2 subject to b >= 0.
 */
export function nonNegativeLeastSquares(X: Design, y: readonly number[], w?: readonly number[]): number[] {
  const m = X.length;
  const p = X[0]?.length ?? 0;
  const b = new Array<number>(p).fill(0);
  const passive = new Set<number>();
  const gradient = (): number[] => {
    const g = new Array<number>(p).fill(0);
    for (let i = 0; i < m; i++) {
      const wi = w ? w[i] : 1;
      let r = y[i];
      for (let j = 0; j < p; j++) r -= X[i][j] * b[j];
      const wr = wi * wi * r;
      for (let j = 0; j < p; j++) g[j] += X[i][j] * wr;
    }
    return g;
  };
  // Scale-free stopping test: compare each gradient entry with its column's magnitude.
  const colNorm = new Array<number>(p).fill(0);
  let yNorm = 0;
  for (let i = 0; i < m; i++) {
    const wi = w ? w[i] : 1;
    yNorm += (wi * y[i]) ** 2;
    for (let j = 0; j < p; j++) colNorm[j] += (wi * X[i][j]) ** 2;
  }
  const tol = 1e-10 * Math.sqrt(yNorm);
  for (let iter = 0; iter < 3 * p + 10; iter++) {
    const g = gradient();
    let t = -1;
    let best = 0;
    for (let j = 0; j < p; j++) {
      if (passive.has(j) || colNorm[j] === 0) continue;
      const score = g[j] / Math.sqrt(colNorm[j]);
      if (score > tol && score > best) {
        best = score;
        t = j;
      }
    }
    if (t < 0) break;
    passive.add(t);
    for (;;) {
      const s = leastSquares(X, y, w, [...passive].sort((a, c) => a - c));
      let ok = true;
      for (const j of passive) if (!(s[j] > 0)) ok = false;
      if (ok) {
        for (let j = 0; j < p; j++) b[j] = passive.has(j) ? s[j] : 0;
        break;
      }
      let alpha = 1;
      for (const j of passive) {
        if (!(s[j] > 0)) {
          const a = Number.isFinite(s[j]) ? b[j] / (b[j] - s[j]) : 0;
          if (a < alpha) alpha = a;
        }
      }
      for (const j of passive) b[j] += alpha * ((Number.isFinite(s[j]) ? s[j] : 0) - b[j]);
      for (const j of [...passive]) if (b[j] <= 1e-15 * Math.max(1, Math.abs(b[j]))) {
        passive.delete(j);
        b[j] = 0;
      }
      if (passive.size === 0) break;
    }
  }
  return b;
}
