// Memory per request of the engine core: the bytes of every per-request array of the core state
// and of the event core's decode sets (docs/performance.md, "What makes the CPU engine fast").
// Before the event-driven core the state held 97 bytes per request (105 with the decode set's
// first version); the event core must not add to that (memory per in-flight request unchanged
// or lower).
import { describe, expect, it } from 'vitest';
import type { Scenario } from '../../src/config/scenario.ts';
import { EngineCore } from '../../src/engine/core/index.ts';
import { resolveStepModel } from '../../src/model/presets.ts';
import { makeScenario } from '../helpers.ts';

const model = resolveStepModel('qwen3-30b-a3b-h100');
const CAP = 1 << 17; // larger than any per-rank array below, so a length of CAP is per request

/** Bytes per request of the typed arrays of `o` whose length is its capacity. */
function perRequestBytes(o: object, cap: number): { bytes: number; arrays: string[] } {
  let bytes = 0;
  const arrays: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (ArrayBuffer.isView(v) && !(v instanceof DataView) && (v as Uint8Array).length === cap) {
      bytes += (v as Uint8Array).BYTES_PER_ELEMENT;
      arrays.push(k);
    }
  }
  return { bytes, arrays: arrays.sort() };
}

function coreBytes(sc: Scenario, pinned: boolean): { state: number; decodeSet: number; arrays: string[] } {
  const core = new EngineCore(sc, model, {}, { applyAtSchedule: true, eventCore: true, capacityHint: CAP });
  core.submit({ promptTokens: 100, outputTokens: 10, arrivalUs: 0, ...(pinned ? { rank: 0 } : {}) });
  expect(core.st.cap).toBe(CAP);
  const st = perRequestBytes(core.st, CAP);
  const ds = core.ds ? perRequestBytes(core.ds, core.ds.cap) : { bytes: 0, arrays: [] };
  if (core.ds) expect(core.ds.cap).toBe(CAP);
  return { state: st.bytes, decodeSet: ds.bytes, arrays: [...st.arrays, ...ds.arrays.map((a) => `ds.${a}`)] };
}

describe('memory per request', () => {
  it('default (on_arrival dispatch, nothing pinned): 87 + 8 bytes, below the 97 before the event core', () => {
    const m = coreBytes(makeScenario({ dp: 8 }), false);
    expect(m.state).toBe(87);
    expect(m.decodeSet).toBe(8);
    expect(m.state + m.decodeSet).toBeLessThan(97);
    expect(m.arrays).not.toContain('gq');
    expect(m.arrays).not.toContain('pin');
    expect(m.arrays).toEqual(expect.arrayContaining(['ds.advAt', 'ds.dpos']));
  });

  it('per_step dispatch costs nothing per request; a pinned request adds the 2-byte pins', () => {
    expect(coreBytes(makeScenario({ dp: 8, dispatch: 'per_step' }), false).state).toBe(87);
    const both = coreBytes(makeScenario({ dp: 8, dispatch: 'per_step' }), true);
    expect(both.state).toBe(89);
    expect(both.state + both.decodeSet).toBeLessThanOrEqual(97);
  });

  it('pins enabled mid-run keep the earlier requests unpinned', () => {
    const core = new EngineCore(makeScenario({ dp: 4 }), model, {}, { capacityHint: 4 });
    for (let i = 0; i < 6; i++) core.submit({ promptTokens: 10, outputTokens: 2, arrivalUs: i, ...(i === 3 ? { rank: 2 } : {}) });
    expect(core.st.pins).toBe(true);
    expect(Array.from(core.st.pin.subarray(0, 6))).toEqual([-1, -1, -1, 2, -1, -1]);
  });

  it('the global queue grows with the queue (per_step dispatch, a burst of 300 requests)', () => {
    const core = new EngineCore(makeScenario({ dp: 2, dispatch: 'per_step' }), model, {}, { capacityHint: 4 });
    for (let i = 0; i < 300; i++) core.submit({ promptTokens: 50, outputTokens: 3, arrivalUs: 0 });
    let now = 0;
    let steps = 0;
    while (!core.done() && steps < 100000) {
      const d = core.beginStep(now);
      if (d === 0) break;
      now += d;
      core.endStep(now);
      steps++;
    }
    expect(core.done()).toBe(true);
    expect(core.st.gq.length).toBeGreaterThanOrEqual(64);
    expect(core.st.gq.length).toBeLessThanOrEqual(512);
  });
});
