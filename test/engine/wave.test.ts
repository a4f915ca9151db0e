// Wave dispatch (dispatch: wave; docs/model.md §4): how waves form, and the invariants of a run —
// conservation, at most one request per rank per wave, hold time bounded by the wave timeout.
import { describe, expect, it } from 'vitest';
import { EngineCore } from '../../src/engine/core/index.ts';
import { WaveBuffer } from '../../src/engine/core/wave.ts';
import { simulate } from '../../src/engine/cpu/simulate.ts';
import { resolveStepModel } from '../../src/model/presets.ts';
import { resolveRouterParams } from '../../src/routers/index.ts';
import { getWorkload } from '../../src/workload/build.ts';
import type { Scenario } from '../../src/config/scenario.ts';
import { handWorkload, makeScenario } from '../helpers.ts';

const model = resolveStepModel('qwen3-30b-a3b-h100');

describe('WaveBuffer: wave formation from arrival times', () => {
  const arrival = [0, 10, 20, 30, 40, 500, 900, 2000, 2001];
  const all = () => true;

  it('a wave closes at its G-th arrival with G members', () => {
    const w = new WaveBuffer(4, 1000);
    for (let r = 0; r < 5; r++) w.hold(r);
    const out = new Int32Array(4);
    expect(w.next(40, arrival, all, out)).toBe(4);
    expect([...out]).toEqual([0, 1, 2, 3]);
    expect(w.releaseUs).toBe(30);
    // Request 4 starts the next wave: not closed before 40 + 1000.
    expect(w.next(40, arrival, all, out)).toBe(0);
    expect(w.deadline(arrival, all)).toBe(1040);
  });

  it('a partial wave closes at the oldest member arrival + timeout, with the members that arrived by then', () => {
    const w = new WaveBuffer(4, 1000);
    for (const r of [4, 5, 6, 7]) w.hold(r);
    const out = new Int32Array(4);
    expect(w.next(1039, arrival, all, out)).toBe(0);
    expect(w.next(2000, arrival, all, out)).toBe(3); // 40, 500, 900; 2000 > 1040 is not a member
    expect([...out.subarray(0, 3)]).toEqual([4, 5, 6]);
    expect(w.releaseUs).toBe(1040);
    expect(w.partialWaves).toBe(1);
    expect(w.deadline(arrival, all)).toBe(3000); // request 7 heads the next wave
  });

  it('requests that left while held are not members', () => {
    const w = new WaveBuffer(2, 1000);
    for (let r = 0; r < 4; r++) w.hold(r);
    const out = new Int32Array(2);
    const held = (r: number) => r !== 0 && r !== 2;
    expect(w.next(30, arrival, held, out)).toBe(2);
    expect([...out]).toEqual([1, 3]);
    expect(w.releaseUs).toBe(30);
    expect(w.deadline(arrival, held)).toBe(-1);
  });

  it('timeout 0: requests arriving at the same microsecond share a wave, others go alone', () => {
    const a = [5, 5, 7];
    const w = new WaveBuffer(4, 0);
    for (let r = 0; r < 3; r++) w.hold(r);
    const out = new Int32Array(4);
    expect(w.next(7, a, all, out)).toBe(2);
    expect(w.next(7, a, all, out)).toBe(1);
    expect(w.releaseUs).toBe(7);
  });
});

interface Routed {
  rank: number;
  releaseUs: number;
}

/** Step a core through a workload (no fast-forward), recording each routing decision. */
function runWithEvents(sc: Scenario) {
  const wl = getWorkload(sc.workload);
  const routed = new Map<number, Routed>();
  const finished = new Map<number, string>();
  const core = new EngineCore(sc, model, {
    onRoute: (id, rank, t) => {
      expect(routed.has(id)).toBe(false);
      routed.set(id, { rank, releaseUs: t });
    },
    onFinish: (id, outcome) => finished.set(id, outcome),
  });
  for (let i = 0; i < wl.n; i++) core.submit({ promptTokens: wl.prompt[i], outputTokens: wl.output[i], arrivalUs: wl.arrivalUs[i] });
  let now = wl.arrivalUs[0];
  for (let guard = 0; !core.done(); guard++) {
    if (guard > 5_000_000) throw new Error('no progress');
    const d = core.beginStep(now);
    if (d === 0) {
      const next = core.nextArrivalUs();
      if (next < 0) throw new Error('stalled');
      now = Math.max(now, next);
      continue;
    }
    now += d;
    core.endStep(now);
  }
  return { wl, core, routed, finished };
}

describe('dispatch: wave — invariants of whole runs', () => {
  const cases: [string, number, number, string][] = [
    // label, rate, wave timeout ms, router
    ['light load, jsq_load', 2, 100, 'jsq_load'],
    ['saturation, jsq_load', 40, 100, 'jsq_load'],
    ['saturation, vllm_default, short timeout', 40, 20, 'vllm_default'],
    ['moderate, round_robin, long timeout', 12, 1000, 'round_robin'],
    ['moderate, brh (projections in the restricted view)', 12, 100, 'brh'],
  ];
  for (const [label, rate, timeoutMs, router] of cases) {
    it(`conservation, one request per rank per wave, hold <= timeout (${label})`, () => {
      const G = 4;
      const sc = makeScenario({
        dp: G,
        router,
        routerParams: resolveRouterParams(router, {}),
        dispatch: 'wave',
        waveTimeoutMs: timeoutMs,
        workload: { rate, requests: 300, seed: 7 },
      });
      const { wl, core, routed, finished } = runWithEvents(sc);
      // Conservation: every request ends once; every completed one was routed exactly once.
      expect(finished.size).toBe(wl.n);
      expect(core.completed + core.failedRejected + core.failedTimeout + core.aborted).toBe(wl.n);
      for (const [id, o] of finished) if (o === 'completed') expect(routed.has(id)).toBe(true);
      // Waves: grouped by release time; each has at most G members, on distinct ranks.
      const waves = new Map<number, number[]>();
      for (const [id, r] of routed) {
        const hold = r.releaseUs - wl.arrivalUs[id];
        expect(hold).toBeGreaterThanOrEqual(0);
        expect(hold).toBeLessThanOrEqual(timeoutMs * 1000);
        (waves.get(r.releaseUs) ?? waves.set(r.releaseUs, []).get(r.releaseUs)!).push(r.rank);
        // Routed at the first step boundary at or after its release (queued_us).
        expect(core.st.queuedUs[id]).toBeGreaterThanOrEqual(r.releaseUs);
      }
      for (const ranks of waves.values()) {
        expect(ranks.length).toBeLessThanOrEqual(G);
        expect(new Set(ranks).size).toBe(ranks.length);
      }
      expect(core.wave!.waves).toBe(waves.size);
      // A full wave is released at its G-th arrival: its members' hold times end there.
      const full = [...waves.values()].filter((w) => w.length === G).length;
      expect(full + core.wave!.partialWaves).toBe(waves.size);
      if (rate >= 12) expect(full).toBeGreaterThan(0);
    });
  }

  it('the driver wakes at a partial wave timeout on an idle group (no stall, exact release time)', () => {
    const sc = makeScenario({ dp: 4, router: 'jsq_load', routerParams: resolveRouterParams('jsq_load', {}), dispatch: 'wave', waveTimeoutMs: 250 });
    const wl = handWorkload([
      [0, 100, 5],
      [1_000_000, 100, 5],
    ]);
    const core = new EngineCore(sc, model, {});
    for (let i = 0; i < wl.n; i++) core.submit({ promptTokens: wl.prompt[i], outputTokens: wl.output[i], arrivalUs: wl.arrivalUs[i] });
    expect(core.beginStep(0)).toBe(0); // held: nothing runnable yet
    expect(core.nextArrivalUs()).toBe(250_000);
    expect(core.beginStep(250_000)).toBeGreaterThan(0);
    expect(core.st.queuedUs[0]).toBe(250_000);
  });

  it('simulate() gives the same run as the stepped loop, and wave lowers barrier idle at saturation', () => {
    const base = { dp: 4, router: 'jsq_load', routerParams: resolveRouterParams('jsq_load', {}), workload: { rate: 40, requests: 400, seed: 3 } };
    const sc = makeScenario({ ...base, dispatch: 'wave', waveTimeoutMs: 100 });
    const a = simulate(sc, getWorkload(sc.workload), model);
    const { core } = runWithEvents(sc);
    expect(a.metrics.completed).toBe(core.completed);
    expect(a.metrics.steps).toBe(core.steps);
    const off = makeScenario({ ...base, dispatch: 'on_arrival' });
    const b = simulate(off, getWorkload(off.workload), model);
    expect(a.metrics.idle_frac).toBeLessThan(b.metrics.idle_frac);
  });
});
