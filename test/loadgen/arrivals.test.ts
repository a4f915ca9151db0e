import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Mt19937, vllmBenchSchedule } from '../../src/loadgen/arrivals.ts';

// Gaps produced by NumPy (np.random.seed(seed); np.random.gamma(shape=b, scale=1/(rate*b)) per
// request, as vllm bench serve draws them), for several seeds and burstiness values.
const ref = JSON.parse(readFileSync(new URL('./fixtures/numpy-gamma.json', import.meta.url), 'utf8')) as {
  rate: number;
  gaps: Record<string, number[]>;
};

describe('vllm bench arrivals', () => {
  it('MT19937 init_genrand gives the reference first outputs', () => {
    // First outputs of mt19937 with init_genrand(5489) (the reference implementation's default seed).
    const r = new Mt19937(5489);
    expect([r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([3499211612, 581869302, 3890346734]);
  });

  // Equal up to the last bit of log() (V8's and the C library's log may differ by one ulp), so
  // every accept/reject decision, and with it the whole sequence, is NumPy's.
  it('gamma gaps equal NumPy legacy draws to 1e-13 relative', () => {
    for (const [key, gaps] of Object.entries(ref.gaps)) {
      const [seed, b] = key.split('/').map(Number);
      const rng = new Mt19937(seed);
      const ours = gaps.map(() => rng.gamma(b, 1 / (ref.rate * b)));
      ours.forEach((g, i) => expect(Math.abs(g - gaps[i]) / gaps[i], `${key}[${i}]`).toBeLessThan(1e-13));
    }
  });

  it('the schedule is cumulative and rescaled so the last request goes out at N/rate', () => {
    const gaps = ref.gaps['0/1.0'];
    const t = vllmBenchSchedule(gaps.length, ref.rate, 1, 0);
    const sum = gaps.reduce((a, b) => a + b, 0);
    const f = gaps.length / ref.rate / sum;
    expect(t[t.length - 1]).toBeCloseTo(gaps.length / ref.rate, 12);
    let acc = 0;
    gaps.forEach((g, i) => {
      acc += g;
      expect(t[i]).toBeCloseTo(acc * f, 12);
      if (i > 0) expect(t[i]).toBeGreaterThan(t[i - 1]);
    });
  });

  it('inf rate sends at 0, inf burstiness gives constant gaps', () => {
    expect(Array.from(vllmBenchSchedule(4, Infinity, 1, 0))).toEqual([0, 0, 0, 0]);
    const c = vllmBenchSchedule(4, 2, Infinity, 0);
    expect(Array.from(c).map((x) => +x.toFixed(12))).toEqual([0.5, 1, 1.5, 2]);
  });

  it('rejects a non-positive rate or burstiness', () => {
    expect(() => vllmBenchSchedule(3, 0, 1, 0)).toThrow(/rate/);
    expect(() => vllmBenchSchedule(3, 1, -1, 0)).toThrow(/burstiness/);
  });
});

describe('CPython random (ShareGPT shuffle as vllm bench does it)', () => {
  it('random.seed(n); random.shuffle(x) gives CPython order', () => {
    // python3 -c "import random; random.seed(0); x=list(range(20)); random.shuffle(x); print(x)"
    const a = Array.from({ length: 20 }, (_, i) => i);
    Mt19937.pythonSeeded(0).shuffle(a);
    expect(a).toEqual([10, 18, 16, 14, 0, 17, 11, 2, 3, 9, 5, 7, 4, 19, 6, 15, 8, 1, 13, 12]);
    const b = Array.from({ length: 1000 }, (_, i) => i);
    const r = Mt19937.pythonSeeded(7);
    r.shuffle(b);
    expect(b.slice(0, 10)).toEqual([878, 857, 349, 313, 382, 850, 927, 194, 261, 946]);
    expect(r.double()).toBe(0.6673550488376796); // random.random() right after
  });
});
