/**
 * V8 keeps a number field unboxed as a double once the first number stored in it is not a small
 * integer. A field that starts at 0 and later takes a fraction, or an integer past 2^30 (times in
 * µs pass it after 18 simulated minutes), changes its object's hidden class in the middle of a
 * run, and every function V8 has optimised for the old one is thrown away and compiled again.
 * In a short run — a fresh `balanceroute run`, which spends much of its time compiling the
 * engine — those recompilations are a large part of the wall time (docs/performance.md, "Cold
 * and warm runs").
 *
 * Called on a fresh object before any hot code has seen it, this turns the named number fields
 * into doubles from the start; their values do not change.
 */
export function makeDoubleFields(o: object, keys: readonly string[]): void {
  const r = o as Record<string, unknown>;
  for (const k of keys) {
    const v = r[k];
    // (Names are strings so that private fields can be listed: a misspelt one fails here.)
    if (typeof v !== 'number') throw new Error(`makeDoubleFields: ${k} is not a number field`);
    r[k] = 0.5;
    r[k] = v;
  }
}
