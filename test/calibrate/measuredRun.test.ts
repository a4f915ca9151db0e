// The readers of `calibrate --from-run`: an engine-side per-request log (+ meta.json), vllm bench
// serve's detailed JSON (with and without start_times), and bad input as one-line errors.
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readMeasuredRun } from '../../src/calibrate/measuredRun.ts';
import { vllmBenchSchedule } from '../../src/loadgen/arrivals.ts';
import { InputError } from '../../src/errors.ts';
import { scenarioForRun } from '../../src/calibrate/fromRun.ts';

const FIX = fileURLToPath(new URL('./fixtures/', import.meta.url));
const close = (a: ArrayLike<number>, b: number[], eps = 1e-3) => {
  expect(a.length).toBe(b.length);
  b.forEach((v, i) => expect(Math.abs(a[i] - v), `entry ${i}: ${a[i]} vs ${v}`).toBeLessThanOrEqual(eps));
};

describe('engine-side per-request log', () => {
  it('reads requests.jsonl in arrival order, engine-anchored, with meta.json', () => {
    const r = readMeasuredRun(join(FIX, 'engine-log', 'requests.jsonl'));
    expect(r.source).toBe('engine-log');
    expect(r.anchor).toBe('engine');
    // bench-0 (t=1000.0), bench-1 (1000.25), bench-2 (1000.5, never scheduled)
    close(r.arrivalUs, [0, 250_000, 500_000]);
    expect([...r.prompt]).toEqual([100, 120, 80]);
    expect([...r.output]).toEqual([3, 5, 4]);
    expect([...r.ok]).toEqual([1, 1, 0]);
    // TTFT = first - queued; E2E = last - queued; queue = scheduled - queued; prefill = first - scheduled.
    close(r.ttftUs, [20_200, 20_200, -1]);
    close(r.e2eUs, [40_200, 60_200, -1]);
    close(r.queueUs!, [200, 200, -1]);
    close(r.prefillUs!, [20_000, 20_000, -1]);
    expect(r).toMatchObject({ dp: 2, modelName: 'org/Example-8B', maxNumSeqs: 128, maxBatchedTokens: 2048, maxModelLen: 32768, kvBlocks: 2588, blockSize: 16, asyncScheduling: true });
  });

  it("gives the replay the run's deployment: DP, limits, KV capacity, async scheduling", () => {
    const r = readMeasuredRun(join(FIX, 'engine-log', 'requests.jsonl'));
    const sc = scenarioForRun(r, { model: 'qwen3-30b-a3b-h100' });
    expect(sc).toMatchObject({ dp: 2, maxNumSeqs: 128, maxBatchedTokens: 2048, kvCapacity: 2588 * 16, blockSize: 16, maxModelLen: 32768, asyncScheduling: 'on' });
    // Overrides win; a DP size that contradicts the record, or no model at all, is refused.
    expect(scenarioForRun(r, { model: 'qwen3-30b-a3b-h100', maxNumSeqs: 64, asyncScheduling: 'off' })).toMatchObject({ maxNumSeqs: 64, asyncScheduling: 'off' });
    expect(() => scenarioForRun(r, { model: 'qwen3-30b-a3b-h100', dp: 4 })).toThrow(/^dp: .*records DP 2/);
    expect(() => scenarioForRun(r)).toThrow(/^model: .*does not record a step model \(it served org\/Example-8B\); pass --model/);
  });

  it('takes the folder too, and says when meta.json is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'engine-log-'));
    cpSync(join(FIX, 'engine-log', 'requests.jsonl'), join(dir, 'requests.jsonl'));
    const r = readMeasuredRun(dir);
    expect(r.dp).toBeUndefined();
    expect(r.notes.join(' ')).toMatch(/no meta\.json/);
    expect(readMeasuredRun(join(FIX, 'engine-log')).dp).toBe(2);
  });
});

describe('vllm bench serve --save-detailed JSON', () => {
  it('orders by start_times, marks failures, E2E = ttft + sum(itls)', () => {
    const r = readMeasuredRun(join(FIX, 'vllm-bench-detailed.json'));
    expect(r.source).toBe('vllm-bench');
    expect(r.anchor).toBe('client');
    // start_times 10.5, 10.0, 10.75 -> order 1, 0, 2
    close(r.arrivalUs, [0, 500_000, 750_000]);
    expect([...r.prompt]).toEqual([50, 100, 70]);
    expect([...r.ok]).toEqual([0, 1, 1]);
    close(r.ttftUs, [-1, 20_000, 50_000]);
    close(r.e2eUs, [-1, 42_000, 110_000]);
    expect(r.modelName).toBe('org/Example-8B');
    expect(r.notes.join(' ')).toMatch(/ttft \+ sum of itls/);
  });

  it("rebuilds send times from request_rate, burstiness and seed (vllm bench's generator) and says so", () => {
    const r = readMeasuredRun(join(FIX, 'vllm-bench-no-start.json'));
    const s = vllmBenchSchedule(4, 2, 1, 0);
    close(r.arrivalUs, [...s].map((t) => (t - s[0]) * 1e6));
    expect(r.notes.join(' ')).toMatch(/send times rebuilt from request_rate 2, burstiness 1, seed 0/);
    const r7 = readMeasuredRun(join(FIX, 'vllm-bench-no-start.json'), 'from_run', { seed: 7 });
    const s7 = vllmBenchSchedule(4, 2, 1, 7);
    close(r7.arrivalUs, [...s7].map((t) => (t - s7[0]) * 1e6));
    close(r.e2eUs, [150_000, 150_000, 150_000, 150_000]);
  });
});

describe('bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'measured-bad-'));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const err = (p: string) => {
    try {
      readMeasuredRun(p);
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      const m = (e as Error).message;
      expect(m.split('\n')).toHaveLength(1);
      return m;
    }
    throw new Error('no error');
  };
  it('is one line naming the field and value', () => {
    expect(err(join(dir, 'missing.json'))).toMatch(/^from_run: cannot read \(ENOENT\) \(got ".*missing\.json"\)$/);
    expect(err(file('a.csv', 'a,b\n1,2\n'))).toMatch(/^from_run: unknown format .*a\.csv/);
    expect(err(file('b.json', '{"duration": 1}'))).toMatch(/without ttfts\/input_lens/);
    expect(err(file('c.json', '{"input_lens": [1, 2], "output_lens": [1], "ttfts": [0.1, 0.1]}'))).toMatch(/^from_run\.output_lens: .*must have one entry per request/);
    expect(err(file('d.jsonl', '{"request_id": "x", "input_toks": 10, "output_toks": 2, "queued_ts": 1}\n'))).toMatch(/^from_run\.arrival_time: .*line 1 .*needed/);
    expect(err(file('e.jsonl', '{"request_id": "x", "input_toks": 10, "output_toks": 2, "arrival_time": 1, "queued_ts": 1}\nnot json\n'))).toMatch(/line 2 is not JSON/);
    expect(err(file('f.jsonl', '{"request_id": "x", "input_toks": 0, "output_toks": 2, "arrival_time": 1, "queued_ts": 1}\n'))).toMatch(/^from_run\.input_toks: .*whole number >= 1 \(got 0\)/);
    expect(err(dir)).toMatch(/folder without requests\.jsonl/);
  });
});
