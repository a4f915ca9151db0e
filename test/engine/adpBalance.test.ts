// ADP Balance (admission: adp_balance; docs/model.md §3.2), rule by rule, on a stepped core with
// pinned requests; the sorted_round_robin deal; the token balance ratio (§8).
import { describe, expect, it } from 'vitest';
import { EngineCore } from '../../src/engine/core/index.ts';
import { simulate } from '../../src/engine/cpu/simulate.ts';
import { resolveStepModel } from '../../src/model/presets.ts';
import { resolveRouterParams } from '../../src/routers/index.ts';
import { getWorkload } from '../../src/workload/build.ts';
import type { Scenario } from '../../src/config/scenario.ts';
import { makeScenario } from '../helpers.ts';

const model = resolveStepModel('qwen3-30b-a3b-h100');

interface Req {
  prompt: number;
  output: number;
  rank?: number;
  /** Submitted just after the start of this group step (0-based), or at time 0. */
  afterStep?: number;
}

/** Run requests through a stepped core; returns the core and the start time of every step. */
function run(over: Parameters<typeof makeScenario>[0], reqs: Req[]): { core: EngineCore; starts: number[] } {
  const sc: Scenario = makeScenario({ dp: 2, asyncScheduling: 'off', ...over });
  const core = new EngineCore(sc, model);
  const starts: number[] = [];
  const pending = reqs.map((r, id) => ({ ...r, id })).sort((a, b) => (a.afterStep ?? -1) - (b.afterStep ?? -1));
  let k = 0;
  const submit = (step: number, t: number) => {
    while (k < pending.length && (pending[k].afterStep ?? -1) <= step) {
      core.submit({ promptTokens: pending[k].prompt, outputTokens: pending[k].output, arrivalUs: t, rank: pending[k].rank });
      k++;
    }
  };
  let now = 0;
  submit(-1, 0);
  for (let guard = 0; guard < 100_000; guard++) {
    if (core.done() && k === pending.length) break;
    const dur = core.beginStep(now);
    if (dur === 0) throw new Error('idle group with work left');
    starts.push(now);
    // Arrivals that come during step s are seen at the boundary that ends it.
    submit(starts.length - 1, now + 1);
    now += dur;
    core.endStep(now);
  }
  return { core, starts };
}

/** Step index (0-based) at whose start request id was admitted. */
function admittedAt(core: EngineCore, starts: number[], id: number): number {
  return starts.indexOf(core.st.admitUs[id]);
}

const LONG = { prompt: 64, output: 400 };
const adp = (timeout: number, batching: number) => ({ admission: 'adp_balance' as const, adpTimeoutIters: timeout, adpBatchingWaitIters: batching });

describe('adp_balance: context synchronisation (timeout_iters)', () => {
  it('a rank\'s context work waits while another rank has none and every rank decodes; released when the step counter reaches timeout_iters', () => {
    // Steps 0: both prefill; from 1 both decode. The counter counts every boundary since the last
    // release (TensorRT-LLM's adp_ctx_waiting_iters_count): boundaries 1..7 -> 1..7, 8 -> release.
    const { core, starts } = run(adp(8, 0), [
      { ...LONG, rank: 0 },
      { ...LONG, rank: 1 },
      { prompt: 100, output: 5, rank: 0, afterStep: 3 },
    ]);
    expect(admittedAt(core, starts, 0)).toBe(0);
    expect(admittedAt(core, starts, 2)).toBe(8);
    expect(core.adpHeldSteps).toBe(4); // boundaries 4..7
  });

  it('without admission the same request goes at the next boundary', () => {
    const { core, starts } = run({}, [
      { ...LONG, rank: 0 },
      { ...LONG, rank: 1 },
      { prompt: 100, output: 5, rank: 0, afterStep: 3 },
    ]);
    expect(admittedAt(core, starts, 2)).toBe(4);
    expect(core.adpHeldSteps).toBe(0);
  });

  it('when every rank has context work it goes at once, all ranks in the same step (batching_wait_iters 0)', () => {
    const { core, starts } = run(adp(50, 0), [
      { ...LONG, rank: 0 },
      { ...LONG, rank: 1 },
      { prompt: 100, output: 5, rank: 0, afterStep: 3 },
      { prompt: 300, output: 5, rank: 1, afterStep: 3 },
    ]);
    expect(admittedAt(core, starts, 2)).toBe(4);
    expect(admittedAt(core, starts, 3)).toBe(4);
    expect(core.adpHeldSteps).toBe(0);
  });

  it('no dead waiting: context work goes at once while some rank has no decode work', () => {
    const { core, starts } = run(adp(50, 10), [
      { ...LONG, rank: 0 },
      { prompt: 100, output: 5, rank: 0, afterStep: 3 }, // rank 1 idle: not every rank decodes
      { prompt: 100, output: 5, rank: 1, afterStep: 6 },
    ]);
    expect(admittedAt(core, starts, 1)).toBe(4);
    expect(core.adpHeldSteps).toBe(0);
  });

  it('async scheduling: a slot freed by a completion is free for the next pass, so context work waiting for it is held like any other', () => {
    // max_num_seqs 2. Rank 0 runs a short and a long request, a third waits for a slot; rank 1 is
    // full with two long ones (no context work). The short one completes with step 4; with async
    // scheduling its slot is held for one pass and free from the pass after, and the classification
    // must see it the way that pass will (else the request goes unheld).
    const reqs = (over: Parameters<typeof makeScenario>[0]) =>
      run({ maxNumSeqs: 2, ...over }, [
        { prompt: 64, output: 5, rank: 0 },
        { ...LONG, rank: 0 },
        { ...LONG, rank: 1 },
        { ...LONG, rank: 1 },
        { prompt: 100, output: 5, rank: 0 },
      ]);
    for (const asyncScheduling of ['off', 'on'] as const) {
      const none = reqs({ asyncScheduling });
      const held = reqs({ asyncScheduling, ...adp(20, 0) });
      const free = admittedAt(none.core, none.starts, 4);
      expect(free, asyncScheduling).toBe(asyncScheduling === 'on' ? 6 : 5);
      // Held from the boundary its slot is free until the counter (steps since the release at 0) reaches 20.
      expect(admittedAt(held.core, held.starts, 4), asyncScheduling).toBe(20);
      expect(held.core.adpHeldSteps, asyncScheduling).toBe(20 - free);
    }
  });

  it('timeout_iters 0 and batching_wait_iters 0 give exactly admission: none', () => {
    const base = { dp: 4, router: 'jsq_load', workload: { rate: 30, requests: 300, seed: 5 } };
    const sc0 = makeScenario(base);
    const sc1 = makeScenario({ ...base, ...adp(0, 0) });
    const wl = getWorkload(sc0.workload);
    const { wall_ms: _a, ...m0 } = simulate(sc0, wl, model).metrics;
    const { wall_ms: _b, ...m1 } = simulate(sc1, wl, model).metrics;
    expect(m1).toEqual(m0);
  });
});

describe('adp_balance: batch equilibration (batching_wait_iters)', () => {
  it('once every rank has context work and every rank decodes, it keeps accumulating for batching_wait_iters steps', () => {
    const { core, starts } = run(adp(50, 3), [
      { ...LONG, rank: 0 },
      { ...LONG, rank: 1 },
      { prompt: 100, output: 5, rank: 0, afterStep: 3 },
      { prompt: 300, output: 5, rank: 1, afterStep: 3 },
      { prompt: 200, output: 5, rank: 1, afterStep: 5 }, // accumulates during the wait
    ]);
    // Boundaries 4, 5, 6 wait (counter 1..3), 7 releases all three together.
    for (const id of [2, 3, 4]) expect(admittedAt(core, starts, id)).toBe(7);
    expect(core.adpHeldSteps).toBe(3);
  });
});

describe('adp_balance: chunked prefill', () => {
  it('a request with prompt left is context work: its remaining chunks are held too, while its rank decodes', () => {
    // M = 64: request 2's 200-token prompt takes chunks; rank 1 has no context work, so after its
    // first chunk (released at the counter's timeout) the rest waits for the next release.
    const { core, starts } = run({ ...adp(4, 0), maxBatchedTokens: 80 }, [
      { ...LONG, rank: 0 },
      { ...LONG, rank: 1 },
      { prompt: 200, output: 3, rank: 0, afterStep: 1 },
    ]);
    const st = core.st;
    const a = admittedAt(core, starts, 2);
    expect(a).toBe(4);
    // Chunks of 79 (budget 80 minus rank 0's decode) at releases 4, 8, 12: first token at the end of step 12.
    expect(starts.indexOf(st.firstUs[2])).toBe(13);
  });
});

describe('adp_balance: input rules', () => {
  it('needs sync: barrier', () => {
    expect(() => new EngineCore(makeScenario({ sync: 'independent', ...adp(50, 10) }), model)).toThrow(/admission.*sync: independent/);
  });
});

describe('sorted_round_robin (TensorRT-LLM baseline)', () => {
  it('each step deals the pending requests, largest prompt first, to the ranks in turn; the cursor carries over', () => {
    const prompts = [10, 50, 20, 40, 30, 80, 70, 60];
    const sc = makeScenario({ dp: 4, router: 'sorted_round_robin', routerParams: resolveRouterParams('sorted_round_robin', {}), dispatch: 'per_step', asyncScheduling: 'off' });
    const core = new EngineCore(sc, model);
    for (const p of prompts) core.submit({ promptTokens: p, outputTokens: 4, arrivalUs: 0 });
    let now = 0;
    let dur = core.beginStep(now);
    // 80, 70, 60, 50, 40, 30, 20, 10 -> ranks 0, 1, 2, 3, 0, 1, 2, 3
    const rankOf = (p: number) => core.st.rankOf[prompts.indexOf(p)];
    expect([80, 70, 60, 50, 40, 30, 20, 10].map(rankOf)).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    now += dur;
    core.endStep(now);
    core.submit({ promptTokens: 5, outputTokens: 2, arrivalUs: now });
    core.submit({ promptTokens: 9, outputTokens: 2, arrivalUs: now });
    dur = core.beginStep(now);
    expect([core.st.rankOf[9], core.st.rankOf[8]]).toEqual([0, 1]); // 9 tokens first, from rank 0
  });

  it('refuses any dispatch but per_step, naming the field', () => {
    const sc = makeScenario({ router: 'sorted_round_robin', routerParams: resolveRouterParams('sorted_round_robin', {}) });
    expect(() => new EngineCore(sc, model)).toThrow(/^dispatch: router sorted_round_robin .*needs dispatch: per_step/);
  });
});

describe('token_balance_ratio (TensorRT-LLM balance ratio, docs/model.md §8)', () => {
  it('is the mean over group steps of mean / max tokens scheduled per rank', () => {
    // One request on rank 0 of 2: every step 0.5.
    const one = run({}, [{ prompt: 100, output: 4, rank: 0 }]).core;
    expect(one.counters().tokenBalanceAcc / one.counters().steps).toBe(0.5);
    // Prefill 100 vs 300 (2/3), then one decode step on both (1): (2/3 + 1) / 2.
    const two = run({}, [
      { prompt: 100, output: 2, rank: 0 },
      { prompt: 300, output: 2, rank: 1 },
    ]).core;
    const c = two.counters();
    expect(c.steps).toBe(2);
    expect(c.tokenBalanceAcc / c.steps).toBeCloseTo(5 / 6, 12);
  });

  it('is recorded in the result row; adp_balance raises it on a loaded group', () => {
    const base = { dp: 8, workload: { rate: 20, requests: 300, seed: 3 } };
    const wl = getWorkload(makeScenario(base).workload);
    const none = simulate(makeScenario(base), wl, model).metrics;
    const bal = simulate(makeScenario({ ...base, ...adp(50, 10) }), wl, model).metrics;
    expect(none.token_balance_ratio).toBeGreaterThan(0);
    expect(none.token_balance_ratio).toBeLessThan(1);
    expect(bal.token_balance_ratio).toBeGreaterThan(none.token_balance_ratio);
    expect(bal.idle_frac).toBeLessThan(none.idle_frac);
    expect(bal.completed).toBe(300);
  });

  it('is NaN for ranks on their own clocks (sync: independent)', () => {
    const sc = makeScenario({ dp: 2, sync: 'independent', workload: { rate: 5, requests: 50 } });
    expect(simulate(sc, getWorkload(sc.workload), model).metrics.token_balance_ratio).toBeNaN();
  });
});
