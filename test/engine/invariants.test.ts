// Invariants of the simulation model (DESIGN.md §9), named after the invariant they check.
import { describe, expect, it } from 'vitest';
import { simulate, REQUEST_COMPLETED, REQUEST_FAILED } from '../../src/engine/cpu/simulate.ts';
import { resolveStepModel } from '../../src/model/presets.ts';
import { allToAllUs, rankBasePs, rankStepUs } from '../../src/model/stepTime.ts';
import { getWorkload } from '../../src/workload/build.ts';
import { resolveRouterParams, routerNames } from '../../src/routers/index.ts';
import type { RunMetrics } from '../../src/metrics/types.ts';
import { handWorkload, makeScenario } from '../helpers.ts';

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
    for (const name of routerNames()) {
      const sc = makeScenario({ dp: 1, router: name, routerParams: resolveRouterParams(name, {}), workload: base.workload });
      expect(withoutWall(simulate(sc, wl, model).metrics), name).toEqual(ref);
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
    const step = prefill + allToAllUs(model, 700, 700);
    expect(m.ttft_mean_ms).toBe(step / 1000);
    expect(m.queue_mean_ms).toBe(0);
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
