// The verdict: best router per (DP, rate) by throughput and its paired gain over the baseline.
import { describe, expect, it } from 'vitest';
import { computeVerdict, pairedRelativeChange, variantGains, type VerdictInputRow } from '../../src/report/verdict.ts';

const T2 = 4.302652729749464; // t(0.975, 2)

function row(variant: string, dp: number, rate: number, seed: number, tput: number | null, ttft = 100, context = ''): VerdictInputRow {
  return { variant, router: variant.split(' ')[0], context, dp, rate, seed, values: { throughput_tok_s: tput, ttft_p95_ms: ttft } };
}

describe('computeVerdict', () => {
  // Two cells; in (8, 10) br0 beats vllm_default by 10%, 12%, 8% on seeds 1..3.
  const rows: VerdictInputRow[] = [
    ...[1, 2, 3].map((s) => row('vllm_default', 8, 10, s, 1000 * s, 200)),
    ...[1, 2, 3].map((s, i) => row('br0', 8, 10, s, 1000 * s * [1.1, 1.12, 1.08][i], 150)),
    ...[1, 2, 3].map((s, i) => row('jsq_load', 8, 10, s, 1000 * s * [1.05, 1.0, 1.02][i])),
    ...[1, 2, 3].map((s) => row('vllm_default', 8, 2, s, 500)),
    ...[1, 2, 3].map((s, i) => row('br0', 8, 2, s, [499, 498, 500][i])),
  ];
  const v = computeVerdict(rows);

  it('orders cells by dp then rate', () => {
    expect(v.rows.map((r) => [r.dp, r.rate])).toEqual([[8, 2], [8, 10]]);
    expect(v.metric).toBe('throughput_tok_s');
    expect(v.baseline).toBe('vllm_default');
    expect(v.baselineFallback).toBe(false);
  });

  it('picks the best by seed-mean throughput and pairs its gain by seed', () => {
    const r = v.rows[1];
    expect(r.best).toBe('br0');
    expect(r.bestMean).toBeCloseTo((1100 + 2240 + 3240) / 3, 9);
    expect(r.baselineMean).toBeCloseTo(2000, 9);
    const g = r.gain!;
    expect(g.n).toBe(3);
    expect(g.mean).toBeCloseTo(0.1, 12);
    expect(g.sd).toBeCloseTo(0.02, 12);
    expect(g.lo).toBeCloseTo(0.1 - (T2 * 0.02) / Math.sqrt(3), 12);
    expect(g.hi).toBeCloseTo(0.1 + (T2 * 0.02) / Math.sqrt(3), 12);
    // TTFT p95: 150 vs 200 on every seed -> -25%, no spread.
    expect(r.secondaryChange!.mean).toBeCloseTo(-0.25, 12);
    expect(r.runnerUp).toBeNull();
    expect(r.variants).toBe(3);
  });

  it('when the baseline is best, reports the runner-up', () => {
    const r = v.rows[0];
    expect(r.best).toBe('vllm_default');
    expect(r.gain!.mean).toBe(0);
    expect(r.runnerUp!.variant).toBe('br0');
    expect(r.runnerUp!.gain!.mean).toBeCloseTo((499 / 500 + 498 / 500 + 1) / 3 - 1, 12);
  });

  it('falls back to the first variant when vllm_default is absent, and says so', () => {
    const w = computeVerdict(rows.filter((r) => r.router !== 'vllm_default'));
    expect(w.baselineFallback).toBe(true);
    expect(w.baseline).toBe('br0');
    expect(w.rows[1].best).toBe('br0');
    expect(w.rows[1].baseline).toBe('br0');
  });

  it('notes cells that lack the baseline', () => {
    const w = computeVerdict([...rows, row('jsq_load', 16, 10, 1, 10), row('br0', 16, 10, 1, 12)]);
    const r = w.rows.find((x) => x.dp === 16)!;
    expect(r.baseline).toBe('br0'); // first variant of the sweep present in the cell
    expect(r.note).toContain('no vllm_default');
    expect(r.gain!.n).toBe(1);
    expect(r.gain!.lo).toBeNull();
  });

  it('pairs only seeds both have, averages duplicate rows, and skips null values', () => {
    const w = computeVerdict([
      row('vllm_default', 2, 1, 1, 100),
      row('vllm_default', 2, 1, 2, 100),
      row('vllm_default', 2, 1, 2, 300), // duplicate of seed 2 -> 200
      row('br0', 2, 1, 1, 110),
      row('br0', 2, 1, 2, 260),
      row('br0', 2, 1, 3, 999), // no baseline for seed 3
      row('jsq_load', 2, 1, 1, null),
    ]);
    const r = w.rows[0];
    expect(r.best).toBe('br0');
    expect(r.gain!.n).toBe(2);
    expect(r.gain!.mean).toBeCloseTo((0.1 + 0.3) / 2, 12);
  });

  it('keeps contexts apart', () => {
    const w = computeVerdict([
      row('vllm_default', 2, 1, 1, 100, 1, 'dispatch=on_arrival'),
      row('br0', 2, 1, 1, 120, 1, 'dispatch=on_arrival'),
      row('vllm_default', 2, 1, 1, 100, 1, 'dispatch=per_step'),
      row('br0', 2, 1, 1, 90, 1, 'dispatch=per_step'),
    ]);
    expect(w.rows.map((r) => [r.context, r.best])).toEqual([
      ['dispatch=on_arrival', 'br0'],
      ['dispatch=per_step', 'vllm_default'],
    ]);
  });
});

describe('pairedRelativeChange and variantGains', () => {
  it('skips seeds whose baseline is zero', () => {
    const g = pairedRelativeChange(new Map([[1, 5], [2, 6]]), new Map([[1, 0], [2, 3]]))!;
    expect(g.n).toBe(1);
    expect(g.mean).toBe(1);
  });
  it('gives every variant its gain in every cell with the baseline', () => {
    const gains = variantGains([row('vllm_default', 2, 1, 1, 100), row('br0', 2, 1, 1, 150), row('br0', 4, 1, 1, 150)], 'vllm_default');
    expect(gains.map((g) => [g.variant, g.dp, g.gain.mean])).toEqual([['vllm_default', 2, 0], ['br0', 2, 0.5]]);
  });
});
