// The barrier-policy capacity comparison (benches/barrier-capacity.ts, docs/barrier-policies.md, "Capacity under an SLO"):
// its sweep files expand to the documented grid, policies get distinct labels, and a tiny version
// of the whole pipeline (search, common rate, tables) runs and pairs by seed.
import { afterAll, describe, expect, it } from 'vitest';
import { loadSweepFile } from '../../src/config/expand.ts';
import { capacityOptions } from '../../src/cli/capacityCommand.ts';
import { CpuEngine } from '../../src/engine/cpu/cpuEngine.ts';
import { meetsSlo, parseSlo } from '../../src/capacity/slo.ts';
import type { Scenario } from '../../src/config/scenario.ts';
import { BARRIER_SLO, COMMON_RATE_FRACTION, barrierTables, policyLabel, round2, runBarrierCapacity } from '../../benches/barrier-capacity/lib.ts';

const FILES = ['examples/barrier-capacity-qwen3-h100.yaml', 'examples/barrier-capacity-dsv3-h200.yaml'];
const POLICIES = [
  'vllm_default',
  'fast_phi',
  'sorted_round_robin',
  'vllm_default + adp_balance t=10 w=0',
  'vllm_default + adp_balance t=50 w=0',
  'vllm_default + adp_balance t=10 w=10',
  'vllm_default + adp_balance t=50 w=10',
  'sorted_round_robin + adp_balance t=50 w=10',
  'vllm_default + dispatch wave 100 ms',
];

describe('barrier-capacity sweep files', () => {
  it.each(FILES)('%s: 9 policies x G 8/16/32 x 5 seeds, one model, no rate axis', (f) => {
    const s = loadSweepFile(f).scenarios;
    expect(s).toHaveLength(9 * 3 * 5);
    expect([...new Set(s.map(policyLabel))]).toEqual(POLICIES);
    expect([...new Set(s.map((c) => c.dp))]).toEqual([8, 16, 32]);
    expect([...new Set(s.map((c) => c.workload.seed))]).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(s.map((c) => c.model)).size).toBe(1);
    // Every policy sees the same request streams: only router, dispatch and admission differ.
    const stream = (c: Scenario) => JSON.stringify(c.workload);
    expect(new Set(s.map(stream)).size).toBe(5);
    expect(s.filter((c) => c.router === 'sorted_round_robin').every((c) => c.dispatch === 'per_step')).toBe(true);
    // `capacity` accepts the file as it is (rate only as a starting point).
    expect(() => capacityOptions(f, { slo: BARRIER_SLO, tolerance: '2%', output: 'x.arrow', engine: 'cpu' })).not.toThrow();
  });

  it('labels a new dispatch mode without code changes (wave is one line in the sweep files)', () => {
    const sc = loadSweepFile(FILES[0]).scenarios[0];
    // Every scenario carries the wave timeout (default 100 ms); the label names it.
    expect(policyLabel({ ...sc, dispatch: 'wave' } as unknown as Scenario)).toBe('vllm_default + dispatch wave 100 ms');
    expect(policyLabel({ ...sc, dispatch: 'wave', waveTimeoutMs: 250 } as unknown as Scenario)).toBe('vllm_default + dispatch wave 250 ms');
    expect(policyLabel({ ...sc, dispatch: 'wave', waveTimeoutMs: 100 } as unknown as Scenario)).toBe('vllm_default + dispatch wave 100 ms');
    expect(policyLabel({ ...sc, dispatch: 'per_step' })).toBe('vllm_default + dispatch per_step');
  });

  it('round2 keeps two significant digits', () => {
    expect([round2(47.36), round2(151.2), round2(6.04), round2(1234)]).toEqual([47, 150, 6, 1200]);
  });
});

describe('barrier-capacity pipeline (tiny)', () => {
  const engine = new CpuEngine({ threads: 1 });
  afterAll(() => engine.close());

  it('searches, pairs by seed, runs the common rate and writes the tables', async () => {
    const policies = ['vllm_default', 'vllm_default + adp_balance t=50 w=10'];
    const res = await runBarrierCapacity(engine, { files: [FILES[0]], dps: [8], seeds: [1, 2], policies, tolerance: 0.25, window: 5 });
    expect(res.runs).toHaveLength(4);
    expect(res.policies).toEqual(policies);
    const slo = parseSlo(BARRIER_SLO);
    for (const r of res.runs) {
      expect(r.status).toBe('ok');
      expect(r.capacity).toBeGreaterThan(0);
      // The metrics reported at capacity come from a run that met the SLO, over the whole window.
      expect(meetsSlo(r.atCapacity, slo)).toBe(true);
      expect(r.atCapacity.requests).toBe(Math.max(50, Math.round(r.capacity * 5)));
    }
    const base = res.runs.filter((r) => r.policy === 'vllm_default').map((r) => r.capacity);
    const common = round2((COMMON_RATE_FRACTION * (base[0] + base[1])) / 2);
    expect(new Set(res.runs.map((r) => r.commonRate))).toEqual(new Set([common]));
    for (const r of res.runs) {
      expect(r.atCommon.requests).toBe(Math.max(50, Math.round(common * 5)));
      expect(r.atCommon.completed).toBe(r.atCommon.requests);
    }
    const md = barrierTables(res);
    expect(md).toContain('### qwen3-30b-a3b-h100: capacity (req/s) and paired gain over vllm_default');
    expect(md).toContain('### qwen3-30b-a3b-h100: TTFT p95 at a common rate');
    // Two seeds: every non-baseline cell has an interval; the baseline's gain is a dash.
    const row = md.split('\n').find((l) => l.startsWith('| vllm_default + adp_balance t=50 w=10 |'))!;
    expect(row).toMatch(/%\s\[[−+±][0-9.]+, [−+±][0-9.]+\]/);
    expect(md.split('\n').find((l) => l.startsWith('| vllm_default |'))).toContain('| — |');
  }, 120_000);
});
