// The emulator on the real engine core: the acceptance stream, per-engine metrics, rank pinning,
// the disconnect abort and the offline-replay equivalence of token times.
import { afterEach, describe, expect, it } from 'vitest';
import { scenarioFromFlat } from '../../src/config/expand.ts';
import type { Scenario } from '../../src/config/scenario.ts';
import { EngineCore } from '../../src/engine/core/index.ts';
import { resolveStepModel } from '../../src/model/presets.ts';
import { emulatorFromScenario, type ServeOptions } from '../../src/serve/emulate/fromScenario.ts';
import { RealTimeDriver } from '../../src/serve/emulate/driver.ts';
import { WorkerDriver } from '../../src/serve/emulate/workerDriver.ts';
import type { Emulator } from '../../src/serve/emulate/server.ts';
import { DEFAULT_MAX_BODY_BYTES } from '../../src/serve/emulate/server.ts';
import { estimateCounter } from '../../src/serve/openai/promptTokens.ts';
import { getWorkload } from '../../src/workload/build.ts';
import { postJson, postStream, sample } from './emulateHelpers.ts';

const MODEL = 'qwen3-30b-a3b-h100';
let running: Emulator[] = [];
afterEach(async () => {
  await Promise.all(running.map((e) => e.stop()));
  running = [];
});

async function start(entry: Record<string, unknown>, o: Partial<ServeOptions> = {}) {
  const sc = scenarioFromFlat({ dp: 2, ...entry });
  const emu = emulatorFromScenario(sc, {
    speed: 1,
    lb: 'internal',
    host: '127.0.0.1',
    port: 0,
    servedModelName: MODEL,
    tokens: estimateCounter,
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    ...o,
  });
  running.push(emu);
  const ports = await emu.start();
  return { emu, sc, ports, base: `http://127.0.0.1:${ports[0]}` };
}

const metrics = async (base: string) => (await fetch(`${base}/metrics`)).text();
const labels = (engine: number) => ({ model_name: MODEL, engine: String(engine) });
const until = async (cond: () => Promise<boolean> | boolean, ms = 5000) => {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('emulate on the engine core', () => {
  it('acceptance: 20 token chunks, a usage chunk with 20/3 tokens, then [DONE]', async () => {
    const { base } = await start({});
    const r = await postStream(`${base}/v1/completions`, {
      model: MODEL,
      prompt: [1, 2, 3],
      max_tokens: 20,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    });
    const ev = r.events as { choices: unknown[]; usage: Record<string, number> | null }[];
    expect(ev.filter((e) => e.choices.length === 1)).toHaveLength(20);
    expect(ev).toHaveLength(21);
    expect(ev[20].choices).toEqual([]);
    expect(ev[20].usage).toMatchObject({ completion_tokens: 20, prompt_tokens: 3, total_tokens: 23 });
    expect(r.done).toBe(true);
  });

  it('/metrics carries both engines; X-data-parallel-rank: 1 moves the request to engine 1', async () => {
    const { base, emu } = await start({}, { speed: 5 });
    const m0 = await metrics(base);
    for (const g of [0, 1]) {
      expect(sample(m0, 'vllm:num_requests_running', labels(g))).toBe(0);
      expect(sample(m0, 'vllm:num_requests_waiting', labels(g))).toBe(0);
      expect(sample(m0, 'vllm:kv_cache_usage_perc', labels(g))).toBe(0);
      expect(sample(m0, 'vllm:num_preemptions_total', labels(g))).toBe(0);
    }
    expect(m0).toMatch(/vllm:cache_config_info\{[^}]*block_size="16"[^}]*\} 1/);
    expect(m0).toContain('vllm:time_to_first_token_seconds_bucket{le="0.001",model_name="qwen3-30b-a3b-h100",engine="1"} 0');
    expect(m0).toContain('vllm:e2e_request_latency_seconds_bucket{le="7680",model_name="qwen3-30b-a3b-h100",engine="0"} 0');

    // A long request pinned to rank 1: while it runs, engine 1 counts it and engine 0 does not.
    const body = { model: MODEL, prompt: [5, 6, 7, 8], max_tokens: 300, ignore_eos: true, stream: true };
    const stream = postStream(`${base}/v1/completions`, body, { 'X-data-parallel-rank': '1' });
    await until(() => emu.driver.rankStats(1).running === 1);
    const m1 = await metrics(base);
    expect(sample(m1, 'vllm:num_requests_running', labels(1))).toBe(1);
    expect(sample(m1, 'vllm:num_requests_running', labels(0))).toBe(0);
    expect(sample(m1, 'vllm:kv_cache_usage_perc', labels(1))).toBeGreaterThan(0);
    expect(sample(m1, 'vllm:kv_cache_usage_perc', labels(0))).toBe(0);
    const r = await stream;
    expect(r.events).toHaveLength(300);
    const m2 = await metrics(base);
    expect(sample(m2, 'vllm:generation_tokens_total', labels(1))).toBe(300);
    expect(sample(m2, 'vllm:generation_tokens_total', labels(0))).toBe(0);
    expect(sample(m2, 'vllm:prompt_tokens_total', labels(1))).toBe(4);
    expect(sample(m2, 'vllm:time_to_first_token_seconds_count', labels(1))).toBe(1);
    expect(sample(m2, 'vllm:inter_token_latency_seconds_count', labels(1))).toBe(299);
    expect(sample(m2, 'vllm:e2e_request_latency_seconds_count', labels(1))).toBe(1);
    expect(sample(m2, 'vllm:request_queue_time_seconds_count', labels(1))).toBe(1);
    // vLLM's split at scheduled_ts (docs/model.md §8): queue = scheduled - queued, prefill = first
    // token - scheduled; together the engine-anchored TTFT, never more than the TTFT from arrival.
    expect(sample(m2, 'vllm:request_prefill_time_seconds_count', labels(1))).toBe(1);
    const queueSum = sample(m2, 'vllm:request_queue_time_seconds_sum', labels(1))!;
    const prefillSum = sample(m2, 'vllm:request_prefill_time_seconds_sum', labels(1))!;
    expect(prefillSum).toBeGreaterThan(0);
    expect(queueSum + prefillSum).toBeLessThanOrEqual(sample(m2, 'vllm:time_to_first_token_seconds_sum', labels(1))! + 1e-9);
    expect(sample(m2, 'vllm:request_success_total', { ...labels(1), finished_reason: 'length' })).toBe(1);
    expect(sample(m2, 'vllm:num_requests_running', labels(1))).toBe(0);
  });

  it('external LB: one port per rank, each exporting only its own engine and pinning to it', async () => {
    const { ports } = await start({}, { lb: 'external' });
    expect(ports).toHaveLength(2);
    const r = await postJson(`http://127.0.0.1:${ports[1]}/v1/completions`, { prompt: [1, 2], max_tokens: 3, ignore_eos: true });
    expect(r.status).toBe(200);
    const m1 = await metrics(`http://127.0.0.1:${ports[1]}`);
    const m0 = await metrics(`http://127.0.0.1:${ports[0]}`);
    expect(sample(m1, 'vllm:generation_tokens_total', labels(1))).toBe(3);
    expect(m1).not.toContain('engine="0"');
    expect(m0).not.toContain('engine="1"');
    expect(sample(m0, 'vllm:generation_tokens_total', labels(0))).toBe(0);
  });

  it('a client that disconnects mid-stream aborts its request and its KV is freed', async () => {
    const { base, emu } = await start({});
    const ac = new AbortController();
    const res = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-data-parallel-rank': '0' },
      body: JSON.stringify({ prompt: Array.from({ length: 500 }, (_, i) => i), max_tokens: 5000, ignore_eos: true, stream: true }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    let seen = 0;
    while (seen < 3) {
      const { value } = await reader.read();
      seen += (new TextDecoder().decode(value).match(/"choices":\[\{/g) ?? []).length;
    }
    expect(emu.driver.rankStats(0).kvBlocksUsed).toBeGreaterThan(0);
    ac.abort();
    await until(() => emu.driver.rankStats(0).running === 0);
    const s = emu.driver.rankStats(0);
    expect(s.kvBlocksUsed).toBe(0);
    expect(s.waiting).toBe(0);
    const m = await metrics(base);
    expect(sample(m, 'vllm:request_success_total', { ...labels(0), finished_reason: 'abort' })).toBe(1);
    expect(sample(m, 'vllm:kv_cache_usage_perc', labels(0))).toBe(0);
    // Still serving.
    const ok = await postJson(`${base}/v1/completions`, { prompt: [1], max_tokens: 2, ignore_eos: true });
    expect(ok.status).toBe(200);
  });

  it('a graceful stop ends in-flight streams with an error event and [DONE]', async () => {
    const { base, emu } = await start({});
    const stream = postStream(`${base}/v1/completions`, { prompt: [1, 2], max_tokens: 5000, ignore_eos: true, stream: true });
    await until(() => emu.driver.rankStats(0).running + emu.driver.rankStats(1).running === 1);
    await emu.stop();
    const r = await stream;
    expect(r.done).toBe(true);
    const last = r.events[r.events.length - 1] as { error: { code: number; type: string } };
    expect(last.error).toMatchObject({ code: 503, type: 'ServiceUnavailableError' });
    expect(r.events.length).toBeLessThan(5000);
  });

  it.each(['worker', 'main'] as const)('offline replay of the recorded arrivals gives the same per-request token times (engine thread: %s)', async (engineThread) => {
    await replayCase({ dp: 4, router: 'vllm_default', seed: 7, max_num_seqs: 8, kv_capacity: 1600 }, engineThread);
  });

  it('the engine worker reports step timing and emission lag, and its gauges follow the core', async () => {
    const { base, emu } = await start({}, { speed: 4 });
    expect(emu.driver.steps).toBe(0);
    const r = await postStream(`${base}/v1/completions`, { prompt: [1, 2, 3, 4], max_tokens: 6, ignore_eos: true, stream: true });
    expect(r.done).toBe(true);
    await until(() => emu.driver.rankStats(0).generationTokens + emu.driver.rankStats(1).generationTokens === 6);
    expect(emu.driver.rankStats(0).promptTokens + emu.driver.rankStats(1).promptTokens).toBe(4);
    expect(emu.driver.steps).toBeGreaterThanOrEqual(6);
    const lags = emu.driver.emissionLags();
    expect(lags.length).toBeGreaterThanOrEqual(6);
    for (const l of lags) expect(l).toBeGreaterThanOrEqual(0);
    await emu.stop();
    const errs = emu.driver.timingErrors();
    expect(errs.length).toBe(emu.driver.steps);
    for (const e of errs) expect(e).toBeGreaterThanOrEqual(0); // a step never ends before its modelled time
  });

  it('an engine worker that cannot start rejects ready(), reports once, and refuses requests', async () => {
    const sc = { ...scenarioFromFlat({ dp: 2 }), model: 'no-such-preset' };
    const fatal: Error[] = [];
    const d = new WorkerDriver(2, { scenario: sc, speed: 1, sync: 'barrier', onFatal: (e) => fatal.push(e) });
    await expect(d.ready()).rejects.toThrow(/engine worker: .*no-such-preset/);
    expect(fatal).toHaveLength(1);
    expect(() => d.submit({ promptTokens: 3, outputTokens: 2 }, { onToken() {}, onFinish() {} })).toThrow(/engine worker/);
    await d.stop();
  });

  it.each(['barrier', 'independent'])('requests submitted in one tick replay exactly (sync: %s)', async (sync) => {
    const { sc, d, sink, finished, live } = directDriver({ dp: 3, sync, seed: 5 }, 9);
    for (let burst = 0; burst < 3; burst++) {
      // Three requests in the same tick, some in the same microsecond, some a few apart.
      for (let k = 0; k < 3; k++) d.submit({ promptTokens: 40 + 60 * k, outputTokens: 5 + 7 * k, rank: k === 2 ? 1 : undefined }, sink);
      await new Promise((r) => setTimeout(r, 3));
    }
    await finished;
    d.stop();
    const offline = replay(sc, d.arrivals!);
    for (const a of d.arrivals!) expect(live.get(a.id), `request ${a.id}`).toEqual(offline.get(a.id));
  });

  it.each(['barrier', 'independent'])('an arrival stamped before a boundary the driver already acted on joins the next one (sync: %s)', async (sync) => {
    // What the engine worker sees when a request stamped on the HTTP thread reaches it late.
    const { sc, d, sink, finished, live } = directDriver({ dp: 2, sync, seed: 9 }, 6);
    d.submit({ promptTokens: 300, outputTokens: 30 }, sink);
    await new Promise((r) => setTimeout(r, 20));
    // Stamped far in the past (before steps the driver has run), and at the very last arrival.
    const past = d.arrivals![0].arrivalUs;
    for (let k = 0; k < 5; k++) d.submit({ promptTokens: 50 + 10 * k, outputTokens: 8 }, sink, k < 3 ? past : d.engineNow());
    await finished;
    d.stop();
    const arr = d.arrivals!;
    expect(d.steps).toBeGreaterThan(1);
    for (let i = 1; i < arr.length; i++) expect(arr[i].arrivalUs).toBeGreaterThan(past);
    const offline = replay(sc, arr);
    for (const a of arr) expect(live.get(a.id), `request ${a.id}`).toEqual(offline.get(a.id));
  });

  it.each(['worker', 'main'] as const)('offline replay matches in sync: independent too (engine thread: %s)', async (engineThread) => {
    await replayCase({ dp: 4, router: 'jsq_load', seed: 3, max_num_seqs: 8, kv_capacity: 1600, sync: 'independent' }, engineThread);
  });
});

/**
 * Send 40 streaming requests in bursts to an emulator of `entry` (--speed 2: engine times are
 * exact whatever the speed): concurrent arrivals, queueing (max_num_seqs 8), preemption (the
 * first 8 pinned to rank 3 with long outputs outgrow its KV), drawn lengths on some. Then replay
 * the recorded arrivals through the offline engine core and compare every token time.
 */
async function replayCase(entry: Record<string, unknown>, engineThread: 'worker' | 'main') {
  const live = new Map<number, number[]>();
  const { base, sc, emu } = await start(entry, {
    engineThread,
    speed: 2,
    record: true,
    observers: { onToken: (id, _e, t) => (live.get(id) ?? live.set(id, []).get(id)!).push(t) },
  });
  const reqs: Promise<unknown>[] = [];
  for (let i = 0; i < 40; i++) {
    const pinned = i < 8;
    const prompt = Array.from({ length: pinned ? 250 : 20 + ((i * 37) % 300) }, (_, j) => j);
    const headers: Record<string, string> = pinned ? { 'X-data-parallel-rank': '3' } : {};
    const body = { prompt, max_tokens: pinned ? 150 : 10 + ((i * 13) % 90), ignore_eos: pinned || i % 2 === 0, stream: true };
    reqs.push(postStream(`${base}/v1/completions`, body, headers));
    if (i % 8 === 7) await new Promise((r) => setTimeout(r, 30));
  }
  await Promise.all(reqs);
  const arrivals = emu.driver.arrivals!;
  expect(arrivals).toHaveLength(40);
  let preemptions = 0;
  for (let g = 0; g < sc.dp; g++) preemptions += emu.driver.rankStats(g).preemptions;
  expect(preemptions).toBeGreaterThan(0);
  const offline = replay(sc, arrivals);
  expect(offline.size).toBe(40);
  for (const a of arrivals) {
    expect(live.get(a.id), `request ${a.id}`).toEqual(offline.get(a.id));
    expect(live.get(a.id)).toHaveLength(a.outputTokens);
  }
}

/**
 * A RealTimeDriver on the engine core of `entry` (--speed 5, recording), with the token times it
 * reports by id, one sink for all requests, and a promise that resolves after `n` finishes.
 */
function directDriver(entry: Record<string, unknown>, n: number) {
  const sc = scenarioFromFlat(entry);
  const model = resolveStepModel(sc.model);
  const live = new Map<number, number[]>();
  let left = n;
  let allDone!: () => void;
  const finished = new Promise<void>((r) => (allDone = r));
  const d = new RealTimeDriver((ev) => new EngineCore(sc, model, ev, { outputSurvival: getWorkload(sc.workload).outputSurvival }), {
    speed: 5,
    sync: sc.sync ?? 'barrier',
    record: true,
    observers: { onToken: (id, _e, t) => (live.get(id) ?? live.set(id, []).get(id)!).push(t) },
  });
  const sink = { onToken: () => undefined, onFinish: () => --left === 0 && allDone() };
  return { sc, d, sink, finished, live };
}

/** Run the recorded arrivals through the offline engine core, step by step; token times by id. */
function replay(sc: Scenario, arrivals: { arrivalUs: number; promptTokens: number; outputTokens: number; rank: number | undefined }[]) {
  const times = new Map<number, number[]>();
  const core = new EngineCore(
    sc,
    resolveStepModel(sc.model),
    { onToken: (id, _e, t) => (times.get(id) ?? times.set(id, []).get(id)!).push(t) },
    { outputSurvival: getWorkload(sc.workload).outputSurvival },
  );
  for (const a of arrivals) core.submit({ promptTokens: a.promptTokens, outputTokens: a.outputTokens, arrivalUs: a.arrivalUs, rank: a.rank });
  let now = arrivals[0].arrivalUs;
  if (core.independent) {
    // The offline engine's event loop for sync: independent (src/engine/cpu/simulate.ts).
    const end = new Float64Array(core.G).fill(-1);
    while (!core.done()) {
      for (let g = 0; g < core.G; g++) {
        if (end[g] === now) {
          core.endRankStep(g, now);
          end[g] = -1;
        }
      }
      core.process(now);
      for (let g = 0; g < core.G; g++) {
        if (end[g] < 0) {
          const d = core.beginRankStep(g, now);
          if (d > 0) end[g] = now + d;
        }
      }
      let next = Infinity;
      for (let g = 0; g < core.G; g++) if (end[g] >= 0 && end[g] < next) next = end[g];
      const a = core.nextArrivalUs();
      if (a >= 0 && a < next) next = a;
      if (next === Infinity) break;
      now = Math.max(now, next);
    }
    return times;
  }
  while (!core.done()) {
    const d = core.beginStep(now);
    if (d === 0) {
      now = Math.max(now, core.nextArrivalUs());
      continue;
    }
    now += d;
    core.endStep(now);
  }
  return times;
}
