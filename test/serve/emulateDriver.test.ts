// The real-time driver: engine-clock token times, barrier and independent stepping, aborts at
// step boundaries (against the stand-in core; the real core is covered in emulate.test.ts).
import { describe, expect, it } from 'vitest';
import { RealTimeDriver } from '../../src/serve/emulate/driver.ts';
import { FakeCore } from './fakeCore.ts';

function collect() {
  const tokens: number[] = [];
  let outcome = '';
  let end = -1;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return {
    tokens,
    done,
    get outcome() {
      return outcome;
    },
    get end() {
      return end;
    },
    sink: {
      onToken: (_e: number, t: number) => tokens.push(t),
      onFinish: (o: string, t: number) => {
        outcome = o;
        end = t;
        resolve();
      },
    },
  };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('RealTimeDriver', () => {
  it('barrier: every token lands on a step boundary of the engine clock, step after step', async () => {
    let core!: FakeCore;
    const d = new RealTimeDriver((ev) => (core = new FakeCore(2, ev, 3000)), { speed: 2, sync: 'barrier' });
    const a = collect();
    const b = collect();
    d.submit({ promptTokens: 10, outputTokens: 5 }, a.sink);
    d.submit({ promptTokens: 10, outputTokens: 3 }, b.sink);
    await Promise.all([a.done, b.done]);
    d.stop();
    const t0 = core.reqs[0].arrivalUs;
    // Both arrived before the first step began (it starts at the first arrival, the second joins
    // at the next boundary unless it arrived in the same microsecond).
    expect(a.tokens).toEqual([1, 2, 3, 4, 5].map((k) => t0 + 3000 * k));
    const t1 = b.tokens[0];
    expect((t1 - t0) % 3000).toBe(0);
    expect(b.tokens).toEqual([t1, t1 + 3000, t1 + 6000]);
    expect(d.steps).toBe(Math.max(5, (t1 - t0) / 3000 + 2));
    expect(d.timingErrors()).toHaveLength(d.steps);
  });

  it('independent: each rank steps on its own clock', async () => {
    let core!: FakeCore;
    const d = new RealTimeDriver((ev) => (core = new FakeCore(2, ev, 2000)), { speed: 4, sync: 'independent' });
    const a = collect();
    const b = collect();
    d.submit({ promptTokens: 4, outputTokens: 4, rank: 0 }, a.sink);
    d.submit({ promptTokens: 4, outputTokens: 4, rank: 1 }, b.sink);
    await Promise.all([a.done, b.done]);
    d.stop();
    const diffs = (ts: number[]) => ts.slice(1).map((t, i) => t - ts[i]);
    expect(diffs(a.tokens)).toEqual([2000, 2000, 2000]);
    expect(diffs(b.tokens)).toEqual([4000, 4000, 4000]);
    expect(core.reqs.map((r) => r.rank)).toEqual([0, 1]);
  });

  it('an abort during a step is applied at the next boundary', async () => {
    let core!: FakeCore;
    const d = new RealTimeDriver((ev) => (core = new FakeCore(1, ev, 2000)), { speed: 1, sync: 'barrier' });
    const a = collect();
    let id = -1;
    const firstToken = new Promise<void>((resolve) => {
      id = d.submit({ promptTokens: 32, outputTokens: 1000 }, { onToken: () => resolve(), onFinish: a.sink.onFinish });
    });
    await firstToken;
    d.abort(id);
    // Still running until the step in flight ends, then gone with its KV.
    expect(core.rankStats(0).running).toBe(1);
    await until(() => core.reqs[id].state === 'done');
    expect(core.rankStats(0).running).toBe(0);
    expect(core.rankStats(0).kvBlocksUsed).toBe(0);
    expect(core.reqs[id].state).toBe('done');
    expect(a.outcome).toBe(''); // the sink was dropped at abort: no response is written after it
    d.stop();
  });

  it('independent: an abort waits only for its own rank to end its step', async () => {
    let core!: FakeCore;
    const d = new RealTimeDriver((ev) => (core = new FakeCore(2, ev, 2000)), { speed: 1, sync: 'independent' });
    const busy = collect();
    d.submit({ promptTokens: 16, outputTokens: 10_000, rank: 0 }, busy.sink);
    let id = -1;
    const firstToken = new Promise<void>((resolve) => {
      id = d.submit({ promptTokens: 32, outputTokens: 10_000, rank: 1 }, { onToken: () => resolve(), onFinish: () => undefined });
    });
    await firstToken;
    d.abort(id);
    await until(() => core.reqs[id].state === 'done');
    expect(core.rankStats(1).running).toBe(0);
    expect(core.rankStats(0).running).toBe(1); // rank 0 kept stepping throughout
    d.stop();
  });
});
