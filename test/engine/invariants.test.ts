// Invariants of the simulation model (docs/invariants.md), named after the invariant they check.
import { describe, expect, it } from 'vitest';
import { simulate, REQUEST_COMPLETED, REQUEST_FAILED } from '../../src/engine/cpu/simulate.ts';
import { resolveStepModel } from '../../src/model/presets.ts';
import { allToAllUs, dpSyncPs, hostStepUs, rankBasePs, rankStepUs } from '../../src/model/stepTime.ts';
import { getWorkload } from '../../src/workload/build.ts';
import { getRouter, resolveRouterParams, routerNames } from '../../src/routers/index.ts';
import type { RunMetrics } from '../../src/metrics/types.ts';
import { handWorkload, makeScenario } from '../helpers.ts';
import { EngineCore } from '../../src/engine/core/index.ts';
import { DONE, FAILED, FUTURE, QUEUED, RUNNING, WAITING, type CoreState } from '../../src/engine/core/state.ts';
import type { Scenario } from '../../src/config/scenario.ts';
import type { Workload } from '../../src/workload/types.ts';

const model = resolveStepModel('qwen3-30b-a3b-h100');

function withoutWall(m: RunMetrics): Omit<RunMetrics, 'wall_ms'> {
  const { wall_ms: _, ...rest } = m;
  return rest;
}

describe('invariant: request conservation', () => {
  for (const [label, over] of [
    ['light load', { workload: { rate: 2, requests: 300 } }],
    ['overload with preemption', { dp: 2, maxNumSeqs: 64, kvCapacity: 8192, workload: { rate: 40, requests: 400 } }],
    ['timeouts', { dp: 2, timeoutS: 15, workload: { rate: 60, requests: 400 } }],
    ['per_step dispatch', { dispatch: 'per_step' as const, workload: { rate: 20, requests: 300 } }],
  ] as const) {
    it(`every request ends completed or failed, tokens add up (${label})`, () => {
      const sc = makeScenario(over as Parameters<typeof makeScenario>[0]);
      const wl = getWorkload(sc.workload);
      const out = simulate(sc, wl, model, { detail: true });
      const m = out.metrics;
      const d = out.requests!;
      expect(m.completed + m.failed).toBe(wl.n);
      expect(m.failed).toBe(m.failed_rejected + m.failed_timeout);
      let tokens = 0;
      let done = 0;
      for (let i = 0; i < wl.n; i++) {
        expect([REQUEST_COMPLETED, REQUEST_FAILED]).toContain(d.status[i]);
        if (d.status[i] === REQUEST_COMPLETED) {
          tokens += wl.output[i];
          done++;
        }
      }
      expect(done).toBe(m.completed);
      expect(m.output_tokens).toBe(tokens);
    });
  }

  it('overload with a small KV cache really preempts', () => {
    const sc = makeScenario({ dp: 2, maxNumSeqs: 64, kvCapacity: 8192, workload: { rate: 40, requests: 400 } });
    const m = simulate(sc, getWorkload(sc.workload), model).metrics;
    expect(m.preempted).toBeGreaterThan(0);
    expect(m.completed).toBeGreaterThan(300);
  });
});

describe('invariant: causality', () => {
  it('arrival <= admission <= first token <= completion for every completed request', () => {
    const sc = makeScenario({ dp: 4, workload: { rate: 30, requests: 500 }, kvCapacity: 20000 });
    const wl = getWorkload(sc.workload);
    const d = simulate(sc, wl, model, { detail: true }).requests!;
    for (let i = 0; i < wl.n; i++) {
      if (d.status[i] !== REQUEST_COMPLETED) continue;
      expect(d.admitUs[i]).toBeGreaterThanOrEqual(wl.arrivalUs[i]);
      expect(d.firstTokenUs[i]).toBeGreaterThan(d.admitUs[i]);
      expect(d.endUs[i]).toBeGreaterThanOrEqual(d.firstTokenUs[i]);
      if (wl.output[i] > 1) expect(d.endUs[i]).toBeGreaterThan(d.firstTokenUs[i]);
      expect(d.rank[i]).toBeGreaterThanOrEqual(0);
      expect(d.rank[i]).toBeLessThan(4);
    }
  });

  for (const asyncScheduling of ['on', 'off'] as const) {
    it(`arrival <= queued <= scheduled <= admission <= first token <= end (async ${asyncScheduling})`, () => {
      const sc = makeScenario({ dp: 4, asyncScheduling, timeoutS: 20, workload: { rate: 40, requests: 500 }, kvCapacity: 20000 });
      const wl = getWorkload(sc.workload);
      const out = simulate(sc, wl, model, { detail: true });
      const d = out.requests!;
      let lagged = 0;
      const bad: string[] = [];
      for (let i = 0; i < wl.n; i++) {
        if (d.status[i] !== REQUEST_COMPLETED) continue;
        const q = d.queuedUs[i];
        const s = d.scheduledUs[i];
        if (!(wl.arrivalUs[i] <= q && q <= s && s <= d.admitUs[i] && d.admitUs[i] < d.firstTokenUs[i] && d.firstTokenUs[i] <= d.endUs[i])) {
          bad.push(`request ${i}: arrival ${wl.arrivalUs[i]} queued ${q} scheduled ${s} admit ${d.admitUs[i]} first ${d.firstTokenUs[i]} end ${d.endUs[i]}`);
        }
        if (s < d.admitUs[i]) lagged++;
      }
      expect(bad.slice(0, 5)).toEqual([]);
      expect(out.metrics.failed_timeout).toBeGreaterThan(0);
      // Synchronous scheduling decides at the step's own start; async decides a step ahead.
      if (asyncScheduling === 'off') expect(lagged).toBe(0);
      else expect(lagged).toBeGreaterThan(100);
      expect(out.metrics.async_scheduling).toBe(asyncScheduling === 'on' ? 1 : 0);
    });
  }

  it('timed-out requests end at or after their deadline and completed ones are not late by more than a step', () => {
    const sc = makeScenario({ dp: 2, timeoutS: 15, workload: { rate: 60, requests: 400 } });
    const wl = getWorkload(sc.workload);
    const out = simulate(sc, wl, model, { detail: true });
    expect(out.metrics.failed_timeout).toBeGreaterThan(0);
    expect(out.metrics.completed).toBeGreaterThan(0);
    const d = out.requests!;
    for (let i = 0; i < wl.n; i++) {
      const sojourn = d.endUs[i] - wl.arrivalUs[i];
      if (d.status[i] === REQUEST_FAILED) expect(sojourn).toBeGreaterThanOrEqual(15e6);
      else expect(sojourn).toBeLessThan(15e6 + 2e6);
    }
  });
});

describe('invariant: determinism', () => {
  it('the same configuration gives identical metrics and time series', () => {
    const sc = makeScenario({ router: 'power_of_two', timeseries: true, workload: { rate: 10, requests: 200 } });
    const a = simulate(sc, getWorkload(sc.workload), model);
    const b = simulate(sc, getWorkload({ ...sc.workload }), model);
    expect(withoutWall(a.metrics)).toEqual(withoutWall(b.metrics));
    const ta = a.timeseries as unknown as Record<string, Float64Array>;
    const tb = b.timeseries as unknown as Record<string, Float64Array>;
    for (const k of Object.keys(ta)) {
      expect(Buffer.from(ta[k].buffer).equals(Buffer.from(tb[k].buffer)), k).toBe(true);
    }
  });

  it('a different seed gives a different run', () => {
    const a = simulate(makeScenario({ workload: { seed: 1 } }), getWorkload(makeScenario({ workload: { seed: 1 } }).workload), model);
    const b = simulate(makeScenario({ workload: { seed: 2 } }), getWorkload(makeScenario({ workload: { seed: 2 } }).workload), model);
    expect(a.metrics.e2e_mean_ms).not.toBe(b.metrics.e2e_mean_ms);
  });
});

describe('invariant: with one rank every router is the same', () => {
  it('G = 1 gives identical metrics for all routers', () => {
    const base = makeScenario({ dp: 1, workload: { rate: 4, requests: 200 } });
    const wl = getWorkload(base.workload);
    const ref = withoutWall(simulate(base, wl, model).metrics);
    // A router tied to per_step dispatch (sorted_round_robin, largest first) against round_robin
    // with the same dispatch and order.
    const perStep = { dispatch: 'per_step' as const, assignOrder: 'lpt' as const };
    const refPerStep = withoutWall(simulate(makeScenario({ dp: 1, ...perStep, router: 'round_robin', workload: base.workload }), wl, model).metrics);
    for (const name of routerNames()) {
      const tied = getRouter(name).requiresDispatch !== undefined;
      const sc = makeScenario({ dp: 1, ...(tied ? perStep : {}), router: name, routerParams: resolveRouterParams(name, {}), workload: base.workload });
      expect(withoutWall(simulate(sc, wl, model).metrics), name).toEqual(tied ? refPerStep : ref);
    }
  });
});

describe("invariant: Little's law", () => {
  it('mean number in system = throughput x mean sojourn time on a long stable run', () => {
    const sc = makeScenario({ dp: 4, router: 'jsq_load', workload: { rate: 8, requests: 4000 } });
    const m = simulate(sc, getWorkload(sc.workload), model).metrics;
    expect(m.failed).toBe(0);
    const littles = m.req_per_s * (m.e2e_mean_ms / 1000);
    expect(Math.abs(m.mean_in_system - littles) / littles).toBeLessThan(0.03);
  });
});

describe('invariant: light load', () => {
  it('a lone request has TTFT of exactly one prefill step and no queueing', () => {
    const sc = makeScenario({ dp: 4 });
    const wl = handWorkload([[5_000, 700, 20]]);
    const m = simulate(sc, wl, model).metrics;
    const prefill = rankStepUs(model, rankBasePs(model, 4), {
      decodeSeqs: 0, prefillTokens: 700, kvTokensRead: 0, prefillAttnPairs: (700 * 701) / 2,
    });
    // One request scheduled: R_max = 1; four ranks on one node (dpSyncIntraNode).
    const step = prefill + allToAllUs(model, 700, 700) + hostStepUs(model, 1, dpSyncPs(model, 4, 8));
    expect(m.ttft_mean_ms).toBe(step / 1000);
    expect(m.queue_mean_ms).toBe(0);
    // It arrives while the group is idle: the engine takes it at its arrival (an idle jump),
    // and schedules it at once, with or without async scheduling.
    expect(m.ttft_engine_mean_ms).toBe(step / 1000);
    expect(m.request_queue_time_mean_ms).toBe(0);
    expect(m.request_prefill_time_mean_ms).toBe(step / 1000);
    expect(m.completed).toBe(1);
  });

  it('at very light load the TTFT median is one prefill step and queueing is near zero', () => {
    const sc = makeScenario({ dp: 8, router: 'jsq_load', workload: { rate: 0.05, requests: 200 } });
    const m = simulate(sc, getWorkload(sc.workload), model).metrics;
    expect(m.queue_p50_ms).toBe(0);
    expect(m.ttft_p50_ms).toBeLessThan(40);
  });
});

describe('invariant: throughput at saturation is monotone in capacity', () => {
  it('more KV capacity or more slots never lowers saturated throughput', () => {
    let prev = 0;
    for (const kv of [4096, 16384, 65536, 262144]) {
      const sc = makeScenario({ dp: 2, kvCapacity: kv, workload: { rate: 200, requests: 600 } });
      const m = simulate(sc, getWorkload(sc.workload), model).metrics;
      expect(m.throughput_tok_s).toBeGreaterThanOrEqual(prev * 0.99);
      prev = m.throughput_tok_s;
    }
    let prevSlots = 0;
    for (const b of [4, 16, 64]) {
      const sc = makeScenario({ dp: 2, maxNumSeqs: b, workload: { rate: 200, requests: 600 } });
      const m = simulate(sc, getWorkload(sc.workload), model).metrics;
      expect(m.throughput_tok_s).toBeGreaterThan(prevSlots);
      prevSlots = m.throughput_tok_s;
    }
  });
});

describe('invariant: capacity limits hold', () => {
  it('KV tokens and running counts never exceed a rank\'s limits', () => {
    const sc = makeScenario({ dp: 2, maxNumSeqs: 32, kvCapacity: 6000, timeseries: true, workload: { rate: 40, requests: 300 } });
    const ts = simulate(sc, getWorkload(sc.workload), model).timeseries!;
    for (let i = 0; i < ts.step.length; i++) {
      expect(ts.kv_tokens[i]).toBeLessThanOrEqual(6000);
      expect(ts.running[i]).toBeLessThanOrEqual(32);
    }
  });

  it('requests that can never fit are rejected, not routed', () => {
    const sc = makeScenario({ dp: 2, kvCapacity: 1024 });
    const wl = handWorkload([[0, 900, 200], [10, 100, 10], [20, 2000, 1]]);
    const m = simulate(sc, wl, model).metrics;
    expect(m.failed_rejected).toBe(2);
    expect(m.completed).toBe(1);
  });
});

describe('invariant: barrier accounting', () => {
  it('idle fraction and imbalance are 0 with one rank, in [0,1) and positive with many', () => {
    const one = makeScenario({ dp: 1, workload: { rate: 2, requests: 200 } });
    const m1 = simulate(one, getWorkload(one.workload), model).metrics;
    expect(m1.idle_frac).toBe(0);
    expect(m1.imbalance).toBe(0);
    expect(m1.balance_ratio).toBe(1);
    const many = makeScenario({ dp: 8, workload: { rate: 3, requests: 300 } });
    const m8 = simulate(many, getWorkload(many.workload), model).metrics;
    expect(m8.idle_frac).toBeGreaterThan(0);
    expect(m8.idle_frac).toBeLessThan(1);
    expect(m8.balance_ratio).toBeGreaterThan(0);
    expect(m8.balance_ratio).toBeLessThanOrEqual(1);
    expect(m8.imbalance).toBeGreaterThan(0);
  });
});

describe('invariant: held requests (br0 hold_ms, per_step) are delayed at most hold_ms', () => {
  it('conserves requests, delays admission by at most hold_ms plus a step, and holds some', () => {
    const base = { dp: 8, dispatch: 'per_step' as const, statsIntervalMs: 0, router: 'br0', workload: { rate: 20, requests: 600 } };
    const hold = makeScenario({ ...base, routerParams: resolveRouterParams('br0', { hold_ms: 200 }) });
    const none = makeScenario({ ...base, routerParams: resolveRouterParams('br0', {}) });
    const wl = getWorkload(hold.workload);
    const h = simulate(hold, wl, model, { detail: true });
    const z = simulate(none, wl, model);
    expect(h.metrics.completed + h.metrics.failed).toBe(wl.n);
    expect(h.metrics.completed).toBe(wl.n);
    // Holding delays some first admissions relative to never holding.
    expect(h.metrics.queue_mean_ms).toBeGreaterThan(z.metrics.queue_mean_ms);
    const d = h.requests!;
    let maxQueue = 0;
    for (let i = 0; i < wl.n; i++) maxQueue = Math.max(maxQueue, d.admitUs[i] - wl.arrivalUs[i]);
    expect(maxQueue).toBeLessThan(200_000 + 2 * 200_000);
  });
});

/**
 * Step a core one step at a time (no fast-forward) and call `check` after each beginStep (the
 * step's plan is in place) and after each endStep. Returns the core at the end.
 */
function stepChecked(sc: Scenario, wl: Workload, check: (core: EngineCore, phase: 'begin' | 'end', now: number, stepUs: number) => void): EngineCore {
  const core = new EngineCore(sc, model, {}, { capacityHint: wl.n, outputSurvival: wl.outputSurvival });
  for (let i = 0; i < wl.n; i++) core.submit({ promptTokens: wl.prompt[i], outputTokens: wl.output[i], arrivalUs: wl.arrivalUs[i] });
  let now = wl.n > 0 ? wl.arrivalUs[0] : 0;
  while (!core.done()) {
    const d = core.beginStep(now);
    check(core, 'begin', now, d);
    if (d === 0) {
      now = Math.max(now, core.nextArrivalUs());
      continue;
    }
    now += d;
    core.endStep(now);
    check(core, 'end', now, d);
  }
  return core;
}

const STRESS_SHAPES: [string, Parameters<typeof makeScenario>[0]][] = [
  ['preemption', { dp: 2, router: 'jsq_load', maxNumSeqs: 64, kvCapacity: 8192, workload: { rate: 40, requests: 300, seed: 21 } }],
  ['timeouts, small budget', { dp: 3, router: 'vllm_default', timeoutS: 10, maxBatchedTokens: 512, kvCapacity: 16384, workload: { rate: 50, requests: 300, seed: 22 } }],
  ['per_step, br0 hold_ms', { dp: 4, router: 'br0', dispatch: 'per_step', statsIntervalMs: 0, routerParams: resolveRouterParams('br0', { hold_ms: 300 }), kvCapacity: 20000, workload: { rate: 25, requests: 300, seed: 23 } }],
  ['fast_phi, few slots', { dp: 4, router: 'fast_phi', maxNumSeqs: 8, workload: { rate: 20, requests: 250, seed: 24 } }],
  // ADP Balance (docs/model.md §3.2): held context work, preemption, chunked prefill, timeouts.
  ['adp_balance, preemption', { dp: 4, router: 'jsq_load', admission: 'adp_balance', adpTimeoutIters: 20, adpBatchingWaitIters: 5, maxNumSeqs: 64, kvCapacity: 8192, workload: { rate: 40, requests: 300, seed: 25 } }],
  ['adp_balance, sorted_round_robin, chunked, timeouts', { dp: 4, router: 'sorted_round_robin', dispatch: 'per_step', admission: 'adp_balance', maxBatchedTokens: 512, timeoutS: 10, kvCapacity: 20000, workload: { rate: 40, requests: 300, seed: 26 } }],
];
/** Every stress shape with async scheduling on and off (docs/model.md §3). */
const STRESS: [string, Parameters<typeof makeScenario>[0]][] = (['on', 'off'] as const).flatMap((a) =>
  STRESS_SHAPES.map(([label, over]): [string, Parameters<typeof makeScenario>[0]] => [`${label}, async ${a}`, { ...over, asyncScheduling: a }]),
);

/** Problems are collected and asserted once (expect() per step is slow). */
function held(st: CoreState, g: number): { running: number; waitingBlocks: number } {
  let running = 0;
  for (let i = 0; i < st.nRun[g]; i++) running += st.blocks[st.run[g * st.B + i]];
  let waitingBlocks = 0;
  for (let r = st.wHead[g]; r >= 0; r = st.wNext[r]) waitingBlocks += st.blocks[r];
  return { running, waitingBlocks };
}

describe('invariant: KV blocks — free + held = total on every rank at every step', () => {
  for (const [label, over] of STRESS) {
    it(label, () => {
      const sc = makeScenario(over);
      const wl = getWorkload(sc.workload);
      const bad: string[] = [];
      let checks = 0;
      stepChecked(sc, wl, (core, phase, now) => {
        const st = core.st;
        for (let g = 0; g < st.G; g++) {
          const h = held(st, g);
          checks++;
          // Async scheduling: blocks of finished requests stay held for one pass (pending).
          const pending = st.pendingBlocks(g);
          if (st.freeBlocks[g] < 0 || pending < 0 || st.freeBlocks[g] + pending + h.running !== st.totalBlocks || h.waitingBlocks !== 0) {
            bad.push(`${phase} t=${now} rank ${g}: free ${st.freeBlocks[g]} + pending ${pending} + held ${h.running} != ${st.totalBlocks} (waiting hold ${h.waitingBlocks})`);
          }
          if (!st.async && (pending !== 0 || st.pendSlots[g] !== 0)) bad.push(`rank ${g} holds frees without async scheduling`);
          if (st.nRun[g] + st.pendSlots[g] > st.B) bad.push(`rank ${g}: ${st.nRun[g]} running + ${st.pendSlots[g]} held slots > ${st.B}`);
          // Each running request holds exactly the blocks its resident (and scheduled) tokens need.
          for (let i = 0; i < st.nRun[g]; i++) {
            const r = st.run[g * st.B + i];
            if (st.blocks[r] !== Math.ceil((st.computed[r] + st.sched[r]) / st.BS)) bad.push(`request ${r} holds ${st.blocks[r]} blocks`);
          }
        }
      });
      expect(bad.slice(0, 5)).toEqual([]);
      expect(checks).toBeGreaterThan(1000);
    });
  }
});

describe('invariant: clock monotonicity — step boundaries strictly increase, events never go back in time', () => {
  it('on a stepped core, and in the time series and per-request times of simulate()', () => {
    const sc = makeScenario({ ...STRESS[2][1], timeseries: true });
    const wl = getWorkload(sc.workload);
    let last = -Infinity;
    const bad: string[] = [];
    let lastEvent = -Infinity;
    const core = new EngineCore(sc, model, {
      onToken: (_id, _e, t) => {
        if (t < lastEvent) bad.push(`token at ${t} after ${lastEvent}`);
        lastEvent = t;
      },
    }, { outputSurvival: wl.outputSurvival });
    for (let i = 0; i < wl.n; i++) core.submit({ promptTokens: wl.prompt[i], outputTokens: wl.output[i], arrivalUs: wl.arrivalUs[i] });
    let now = wl.arrivalUs[0];
    while (!core.done()) {
      const d = core.beginStep(now);
      if (d === 0) {
        now = Math.max(now, core.nextArrivalUs());
        continue;
      }
      if (!Number.isInteger(d) || d < 1 || now <= last) bad.push(`step at ${now} of ${d} after ${last}`);
      last = now;
      now += d;
      core.endStep(now);
    }
    expect(bad).toEqual([]);
    const ts = simulate(sc, wl, model).timeseries!;
    for (let i = 1; i < ts.step.length; i++) {
      if (ts.step[i] === ts.step[i - 1]) continue;
      expect(ts.step[i]).toBe(ts.step[i - 1] + 1);
      expect(ts.time_us[i]).toBeGreaterThanOrEqual(ts.time_us[i - 1] + ts.step_us[i - 1]);
    }
  });
});

describe('invariant: work conservation — no rank idles or under-admits while admissible work waits on it', () => {
  for (const [label, over] of STRESS) {
    it(label, () => {
      const sc = makeScenario(over);
      const wl = getWorkload(sc.workload);
      const bad: string[] = [];
      let preemptBefore = new Float64Array(sc.dp);
      let constrained = 0;
      let adpHeld = 0;
      stepChecked(sc, wl, (core, phase, now, stepUs) => {
        const st = core.st;
        if (phase === 'end') {
          preemptBefore = st.preemptionsOf.slice();
          return;
        }
        // An ADP Balance hold keeps admissible context work waiting on purpose (§3.2): every
        // rank then has decode work, so none idles.
        const heldNow = core.adpHeldSteps > adpHeld;
        adpHeld = core.adpHeldSteps;
        if (heldNow) {
          for (let g = 0; g < st.G; g++) if (st.nRun[g] === 0) bad.push(`t=${now} rank ${g} idle during an ADP hold`);
          constrained++;
          preemptBefore = st.preemptionsOf.slice();
          return;
        }
        for (let g = 0; g < st.G; g++) {
          if (st.nWaiting[g] === 0) continue;
          const head = st.wHead[g];
          // Async scheduling: a head hidden from this pass, or slots and blocks held for it,
          // legitimately wait (rules 1 and 2); never when the whole group is idle (rule 4).
          const lagging = st.hiddenSeq[head] >= st.schedSeq[g] || st.pendSlots[g] > 0;
          if (lagging) {
            constrained++;
            if (stepUs === 0) bad.push(`t=${now} rank ${g} lagging in an idle group`);
            continue;
          }
          // A rank with waiting work and nothing running would have admitted its head.
          if (st.nRun[g] === 0) bad.push(`t=${now} rank ${g} idle with ${st.nWaiting[g]} waiting`);
          // Otherwise admission stopped for one of the rules' reasons: slots, budget, blocks, or a preemption.
          let tokens = 0;
          for (let i = 0; i < st.nRun[g]; i++) tokens += st.sched[st.run[g * st.B + i]];
          const chunk = Math.min(st.prompt[head] + st.generated[head] - st.computed[head], st.M - tokens);
          const headFits = Math.ceil(chunk / st.BS) <= st.freeBlocks[g];
          const preempted = st.preemptionsOf[g] > preemptBefore[g];
          if (st.nRun[g] < st.B && tokens < st.M && headFits && !preempted) bad.push(`t=${now} rank ${g} left an admissible head waiting`);
          else constrained++;
        }
        preemptBefore = st.preemptionsOf.slice();
      });
      expect(bad.slice(0, 5)).toEqual([]);
      if (label !== 'per_step, br0 hold_ms') expect(constrained).toBeGreaterThan(0);
    });
  }
});

describe('invariant: in-flight counts — each rank\'s count is its unfinished requests, and returns to zero', () => {
  for (const [label, over] of STRESS) {
    it(label, () => {
      const sc = makeScenario(over);
      const wl = getWorkload(sc.workload);
      const bad: string[] = [];
      const core = stepChecked(sc, wl, (c, phase, now) => {
        const st = c.st;
        let inSystem = 0;
        for (let g = 0; g < st.G; g++) {
          if (st.inflight[g] !== st.nRun[g] + st.nWaiting[g]) bad.push(`${phase} t=${now} rank ${g}: inflight ${st.inflight[g]} != ${st.nRun[g]} + ${st.nWaiting[g]}`);
          inSystem += st.nRun[g] + st.nWaiting[g];
        }
        // Requests in the system = on ranks + in the router's queue.
        let queued = 0;
        for (let r = 0; r < st.n; r++) if (st.status[r] === QUEUED) queued++;
        if (phase === 'end' && c.inSystem !== inSystem + queued) bad.push(`t=${now} inSystem ${c.inSystem} != ${inSystem} + ${queued}`);
      });
      expect(bad.slice(0, 5)).toEqual([]);
      expect(Array.from(core.st.inflight)).toEqual(new Array(sc.dp).fill(0));
      expect(core.inSystem).toBe(0);
      for (let g = 0; g < sc.dp; g++) expect(core.st.freeBlocks[g] + core.st.pendingBlocks(g)).toBe(core.st.totalBlocks);
    });
  }
});

describe('invariant: request conservation at every step', () => {
  it('submitted = not arrived + queued + waiting + running + completed + failed, at every boundary', () => {
    const sc = makeScenario(STRESS[1][1]);
    const wl = getWorkload(sc.workload);
    const bad: string[] = [];
    const core = stepChecked(sc, wl, (c, phase, now) => {
      const st = c.st;
      const count = [0, 0, 0, 0, 0, 0];
      for (let r = 0; r < st.n; r++) count[st.status[r]]++;
      let onRanks = 0;
      for (let g = 0; g < st.G; g++) onRanks += st.nRun[g] + st.nWaiting[g];
      if (count[WAITING] + count[RUNNING] !== onRanks) bad.push(`${phase} t=${now} ranks hold ${onRanks}, statuses say ${count[WAITING] + count[RUNNING]}`);
      if (count[DONE] !== c.completed || count[FAILED] !== c.failedRejected + c.failedTimeout + c.aborted) bad.push(`${phase} t=${now} counters`);
      if (count[FUTURE] + count[QUEUED] + count[WAITING] + count[RUNNING] + count[DONE] + count[FAILED] !== wl.n) bad.push('lost');
    });
    expect(bad.slice(0, 5)).toEqual([]);
    expect(core.failedTimeout).toBeGreaterThan(0);
  });
});
