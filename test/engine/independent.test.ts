// sync: independent — each rank steps on its own clock (dense DP replicas behind a proxy).
import { describe, expect, it } from 'vitest';
import { EngineCore } from '../../src/engine/core/index.ts';
import { simulate, REQUEST_COMPLETED } from '../../src/engine/cpu/simulate.ts';
import { scenarioFromFlat } from '../../src/config/expand.ts';
import { InputError } from '../../src/errors.ts';
import { resolveStepModel } from '../../src/model/presets.ts';
import { getRouter, routerNames, resolveRouterParams } from '../../src/routers/index.ts';
import { getWorkload } from '../../src/workload/build.ts';
import { prepareConfig } from '../../src/engine/gpu/prepare.ts';
import { makeScenario } from '../helpers.ts';
import type { RunMetrics } from '../../src/metrics/types.ts';

const model = resolveStepModel('qwen3-30b-a3b-h100');
const seed = resolveStepModel('seed-kv-linear');

describe('sync: independent', () => {
  it('with one rank it is the barrier engine: same requests, steps, series (only mean_in_system and the engine anchor count arrivals mid-step)', () => {
    // Without a barrier a request reaches the engine at its arrival, not at the next boundary:
    // queued_us, and so the engine-anchored columns, differ; everything else is the same, with
    // async scheduling on and off.
    const anchored = (m: RunMetrics) =>
      // token_balance_ratio is per group step: NaN without a barrier (docs/model.md §8).
      Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'wall_ms' && k !== 'mean_in_system' && k !== 'token_balance_ratio' && !k.includes('_engine_') && !k.startsWith('request_queue_time')));
    for (const [router, asyncScheduling] of [['vllm_default', 'on'], ['fast_phi', 'on'], ['vllm_default', 'off'], ['fast_phi', 'off']] as const) {
      const over = { dp: 1, router, asyncScheduling, routerParams: resolveRouterParams(router, {}), maxNumSeqs: 32, kvCapacity: 8192, timeseries: true, workload: { rate: 6, requests: 200, seed: 3 } };
      const b = makeScenario(over);
      const i = makeScenario({ ...over, sync: 'independent' });
      const wl = getWorkload(b.workload);
      const rb = simulate(b, wl, model, { detail: true });
      const ri = simulate(i, wl, model, { detail: true });
      const mb = rb.metrics.mean_in_system;
      const mi = ri.metrics.mean_in_system;
      expect(anchored(ri.metrics)).toEqual(anchored(rb.metrics));
      expect(ri.metrics.ttft_engine_mean_ms).toBeGreaterThanOrEqual(rb.metrics.ttft_engine_mean_ms);
      expect(rb.metrics.preempted).toBeGreaterThan(0);
      expect(Math.abs(mi - mb) / mb).toBeLessThan(0.05);
      expect(ri.requests!.endUs).toEqual(rb.requests!.endUs);
      expect(ri.timeseries!.time_us).toEqual(rb.timeseries!.time_us);
      expect(ri.timeseries!.kv_tokens).toEqual(rb.timeseries!.kv_tokens);
    }
  });

  it('ranks step on their own clocks: idle_frac is 0, loads are still measured, every request ends', () => {
    const sc = makeScenario({ dp: 8, router: 'jsq_load', sync: 'independent', timeseries: true, timeoutS: 30, workload: { rate: 12, requests: 400, seed: 4 } });
    const wl = getWorkload(sc.workload);
    const out = simulate(sc, wl, model, { detail: true });
    const m = out.metrics;
    expect(m.completed + m.failed).toBe(400);
    expect(m.idle_frac).toBe(0);
    expect(m.imbalance).toBeGreaterThan(0);
    expect(m.balance_ratio).toBeGreaterThan(0);
    expect(m.balance_ratio).toBeLessThan(1);
    // One series row per rank step; ranks start steps at times the others do not.
    const ts = out.timeseries!;
    expect(new Set(ts.step).size).toBe(ts.step.length);
    expect(m.steps).toBe(ts.step.length);
    const starts = new Map<number, Set<number>>();
    for (let k = 0; k < ts.step.length; k++) {
      if (!starts.has(ts.time_us[k])) starts.set(ts.time_us[k], new Set());
      starts.get(ts.time_us[k])!.add(ts.rank[k]);
    }
    const alone = [...starts.values()].filter((s) => s.size === 1).length;
    expect(alone / starts.size).toBeGreaterThan(0.5);
    // Each rank's own steps never overlap.
    const lastEnd = new Float64Array(8);
    for (let k = 0; k < ts.step.length; k++) {
      expect(ts.time_us[k]).toBeGreaterThanOrEqual(lastEnd[ts.rank[k]]);
      lastEnd[ts.rank[k]] = ts.time_us[k] + ts.step_us[k];
    }
    for (let r = 0; r < wl.n; r++) if (out.requests!.status[r] === REQUEST_COMPLETED) expect(out.requests!.endUs[r]).toBeGreaterThan(wl.arrivalUs[r]);
  });

  it("Little's law holds without a barrier", () => {
    const sc = makeScenario({ dp: 4, router: 'jsq_load', sync: 'independent', workload: { rate: 8, requests: 3000, seed: 5 } });
    const m = simulate(sc, getWorkload(sc.workload), model).metrics;
    expect(m.failed).toBe(0);
    const littles = m.req_per_s * (m.e2e_mean_ms / 1000);
    expect(Math.abs(m.mean_in_system - littles) / littles).toBeLessThan(0.03);
  });

  it('every router runs; a router that balances KV beats random on imbalance', () => {
    const res = new Map<string, number>();
    // sorted_round_robin deals at the group step (per_step), which independent ranks lack.
    for (const name of routerNames().filter((n) => getRouter(n).requiresDispatch === undefined)) {
      const sc = makeScenario({ dp: 8, router: name, routerParams: resolveRouterParams(name, {}), model: 'seed-kv-linear', kvCapacity: 2 ** 24, maxModelLen: 40_960, sync: 'independent', workload: { rate: 60, requests: 300, seed: 6 } });
      const m = simulate(sc, getWorkload(sc.workload), seed).metrics;
      expect(m.completed, name).toBe(300);
      expect(m.idle_frac, name).toBe(0);
      res.set(name, m.imbalance);
    }
    expect(res.get('jsq_load')!).toBeLessThan(res.get('random')!);
  });

  it('the core refuses the other mode\'s calls and a rank stepped twice', () => {
    const ind = new EngineCore(makeScenario({ dp: 2, sync: 'independent' }), model);
    expect(() => ind.beginStep(0)).toThrow(/beginRankStep/);
    ind.submit({ promptTokens: 10, outputTokens: 2, arrivalUs: 0 });
    expect(ind.beginRankStep(0, 0) + ind.beginRankStep(1, 0)).toBeGreaterThan(0);
    const busy = [0, 1].find((g) => ind.rankStats(g).running > 0)!;
    expect(() => ind.beginRankStep(busy, 5)).toThrow(/mid-step/);
    const bar = new EngineCore(makeScenario({ dp: 2 }), model);
    expect(() => bar.beginRankStep(0, 0)).toThrow(/barrier/);
  });

  it('bad input: a misspelt sync or per_step without a barrier is an InputError naming the field', () => {
    const base = { router: 'jsq_load', dp: 2, rate: 1, requests: 5 };
    expect(() => scenarioFromFlat({ ...base, sync: 'indepedent' })).toThrow(InputError);
    expect(() => scenarioFromFlat({ ...base, sync: 'indepedent' })).toThrow(/^sync: .*indepedent/);
    expect(() => scenarioFromFlat({ ...base, sync: 'independent', dispatch: 'per_step' })).toThrow(/^dispatch: .*per_step/);
    expect(scenarioFromFlat({ ...base, sync: 'independent' }).sync).toBe('independent');
    expect(scenarioFromFlat(base).sync).toBe('barrier');
  });

  it('the GPU engine hands such configurations to the CPU engine, saying why', () => {
    const p = prepareConfig(makeScenario({ dp: 4, sync: 'independent' }), 7);
    expect(p).toMatchObject({ pos: 7, reason: expect.stringMatching(/sync: independent.*CPU engine/) });
    expect('reason' in prepareConfig(makeScenario({ dp: 4 }), 0)).toBe(false);
  });
});
