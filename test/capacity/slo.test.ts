import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { meetsSlo, parseSlo, requestLimits, sloMetrics } from '../../src/capacity/slo.ts';
import type { RunMetrics } from '../../src/metrics/types.ts';

const metrics = (over: Partial<RunMetrics>): RunMetrics => ({ requests: 100, failed: 0, ttft_p95_ms: 500, tpot_p95_ms: 40, ...over }) as RunMetrics;

function problem(text: string): InputError {
  try {
    parseSlo(text);
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error(`parseSlo(${text}) did not fail`);
}

describe('parseSlo', () => {
  it('reads bounds in order and canonicalises the text', () => {
    const s = parseSlo(' ttft_p95_ms=2000, tpot_p95_ms<=100,failed_frac=0.01');
    expect(s.bounds).toEqual([
      { metric: 'ttft_p95_ms', bound: 2000 },
      { metric: 'tpot_p95_ms', bound: 100 },
      { metric: 'failed_frac', bound: 0.01 },
    ]);
    expect(s.text).toBe('ttft_p95_ms=2000,tpot_p95_ms=100,failed_frac=0.01');
  });
  it('names a metric that is not a result column', () => {
    const e = problem('ttft_p96_ms=10');
    expect(e.field).toBe('slo.ttft_p96_ms');
    expect(e.message).toContain('ttft_p95_ms');
  });
  it('rejects throughput, which is not a latency bound', () => expect(problem('throughput_tok_s=10').field).toBe('slo.throughput_tok_s'));
  it('rejects a bound <= 0, non-decimal and duplicates', () => {
    expect(problem('ttft_p95_ms=0').message).toContain('> 0');
    expect(problem('ttft_p95_ms=-5').field).toBe('slo.ttft_p95_ms');
    expect(problem('ttft_p95_ms=0x10').field).toBe('slo.ttft_p95_ms');
    expect(problem('ttft_p95_ms=1,ttft_p95_ms=2').message).toContain('twice');
    expect(problem('failed_frac=2').message).toContain('fraction');
    expect(problem('').field).toBe('slo');
  });
  it('offers every latency column and failed_frac', () => {
    expect(sloMetrics()).toContain('e2e_p99_ms');
    expect(sloMetrics()).toContain('failed_frac');
    expect(sloMetrics()).not.toContain('wall_ms');
  });
});

describe('meetsSlo', () => {
  const slo = parseSlo('ttft_p95_ms=1000,tpot_p95_ms=50,failed_frac=0.05');
  it('holds at or below every bound', () => {
    expect(meetsSlo(metrics({}), slo)).toBe(true);
    expect(meetsSlo(metrics({ ttft_p95_ms: 1000, tpot_p95_ms: 50, failed: 5 }), slo)).toBe(true);
  });
  it('fails above any bound', () => {
    expect(meetsSlo(metrics({ ttft_p95_ms: 1000.1 }), slo)).toBe(false);
    expect(meetsSlo(metrics({ failed: 6 }), slo)).toBe(false);
  });
  it('fails when a latency is undefined (nothing completed)', () => expect(meetsSlo(metrics({ ttft_p95_ms: NaN }), slo)).toBe(false));
  it('per-request limits take the tightest bound of each family', () => {
    expect(requestLimits(parseSlo('ttft_p95_ms=2000,ttft_p99_ms=1500,tpot_mean_ms=80,failed_frac=0.1'))).toEqual({ ttft: 1500, tpot: 80 });
  });
});
