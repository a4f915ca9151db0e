// The event-driven core's decode sets (src/engine/core/decodeSet.ts, docs/model.md §7.1), checked
// step by step against the per-request core: driven in lockstep on the same requests, after every
// group step both cores hold the same running lists (holes aside), every request's tokens and
// blocks are the same (members read through the aggregates), and the aggregates are the sums
// they stand for. The scenarios reach saturation, preemption pressure (fallbacks) and timeouts.
import { describe, expect, it } from 'vitest';
import type { Scenario } from '../../src/config/scenario.ts';
import { EngineCore } from '../../src/engine/core/index.ts';
import { resolveStepModel } from '../../src/model/presets.ts';
import { getWorkload } from '../../src/workload/build.ts';
import { makeScenario } from '../helpers.ts';

const model = resolveStepModel('qwen3-30b-a3b-h100');

function lockstep(sc: Scenario): { steps: number; aggregated: number; fallbacks: number; maxHoles: number } {
  const wl = getWorkload(sc.workload);
  const opts = { outputSurvival: wl.outputSurvival, capacityHint: 16 };
  const plain = new EngineCore(sc, model, {}, opts);
  const ev = new EngineCore(sc, model, {}, { ...opts, applyAtSchedule: true, eventCore: true });
  const ds = ev.ds!;
  expect(ds).toBeDefined();
  const a = plain.st;
  const b = ev.st;
  let next = 0;
  let now = wl.arrivalUs[0];
  let steps = 0;
  let maxHoles = 0;
  const errors: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok && errors.length < 5) errors.push(what);
  };
  for (;;) {
    // Requests are submitted as they come due, so the request arrays grow mid-run.
    while (next < wl.n && wl.arrivalUs[next] <= now) {
      const q = { promptTokens: wl.prompt[next], outputTokens: wl.output[next], arrivalUs: wl.arrivalUs[next] };
      plain.submit(q);
      ev.submit(q);
      next++;
    }
    if (plain.done() && next === wl.n) break;
    const d = plain.beginStep(now);
    expect(ev.beginStep(now)).toBe(d);
    if (d === 0) {
      now = Math.max(now, wl.arrivalUs[next]);
      continue;
    }
    now += d;
    plain.endStep(now);
    ev.endStep(now);
    steps++;
    for (let g = 0; g < sc.dp; g++) {
      const at = `step ${steps} rank ${g}`;
      check(b.nRun[g] === a.nRun[g], `${at}: running`);
      check(b.freeBlocks[g] === a.freeBlocks[g], `${at}: free blocks`);
      check(b.kvTok[g] === a.kvTok[g], `${at}: KV tokens`);
      check(b.genTokOf[g] === a.genTokOf[g], `${at}: generation tokens`);
      maxHoles = Math.max(maxHoles, b.holes[g]);
      check(b.holes[g] <= sc.maxNumSeqs, `${at}: holes`);
      // The running list without holes is the plain core's; members are its first nD entries.
      const list: number[] = [];
      for (let i = 0; i < b.nRun[g] + b.holes[g]; i++) {
        const r = b.run[g * b.RS + i];
        if (r >= 0) list.push(r);
        else check(i < ds.nD[g] + b.holes[g], `${at}: hole outside the prefix`);
      }
      check(list.join() === Array.from(a.run.subarray(g * a.RS, g * a.RS + a.nRun[g])).join(), `${at}: running list`);
      let sumC = 0;
      for (let i = 0; i < list.length; i++) {
        const r = list[i];
        check(ds.isMember(r) === i < ds.nD[g], `${at}: membership of ${r}`);
        const c = ds.computedOf(b, g, r);
        check(c === a.computed[r], `${at}: computed of ${r}`);
        check(ds.generatedOf(b, g, r) === a.generated[r], `${at}: generated of ${r}`);
        if (ds.isMember(r)) {
          sumC += c;
          // A member decodes: one token left to compute.
          check(a.prompt[r] + a.generated[r] - c === 1, `${at}: member ${r} not decoding`);
        } else {
          check(b.blocks[r] === a.blocks[r], `${at}: blocks of ${r}`);
        }
      }
      check(ds.sumC[g] === sumC, `${at}: context sum`);
      // Blocks held by the running requests (members: ceil(context / block size) each).
      let held = 0;
      for (const r of list) held += a.blocks[r];
      check(b.totalBlocks - b.freeBlocks[g] - b.pendingBlocks(g) === held, `${at}: blocks held`);
    }
  }
  expect(errors).toEqual([]);
  expect(ev.counters()).toEqual(plain.counters());
  return { steps, aggregated: ds.aggregatedSteps, fallbacks: ds.fallbacks, maxHoles };
}

describe('decode sets against the per-request core, step by step', () => {
  it('saturated, ample KV: nearly every rank step goes through the aggregates', () => {
    const sc = makeScenario({ dp: 4, maxNumSeqs: 32, workload: { rate: 60, requests: 400, seed: 3 } });
    const r = lockstep(sc);
    expect(r.fallbacks).toBe(0);
    expect(r.aggregated).toBeGreaterThan(0.9 * r.steps * sc.dp);
    expect(r.maxHoles).toBeGreaterThan(0);
  });

  it('KV pressure and timeouts: fallbacks, rebuilds, identical state', () => {
    const sc = makeScenario({ dp: 2, maxNumSeqs: 64, kvCapacity: 16 * 500, timeoutS: 20, asyncScheduling: 'off', workload: { rate: 30, requests: 400, seed: 4 } });
    const r = lockstep(sc);
    expect(r.fallbacks).toBeGreaterThan(5);
    expect(r.aggregated).toBeGreaterThan(r.steps / 2);
  });

  it('async scheduling: held frees and hidden requests', () => {
    const sc = makeScenario({ dp: 3, maxNumSeqs: 16, asyncScheduling: 'on', maxBatchedTokens: 512, workload: { rate: 40, requests: 300, seed: 5 } });
    const r = lockstep(sc);
    expect(r.aggregated).toBeGreaterThan(r.steps);
  });
});
