// The steppable engine core: driven by hand (as the emulator drives it) it gives the offline
// engine's numbers, fires its events consistently, aborts cleanly and reports per-rank stats.
import { describe, expect, it } from 'vitest';
import { EngineCore, type Outcome } from '../../src/engine/core/index.ts';
import { simulate } from '../../src/engine/cpu/simulate.ts';
import { summarize, LatencyHistograms } from '../../src/metrics/summary.ts';
import { resolveStepModel } from '../../src/model/presets.ts';
import { resolveRouterParams } from '../../src/routers/index.ts';
import { getWorkload } from '../../src/workload/build.ts';
import type { Workload } from '../../src/workload/types.ts';
import type { Scenario } from '../../src/config/scenario.ts';
import { makeScenario } from '../helpers.ts';

const model = resolveStepModel('qwen3-30b-a3b-h100');

/** Drive a core step by step with no fast-forward, submitting each request only when it is due. */
function drive(sc: Scenario, wl: Workload, core: EngineCore): number {
  let next = 0;
  let now = wl.n > 0 ? wl.arrivalUs[0] : 0;
  const submitDue = () => {
    while (next < wl.n && wl.arrivalUs[next] <= now) {
      core.submit({ promptTokens: wl.prompt[next], outputTokens: wl.output[next], arrivalUs: wl.arrivalUs[next] });
      next++;
    }
  };
  for (;;) {
    submitDue();
    if (core.done() && next === wl.n) return now;
    const dur = core.beginStep(now);
    if (dur === 0) {
      now = Math.max(now, wl.arrivalUs[next]);
      continue;
    }
    now += dur;
    core.endStep(now);
  }
}

function withoutWall<T extends { wall_ms: number }>(m: T): Omit<T, 'wall_ms'> {
  const { wall_ms: _, ...rest } = m;
  return rest;
}

describe('EngineCore', () => {
  for (const [label, over] of [
    ['jsq_load with preemption and timeouts', { dp: 4, router: 'jsq_load', maxNumSeqs: 32, kvCapacity: 8192, timeoutS: 20, workload: { rate: 30, requests: 300, seed: 3 } }],
    ['fast_phi', { dp: 4, router: 'fast_phi', workload: { rate: 12, requests: 200, seed: 4 } }],
    // Binary-cutoff projections: per-request noise factors keyed by request id, drawn as requests arrive.
    ['brh noisy', { dp: 4, router: 'brh', routerParams: resolveRouterParams('brh', { predictor: 'noisy', predictor_sigma: 0.7 }), workload: { rate: 14, requests: 200, seed: 6 } }],
    ['brh median', { dp: 4, router: 'brh', workload: { rate: 14, requests: 200, seed: 7 } }],
    ['br0 hold_ms per_step', { dp: 4, router: 'br0', dispatch: 'per_step' as const, statsIntervalMs: 0, routerParams: resolveRouterParams('br0', { hold_ms: 100 }), workload: { rate: 20, requests: 200, seed: 5 } }],
  ] as const) {
    it(`driven by hand, submitting on arrival, with arrays grown from 1, gives simulate()'s numbers (${label})`, () => {
      const sc = makeScenario({ ...(over as Parameters<typeof makeScenario>[0]), timeseries: true });
      const wl = getWorkload(sc.workload);
      const ref = simulate(sc, wl, model, { detail: true });
      const core = new EngineCore(sc, model, {}, { capacityHint: 1, outputSurvival: wl.outputSurvival, timeseries: true });
      drive(sc, wl, core);
      const m = summarize(core.counters(), core.histograms(), 0);
      expect(withoutWall(m)).toEqual(withoutWall(ref.metrics));
      expect(core.detail().endUs).toEqual(ref.requests!.endUs);
      expect(core.timeseries()!.step_us).toEqual(ref.timeseries!.step_us);
      if (label.startsWith('jsq')) expect(m.preempted).toBeGreaterThan(0);
    });
  }

  it('events: one route and one finish per request, one token event per output token, stats add up', () => {
    const sc = makeScenario({ dp: 2, maxNumSeqs: 32, kvCapacity: 6144, workload: { rate: 25, requests: 150, seed: 8 } });
    const wl = getWorkload(sc.workload);
    const routed = new Int32Array(wl.n).fill(-1);
    const tokens = new Int32Array(wl.n);
    const outcome: (Outcome | undefined)[] = new Array(wl.n);
    let preempts = 0;
    let lastT = -1;
    const bad: string[] = []; // (expect() in a hot callback is slow: collect, then assert once)
    const core = new EngineCore(sc, model, {
      onRoute: (id, g) => {
        if (routed[id] !== -1) bad.push(`route twice ${id}`);
        routed[id] = g;
      },
      onToken: (id, emitted, t) => {
        if (emitted !== tokens[id] + 1 || t < lastT) bad.push(`token ${id} ${emitted} ${t}`);
        lastT = t;
        tokens[id] = emitted;
      },
      onFinish: (id, o) => {
        if (outcome[id] !== undefined) bad.push(`finish twice ${id}`);
        outcome[id] = o;
      },
      onPreempt: (id, g) => {
        if (routed[id] !== g) bad.push(`preempt ${id} on ${g}`);
        preempts++;
      },
    }, { capacityHint: 4, outputSurvival: wl.outputSurvival });
    const end = drive(sc, wl, core);
    // Async scheduling holds the last freed blocks for one pass; an idle pass releases them (rule 4).
    expect(core.beginStep(end)).toBe(0);
    expect(bad).toEqual([]);
    const d = core.detail();
    let gen = 0;
    let pre = 0;
    for (let g = 0; g < 2; g++) {
      const s = core.rankStats(g);
      gen += s.generationTokens;
      pre += s.preemptions;
      expect(s.running + s.waiting + s.kvBlocksUsed).toBe(0);
      expect(s.kvBlocksTotal).toBe(6144 / 16);
      expect(s.promptTokens).toBeGreaterThan(0);
    }
    let out = 0;
    for (let i = 0; i < wl.n; i++) {
      expect(outcome[i]).toBe('completed');
      expect(tokens[i]).toBe(wl.output[i]);
      expect(routed[i]).toBe(d.rank[i]);
      out += wl.output[i];
    }
    expect(gen).toBe(out);
    expect(preempts).toBe(pre);
    expect(preempts).toBeGreaterThan(0);
    expect(core.st.inflight.every((x) => x === 0)).toBe(true);
  });

  it('abort: a running request leaves at once, its KV blocks are freed, the others are unaffected', () => {
    const sc = makeScenario({ dp: 1, asyncScheduling: 'off', workload: { rate: 1, requests: 1 } });
    const finished: [number, Outcome][] = [];
    const core = new EngineCore(sc, model, { onFinish: (id, o) => finished.push([id, o]) }, { histograms: new LatencyHistograms() });
    const a = core.submit({ promptTokens: 100, outputTokens: 50, arrivalUs: 0 });
    const b = core.submit({ promptTokens: 40, outputTokens: 5, arrivalUs: 0 });
    const c = core.submit({ promptTokens: 10, outputTokens: 5, arrivalUs: 10_000_000, rank: 0 });
    let now = 0;
    now += core.beginStep(now);
    core.endStep(now);
    expect(core.rankStats(0).kvBlocksUsed).toBe(Math.ceil(101 / 16) + Math.ceil(41 / 16));
    core.abort(a, now);
    expect(core.rankStats(0).kvBlocksUsed).toBe(Math.ceil(41 / 16));
    core.abort(c, now); // before its arrival
    core.abort(a, now); // twice: no effect
    while (!core.done()) {
      const d = core.beginStep(now);
      if (d === 0) {
        now = Math.max(now, core.nextArrivalUs());
        continue;
      }
      now += d;
      core.endStep(now);
    }
    expect(finished).toEqual([[a, 'aborted'], [c, 'aborted'], [b, 'completed']]);
    expect(core.rankStats(0).kvBlocksUsed).toBe(0);
    expect(core.st.inflight[0]).toBe(0);
    expect(core.inSystem).toBe(0);
  });

  it('abort with async scheduling: the KV blocks and slot stay held for the next pass, then are freed (rule 2)', () => {
    const sc = makeScenario({ dp: 1, asyncScheduling: 'on', maxNumSeqs: 2, workload: { rate: 1, requests: 1 } });
    const core = new EngineCore(sc, model);
    const a = core.submit({ promptTokens: 100, outputTokens: 50, arrivalUs: 0 });
    const b = core.submit({ promptTokens: 40, outputTokens: 50, arrivalUs: 0 });
    const c = core.submit({ promptTokens: 10, outputTokens: 5, arrivalUs: 1 });
    let now = 0;
    now += core.beginStep(now); // a and b; c arrives during the step
    core.endStep(now);
    core.abort(a, now);
    expect(core.rankStats(0).kvBlocksUsed).toBe(Math.ceil(101 / 16) + Math.ceil(41 / 16));
    // The pass at `now`: a's slot is still held (2 slots: b + a's), and c reached the rank behind a busy step.
    now += core.beginStep(now);
    expect(core.st.status[c]).toBe(2); // WAITING
    expect(core.st.pendSlots[0]).toBe(1);
    core.endStep(now);
    now += core.beginStep(now); // the pass after: a's blocks and slot are free, c is admitted
    expect(core.st.status[c]).toBe(3); // RUNNING
    expect(core.st.pendSlots[0]).toBe(0);
    expect(core.rankStats(0).kvBlocksUsed).toBe(Math.ceil(43 / 16) + Math.ceil(11 / 16));
    // Decided while the step before ran: scheduled_us is that step's start, after c was queued.
    expect(core.st.schedUs[c]).toBeLessThan(core.st.admitUs[c]);
    expect(core.st.schedUs[c]).toBe(core.st.queuedUs[c]);
    expect(core.st.status[b]).toBe(3);
  });

  it('a pinned rank bypasses the router', () => {
    const sc = makeScenario({ dp: 4, router: 'jsq_load' });
    const core = new EngineCore(sc, model);
    const ids = [3, 3, 1, 3].map((rank, i) => core.submit({ promptTokens: 50, outputTokens: 3, arrivalUs: i, rank }));
    core.beginStep(10);
    expect(ids.map((id) => core.st.rankOf[id])).toEqual([3, 3, 1, 3]);
    expect(() => core.submit({ promptTokens: 5, outputTokens: 5, arrivalUs: 20, rank: 4 })).toThrow(/rank/);
  });
});
