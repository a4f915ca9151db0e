/**
 * Log-bucketed histogram of non-negative integer values (µs), HDR-style, integer-only so the
 * WGSL engine computes the same buckets. Values below 128 get their own bucket; above, a bucket
 * spans 1/64 of its power of two, so the bucket midpoint is within 0.8% of any value in it.
 *
 *   v < 128:  index = v
 *   v >= 128: e = floor(log2 v) (>= 7), index = 128 + (e - 7) * 64 + ((v >> (e - 6)) & 63)
 */
import { makeDoubleFields } from '../doubleFields.ts';

export const EXACT_BELOW = 128;
export const SUB_BUCKETS = 64;
/** Values up to 2^53 (about 285 years in µs). */
export const MAX_EXPONENT = 53;
export const BUCKETS = EXACT_BELOW + (MAX_EXPONENT - 7 + 1) * SUB_BUCKETS;

/** floor(log2 v) for an integer v >= 1, exact for v < 2^53. */
function floorLog2(v: number): number {
  if (v < 4294967296) return 31 - Math.clz32(v);
  return 32 + (31 - Math.clz32(Math.floor(v / 4294967296)));
}

export function bucketOf(value: number): number {
  const v = Math.max(0, Math.floor(value));
  if (v < EXACT_BELOW) return v;
  if (v < 2147483648) {
    // Int32 range (under 36 minutes in µs): the same index with integer shifts (hot: several
    // histograms per completed request).
    const e32 = 31 - Math.clz32(v);
    return EXACT_BELOW + (e32 - 7) * SUB_BUCKETS + ((v >> (e32 - 6)) & 63);
  }
  const e = Math.min(floorLog2(v), MAX_EXPONENT);
  const sub = Math.floor(v / 2 ** (e - 6)) & 63;
  return EXACT_BELOW + (e - 7) * SUB_BUCKETS + sub;
}

/** Smallest value of a bucket. */
export function bucketLow(index: number): number {
  if (index < EXACT_BELOW) return index;
  const e = 7 + Math.floor((index - EXACT_BELOW) / SUB_BUCKETS);
  const sub = (index - EXACT_BELOW) % SUB_BUCKETS;
  return (64 + sub) * 2 ** (e - 6);
}

/** Representative value of a bucket: the value itself below 128, else the bucket's midpoint. */
export function bucketValue(index: number): number {
  if (index < EXACT_BELOW) return index;
  const e = 7 + Math.floor((index - EXACT_BELOW) / SUB_BUCKETS);
  const width = 2 ** (e - 6);
  return bucketLow(index) + (width - 1) / 2;
}

export class Histogram {
  readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  /** Exact sum of the recorded values (for the mean). */
  sum = 0;

  constructor() {
    makeDoubleFields(this, ['sum']);
  }

  record(value: number): void {
    this.counts[bucketOf(value)]++;
    this.count++;
    this.sum += value;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
  }

  mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }

  /**
   * Nearest-rank percentile: the representative value of the bucket holding the
   * ceil(q/100 * n)-th smallest sample (at least the first). NaN when empty.
   */
  percentile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((q / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return bucketValue(i);
    }
    return bucketValue(BUCKETS - 1);
  }
}
