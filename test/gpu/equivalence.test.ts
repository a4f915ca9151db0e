// Cross-engine equivalence (docs/gpu.md, docs/invariants.md): the WebGPU engine reproduces the CPU engine's rows —
// exactly for integer-scored routers, within the stated tolerance for float-scored ones.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runScenario } from '../../src/engine/cpu/runScenario.ts';
import { simulate, type RequestDetail } from '../../src/engine/cpu/simulate.ts';
import { resolveAsyncScheduling } from '../../src/engine/core/engineCore.ts';
import { resolveStepModel } from '../../src/model/presets.ts';
import { dpSyncPs } from '../../src/model/stepTime.ts';
import { getWorkload } from '../../src/workload/build.ts';
import type { Scenario } from '../../src/config/scenario.ts';
import { GpuEngine } from '../../src/engine/gpu/gpuEngine.ts';
import type { RunResult } from '../../src/engine/types.ts';
import type { RunMetrics } from '../../src/metrics/types.ts';
import { getRouter, routerNames } from '../../src/routers/index.ts';
import { describeGpu, probe } from './gpuAvailable.ts';
import { equivalenceScenarios } from './equivalenceScenarios.ts';
import { DIVERGED_BOUNDS, MIN_AGREEING_FLOAT_ROWS, exactDifferences, within, type Metric } from './tolerance.ts';

describeGpu(
  'WebGPU engine = CPU engine on the equivalence sweep',
  () => {
    const scenarios = equivalenceScenarios();
    let gpu: RunResult[] = [];
    let cpu: RunMetrics[] = [];
    let cpuDetail: RequestDetail[] = [];
    let engine: GpuEngine;

    beforeAll(async () => {
      engine = await GpuEngine.create({ probe, requestLog: true });
      gpu = await engine.run(scenarios);
      const out = scenarios.map((sc) => simulate(sc, getWorkload(sc.workload), resolveStepModel(sc.model), { detail: true }));
      cpu = out.map((o) => o.metrics);
      cpuDetail = out.map((o) => o.requests!);
    }, 600_000);

    afterAll(async () => {
      await engine?.close();
    });

    it('covers every router, both dispatch modes, G in {1, 2, 8, 64}, preemption, timeouts and rejections', () => {
      expect(scenarios.length).toBeGreaterThanOrEqual(64);
      // Routers without a WGSL port (none today) would run on the CPU engine: nothing to compare.
      for (const router of routerNames().filter((n) => getRouter(n).wgsl !== undefined)) {
        for (const dispatch of ['on_arrival', 'per_step'].filter((d) => (getRouter(router).requiresDispatch ?? d) === d)) {
          const dps = new Set(scenarios.filter((s) => s.router === router && s.dispatch === dispatch).map((s) => s.dp));
          expect(dps.size, `${router} ${dispatch}`).toBeGreaterThan(0);
        }
        const dps = new Set(scenarios.filter((s) => s.router === router).map((s) => s.dp));
        for (const G of [1, 2, 8, 64]) expect(dps.has(G), `${router} G=${G}`).toBe(true);
      }
      expect(cpu.filter((m) => m.preempted > 0).length).toBeGreaterThan(5);
      expect(cpu.filter((m) => m.failed_timeout > 0).length).toBeGreaterThan(5);
      expect(cpu.filter((m) => m.failed_rejected > 0).length).toBeGreaterThan(0);
      // Light and overloaded: some runs never queue, others time out most requests.
      expect(cpu.some((m) => m.queue_p99_ms < 1)).toBe(true);
      expect(cpu.some((m) => m.failed_timeout > m.requests / 2)).toBe(true);
    });

    it('covers async scheduling on and off, and every host term (G = 1, within a node, across nodes)', () => {
      const asyncOf = (sc: Scenario) => resolveAsyncScheduling(sc, resolveStepModel(sc.model));
      expect(scenarios.filter((sc) => asyncOf(sc)).length).toBeGreaterThan(20);
      expect(scenarios.filter((sc) => !asyncOf(sc)).length).toBeGreaterThan(6);
      expect(new Set(scenarios.map((sc) => cpu[sc.index].async_scheduling))).toEqual(new Set([0, 1]));
      const host = scenarios.filter((sc) => resolveStepModel(sc.model).hostPerRequest > 0);
      const sync = host.map((sc) => {
        const m = resolveStepModel(sc.model);
        const ps = dpSyncPs(m, sc.dp, sc.ranksPerNode ?? 8);
        return ps === 0 ? 'none' : ps === m.dpSyncIntraNode ? 'intra' : 'inter';
      });
      expect(new Set(sync)).toEqual(new Set(['none', 'intra', 'inter']));
      expect(host.some((sc) => asyncOf(sc)) && host.some((sc) => !asyncOf(sc))).toBe(true);
      // Each on/off pair of the same configuration gives different rows (the lag is exercised),
      // except with one slot on one rank: there every completion leaves the group idle, so rule 4
      // admits the next request at once and async scheduling changes nothing.
      const pairs = scenarios.filter((sc) => sc.asyncScheduling === 'on' && scenarios[sc.index + 1]?.asyncScheduling === 'off');
      expect(pairs.length).toBeGreaterThanOrEqual(6);
      for (const sc of pairs) {
        const { async_scheduling: _on, wall_ms: _w1, ...on } = cpu[sc.index];
        const { async_scheduling: _off, wall_ms: _w2, ...off } = cpu[sc.index + 1];
        if (sc.dp === 1 && sc.maxNumSeqs === 1) expect(on, `#${sc.index}`).toEqual(off);
        else expect(on.ttft_engine_mean_ms, `#${sc.index}`).not.toBe(off.ttft_engine_mean_ms);
      }
    });

    it('covers ADP Balance (several waits, both dispatch modes, async on and off) and sorted_round_robin', () => {
      const adp = scenarios.filter((sc) => sc.admission === 'adp_balance');
      expect(adp.length).toBeGreaterThanOrEqual(12);
      expect(new Set(adp.map((sc) => sc.dispatch))).toEqual(new Set(['on_arrival', 'per_step']));
      expect(new Set(adp.map((sc) => cpu[sc.index].async_scheduling))).toEqual(new Set([0, 1]));
      expect(new Set(adp.map((sc) => `${sc.adpTimeoutIters ?? 50}/${sc.adpBatchingWaitIters ?? 10}`)).size).toBeGreaterThanOrEqual(8);
      // The holds are exercised: most rows differ from the same configuration without admission
      // control; with both waits 0 nothing is held and the row is that of admission: none.
      let changed = 0;
      for (const sc of adp) {
        const none = simulate({ ...sc, admission: 'none' }, getWorkload(sc.workload), resolveStepModel(sc.model)).metrics;
        const { wall_ms: _a, ...withAdp } = cpu[sc.index];
        const { wall_ms: _b, ...without } = none;
        if ((sc.adpTimeoutIters ?? 50) === 0 && (sc.adpBatchingWaitIters ?? 10) === 0) expect(withAdp, `#${sc.index}`).toEqual(without);
        else if (withAdp.ttft_engine_mean_ms !== without.ttft_engine_mean_ms) changed++;
      }
      expect(changed).toBeGreaterThanOrEqual(adp.length - 3);
      const srr = scenarios.filter((sc) => sc.router === 'sorted_round_robin');
      expect(new Set(srr.map((sc) => sc.dp))).toEqual(new Set([1, 2, 8, 16, 64]));
    });

    it('gives one row per configuration, in order, from the gpu engine', () => {
      expect(gpu.map((r) => r.scenario.index)).toEqual(scenarios.map((s) => s.index));
      expect(engine.info.engine).toBe('gpu');
    });

    for (const sc of scenarios) {
      const integer = getRouter(sc.router).integerScored(sc.routerParams);
      it(`#${sc.index} ${sc.router} dp=${sc.dp} ${sc.dispatch}: ${integer ? 'identical row' : 'identical or within the float tolerance'}`, () => {
        const c = cpu[sc.index];
        const g = gpu[sc.index].metrics;
        const diff = exactDifferences(c, g);
        if (integer || diff.length === 0) {
          expect(diff.map((k) => `${k}: cpu ${c[k]} gpu ${g[k]}`)).toEqual([]);
          return;
        }
        const beyond = (Object.keys(c) as Metric[])
          .filter((k) => DIVERGED_BOUNDS.has(k) && !within(c[k], g[k], DIVERGED_BOUNDS.get(k)!, c.requests))
          .map((k) => `${k}: cpu ${c[k]} gpu ${g[k]}`);
        expect(beyond).toEqual([]);
      });
    }

    it('gives every request the same status, rank and times (queued, scheduled, admission, first token, end) on integer-scored rows', () => {
      const fields = [
        ['status', 'status'], ['rank', 'rank'], ['queued_us', 'queuedUs'], ['scheduled_us', 'scheduledUs'],
        ['admit_us', 'admitUs'], ['first_token_us', 'firstTokenUs'], ['end_us', 'endUs'],
      ] as const;
      let requests = 0;
      let identical = 0;
      const bad: string[] = [];
      for (const sc of scenarios) {
        if (!getRouter(sc.router).integerScored(sc.routerParams)) continue;
        const g = gpu[sc.index].requests!;
        const c = cpuDetail[sc.index];
        for (let r = 0; r < g.status.length; r++) {
          requests++;
          const off = fields.filter(([gk, ck]) => g[gk][r] !== c[ck][r]);
          if (off.length === 0) identical++;
          else if (bad.length < 5) bad.push(`#${sc.index} request ${r}: ${off.map(([gk, ck]) => `${gk} cpu ${c[ck][r]} gpu ${g[gk][r]}`).join(', ')}`);
        }
      }
      process.stderr.write(`gpu equivalence (${probe.name}): ${identical}/${requests} requests of integer-scored rows identical\n`);
      expect(bad).toEqual([]);
      expect(requests).toBeGreaterThan(5000);
    });

    it('keeps queued <= scheduled <= first token <= end for every completed request (both anchors), async on and off', () => {
      let lagged = 0;
      for (const sc of scenarios) {
        const q = gpu[sc.index].requests!;
        for (let r = 0; r < q.status.length; r++) {
          if (q.status[r] !== 4) continue;
          const ok = q.arrival_us[r] <= q.queued_us[r] && q.queued_us[r] <= q.scheduled_us[r] && q.scheduled_us[r] <= q.admit_us[r] &&
            q.admit_us[r] < q.first_token_us[r] && q.first_token_us[r] <= q.end_us[r];
          if (!ok) throw new Error(`#${sc.index} request ${r}: arrival ${q.arrival_us[r]} queued ${q.queued_us[r]} scheduled ${q.scheduled_us[r]} admit ${q.admit_us[r]} first ${q.first_token_us[r]} end ${q.end_us[r]}`);
          if (q.scheduled_us[r] < q.admit_us[r]) lagged++;
        }
      }
      // Async scheduling decides a step while the previous one runs: scheduled_us before the step.
      expect(lagged).toBeGreaterThan(100);
    });

    it(`float-scored routers agree decision for decision on at least ${MIN_AGREEING_FLOAT_ROWS * 100}% of their rows`, () => {
      const floats = scenarios.filter((s) => !getRouter(s.router).integerScored(s.routerParams));
      const diverged = floats.filter((s) => exactDifferences(cpu[s.index], gpu[s.index].metrics).length > 0);
      expect(floats.length).toBeGreaterThanOrEqual(20);
      const worst = new Map<Metric, number>();
      for (const s of diverged) {
        const c = cpu[s.index];
        const g = gpu[s.index].metrics;
        for (const k of DIVERGED_BOUNDS.keys()) {
          const rel = c[k] === g[k] ? 0 : Math.abs(g[k] - c[k]) / Math.max(Math.abs(c[k]), 1e-12);
          if (rel > (worst.get(k) ?? 0)) worst.set(k, rel);
        }
      }
      const top = [...worst].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`);
      process.stderr.write(
        `gpu equivalence (${probe.name}): ${floats.length - diverged.length}/${floats.length} float-scored rows identical` +
          (diverged.length ? `; diverged ${diverged.map((s) => `#${s.index}`).join(', ')}; largest relative differences: ${top.join(', ')}` : '') + '\n',
      );
      expect((floats.length - diverged.length) / floats.length).toBeGreaterThanOrEqual(MIN_AGREEING_FLOAT_ROWS);
    });
  },
  { announce: true },
);

describeGpu('specialised pipelines (one per router, dispatch mode and G)', () => {
  it("give the CPU engine's rows too", async () => {
    // One configuration of each of five pipelines, async scheduling, host terms and ADP Balance
    // with sorted_round_robin included.
    const all = equivalenceScenarios();
    const first = (router: string, dispatch: string, dp: number, extra: (s: Scenario) => boolean = () => true) =>
      all.find((s) => s.router === router && s.dispatch === dispatch && s.dp === dp && extra(s))!;
    const pick = [
      first('jsq_load', 'per_step', 8),
      first('fast_phi', 'on_arrival', 8),
      first('br0', 'per_step', 64),
      first('fast_phi', 'per_step', 8, (s) => resolveStepModel(s.model).hostPerRequest > 0),
      first('sorted_round_robin', 'per_step', 8, (s) => s.admission === 'adp_balance'),
    ];
    expect(pick.every((s) => s !== undefined)).toBe(true);
    const lines: string[] = [];
    const engine = await GpuEngine.create({ probe, specialize: true, specializeG: true, trace: true, log: (s) => lines.push(s) });
    try {
      const out = await engine.run(pick);
      expect(lines.join('\n')).toMatch(/5 pipelines ready/);
      for (const r of out) expect(exactDifferences(runScenario(r.scenario).metrics, r.metrics), `#${r.scenario.index}`).toEqual([]);
    } finally {
      await engine.close();
    }
  }, 300_000);
});
