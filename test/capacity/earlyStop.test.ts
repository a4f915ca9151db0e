// Early stop of capacity evaluations (docs/capacity.md, "Early stop"): a search with it gives the
// same capacity file — every column, every non-timing metadata key — as one without, and it does
// stop simulations. A stopped run's full simulation misses the SLO (the verdict cannot change).
import { describe, expect, it } from 'vitest';
import { scenarioFromFlat } from '../../src/config/expand.ts';
import type { Scenario } from '../../src/config/scenario.ts';
import { parseSlo, meetsSlo } from '../../src/capacity/slo.ts';
import { searchCapacity, withRate, type BatchRunner, type CapacityOptions } from '../../src/capacity/search.ts';
import { capacityTable } from '../../src/capacity/capacityFile.ts';
import { runScenario } from '../../src/engine/cpu/runScenario.ts';
import { canStopEarly } from '../../src/engine/cpu/earlyStop.ts';

const TIMING_COLUMNS = new Set(['wall_ms']);
const TIMING_METADATA = new Set(['wall_ms', 'created', 'simulations_per_s', 'simulated_requests_per_s', 'early_stop', 'simulated_requests', 'stopped_early']);

const run: BatchRunner = async (scs) => scs.map((sc) => runScenario(sc));

async function capacityFile(configs: Scenario[], opts: CapacityOptions) {
  const out = await searchCapacity(configs, run, opts);
  const meta = { engine: { engine: 'cpu', adapter: '', fallbackAdapter: false, threads: 1 }, sweepName: 'early-stop', wallMs: 1, version: 'test', fingerprint: 'x', configurations: configs.length };
  const table = capacityTable(out.results, opts, meta, out);
  const columns: Record<string, unknown[]> = {};
  for (const f of table.schema.fields) {
    if (TIMING_COLUMNS.has(f.name)) continue;
    columns[f.name] = [...table.getChild(f.name)!];
  }
  const metadata = Object.fromEntries([...table.schema.metadata].filter(([k]) => !TIMING_METADATA.has(k)));
  return { out, columns, metadata };
}

const flat = (over: Record<string, unknown>[], common: Record<string, unknown>) => over.map((o, i) => scenarioFromFlat({ ...common, ...o }, i));

const SWEEPS: { name: string; configs: Scenario[]; opts: Omit<CapacityOptions, 'earlyStop'> }[] = [
  {
    name: 'grid, TTFT and TPOT p95, two routers × two seeds',
    configs: flat(
      ['vllm_default', 'jsq_load'].flatMap((router) => [1, 2].map((seed) => ({ router, seed }))),
      { dp: 2, requests: 150, max_output: 128, rate: 4 },
    ),
    opts: { slo: parseSlo('ttft_p95_ms=300,tpot_p95_ms=40'), tolerance: 0.02, minRate: 1, maxRate: 256, window: 'fixed' },
  },
  {
    name: 'walk from the sweep rate, window base, E2E p99 and a failed_frac bound with timeouts',
    configs: flat([{ router: 'round_robin', seed: 3 }, { router: 'jsq_load', seed: 3, sync: 'independent' }], { dp: 4, requests: 120, max_output: 96, rate: 6, timeout_s: 4 }),
    opts: { slo: parseSlo('e2e_p99_ms=3000,failed_frac=0.02'), tolerance: 0.03, window: 'base' },
  },
  {
    name: 'an SLO missed at the minimum rate (below_min reports the metrics measured there) and a mean bound',
    configs: flat([{ router: 'vllm_default', seed: 5 }, { router: 'jsq_load', seed: 6 }], { dp: 2, requests: 100, max_output: 64, rate: 2 }),
    opts: { slo: parseSlo('ttft_p50_ms=1,queue_p90_ms=5000,e2e_mean_ms=100000'), tolerance: 0.05, minRate: 1, maxRate: 64, window: 'fixed' },
  },
  {
    name: 'a queue p90 bound, per_step dispatch',
    configs: flat([{ router: 'vllm_default', seed: 7, dispatch: 'per_step' }], { dp: 2, requests: 160, max_output: 128, rate: 3 }),
    opts: { slo: parseSlo('queue_p90_ms=500'), tolerance: 0.02, minRate: 0.5, maxRate: 200, window: 'fixed' },
  },
];

describe('capacity early stop: same capacity file, fewer simulated requests', () => {
  let stoppedTotal = 0;
  for (const s of SWEEPS) {
    it(s.name, async () => {
      const on = await capacityFile(s.configs, { ...s.opts, earlyStop: true });
      const off = await capacityFile(s.configs, { ...s.opts, earlyStop: false });
      expect(off.out.stoppedEarly).toBe(0);
      expect(on.columns).toEqual(off.columns);
      expect(on.metadata).toEqual(off.metadata);
      expect(on.out.simulations).toBe(off.out.simulations);
      expect(on.out.rounds).toBe(off.out.rounds);
      if (on.out.stoppedEarly > 0) expect(on.out.simulatedRequests).toBeLessThan(off.out.simulatedRequests);
      stoppedTotal += on.out.stoppedEarly;
    }, 120_000);
  }
  it('stopped simulations in these sweeps', () => {
    // Every sweep above brackets rates far above capacity: those evaluations stop.
    expect(stoppedTotal).toBeGreaterThan(10);
  });
});

describe('a stopped run misses its SLO when simulated to the end', () => {
  const bases = flat(
    [
      { router: 'vllm_default', seed: 1 },
      { router: 'jsq_load', seed: 2, timeout_s: 3 },
      { router: 'round_robin', seed: 4, dispatch: 'per_step' },
      { router: 'jsq_load', seed: 5, sync: 'independent' },
      { router: 'br0', seed: 6, async_scheduling: 'on' },
    ],
    { dp: 2, requests: 200, max_output: 128, rate: 4 },
  );
  const slos = ['ttft_p95_ms=400', 'tpot_p90_ms=30', 'e2e_p50_ms=2500', 'queue_p99_ms=200', 'ttft_engine_p95_ms=300', 'failed_frac=0.05', 'ttft_p99_ms=800,tpot_p95_ms=35'];
  it('over routers, rates and SLOs', () => {
    let stopped = 0;
    let checked = 0;
    for (const base of bases) {
      for (const rate of [6, 12, 24, 48]) {
        for (const text of slos) {
          const slo = parseSlo(text);
          const sc = withRate(base, rate, 0, 'fixed');
          const full = runScenario(sc);
          const early = runScenario({ ...sc, stopWhen: slo.bounds });
          checked++;
          if (early.stoppedEarly) {
            stopped++;
            expect(meetsSlo(full.metrics, slo), `${base.router} ${rate} ${text}`).toBe(false);
            expect(early.metrics.completed + early.metrics.failed).toBeLessThan(full.metrics.requests);
          } else {
            expect(early.metrics).toEqual({ ...full.metrics, wall_ms: early.metrics.wall_ms });
          }
        }
      }
    }
    expect(checked).toBe(140);
    expect(stopped).toBeGreaterThanOrEqual(20);
  }, 120_000);
  it('names the metrics that can stop a run', () => {
    for (const m of ['ttft_p95_ms', 'tpot_p99_ms', 'e2e_p50_ms', 'queue_p90_ms', 'ttft_engine_p95_ms', 'e2e_engine_p99_ms', 'request_queue_time_p95_ms', 'request_prefill_time_p90_ms', 'failed_frac']) {
      expect(canStopEarly(m), m).toBe(true);
    }
    for (const m of ['ttft_mean_ms', 'tpot_mean_ms', 'e2e_mean_ms', 'queue_mean_ms', 'throughput_tok_s', 'req_per_s']) expect(canStopEarly(m), m).toBe(false);
  });
});
