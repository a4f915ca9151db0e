/**
 * Send schedule of `balanceroute loadgen`, drawn as `vllm bench serve` draws it
 * (vllm/benchmarks/serve.py, `get_request`): gap i ~ Gamma(shape = burstiness, scale =
 * 1 / (rate · burstiness)) from NumPy's global legacy generator seeded with `np.random.seed(seed)`;
 * gaps are accumulated, then rescaled so that the last request goes out at exactly N / rate
 * seconds. burstiness = 1 is Poisson; rate = Infinity sends everything at t = 0; burstiness =
 * Infinity gives constant gaps 1 / rate.
 *
 * To give the same numbers as NumPy for the same seed, this is a port of the legacy algorithms
 * NumPy keeps for `np.random.seed` streams: MT19937 with `init_genrand` seeding (Matsumoto &
 * Nishimura 1998), 53-bit doubles from two 32-bit words, `legacy_standard_exponential`
 * (-log(1 - U)), `legacy_gauss` (Marsaglia's polar method, caching the second value) and
 * `legacy_standard_gamma` (Marsaglia & Tsang 2000 for shape >= 1, Johnk-style rejection for
 * shape < 1). test/loadgen/arrivals.test.ts checks against values NumPy produced.
 */
import { InputError } from '../errors.ts';

const N = 624;
const M = 397;

/** MT19937 as NumPy's legacy `RandomState` uses it (integer seed: init_genrand). */
export class Mt19937 {
  private readonly mt = new Uint32Array(N);
  private mti = N;
  private cachedGauss: number | null = null;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new InputError('seed', seed, 'must be a whole number from 0 to 4294967295');
    this.initGenrand(seed);
  }

  private initGenrand(seed: number): void {
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      // 1812433253 * prev + i, mod 2^32, without losing bits to doubles.
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.mti = N;
    this.cachedGauss = null;
  }

  /**
   * Seed as CPython's `random.seed(n)` does for an int n: `init_by_array` over the 32-bit words
   * of |n|, least significant first (at least one word).
   */
  static pythonSeeded(seed: number): Mt19937 {
    const r = new Mt19937(19650218);
    const key: number[] = [];
    let v = Math.abs(seed);
    do {
      key.push(v % 4294967296);
      v = Math.floor(v / 4294967296);
    } while (v > 0);
    const mt = r.mt;
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1664525)) + key[j] + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = 0x80000000;
    return r;
  }

  /** CPython `random.getrandbits(k)` for 1 <= k <= 32. */
  getrandbits(k: number): number {
    return this.nextU32() >>> (32 - k);
  }

  /** CPython `random._randbelow(n)` (rejection on bit_length(n) bits), n >= 1. */
  randbelow(n: number): number {
    const k = 32 - Math.clz32(n);
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }

  /** CPython `random.shuffle(x)` in place. */
  shuffle<T>(x: T[]): void {
    for (let i = x.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1);
      const t = x[i];
      x[i] = x[j];
      x[j] = t;
    }
  }

  nextU32(): number {
    const mt = this.mt;
    if (this.mti >= N) {
      let k = 0;
      for (; k < N - M; k++) {
        const y = (mt[k] & 0x80000000) | (mt[k + 1] & 0x7fffffff);
        mt[k] = mt[k + M] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      for (; k < N - 1; k++) {
        const y = (mt[k] & 0x80000000) | (mt[k + 1] & 0x7fffffff);
        mt[k] = mt[k + (M - N)] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      const y = (mt[N - 1] & 0x80000000) | (mt[0] & 0x7fffffff);
      mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      this.mti = 0;
    }
    let y = mt[this.mti++];
    y ^= y >>> 11;
    y = (y ^ ((y << 7) & 0x9d2c5680)) >>> 0;
    y = (y ^ ((y << 15) & 0xefc60000)) >>> 0;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Uniform [0, 1) with 53 bits (NumPy `legacy_double` / `random_sample`). */
  double(): number {
    const a = this.nextU32() >>> 5;
    const b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  standardExponential(): number {
    return -Math.log(1 - this.double());
  }

  gauss(): number {
    if (this.cachedGauss !== null) {
      const g = this.cachedGauss;
      this.cachedGauss = null;
      return g;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2 * this.double() - 1;
      x2 = 2 * this.double() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    this.cachedGauss = f * x1;
    return f * x2;
  }

  standardGamma(shape: number): number {
    if (shape === 1) return this.standardExponential();
    if (shape === 0) return 0;
    if (shape < 1) {
      for (;;) {
        const u = this.double();
        const v = this.standardExponential();
        if (u <= 1 - shape) {
          const x = Math.pow(u, 1 / shape);
          if (x <= v) return x;
        } else {
          const y = -Math.log((1 - u) / shape);
          const x = Math.pow(1 - shape + shape * y, 1 / shape);
          if (x <= v + y) return x;
        }
      }
    }
    const b = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * b);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.gauss();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.double();
      if (u < 1 - 0.0331 * (x * x) * (x * x)) return b * v;
      if (Math.log(u) < 0.5 * x * x + b * (1 - v + Math.log(v))) return b * v;
    }
  }

  /** `np.random.gamma(shape, scale)`. */
  gamma(shape: number, scale: number): number {
    return scale * this.standardGamma(shape);
  }
}

/**
 * Send offsets in seconds from the start of the run, one per request, as vllm bench serve
 * computes them (no ramp-up). `rate` and `burstiness` may be Infinity.
 */
export function vllmBenchSchedule(n: number, rate: number, burstiness: number, seed: number): Float64Array {
  if (!(rate > 0)) throw new InputError('rate', rate, 'must be a rate > 0 req/s (inf sends everything at once)');
  if (!(burstiness > 0)) throw new InputError('burstiness', burstiness, 'must be > 0 (1 = Poisson, < 1 burstier, > 1 more regular, inf = constant gaps)');
  const t = new Float64Array(n);
  if (n === 0 || rate === Infinity) return t;
  const rng = new Mt19937(seed);
  const theta = 1 / (rate * burstiness);
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += burstiness === Infinity ? 1 / rate : rng.gamma(burstiness, theta);
    t[i] = acc;
  }
  const last = t[n - 1];
  if (last !== 0) {
    const f = n / rate / last;
    for (let i = 0; i < n; i++) t[i] *= f;
  }
  return t;
}
