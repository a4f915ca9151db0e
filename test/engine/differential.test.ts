// Differential test of the offline driver's shortcuts — the decode fast-forward, applying a
// step's tokens while it is scheduled, and the event-driven core (each rank's decoding requests
// as aggregates, src/engine/core/decodeSet.ts): on a broad random set of configurations (every router,
// preemption, timeouts, per_step and wave dispatch and held assignment, barrier and independent sync,
// presets, a calibrated model and synthetic models with every term, async scheduling on/off/auto,
// time series on and off, ADP Balance), the engine with them on (the default), with the event core
// alone (no fast-forward), and with only the applied steps (no event core), gives byte-identical metrics, time series and per-request outcomes to the plain step-by-step
// loop with both off, the oracle (docs/invariants.md §7, determinism). The default with an early
// stop rule that never fires (capacity's, src/engine/cpu/earlyStop.ts) is identical too.
// Small streams keep the few hundred configurations within seconds.
import { describe, expect, it } from 'vitest';
import type { Scenario } from '../../src/config/scenario.ts';
import { scenarioFromFlat } from '../../src/config/expand.ts';
import { simulate } from '../../src/engine/cpu/simulate.ts';
import { modelFromSpec, resolveStepModel } from '../../src/model/presets.ts';
import type { StepModel } from '../../src/model/types.ts';
import { getRouter, resolveRouterParams, routerNames } from '../../src/routers/index.ts';
import { Rng } from '../../src/rng.ts';
import { getWorkload } from '../../src/workload/build.ts';
import { makeScenario } from '../helpers.ts';

const calibrated = resolveStepModel(new URL('../../examples/data/qwen3-30b-a3b-rtxpro6000-dp2.json', import.meta.url).pathname);
const presets = ['qwen3-30b-a3b-h100', 'deepseek-v3-h200', 'mixtral-8x7b-a100', 'seed-kv-linear'].map((n) => resolveStepModel(n));

/** A model with every term: mixed-batch, skew, mean-KV and host terms, a curve, and per-DP terms for `dp`. */
function synthetic(dp: number, rng: Rng): StepModel {
  const curve = { tokens: [1, 64, 512, 4096], ps: [300_000_000, 900_000_000, 2_000_000_000, 9_000_000_000], slopePs: [5_000_000, 2_500_000, 1_500_000, 1_000_000] };
  return modelFromSpec({
    name: 'synthetic',
    description: 'differential test',
    coefficients: {
      base: 800_000_000, baseExperts: 4_000_000_000, perDecodeSeq: 4_000_000 + rng.below(4_000_000), perPrefillToken: 2_000_000,
      perKvTokenRead: 30_000 + rng.below(40_000), perAttnKiloPair: 1_000_000, a2aBase: 200_000_000, a2aPerMaxRankToken: 1_000_000,
      a2aPerToken: 100_000, perPrefillKvToken: 500_000, perMixedDecodeKvToken: 100_000, perMixedDecodeSeq: 10_000_000, perDecodeSkewToken: 3_000 + rng.below(5_000),
      perMeanKvToken: rng.below(2) === 0 ? 0 : 5_000 + rng.below(20_000),
      // Host terms (docs/model.md §5): per step, per request on the busiest rank, DP sync.
      hostPerStep: 300_000_000, hostPerRequest: 2_000_000 + rng.below(20_000_000), dpSyncIntraNode: 150_000_000, dpSyncInterNode: 700_000_000,
    },
    maxRankTokenCurve: curve,
    byDp: { [String(dp)]: { coefficients: { perKvTokenRead: 50_000 + rng.below(30_000) }, maxRankTokenCurve: { ...curve, ps: curve.ps.map((p) => p + 1_000_000) } } },
    maxModelLen: 32_768,
    kvCapacityTokens: 200_000,
  } as Parameters<typeof modelFromSpec>[0]);
}

interface Case {
  label: string;
  sc: Scenario;
  model: StepModel;
}

function randomCases(count: number, seed: number, adp = false): Case[] {
  const rng = new Rng(seed, 7);
  const pick = <T>(xs: readonly T[]): T => xs[rng.below(xs.length)];
  // Routers tied to one dispatch mode (sorted_round_robin) are drawn among the ADP cases.
  const routers = adp ? routerNames() : routerNames().filter((n) => getRouter(n).requiresDispatch === undefined);
  const out: Case[] = [];
  for (let i = 0; i < count; i++) {
    const router = routers[i % routers.length]; // every router, several times
    const kind = pick(['preset', 'preset', 'calibrated', 'synthetic'] as const);
    const dp = kind === 'calibrated' ? pick([1, 2]) : pick([1, 2, 3, 4, 8, 16]);
    const model = kind === 'calibrated' ? calibrated : kind === 'synthetic' ? synthetic(dp, rng) : pick(presets);
    const drawn = pick(['on_arrival', 'per_step', 'on_arrival', 'per_step', 'wave'] as const);
    const dispatch = getRouter(router).requiresDispatch ?? drawn;
    const hold = router === 'br0' && dispatch === 'per_step' && rng.below(2) === 0;
    const smallKv = rng.below(3) === 0; // preemption
    const capacity = smallKv ? 16 * (200 + rng.below(600)) : Math.max(32_768, Math.min(model.kvCapacityTokens(dp), 400_000));
    const rate = (0.5 + rng.next() * 6) * dp;
    const base = makeScenario({
      router,
      routerParams: resolveRouterParams(router, hold ? { hold_ms: pick([50, 200, 1000]) } : {}),
      dp,
      maxNumSeqs: pick([8, 32, 256]),
      kvCapacity: capacity,
      maxBatchedTokens: pick([512, 2048, 8192]),
      maxModelLen: model.maxModelLen,
      statsIntervalMs: pick([0, 0, 100, 500]),
      dispatch,
      assignOrder: pick(['fcfs', 'lpt'] as const),
      timeoutS: pick([0, 0, 5, 30]),
      // Independent ranks have no group step boundary for per_step dispatch (an input error).
      sync: dispatch === 'on_arrival' && rng.below(3) === 0 ? 'independent' : 'barrier',
      timeseries: rng.below(4) !== 0,
      workload: {
        source: pick(['sharegpt', 'azure_conv', 'azure_code']),
        arrival: pick(['poisson', 'gamma'] as const),
        cv: pick([1, 3]),
        rate,
        requests: 40 + rng.below(120),
        seed: rng.nextU32(),
      },
    });
    // Async scheduling on and off (docs/model.md §3); ranks per node picks the DP sync term.
    const asyncScheduling = pick(['on', 'off', 'auto'] as const);
    const sc = { ...base, model: model.name, asyncScheduling, ranksPerNode: pick([1, 2, 8]) };
    // ADP Balance needs the group step (docs/model.md §3.2): its cases keep the barrier.
    if (adp) Object.assign(sc, { admission: 'adp_balance', sync: 'barrier', adpTimeoutIters: pick([0, 1, 5, 50]), adpBatchingWaitIters: pick([0, 2, 10]) });
    out.push({ label: `#${i}${adp ? ' adp_balance' : ''} ${router} ${kind} dp=${dp} ${dispatch}${hold ? ' hold' : ''}${smallKv ? ' small-kv' : ''} timeout=${sc.timeoutS} async=${asyncScheduling} ${sc.sync}${sc.timeseries ? ' series' : ''}`, sc, model });
  }
  return out;
}

function bytes(a: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** The plain loop (the oracle) and the default engine on one configuration, with per-request arrays. */
function oracleAndDefault(sc: Scenario, model: StepModel): { oracle: ReturnType<typeof simulate>; fast: ReturnType<typeof simulate> } {
  const wl = getWorkload(sc.workload);
  return {
    oracle: simulate(sc, wl, model, { detail: true, fastForward: false, applyAtSchedule: false }),
    fast: simulate(sc, wl, model, { detail: true }),
  };
}

function expectSame(a: ReturnType<typeof simulate>, b: ReturnType<typeof simulate>): void {
  const { wall_ms: _a, ...mA } = a.metrics;
  const { wall_ms: _b, ...mB } = b.metrics;
  expect(JSON.stringify(mA)).toBe(JSON.stringify(mB));
  expect(a.stoppedEarly).toBe(b.stoppedEarly);
  const tA = (a.timeseries ?? {}) as unknown as Record<string, Float64Array>;
  const tB = (b.timeseries ?? {}) as unknown as Record<string, Float64Array>;
  expect(Object.keys(tA)).toEqual(Object.keys(tB));
  for (const k of Object.keys(tA)) expect(bytes(tA[k]).equals(bytes(tB[k])), `series ${k}`).toBe(true);
  const rA = a.requests as unknown as Record<string, Float64Array>;
  const rB = b.requests as unknown as Record<string, Float64Array>;
  for (const k of Object.keys(rA)) expect(bytes(rA[k]).equals(bytes(rB[k])), `requests ${k}`).toBe(true);
}

describe('differential: fast-forward, applied steps and the event core vs the plain loop', () => {
  // 320 random configurations, then ADP Balance cases (docs/model.md §3.2).
  const cases = [...randomCases(320, 20261129), ...randomCases(16, 20261207, true)];
  // Bounds no run of this set reaches: the stop rule is checked but never fires.
  const neverStop = [{ metric: 'ttft_p99_ms', bound: 1e12 }, { metric: 'e2e_p50_ms', bound: 1e12 }, { metric: 'failed_frac', bound: 1 }];
  let fastForwarded = 0;
  let withPreemption = 0;
  let withTimeouts = 0;
  let withAsync = 0;
  let withSync = 0;
  let independent = 0;
  let series = 0;
  let eventCore = 0;
  let eventFallback = 0;
  let eventFastForward = 0;
  let adpEvent = 0;
  let envelope = 0;
  let perStepStretch = 0;
  let stretchEvents = 0;
  let stretchEventsAsync = 0;
  let stretchEventsTimeouts = 0;
  let stretchArrivals = 0;
  for (const { label, sc, model } of cases) {
    it(label, () => {
      const wl = getWorkload(sc.workload);
      const oracle = simulate(sc, wl, model, { detail: true, fastForward: false, applyAtSchedule: false });
      const fast = simulate(sc, wl, model, { detail: true });
      const applied = simulate(sc, wl, model, { detail: true, fastForward: false, applyAtSchedule: true, eventCore: false });
      const event = simulate(sc, wl, model, { detail: true, fastForward: false });
      const guarded = simulate(sc, wl, model, { detail: true, stopWhen: neverStop });
      expect(oracle.fastForwardedSteps).toBe(0);
      expect(oracle.aggregatedRankSteps + applied.aggregatedRankSteps).toBe(0);
      eventCore += event.aggregatedRankSteps > 0 ? 1 : 0;
      adpEvent += sc.admission === 'adp_balance' && event.aggregatedRankSteps > 0 ? 1 : 0;
      eventFallback += event.fallbackRankSteps > 0 && event.aggregatedRankSteps > 0 ? 1 : 0;
      eventFastForward += fast.aggregatedRankSteps > 0 && fast.fastForwardedSteps > 0 ? 1 : 0;
      independent += sc.sync === 'independent' ? 1 : 0;
      series += oracle.timeseries ? 1 : 0;
      fastForwarded += fast.fastForwardedSteps > 0 ? 1 : 0;
      envelope += fast.envelopeSteps > 0 ? 1 : 0;
      perStepStretch += fast.fastForwardedSteps > fast.envelopeSteps ? 1 : 0;
      if (fast.stretchEventSteps > 0) {
        stretchEvents++;
        stretchEventsAsync += fast.metrics.async_scheduling === 1 ? 1 : 0;
        stretchEventsTimeouts += fast.metrics.failed_timeout > 0 ? 1 : 0;
        stretchArrivals += fast.stretchArrivals > 0 ? 1 : 0;
      }
      expect(oracle.envelopeSteps).toBe(0);
      withPreemption += fast.metrics.preempted > 0 ? 1 : 0;
      withTimeouts += fast.metrics.failed_timeout > 0 ? 1 : 0;
      if (fast.fastForwardedSteps > 0) {
        if (fast.metrics.async_scheduling === 1) withAsync++;
        else withSync++;
      }
      expectSame(fast, oracle);
      expectSame(applied, oracle);
      expectSame(event, oracle);
      expectSame(guarded, oracle);
    });
  }
  it('the set exercises the fast-forward, the event core and its fallback, preemption, timeouts, both sync modes, series and both scheduling modes', () => {
    expect(cases.length).toBe(320 + 16);
    expect(fastForwarded).toBeGreaterThan(cases.length / 3);
    expect(withPreemption).toBeGreaterThan(20);
    expect(withTimeouts).toBeGreaterThan(20);
    expect(independent).toBeGreaterThan(40);
    expect(series).toBeGreaterThan(cases.length / 2);
    expect(series).toBeLessThan(cases.length);
    // Both scheduling modes fast-forward somewhere in the set.
    expect(withAsync).toBeGreaterThan(5);
    expect(withSync).toBeGreaterThan(5);
    // The event core takes every barrier case (ADP Balance included), falls back (preemption
    // pressure, timeouts) in some, and meets the fast-forward in most.
    expect(eventCore).toBe(cases.length - independent);
    expect(adpEvent).toBe(16);
    expect(eventFallback).toBeGreaterThan(20);
    // Completions and arrivals taken inside envelope stretches, with both scheduling modes and
    // with timeouts.
    expect(stretchEvents).toBeGreaterThan(30);
    expect(stretchEventsAsync).toBeGreaterThan(15);
    expect(stretchEvents - stretchEventsAsync).toBeGreaterThan(10);
    expect(stretchEventsTimeouts).toBeGreaterThan(3);
    // (Arrivals go inside only where they are sparse: the light-load set below has most of them.)
    expect(stretchArrivals).toBeGreaterThanOrEqual(4);
    expect(eventFastForward).toBeGreaterThan(cases.length / 2);
    // Stretches go through the affine envelopes in most cases, and step by step (time series,
    // mean-KV term) in others.
    expect(envelope).toBeGreaterThan(40);
    expect(perStepStretch).toBeGreaterThan(cases.length / 4);
  });
});

describe('differential: decode stretches from the affine envelopes, light load', () => {
  // Light load without time series (the bench's light configuration, shorter): most steps are
  // fast-forwarded from the upper envelopes of the ranks' step-time and load lines, whose top
  // line changes many times (ranks with more decodes overtake). Presets, the calibrated model
  // (per-DP curve) and synthetic models with skew and host terms (no mean-KV term: that one is
  // stepped).
  const rng = new Rng(20261207, 21);
  const cases: Case[] = [];
  // 12 cases over four routers, then one per router (arrivals are routed inside stretches).
  const names = routerNames();
  for (let i = 0; i < 12 + names.length; i++) {
    const dp = [2, 4, 8, 16][i % 4];
    const kind = i % 3;
    const model = kind === 0 ? presets[i % 3] : kind === 1 ? synthetic(dp, rng) : calibrated;
    const g = kind === 2 ? 2 : dp;
    const m = kind === 1 ? { ...model, perMeanKvToken: 0 } : model;
    const sc = makeScenario({
      router: i < 12 ? ['jsq_load', 'round_robin', 'vllm_default', 'brh'][i % 4] : names[i - 12],
      dp: g,
      maxNumSeqs: [32, 256][i % 2],
      kvCapacity: i === 7 ? 16 * (300 + rng.below(300)) : 200_000,
      maxBatchedTokens: [2048, 8192][i % 2],
      maxModelLen: model.maxModelLen,
      timeoutS: i === 5 || i === 16 ? 20 : 0,
      // (sorted_round_robin deals the global queue: per_step only.)
      dispatch: i === 6 || names[i - 12] === 'sorted_round_robin' ? 'per_step' : 'on_arrival',
      timeseries: false,
      workload: { source: 'sharegpt', arrival: 'poisson', cv: 1, rate: (0.3 + rng.next()) * g, requests: 400, seed: rng.nextU32() },
    });
    cases.push({ label: `light #${i} ${sc.router} dp=${g} ${m.name}`, sc: { ...sc, model: m.name, asyncScheduling: i % 3 === 1 ? 'off' : 'auto' }, model: m });
  }
  // More than 32 ranks: an event step's rank sets span several 32-bit words (rank 31 is the sign bit).
  for (const [i, dp] of [[0, 40], [1, 64]] as const) {
    const sc = makeScenario({
      router: ['jsq_load', 'round_robin'][i],
      dp,
      maxNumSeqs: 256,
      kvCapacity: 200_000,
      maxBatchedTokens: 2048,
      maxModelLen: presets[0].maxModelLen,
      timeoutS: 0,
      dispatch: 'on_arrival',
      timeseries: false,
      workload: { source: 'sharegpt', arrival: 'poisson', cv: 1, rate: 0.4 * dp, requests: 600, seed: rng.nextU32() },
    });
    cases.push({ label: `light wide ${sc.router} dp=${dp} ${presets[0].name}`, sc: { ...sc, model: presets[0].name }, model: presets[0] });
  }
  let switches = 0;
  let eventSteps = 0;
  let eventCases = 0;
  let arrivals = 0;
  let joins = 0;
  for (const { label, sc, model } of cases) {
    it(label, () => {
      const { oracle, fast } = oracleAndDefault(sc, model);
      expect(fast.envelopeSteps).toBeGreaterThan(fast.fastForwardedSteps / 2);
      switches += fast.envelopeSwitches;
      eventSteps += fast.stretchEventSteps;
      eventCases += fast.stretchEventSteps > 0 ? 1 : 0;
      arrivals += fast.stretchArrivals;
      joins += fast.stretchJoins;
      if (fast.metrics.async_scheduling === 0) expect(fast.stretchJoins).toBe(0);
      expectSame(fast, oracle);
    });
  }
  it('the top lines change', () => expect(switches).toBeGreaterThan(40));
  it('completions and arrivals are taken inside stretches', () => {
    expect(eventCases).toBe(cases.length);
    expect(eventSteps).toBeGreaterThan(10_000);
    expect(arrivals).toBeGreaterThan(5_000);
    // Arrivals hidden from the next pass (async scheduling) keep their rank on its line one step.
    expect(joins).toBeGreaterThan(2_000);
  });
});

describe('differential: light load under KV pressure, async scheduling', () => {
  // Arrivals routed inside stretches by routers that read free KV blocks (vllm_inflight's KV
  // usage), on ranks holding the blocks of requests that completed inside the stretch (async
  // scheduling holds them for two passes): the router must see them released exactly when the
  // plain loop does. The default preset and workload, a few hundred blocks per rank.
  const rng = new Rng(20261207, 31);
  const cases: Case[] = [];
  const routers = ['vllm_inflight', 'vllm_inflight', 'vllm_inflight', 'jsq_load', 'vllm_inflight', 'vllm_inflight', 'vllm_inflight', 'brh', 'vllm_inflight', 'power_of_two'];
  for (let i = 0; i < 24; i++) {
    const dp = [2, 4, 6][i % 3];
    const entry = {
      router: { name: routers[i % routers.length] },
      dp,
      requests: 300,
      rate: Math.round((0.3 + 0.8 * rng.next()) * dp * 10) / 10,
      seed: rng.below(1_000_000),
      kv_capacity: 16 * (260 + rng.below(400)),
      max_num_seqs: [4, 256][i % 2],
    };
    const sc = scenarioFromFlat(entry);
    cases.push({ label: `kv pressure #${i} ${JSON.stringify(entry)}`, sc, model: resolveStepModel(sc.model) });
  }
  let arrivals = 0;
  let preempting = 0;
  for (const { label, sc, model } of cases) {
    it(label, () => {
      const { oracle, fast } = oracleAndDefault(sc, model);
      arrivals += fast.stretchArrivals;
      preempting += oracle.metrics.preempted > 0 ? 1 : 0;
      expect(fast.metrics.async_scheduling).toBe(1);
      expectSame(fast, oracle);
    });
  }
  it('arrivals are routed inside stretches, under preemption pressure', () => {
    expect(arrivals).toBeGreaterThan(500);
    expect(preempting).toBeGreaterThan(3);
  });
});

describe('differential: the event core on long saturated runs', () => {
  // Longer streams than the random set, past saturation: the decode sets live for thousands of
  // steps (completion heaps deep, the longest-context heap compacted many times, fallback and
  // rebuild under KV pressure), against the plain loop.
  const rng = new Rng(20261207, 11);
  const cases: Case[] = [];
  for (let i = 0; i < 8; i++) {
    const dp = [1, 2, 4, 8][i % 4];
    const model = i % 2 === 0 ? synthetic(dp, rng) : presets[i % presets.length];
    const smallKv = i >= 4;
    const sc = makeScenario({
      router: ['jsq_load', 'brh', 'round_robin', 'vllm_default'][i % 4],
      dp,
      maxNumSeqs: [16, 32, 64, 256][i % 4],
      kvCapacity: smallKv ? 16 * (400 + rng.below(400)) : 200_000,
      maxBatchedTokens: [512, 2048, 8192][i % 3],
      maxModelLen: model.maxModelLen,
      timeoutS: i === 5 ? 20 : 0,
      dispatch: i === 6 ? 'per_step' : 'on_arrival',
      timeseries: i % 3 === 0,
      workload: { source: 'sharegpt', arrival: 'poisson', cv: 1, rate: 40 * dp, requests: 1500, seed: rng.nextU32() },
    });
    cases.push({ label: `long #${i} ${sc.router} dp=${dp} B=${sc.maxNumSeqs}${smallKv ? ' small-kv' : ''}`, sc: { ...sc, model: model.name, asyncScheduling: i % 3 === 1 ? 'off' : 'auto' }, model });
  }
  for (const { label, sc, model } of cases) {
    it(label, () => {
      const wl = getWorkload(sc.workload);
      const oracle = simulate(sc, wl, model, { detail: true, fastForward: false, applyAtSchedule: false });
      const event = simulate(sc, wl, model, { detail: true, fastForward: false });
      const fast = simulate(sc, wl, model, { detail: true });
      expect(event.aggregatedRankSteps).toBeGreaterThan(300);
      expectSame(event, oracle);
      expectSame(fast, oracle);
    });
  }
});
