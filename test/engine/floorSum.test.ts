/** The closed-form sum of a line's floors (the stretch's per-rank µs), against the plain sum. */
import { describe, expect, it } from 'vitest';
import { floorSum } from '../../src/engine/core/engineCore.ts';
import { psToUs } from '../../src/model/stepTime.ts';
import { Rng } from '../../src/rng.ts';

function plain(n: number, m: number, a: number, b: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.floor((a * i + b) / m);
  return s;
}

describe('floorSum', () => {
  it('matches the plain sum on small exhaustive cases', () => {
    for (let n = 0; n <= 12; n++) for (let m = 1; m <= 9; m++) for (let a = 0; a <= 20; a++) for (let b = 0; b <= 20; b++) {
      expect(floorSum(n, m, a, b)).toBe(plain(n, m, a, b));
    }
  });
  it('matches psToUs summed over step-time lines (ps, 1e6 per µs)', () => {
    const rng = new Rng(20261207, 5);
    for (let k = 0; k < 300; k++) {
      const n = 1 + rng.below(3000);
      const slope = rng.below(k % 3 === 0 ? 50_000_000 : 300_000); // ps per step
      const p0 = rng.below(2_000_000_000) * 10 + rng.below(10); // up to ~20 ms
      let s = 0;
      for (let i = 0; i < n; i++) s += psToUs(p0 + i * slope);
      expect(floorSum(n, 1_000_000, slope, p0)).toBe(s);
    }
  });
  it('stays exact at the size of long stretches', () => {
    // 10^6 steps of a line that reaches 10^4 s per step: every term below 2^53.
    const n = 1_000_000;
    const a = 9_999_991;
    const b = 123_456_789_012;
    const direct = n * Math.floor(b / 1e6) + plain(n, 1_000_000, a, b % 1_000_000);
    expect(floorSum(n, 1_000_000, a, b)).toBe(direct);
  });
});
