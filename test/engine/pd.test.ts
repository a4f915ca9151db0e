// Prefill/decode disaggregation (topology: pd; docs/pd.md): invariants over whole runs
// (conservation, KV blocks, causality, transfer before first decode, TTFT decomposition), one
// request worked by hand, and the rules of the composition (the prefill side never waits for
// the decode side; every router picks the decode rank).
import { describe, expect, it } from 'vitest';
import type { Scenario } from '../../src/config/scenario.ts';
import { EngineCore, REQUEST_COMPLETED, REQUEST_FAILED } from '../../src/engine/core/index.ts';
import { runBarrier } from '../../src/engine/cpu/simulate.ts';
import { runScenario } from '../../src/engine/cpu/runScenario.ts';
import { refuseGpuOnly } from '../../src/engine/choose.ts';
import { prepareConfig } from '../../src/engine/gpu/prepare.ts';
import { InputError } from '../../src/errors.ts';
import { sloMetrics } from '../../src/capacity/slo.ts';
import { PD_ON_CPU, prefillStepModel, simulatePd, type PdOutput } from '../../src/engine/pd/simulatePd.ts';
import { KV_LINKS, LINK_EFFICIENCY, kvTransferUs, resolveKvLink } from '../../src/model/kvLink.ts';
import { resolveStepModel } from '../../src/model/presets.ts';
import { allToAllUs, hostStepUs, rankBasePs, rankStepUs } from '../../src/model/stepTime.ts';
import { resolveRouterParams } from '../../src/routers/index.ts';
import { getWorkload } from '../../src/workload/build.ts';
import type { Workload } from '../../src/workload/types.ts';
import { handWorkload, makeScenario } from '../helpers.ts';

const qwen = resolveStepModel('qwen3-30b-a3b-h100');

function pdScenario(over: Parameters<typeof makeScenario>[0] = {}): Scenario {
  return makeScenario({ topology: 'pd', dp: 4, prefillInstances: 2, ...over });
}

/** Run a pd scenario on its own workload (or a given one). */
function runPd(sc: Scenario, wl: Workload = getWorkload(sc.workload)): PdOutput {
  return simulatePd(sc, wl, resolveStepModel(sc.model));
}

// Routers of every kind: the seed's default, KV-aware, projected, and a per_step dealer.
const CASES: { name: string; over: Parameters<typeof makeScenario>[0] }[] = [
  { name: 'vllm_default', over: {} },
  { name: 'jsq_load, exact view', over: { router: 'jsq_load', routerParams: resolveRouterParams('jsq_load', {}), statsIntervalMs: 0 } },
  { name: 'brh (projections)', over: { router: 'brh', routerParams: resolveRouterParams('brh', {}) } },
  { name: 'sorted_round_robin, per_step', over: { router: 'sorted_round_robin', routerParams: resolveRouterParams('sorted_round_robin', {}), dispatch: 'per_step' } },
  { name: 'async scheduling off, nvlink', over: { asyncScheduling: 'off', kvLink: 'nvlink' } },
  { name: 'small KV (preemptions on the decode ranks)', over: { kvCapacity: 16_384, maxNumSeqs: 64 } },
];

describe('topology pd: invariants over whole runs', () => {
  for (const c of CASES) {
    it(`invariant: pd conservation, causality, transfer before first decode, TTFT decomposition (${c.name})`, () => {
      const sc = pdScenario({ ...c.over, workload: { rate: 12, requests: 400, seed: 7 } });
      const wl = getWorkload(sc.workload);
      const out = runPd(sc, wl);
      const { requests: d, pd, metrics: m } = out;
      const n = wl.n;
      // Conservation: each request ends exactly once, completed or failed.
      let done = 0;
      let failed = 0;
      for (let i = 0; i < n; i++) {
        expect([REQUEST_COMPLETED, REQUEST_FAILED]).toContain(d.status[i]);
        if (d.status[i] === REQUEST_COMPLETED) done++;
        else failed++;
      }
      expect(done).toBe(m.completed);
      expect(failed).toBe(m.failed);
      expect(m.completed + m.failed).toBe(m.requests);
      expect(m.requests).toBe(n);
      let ttftSum = 0;
      let xferSum = 0;
      let xferN = 0;
      for (let i = 0; i < n; i++) {
        if (d.status[i] !== REQUEST_COMPLETED) continue;
        const a = wl.arrivalUs[i];
        // Causality: arrival <= prefill queue <= prefill start < prefill end <= transfer start
        // < transfer end <= decode admission < first token <= finish.
        expect(pd.prefillQueuedUs[i]).toBeGreaterThanOrEqual(a);
        expect(pd.prefillStartUs[i]).toBeGreaterThanOrEqual(pd.prefillQueuedUs[i]);
        expect(pd.prefillEndUs[i]).toBeGreaterThan(pd.prefillStartUs[i]);
        expect(pd.transferStartUs[i]).toBeGreaterThanOrEqual(pd.prefillEndUs[i]);
        expect(pd.transferEndUs[i]).toBeGreaterThan(pd.transferStartUs[i]);
        expect(pd.decodeAdmitUs[i]).toBeGreaterThanOrEqual(pd.transferEndUs[i]);
        expect(d.firstTokenUs[i]).toBeGreaterThan(pd.decodeAdmitUs[i]);
        expect(d.endUs[i]).toBeGreaterThanOrEqual(d.firstTokenUs[i]);
        // The transfer takes exactly the link's time for the prompt's KV.
        expect(pd.transferEndUs[i] - pd.transferStartUs[i]).toBe(kvTransferUs(wl.prompt[i], out.setup.kvBytesPerToken, out.setup.link));
        // With on_arrival dispatch the router decides when the prefill ends: no gap.
        if (sc.dispatch === 'on_arrival') expect(pd.transferStartUs[i]).toBe(pd.prefillEndUs[i]);
        // TTFT decomposition: prefill queue + prefill + wait for the router + transfer + decode
        // queue + first decode step, each >= 0, summing to first token - arrival.
        const parts = [
          pd.prefillStartUs[i] - a,
          pd.prefillEndUs[i] - pd.prefillStartUs[i],
          pd.transferStartUs[i] - pd.prefillEndUs[i],
          pd.transferEndUs[i] - pd.transferStartUs[i],
          pd.decodeAdmitUs[i] - pd.transferEndUs[i],
          d.firstTokenUs[i] - pd.decodeAdmitUs[i],
        ];
        for (const p of parts) expect(p).toBeGreaterThanOrEqual(0);
        expect(parts.reduce((x, y) => x + y, 0)).toBe(d.firstTokenUs[i] - a);
        ttftSum += d.firstTokenUs[i] - a;
        xferSum += pd.transferEndUs[i] - pd.transferStartUs[i];
        xferN++;
      }
      // The TTFT column is that sum, from the real arrival (front-end terms are 0 here).
      expect(m.ttft_mean_ms).toBeCloseTo(ttftSum / done / 1000, 9);
      expect(m.kv_transfer_mean_ms).toBeCloseTo(xferSum / xferN / 1000, 9);
      // The run's decomposition (means, ms) sums to the mean TTFT.
      const t = out.ttftParts;
      expect(t.prefillQueue + t.prefill + t.routerWait + t.transfer + t.decodeQueue + t.firstDecodeStep).toBeCloseTo(m.ttft_mean_ms, 9);
      expect(t.transfer).toBeCloseTo(m.kv_transfer_mean_ms, 9);
      if (sc.dispatch === 'on_arrival') expect(t.routerWait).toBe(0);
      expect(m.prefill_util).toBeGreaterThan(0);
      expect(m.prefill_util).toBeLessThanOrEqual(1);
      expect(m.decode_util).toBeGreaterThan(0);
      expect(m.decode_util).toBeLessThanOrEqual(1);
      if (c.name.startsWith('small KV')) expect(m.preempted).toBeGreaterThan(0);
    });
  }

  it('requests that can never fit are rejected at arrival and never prefilled', () => {
    const sc = pdScenario({ kvCapacity: 4096 });
    const wl = handWorkload([
      [0, 100, 50],
      [10, 5000, 10], // 5010 > 4096
      [20, 200, 20],
    ]);
    const out = runPd(sc, wl);
    expect(Array.from(out.requests.status)).toEqual([REQUEST_COMPLETED, REQUEST_FAILED, REQUEST_COMPLETED]);
    expect(out.pd.prefillInstance[1]).toBe(-1);
    expect(out.pd.transferStartUs[1]).toBe(-1);
    expect(out.requests.endUs[1]).toBe(10);
    expect(out.metrics.failed_rejected).toBe(1);
  });
});

describe('topology pd: KV blocks on the decode ranks', () => {
  it('invariant: pd KV blocks on the decode ranks: free + held = total, never over capacity, at every step (prefilled requests under preemption)', () => {
    const sc = pdScenario({ kvCapacity: 8192, maxNumSeqs: 32, asyncScheduling: 'on', statsIntervalMs: 0 });
    const wl = getWorkload({ ...sc.workload, rate: 40, requests: 150, seed: 3 });
    const core = new EngineCore(sc, qwen, {}, { capacityHint: wl.n });
    for (let i = 0; i < wl.n; i++) {
      core.submit({ promptTokens: Math.min(wl.prompt[i], 2000), outputTokens: Math.min(wl.output[i], 2000), arrivalUs: wl.arrivalUs[i], prefilled: true, transferUs: 50 + (i % 7) * 100 });
    }
    const st = core.st;
    // The first violation, if any (expect() per step would be slow).
    let bad = '';
    const check = () => {
      for (let g = 0; g < sc.dp && bad === ''; g++) {
        if (st.freeBlocks[g] < 0) bad = `rank ${g}: free blocks ${st.freeBlocks[g]}`;
        let held = 0;
        let kv = 0;
        for (let i = 0; i < st.nRun[g]; i++) {
          const r = st.run[g * st.B + i];
          held += st.blocks[r];
          kv += st.computed[r];
          if (st.blocks[r] * st.BS < st.computed[r]) bad = `request ${r}: ${st.computed[r]} tokens in ${st.blocks[r]} blocks`;
        }
        for (let r = st.wHead[g]; r >= 0; r = st.wNext[r]) held += st.blocks[r];
        if (held + st.pendingBlocks(g) + st.freeBlocks[g] !== st.totalBlocks) bad = `rank ${g}: blocks held ${held} + pending + free != ${st.totalBlocks}`;
        if (st.kvTok[g] !== kv) bad = `rank ${g}: kvTok ${st.kvTok[g]} != ${kv}`;
      }
    };
    let now = wl.arrivalUs[0];
    let steps = 0;
    while (!core.done()) {
      const us = core.beginStep(now);
      check();
      if (us === 0) {
        now = Math.max(now, core.nextArrivalUs());
        continue;
      }
      now += us;
      core.endStep(now);
      check();
      steps++;
    }
    expect(bad).toBe('');
    expect(steps).toBeGreaterThan(100);
    expect(st.preemptions).toBeGreaterThan(0);
    expect(core.completed).toBe(wl.n);
  });

  it('invariant: pd fast-forward and event core equal plain stepping (transfers end inside decode stretches)', () => {
    const sc = pdScenario({ workload: { rate: 6, requests: 200, seed: 11 } });
    const wl = getWorkload(sc.workload);
    const a = simulatePd(sc, wl, qwen, { fastForward: true, eventCore: true });
    const b = simulatePd(sc, wl, qwen, { fastForward: false, eventCore: false });
    expect(a.fastForwardedSteps).toBeGreaterThan(0);
    expect(Array.from(a.requests.firstTokenUs)).toEqual(Array.from(b.requests.firstTokenUs));
    expect(Array.from(a.requests.endUs)).toEqual(Array.from(b.requests.endUs));
    expect(Array.from(a.requests.rank)).toEqual(Array.from(b.requests.rank));
    const { wall_ms: _a, ...ma } = a.metrics;
    const { wall_ms: _b, ...mb } = b.metrics;
    expect(ma).toEqual(mb);
  });
});

describe('topology pd: one request by hand', () => {
  it('TTFT = prefill step + KV transfer + first decode step, each from the step model and the link', () => {
    const p = 1000;
    const o = 5;
    const G = 2;
    const sc = pdScenario({ dp: G, prefillInstances: 1, asyncScheduling: 'off', kvLink: 'ib' });
    const out = runPd(sc, handWorkload([[0, p, o]]));
    // Prefill: one rank of the EP-G deployment, alone: its own tokens in the group terms, no DP sync.
    const pm = prefillStepModel(qwen, G);
    const prefillPlan = { decodeSeqs: 0, prefillTokens: p, kvTokensRead: 0, prefillAttnPairs: (p * (p + 1)) / 2, prefillKvTokens: 0, decodeKvMax: 0, tokens: p, seqs: 1 };
    const prefillUs = Math.max(1, rankStepUs(pm, rankBasePs(pm, 1), prefillPlan as never) + allToAllUs(pm, p, p, 0, 1) + hostStepUs(pm, 1, 0));
    expect(rankBasePs(pm, 1)).toBe(rankBasePs(qwen, G));
    // Transfer: 98,304 B/token x 1000 tokens at 70% of 400 Gb/s, plus 10 µs.
    const link = resolveKvLink('ib');
    expect(link.gbps).toBeCloseTo(KV_LINKS.ib.nominalGbps * LINK_EFFICIENCY, 9);
    const xfer = Math.ceil((p * 98_304 * 8) / (280 * 1000)) + 10;
    expect(kvTransferUs(p, 98_304, link)).toBe(xfer);
    // First decode step: the last prompt token on top of p - 1 transferred ones, one rank busy.
    const decodePlan = { decodeSeqs: 0, prefillTokens: 1, kvTokensRead: p - 1, prefillAttnPairs: p, prefillKvTokens: p - 1, decodeKvMax: 0, tokens: 1, seqs: 1 };
    const decodeUs = Math.max(1, rankStepUs(qwen, rankBasePs(qwen, G), decodePlan as never) + allToAllUs(qwen, 1, 1, p - 1, G) + hostStepUs(qwen, 1, 0));
    expect(out.pd.prefillEndUs[0]).toBe(prefillUs);
    expect(out.pd.transferEndUs[0]).toBe(prefillUs + xfer);
    expect(out.requests.firstTokenUs[0]).toBe(prefillUs + xfer + decodeUs);
    expect(out.metrics.ttft_mean_ms).toBeCloseTo((prefillUs + xfer + decodeUs) / 1000, 9);
    expect(out.metrics.kv_transfer_mean_ms).toBeCloseTo(xfer / 1000, 9);
  });

  it("DeepSeek-V3's MLA KV (70,272 B per token) sets its transfer time", () => {
    const ds = resolveStepModel('deepseek-v3-h200');
    // 61 layers x (512 latent + 64 rope) x 2 B (the preset keeps the KV cache in BF16).
    expect(ds.kvBytesPerToken).toBe(61 * 576 * 2);
    expect(kvTransferUs(4096, ds.kvBytesPerToken!, resolveKvLink('nvlink'))).toBe(Math.ceil((4096 * 70_272 * 8) / (2520 * 1000)) + 5);
  });
});

describe('topology pd: the composition', () => {
  it('invariant: pd prefill side independent of the decode side (prefill times do not depend on the decode router, link or slots)', () => {
    const base = pdScenario({ workload: { rate: 15, requests: 300, seed: 5 } });
    const wl = getWorkload(base.workload);
    const a = runPd(base, wl);
    const b = runPd({ ...base, router: 'random', routerParams: resolveRouterParams('random', {}), kvLink: 'nvlink', maxNumSeqs: 16 }, wl);
    expect(Array.from(a.pd.prefillEndUs)).toEqual(Array.from(b.pd.prefillEndUs));
    expect(Array.from(a.pd.prefillInstance)).toEqual(Array.from(b.pd.prefillInstance));
    expect(Array.from(a.requests.firstTokenUs)).not.toEqual(Array.from(b.requests.firstTokenUs));
  });

  it('the decode router picks the rank: round_robin deals the transfers in order', () => {
    const sc = pdScenario({ router: 'round_robin', routerParams: resolveRouterParams('round_robin', {}) });
    const out = runPd(sc, handWorkload([[0, 100, 4], [100_000, 100, 4], [200_000, 100, 4], [300_000, 100, 4], [400_000, 100, 4]]));
    expect(Array.from(out.requests.rank)).toEqual([0, 1, 2, 3, 0]);
  });

  it('runScenario takes topology pd through the composition; colocated runs are untouched (pd columns NaN)', () => {
    const pd = runScenario(pdScenario({ workload: { rate: 8, requests: 100 } }));
    expect(pd.metrics.prefill_util).toBeGreaterThan(0);
    const co = runScenario(makeScenario({ dp: 4, workload: { rate: 8, requests: 100 } }));
    expect(co.metrics.prefill_util).toBeNaN();
    expect(co.metrics.kv_transfer_mean_ms).toBeNaN();
  });
});

describe('topology pd: the GPU engine hands over explicitly', () => {
  it('engine auto / gpu fallback: pd configurations go to the CPU engine with the reason', () => {
    const c = prepareConfig({ ...pdScenario({ workload: { rate: 5, requests: 20, seed: 1 } }), index: 0 }, 0);
    expect('reason' in c && c.reason).toBe(`${PD_ON_CPU} (no WGSL port yet)`);
  });

  it('--engine gpu with a pd configuration is a one-line input error naming the engine; cpu and auto pass', () => {
    const scs = [makeScenario({}), pdScenario()];
    expect(() => refuseGpuOnly('gpu', scs)).toThrow(InputError);
    expect(() => refuseGpuOnly('gpu', scs)).toThrow(/^engine: topology pd .* use --engine cpu or auto \(got "gpu"\)$/);
    expect(() => refuseGpuOnly('gpu', [makeScenario({})])).not.toThrow();
    expect(() => refuseGpuOnly('auto', scs)).not.toThrow();
    expect(() => refuseGpuOnly('cpu', scs)).not.toThrow();
  });
});

describe("topology pd: the decode router's view of transfers in flight", () => {
  it('a fresh snapshot counts an in-flight transfer as waiting on its rank, with its prompt as queued tokens', () => {
    for (const statsIntervalMs of [0.001, 100]) {
      const sc = pdScenario({ dp: 2, router: 'jsq_load', routerParams: resolveRouterParams('jsq_load', {}), statsIntervalMs, asyncScheduling: 'off' });
      const core = new EngineCore(sc, qwen);
      core.submit({ promptTokens: 4000, outputTokens: 10, arrivalUs: 0, prefilled: true, transferUs: 1_000_000 });
      core.submit({ promptTokens: 100, outputTokens: 10, arrivalUs: 10, prefilled: true, transferUs: 1_000_000 });
      expect(core.beginStep(0)).toBe(0); // routed, transfer in flight: nothing to run
      expect(core.nextArrivalUs()).toBe(10);
      expect(core.beginStep(10)).toBe(0);
      // The second request went to the other rank: the first one's 4000 tokens are on their way to rank 0.
      expect([core.st.rankOf[0], core.st.rankOf[1]]).toEqual([0, 1]);
      expect(core.transferOf(0)).toEqual({ startUs: 0, endUs: 1_000_000 });
      expect(core.nextArrivalUs()).toBe(1_000_000);
      // At the transfer's end both join their waiting queues and run; the first step emits both first tokens.
      const us = core.beginStep(1_000_010);
      expect(us).toBeGreaterThan(0);
      expect(core.st.nRun[0] + core.st.nRun[1]).toBe(2);
      expect(core.st.computed[0]).toBe(3999);
    }
  });
});

describe('topology pd: pinned results', () => {
  // Like the golden set (golden.test.ts) for pd runs: an engine change must not move a number
  // unless the model changes (then update these with the reason in the commit).
  const PINNED: [Parameters<typeof makeScenario>[0], Record<string, number>][] = [
    [{}, { completed: 300, steps: 3169, output_tokens: 196000, makespan_s: 33.385853, ttft_mean_ms: 57.45765666666667, tpot_mean_ms: 10.793746666666665, idle_frac: 0.04136811546399666, prefill_util: 0.12562840613957058, kv_transfer_mean_ms: 2.28633 }],
    [{ router: 'jsq_load' }, { completed: 300, steps: 3181, output_tokens: 196000, makespan_s: 33.378302, ttft_mean_ms: 56.91326333333333, tpot_mean_ms: 10.737776666666667, idle_frac: 0.0522417089418723, prefill_util: 0.12565682640177445, kv_transfer_mean_ms: 2.28633 }],
    [{ dispatch: 'per_step', router: 'sorted_round_robin' }, { completed: 300, steps: 3167, output_tokens: 196000, makespan_s: 33.359574, ttft_mean_ms: 65.62867333333334, tpot_mean_ms: 10.798663333333334, idle_frac: 0.04707133750641246, prefill_util: 0.1257273698998674, kv_transfer_mean_ms: 2.28633 }],
  ];
  for (const [over, want] of PINNED) {
    it(`${over?.router ?? 'vllm_default'} ${over?.dispatch ?? 'on_arrival'}`, () => {
      const router = over?.router ?? 'vllm_default';
      const m = runScenario(pdScenario({ ...over, routerParams: resolveRouterParams(router, {}), workload: { rate: 12, requests: 300, seed: 9 } })).metrics;
      const got = Object.fromEntries(Object.keys(want).map((k) => [k, m[k as keyof typeof m]]));
      expect(got).toEqual(want);
    });
  }
});

describe('topology pd: SLOs', () => {
  it('the KV transfer columns are not SLO metrics (a part of TTFT, null when colocated)', () => {
    expect(sloMetrics()).not.toContain('kv_transfer_mean_ms');
    expect(sloMetrics()).not.toContain('kv_transfer_p95_ms');
    expect(sloMetrics()).toContain('ttft_p95_ms');
  });
});
