// The steppable engine core: driven by hand (as the emulator drives it) it gives the offline
// engine's numbers, fires its events consistently, aborts cleanly and reports per-rank stats.
import { describe, expect, it } from 'vitest';
import { EngineCore, type Outcome } from '../../src/engine/core/index.ts';
import { simulate } from '../../src/engine/cpu/simulate.ts';
import { summarize, LatencyHistograms } from '../../src/metrics/summary.ts';
import { modelFromSpec, resolveStepModel } from '../../src/model/presets.ts';
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
    // The emulator's way of driving the core, under ADP Balance (docs/model.md §3.2).
    ['adp_balance, sorted_round_robin', { dp: 4, router: 'sorted_round_robin', dispatch: 'per_step' as const, admission: 'adp_balance' as const, adpTimeoutIters: 20, adpBatchingWaitIters: 3, workload: { rate: 20, requests: 200, seed: 9 } }],
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
  it('applyAtSchedule: the one-walk step fires the same finishes, in the same order and at the same times, as the two-phase step', () => {
    // Small KV capacity and timeouts: preemption, completions on several ranks per step, aborts.
    const sc = makeScenario({ dp: 4, maxNumSeqs: 32, kvCapacity: 8192, timeoutS: 20, timeseries: true, workload: { rate: 30, requests: 300, seed: 3 } });
    const wl = getWorkload(sc.workload);
    const run = (applyAtSchedule: boolean) => {
      const finishes: string[] = [];
      const core = new EngineCore(sc, model, { onFinish: (id, outcome, t) => finishes.push(`${id} ${outcome} ${t}`) }, {
        capacityHint: wl.n,
        outputSurvival: wl.outputSurvival,
        timeseries: true,
        applyAtSchedule,
      });
      drive(sc, wl, core);
      return { finishes, core, m: summarize(core.counters(), core.histograms(), 0) };
    };
    const two = run(false);
    const one = run(true);
    expect(one.finishes).toEqual(two.finishes);
    expect(withoutWall(one.m)).toEqual(withoutWall(two.m));
    expect(one.m.preempted).toBeGreaterThan(0);
    const a = one.core.detail();
    const b = two.core.detail();
    expect(a.firstTokenUs).toEqual(b.firstTokenUs);
    expect(a.admitUs).toEqual(b.admitUs);
    expect(one.core.timeseries()!.kv_tokens).toEqual(two.core.timeseries()!.kv_tokens);
  });
});

/**
 * A model with round numbers for the async and host-term rules: a step is 1000 µs + 1 µs per
 * prefill token on a rank, plus the host time 100 µs + 10 µs per request on the busiest rank +
 * the DP sync (50 µs within a node, 200 µs across nodes).
 */
const roundModel = modelFromSpec({
  name: 'round',
  description: 'test',
  coefficients: {
    base: 1_000_000_000, baseExperts: 0, perDecodeSeq: 0, perPrefillToken: 1_000_000, perKvTokenRead: 0, perAttnKiloPair: 0,
    a2aBase: 0, a2aPerMaxRankToken: 0, a2aPerToken: 0,
    hostPerStep: 100_000_000, hostPerRequest: 10_000_000, dpSyncIntraNode: 50_000_000, dpSyncInterNode: 200_000_000,
  },
  maxModelLen: 100_000,
  kvCapacityTokens: 100_000,
});

/** Step a core by hand on `roundModel` until every request has ended; returns its detail. */
function runRound(over: Parameters<typeof makeScenario>[0], reqs: { at: number; prompt: number; output: number; rank?: number }[]) {
  const sc = makeScenario({ kvCapacity: 100_000, maxModelLen: 100_000, statsIntervalMs: 0, ...over });
  const core = new EngineCore(sc, roundModel);
  for (const q of reqs) core.submit({ promptTokens: q.prompt, outputTokens: q.output, arrivalUs: q.at, rank: q.rank });
  const steps: [number, number][] = [];
  let now = reqs[0].at;
  while (!core.done()) {
    const d = core.beginStep(now);
    if (d === 0) {
      now = Math.max(now, core.nextArrivalUs());
      continue;
    }
    steps.push([now, d]);
    now += d;
    core.endStep(now);
  }
  return { d: core.detail(), steps, m: summarize(core.counters(), core.histograms(), 0) };
}

describe('EngineCore: host terms (docs/model.md §5)', () => {
  it('rule: T = max_g t_g + t_a2a + floor((hostPerStep + hostPerRequest * R_max + dpSync) / 1e6), R_max the busiest rank\'s request count', () => {
    const reqs = [
      { at: 0, prompt: 100, output: 1, rank: 0 },
      { at: 0, prompt: 100, output: 1, rank: 0 },
      { at: 0, prompt: 50, output: 1, rank: 1 },
    ];
    // One step: rank 0 computes 200 prefill tokens (1200 µs); two requests on it.
    const intra = runRound({ dp: 2, ranksPerNode: 8, asyncScheduling: 'off' }, reqs);
    expect(intra.steps).toEqual([[0, 1200 + 100 + 2 * 10 + 50]]);
    const inter = runRound({ dp: 2, ranksPerNode: 1, asyncScheduling: 'off' }, reqs);
    expect(inter.steps).toEqual([[0, 1200 + 100 + 2 * 10 + 200]]);
    const one = runRound({ dp: 1, asyncScheduling: 'off' }, [reqs[0]]);
    expect(one.steps).toEqual([[0, 1100 + 100 + 10]]); // G = 1: no DP sync
  });

  it('rule: sync: independent adds each rank\'s own host time, without DP sync', () => {
    const sc = makeScenario({ dp: 2, sync: 'independent', kvCapacity: 100_000, maxModelLen: 100_000, asyncScheduling: 'off' });
    const core = new EngineCore(sc, roundModel);
    core.submit({ promptTokens: 100, outputTokens: 2, arrivalUs: 0, rank: 0 });
    core.submit({ promptTokens: 100, outputTokens: 2, arrivalUs: 0, rank: 0 });
    core.submit({ promptTokens: 50, outputTokens: 2, arrivalUs: 0, rank: 1 });
    expect(core.beginRankStep(0, 0)).toBe(1200 + 100 + 2 * 10);
    expect(core.beginRankStep(1, 0)).toBe(1050 + 100 + 10);
  });
});

describe('EngineCore: async scheduling (docs/model.md §3)', () => {
  const lone = [{ at: 0, prompt: 100, output: 20 }];
  it('rule 1: a request that reaches its rank behind a busy step is scheduled one step later than without async', () => {
    const reqs = [...lone, { at: 500, prompt: 100, output: 5 }];
    const sync = runRound({ dp: 1, asyncScheduling: 'off' }, reqs);
    const asy = runRound({ dp: 1, asyncScheduling: 'on' }, reqs);
    const b1 = sync.steps[0][1]; // the first step's end: 1000 + 100 + 100 + 10
    expect(b1).toBe(1210);
    expect(sync.d.queuedUs[1]).toBe(b1);
    expect(asy.d.queuedUs[1]).toBe(b1);
    expect(sync.d.admitUs[1]).toBe(b1);
    // Async: the step at b1 was decided before the request came; it enters at the boundary after.
    const b2 = b1 + asy.steps[1][1];
    expect(asy.d.admitUs[1]).toBe(b2);
    expect(asy.d.scheduledUs[1]).toBe(b1); // decided while the step starting at b1 ran
    expect(sync.d.scheduledUs[1]).toBe(b1);
    expect(asy.d.firstTokenUs[1]).toBeGreaterThan(sync.d.firstTokenUs[1]);
    expect(asy.m.async_scheduling).toBe(1);
    expect(sync.m.async_scheduling).toBe(0);
  });

  it('rule 1: a rank that scheduled nothing in the step just ended sees a new request at once', () => {
    const reqs = [{ at: 0, prompt: 100, output: 20, rank: 0 }, { at: 500, prompt: 100, output: 5, rank: 1 }];
    const sync = runRound({ dp: 2, asyncScheduling: 'off' }, reqs);
    const asy = runRound({ dp: 2, asyncScheduling: 'on' }, reqs);
    expect(asy.d.admitUs[1]).toBe(sync.d.admitUs[1]);
    expect(asy.d.firstTokenUs[1]).toBe(sync.d.firstTokenUs[1]);
  });

  it('rule 1: after an idle jump (no step ended at the arrival) a request is scheduled at its arrival', () => {
    const asy = runRound({ dp: 1, asyncScheduling: 'on' }, [{ at: 0, prompt: 10, output: 1 }, { at: 100_000, prompt: 10, output: 1 }]);
    expect(asy.d.queuedUs[1]).toBe(100_000);
    expect(asy.d.scheduledUs[1]).toBe(100_000);
    expect(asy.d.admitUs[1]).toBe(100_000);
  });

  it('rule 3: decodes of running requests are unaffected (a lone request has the same token times)', () => {
    const sync = runRound({ dp: 1, asyncScheduling: 'off' }, lone);
    const asy = runRound({ dp: 1, asyncScheduling: 'on' }, lone);
    expect(asy.steps).toEqual(sync.steps);
    expect(asy.d.endUs).toEqual(sync.d.endUs);
  });

  it('rule 4: an idle group does not wait a step: the hidden request and the held frees are released at the same boundary', () => {
    // The first request ends with the step at b1; the second came during that step. Nothing else
    // runs at b1, so the group releases both and schedules the second at b1, as without async.
    const reqs = [{ at: 0, prompt: 100, output: 1 }, { at: 500, prompt: 100, output: 3 }];
    const sync = runRound({ dp: 1, maxNumSeqs: 1, asyncScheduling: 'off' }, reqs);
    const asy = runRound({ dp: 1, maxNumSeqs: 1, asyncScheduling: 'on' }, reqs);
    expect(asy.d.admitUs[1]).toBe(1210);
    expect(asy.d.scheduledUs[1]).toBe(1210);
    expect(asy.steps).toEqual(sync.steps);
  });

  it('rule 2: a slot freed at a boundary of a busy group is reused one step later', () => {
    // max_num_seqs 1: the second request waits for the first one's slot. Another rank keeps the
    // group busy, so the freed slot is held for the pass at the completion boundary.
    const reqs = [
      { at: 0, prompt: 100, output: 2, rank: 0 },
      { at: 0, prompt: 100, output: 50, rank: 1 },
      { at: 10, prompt: 100, output: 2, rank: 0 },
    ];
    const sync = runRound({ dp: 2, maxNumSeqs: 1, asyncScheduling: 'off' }, reqs);
    const asy = runRound({ dp: 2, maxNumSeqs: 1, asyncScheduling: 'on' }, reqs);
    const end0 = sync.d.endUs[0];
    expect(asy.d.endUs[0]).toBe(end0);
    expect(sync.d.admitUs[2]).toBe(end0);
    const next = asy.steps.find(([t]) => t > end0)![0];
    expect(asy.d.admitUs[2]).toBe(next);
    expect(asy.d.scheduledUs[2]).toBe(end0); // decided during the step starting at end0
    expect(asy.d.queuedUs[2]).toBe(sync.d.queuedUs[2]);
  });
});
