/**
 * PCG-RXS-M-XS 32-bit generator (O'Neill 2014, "PCG: A Family of Simple Fast Space-Efficient
 * Statistically Good Algorithms"). One u32 of state, only 32-bit multiply/xor/shift, so the
 * WGSL engine computes the identical sequence. Used for workloads and for random routers.
 */
const MULT = 747796405;
const INC = 2891336453;

/** Advance a state word; returns the new state. */
export function pcgStep(state: number): number {
  return (Math.imul(state, MULT) + INC) >>> 0;
}

/** Output permutation of a state word. */
export function pcgOutput(state: number): number {
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** Mix a seed and a stream id into a starting state (so streams of one seed are independent). */
export function pcgSeed(seed: number, stream: number): number {
  let s = pcgStep((seed >>> 0) ^ Math.imul(stream >>> 0, 0x9e3779b9));
  s = pcgStep((s + pcgOutput(s ^ (stream >>> 0))) >>> 0);
  return s;
}

/** A small stateful wrapper used on the host (workload generation). */
export class Rng {
  private state: number;
  constructor(seed: number, stream = 0) {
    this.state = pcgSeed(seed, stream);
  }
  /** Uniform u32. */
  nextU32(): number {
    this.state = pcgStep(this.state);
    return pcgOutput(this.state);
  }
  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
  /** Uniform in (0, 1): safe for log(). */
  nextOpen(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    return u;
  }
  /** Standard normal (Box–Muller, one value per call). */
  normal(): number {
    const u1 = this.nextOpen();
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  /** Uniform integer in [0, n) from one u32 (what routers use: identical on the GPU). */
  below(n: number): number {
    return uniformBelow(this.nextU32(), n);
  }
}

/** Map a u32 to [0, n) by multiply-shift (Lemire), integer-only so both engines agree. */
export function uniformBelow(u32: number, n: number): number {
  // (u32 * n) >> 32 without 64-bit integers: split u32 into 16-bit halves.
  const hi = u32 >>> 16;
  const lo = u32 & 0xffff;
  return Math.floor((hi * n + Math.floor((lo * n) / 65536)) / 65536);
}
