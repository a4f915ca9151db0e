// The gateway's view of its ranks: vLLM exposition text -> per-engine stats -> RouterView, the
// in-flight bookkeeping, projections, survival curve, output counting and the decision log.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExpositionError, parseExposition } from '../../src/serve/gateway/exposition.ts';
import { engineStats } from '../../src/serve/gateway/vllmStats.ts';
import { combine } from '../../src/serve/gateway/scraper.ts';
import { buildTopology } from '../../src/serve/gateway/topology.ts';
import { RoutingState } from '../../src/serve/gateway/routingState.ts';
import { SurvivalEstimator, profileSurvival } from '../../src/serve/gateway/survival.ts';
import { OutputCounter } from '../../src/serve/gateway/sseTokens.ts';
import { countPrompt, estimateTokens, loadTokenizer } from '../../src/serve/gateway/promptTokens.ts';
import { DecisionLog, readDecisionLog, type DecisionRow } from '../../src/serve/gateway/decisionLog.ts';
import { resolveRouterParams, routerNames } from '../../src/routers/index.ts';
import { bearerMatches, forwardHeaders, keyDigest } from '../../src/serve/gateway/httpUtil.ts';
import { parseTraceFile } from '../../src/workload/traceReader.ts';
import { InputError } from '../../src/errors.ts';

// Shaped after real vLLM output (v1 PrometheusStatLogger, DP=2, multiprocess API servers add a
// pid label; label order varies between versions): gauges, counters with _created, histograms.
const VLLM_DP2 = `# HELP python_gc_objects_collected_total Objects collected during gc
# TYPE python_gc_objects_collected_total counter
python_gc_objects_collected_total{generation="0"} 12345.0
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="deepseek-v4-flash-w8a8-mtp"} 7.0
vllm:num_requests_running{engine="1",model_name="deepseek-v4-flash-w8a8-mtp"} 3.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="deepseek-v4-flash-w8a8-mtp",engine="0"} 2.0
vllm:num_requests_waiting{model_name="deepseek-v4-flash-w8a8-mtp",engine="1"} 0.0
# HELP vllm:num_requests_waiting_by_reason Number of requests waiting, by reason.
# TYPE vllm:num_requests_waiting_by_reason gauge
vllm:num_requests_waiting_by_reason{engine="0",model_name="m",reason="capacity"} 50.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="deepseek-v4-flash-w8a8-mtp",pid="101"} 0.5
vllm:kv_cache_usage_perc{engine="0",model_name="deepseek-v4-flash-w8a8-mtp",pid="102"} 0.52
vllm:kv_cache_usage_perc{engine="1",model_name="deepseek-v4-flash-w8a8-mtp",pid="101"} 0.25
# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig
# TYPE vllm:cache_config_info gauge
vllm:cache_config_info{block_size="16",cache_dtype="auto",engine="0",gpu_memory_utilization="0.9",num_gpu_blocks="4096",prefix_caching_hash_algo="sha256"} 1.0
vllm:cache_config_info{block_size="16",cache_dtype="auto",engine="1",gpu_memory_utilization="0.9",num_gpu_blocks="4000",prefix_caching_hash_algo="sha256"} 1.0
# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{engine="0",model_name="m"} 18432.0
vllm:prompt_tokens_created{engine="0",model_name="m"} 1.7318e+09
# HELP vllm:inter_token_latency_seconds Histogram of inter-token latency in seconds.
# TYPE vllm:inter_token_latency_seconds histogram
vllm:inter_token_latency_seconds_sum{engine="0",model_name="/home/jovyan/qwen3-8b"} 13.223765562288463
vllm:inter_token_latency_seconds_bucket{engine="0",le="0.01",model_name="/home/jovyan/qwen3-8b"} 229.0
vllm:inter_token_latency_seconds_bucket{engine="0",le="+Inf",model_name="/home/jovyan/qwen3-8b"} 1229.0
vllm:iteration_tokens_total_bucket{engine="1",le="1.0",model_name="m"} 3.0
`;

// vLLM 0.8-era single-engine server: no engine label on some builds, the old KV gauge name.
const VLLM_OLD = `# HELP vllm:num_requests_running Number of requests currently running on GPU.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="llama"} 4.0
vllm:num_requests_waiting{model_name="llama"} 1.0
vllm:gpu_cache_usage_perc{model_name="llama"} 0.125
vllm:num_requests_swapped{model_name="llama"} 0.0
`;

describe('exposition parser', () => {
  it('reads names, labels in any order, escapes, special values and timestamps', () => {
    const s = parseExposition('a{x="1",y="q\\"uote\\\\d\\nn"} 2.5 1700000000000\nb NaN\nc{le="+Inf"} +Inf\r\nd -Inf\n# EOF\n');
    expect(s.map((x) => x.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(s[0].labels).toEqual({ x: '1', y: 'q"uote\\d\nn' });
    expect(s[0].value).toBe(2.5);
    expect(Number.isNaN(s[1].value)).toBe(true);
    expect(s[2].value).toBe(Infinity);
    expect(s[3].value).toBe(-Infinity);
  });
  it('rejects malformed sample lines with the line number', () => {
    expect(() => parseExposition('ok 1\nbad{x="1" 2\n')).toThrow(ExpositionError);
    expect(() => parseExposition('ok 1\nbad{x="1\\')).toThrow(/line 2: unterminated value of label x/);
    expect(() => parseExposition('9bad 1\n')).toThrow(/line 1: bad metric name start/);
    expect(parseExposition('m:x_1{a="",b="\\\\"} 3')[0]).toEqual({ name: 'm:x_1', labels: { a: '', b: '\\' }, value: 3 });
    expect(() => parseExposition('ok 1\nbad{x="1"} two\n')).toThrow(/line 2/);
  });
  it('parses a whole vLLM page', () => {
    expect(parseExposition(VLLM_DP2).length).toBe(17);
  });
});

describe('vLLM stats per engine', () => {
  it('DP=2 page: counts, KV usage (max over pid samples), capacity from cache_config_info', () => {
    const e = engineStats(parseExposition(VLLM_DP2));
    expect(e).toEqual([
      { engine: '0', running: 7, waiting: 2, kvUsage: 0.52, kvCapacityTokens: 4096 * 16 },
      { engine: '1', running: 3, waiting: 0, kvUsage: 0.25, kvCapacityTokens: 4000 * 16 },
    ]);
  });
  it('old metric names and no engine label', () => {
    expect(engineStats(parseExposition(VLLM_OLD))).toEqual([{ engine: '0', running: 4, waiting: 1, kvUsage: 0.125, kvCapacityTokens: NaN }]);
  });
  it('the new KV name wins over the old one when both are exported', () => {
    const e = engineStats(parseExposition('vllm:num_requests_running{engine="0"} 1\nvllm:gpu_cache_usage_perc{engine="0"} 0.9\nvllm:kv_cache_usage_perc{engine="0"} 0.3\n'));
    expect(e[0].kvUsage).toBe(0.3);
  });
  it('orders engines numerically, not as strings', () => {
    const text = [10, 2, 1].map((g) => `vllm:num_requests_running{engine="${g}"} ${g}`).join('\n');
    expect(engineStats(parseExposition(text)).map((e) => e.engine)).toEqual(['1', '2', '10']);
  });
  it('combine: one rank fronting several engines adds counts, takes the max KV usage', () => {
    const c = combine(engineStats(parseExposition(VLLM_DP2)))!;
    expect([c.running, c.waiting, c.kvUsage, c.kvCapacityTokens]).toEqual([10, 2, 0.52, 8096 * 16]);
  });
});

describe('topology', () => {
  it('per-rank backends, native DP and hybrid', () => {
    expect(buildTopology(['http://a:1', 'http://a:2'], undefined).ranks.map((r) => [r.backend, r.localRank])).toEqual([[0, -1], [1, -1]]);
    expect(buildTopology(['http://a:1'], [4]).ranks.map((r) => r.localRank)).toEqual([0, 1, 2, 3]);
    const h = buildTopology(['http://n0:8000/', 'http://n1:8000/v1'], [2]);
    expect(h.ranks.map((r) => [r.index, r.backend, r.localRank])).toEqual([[0, 0, 0], [1, 0, 1], [2, 1, 0], [3, 1, 1]]);
    expect(h.backends[1].basePath).toBe('');
  });
  it('bad input names the flag', () => {
    expect(() => buildTopology(['nope'], undefined)).toThrow(/^backend: not a URL/);
    expect(() => buildTopology(['ftp://a'], undefined)).toThrow(/^backend: must be an http/);
    expect(() => buildTopology(['http://a:1', 'http://a:1'], undefined)).toThrow(/listed twice/);
    expect(() => buildTopology(['http://a:1', 'http://b:1', 'http://c:1'], [1, 2])).toThrow(/^dp: /);
    expect(() => buildTopology(['http://a:1'], [0])).toThrow(InputError);
  });
});

function state(router: string, R: number, knobs: Record<string, unknown> = {}): RoutingState {
  const s = new RoutingState(R, router, resolveRouterParams(router, knobs), new SurvivalEstimator({ profile: 'sharegpt', minCompletions: 4, window: 100, rebuildEvery: 1 }), 1, 0);
  for (let r = 0; r < R; r++) s.setHealthy(r, true);
  return s;
}

describe('routing state', () => {
  it('snapshot + bookkeeping feed the router: jsq_load follows the tracked KV load exactly', () => {
    const s = state('jsq_load', 3);
    const a = s.decide(100)!; // all empty -> rank 0
    expect(a.decision.rank).toBe(0);
    const b = s.decide(50)!;
    expect(b.decision.rank).toBe(1);
    const c = s.decide(10)!;
    expect(c.decision.rank).toBe(2);
    // rank 2 has 10 queued, rank 1 has 50: the next goes to 2
    expect(s.decide(1)!.decision.rank).toBe(2);
    expect(Array.from(s.inflight)).toEqual([1, 1, 2]);
    expect(Array.from(s.queuedTracked)).toEqual([100, 50, 11]);
    // streaming moves the prompt into KV and adds tokens
    s.progress(a.flight, 0);
    s.progress(a.flight, 5);
    expect(s.kvTracked[0]).toBe(105);
    expect(s.queuedTracked[0]).toBe(0);
    s.finish(a.flight);
    s.finish(a.flight); // idempotent
    expect([s.kvTracked[0], s.inflight[0]]).toEqual([0, 0]);
    expect(s.decide(1)!.decision.rank).toBe(0);
  });
  it('vllm_default sees scraped waiting/running plus decisions since the scrape', () => {
    const s = state('vllm_default', 2, { rotate: 'no' });
    s.applySnapshot(0, { engine: '0', running: 0, waiting: 0, kvUsage: 0, kvCapacityTokens: NaN }, performance.now());
    s.applySnapshot(1, { engine: '1', running: 3, waiting: 0, kvUsage: 0, kvCapacityTokens: NaN }, performance.now());
    // 4*w + r: rank 0 takes requests until 4*w0 >= 3, i.e. one (score 4 > 3 afterwards)
    const d = [s.decide(1)!, s.decide(1)!, s.decide(1)!];
    expect(d.map((x) => x.decision.rank)).toEqual([0, 1, 0]);
    expect(d[1].decision.waiting[0]).toBe(1);
    expect(d[1].decision.running[1]).toBe(3);
    // a fresh snapshot replaces the local bumps
    s.applySnapshot(0, { engine: '0', running: 0, waiting: 0, kvUsage: 0, kvCapacityTokens: NaN }, performance.now());
    expect(s.sinceSnap[0]).toBe(0);
  });
  it('unhealthy and excluded ranks are left out; none left -> null', () => {
    const s = state('jsq_load', 3);
    s.setHealthy(0, false);
    const d = s.decide(5, 1)!;
    expect(d.decision.rank).toBe(2);
    expect(Number.isNaN(d.decision.load[0]) && Number.isNaN(d.decision.load[1])).toBe(true);
    s.setHealthy(2, false);
    expect(s.decide(5, 1)).toBeNull();
  });
  it('projections for horizon routers follow the engine rule S(a+h)/S(a)', () => {
    const s = state('fast_phi', 2);
    // Observed curve: outputs 2,4,4,8 -> S(a) = P(out > a)
    for (const o of [2, 4, 4, 8]) s.survival.record(o);
    expect(s.survival.source).toBe('observed');
    const surv = s.survival.curve;
    expect(Array.from(surv.slice(0, 9))).toEqual([1, 1, 0.75, 0.75, 0.25, 0.25, 0.25, 0.25, 0]);
    const f = s.decide(10)!.flight; // rank 0
    s.progress(f, 3); // age 3, load 13
    // the next decision projects rank 0; check its arithmetic directly
    s.decide(1);
    const steps = Array.from((s as unknown as { horizon: Float64Array }).horizon);
    const v = (s as unknown as { v: { projMean: Float64Array; projVar: Float64Array } }).v;
    expect(steps.length).toBeGreaterThan(0);
    steps.forEach((h, j) => {
      const q = (3 + h < surv.length ? surv[Math.floor(3 + h)] : 0) / surv[3];
      expect(v.projMean[j * 2 + 0]).toBeCloseTo(q * (13 + h), 12);
      expect(v.projVar[j * 2 + 0]).toBeCloseTo(q * (1 - q) * (13 + h) ** 2, 12);
    });
  });
  it('brh reads binary-cutoff projections from the shared projector; oracle/noisy predictors are refused live', () => {
    const s = state('brh', 2, { predictor: 'none', H: 3 });
    const f = s.decide(10)!.flight; // rank 0
    s.progress(f, 0);
    s.progress(f, 4); // age 4, load 14
    s.decide(1);
    const v = (s as unknown as { v: { projCut: Float64Array } }).v;
    // predictor none: the request counts at every horizon point h with load 14 + h
    expect(Array.from(v.projCut.slice(0, 8)).filter((_, i) => i % 2 === 0)).toEqual([14, 15, 16, 17]);
    expect(() => state('brh', 2, { predictor: 'oracle' })).toThrow(/router\.predictor: .*live gateway/);
    expect(() => state('brh', 2, { predictor: 'noisy' })).toThrow(InputError);
  });
  it('every router runs on the gateway view', () => {
    for (const r of routerNames()) {
      const s = state(r, 4);
      for (let i = 0; i < 20; i++) {
        const d = s.decide(10 + i)!;
        expect(d.decision.rank).toBeGreaterThanOrEqual(0);
        expect(d.decision.rank).toBeLessThan(4);
        s.progress(d.flight, 1);
      }
      expect(Array.from(s.inflight).reduce((a, b) => a + b)).toBe(20);
    }
  });
});

describe('survival estimator', () => {
  it('bootstraps from the profile, switches to observed after minCompletions, ignores failures', () => {
    const e = new SurvivalEstimator({ profile: 'azure_code', minCompletions: 3, window: 2, rebuildEvery: 1 });
    expect(e.curve).toEqual(profileSurvival('azure_code'));
    expect(e.source).toBe('profile:azure_code');
    e.record(0);
    e.record(5);
    e.record(5);
    expect(e.source).toBe('profile:azure_code');
    e.record(3); // window of 2 keeps the last two: 3 and 5 (ring)
    expect(e.source).toBe('observed');
    expect(Array.from(e.curve)).toEqual([1, 1, 1, 0.5, 0.5, 0]);
  });
});

describe('output token counting', () => {
  const ev = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
  it('SSE: one token per choices event, usage replaces the estimate, split chunks are fine', () => {
    const c = new OutputCounter(true);
    const body =
      ev({ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] }) +
      ev({ choices: [{ index: 0, delta: { content: 'a' } }], usage: null }) +
      ev({ choices: [{ index: 0, delta: { content: 'b' } }], usage: null }) +
      ev({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 } }) +
      'data: [DONE]\n\n';
    const buf = Buffer.from(body);
    let added = 0;
    for (let i = 0; i < buf.length; i += 13) added += c.push(buf.subarray(i, i + 13));
    expect([c.tokens, c.exact, c.promptTokens, added]).toEqual([7, true, 9, 7]);
  });
  it('SSE without usage counts events; an error event is flagged', () => {
    const c = new OutputCounter(true);
    c.push(Buffer.from(ev({ choices: [{ text: 'x' }] }) + ev({ choices: [{ text: 'y' }] }) + ev({ error: { message: 'boom' } }) + 'data: [DONE]\n\n'));
    expect([c.tokens, c.exact, c.errorEvent]).toEqual([2, false, true]);
  });
  it('JSON: usage at the end', () => {
    const c = new OutputCounter(false);
    c.push(Buffer.from('{"choices":[{"text":"x"}],"usage":{"prompt_tokens":3,'));
    c.push(Buffer.from('"completion_tokens":11,"total_tokens":14}}'));
    expect(c.end()).toBe(11);
  });
});

describe('prompt tokens', () => {
  it('token ids are exact; text is estimated at 4 chars/token; chat adds template tokens', () => {
    expect(countPrompt({ prompt: [1, 2, 3] }, false, estimateTokens, false)).toEqual({ tokens: 3, exact: true });
    expect(countPrompt({ prompt: [[1, 2], [3]] }, false, estimateTokens, false)).toEqual({ tokens: 3, exact: true });
    expect(countPrompt({ prompt: 'abcdefghi' }, false, estimateTokens, false)).toEqual({ tokens: 3, exact: false });
    expect(countPrompt({ messages: [{ role: 'user', content: 'abcd' }, { role: 'user', content: [{ type: 'text', text: 'abcdefgh' }] }] }, true, estimateTokens, false)).toEqual({ tokens: 3 + 4 + 1 + 4 + 2, exact: false });
    expect(countPrompt({}, false, estimateTokens, false)).toEqual({ tokens: 1, exact: false });
  });
  it('--tokenizer: a Hugging Face tokenizer.json counts text exactly; a bad file is an InputError', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gwtok-'));
    try {
      const p = join(dir, 'tokenizer.json');
      // A minimal word-level tokenizer: whitespace split, unknown words -> [UNK].
      writeFileSync(p, JSON.stringify({ version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null, pre_tokenizer: { type: 'Whitespace' }, post_processor: null, decoder: null, model: { type: 'WordLevel', vocab: { hello: 0, world: 1, '[UNK]': 2 }, unk_token: '[UNK]' } }));
      const tok = loadTokenizer(p);
      expect(countPrompt({ prompt: 'hello world and more words' }, false, tok, true)).toEqual({ tokens: 5, exact: true });
      expect(countPrompt({ prompt: [1, 2] }, false, tok, true)).toEqual({ tokens: 2, exact: true });
      writeFileSync(p, '{not json');
      expect(() => loadTokenizer(p)).toThrow(InputError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('headers and auth helpers', () => {
  it('drops hop-by-hop headers and those named by Connection', () => {
    const h = forwardHeaders({ connection: 'keep-alive, x-secret-hop', 'keep-alive': 'timeout=5', 'x-secret-hop': '1', te: 'trailers', 'transfer-encoding': 'chunked', upgrade: 'h2c', 'x-keep': 'yes', host: 'h' }, new Set(['host']));
    expect(h).toEqual({ 'x-keep': 'yes' });
  });
  it('bearer check', () => {
    const d = keyDigest('s3cret');
    expect(bearerMatches('Bearer s3cret', d)).toBe(true);
    expect(bearerMatches('bearer  s3cret', d)).toBe(true);
    expect(bearerMatches('Bearer s3cre', d)).toBe(false);
    expect(bearerMatches('s3cret', d)).toBe(false);
    expect(bearerMatches(undefined, d)).toBe(false);
  });
});

describe('decision log', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gwlog-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const row = (i: number, outcome: DecisionRow['outcome'] = 'ok'): DecisionRow => ({
    requestId: `r${i}`, arrivedAt: 1_800_000_000 + (i % 2 ? i : i * 0.5), promptTokens: 100 + i, promptExact: true, completionTokens: outcome === 'ok' ? 10 + i : 0,
    endpoint: '/v1/completions', stream: true, rank: i % 3, firstRank: i % 3, backend: 0, attempts: 1,
    rankLoad: Float64Array.of(1, 2, NaN), rankInflight: Float64Array.of(0, 1, NaN), rankWaiting: null, rankRunning: null,
    viewAgeMs: 12, decisionUs: 3, ttftMs: 40, endAt: 1_800_000_100 + i, outcome, httpStatus: outcome === 'ok' ? 200 : 502, wave: -1, heldMs: 0,
  });
  it('is readable after every flush and after a torn write; rows keep their values', () => {
    const p = join(dir, 'd.arrow');
    const log = new DecisionLog(p, { batchRows: 4, flushMs: 60_000, metadata: { router: 'jsq_load' } });
    for (let i = 0; i < 10; i++) log.add(row(i));
    expect(readDecisionLog(p).numRows).toBe(8); // two batches flushed, two rows pending
    const bytes = readFileSync(p);
    const torn = join(dir, 'torn.arrow');
    writeFileSync(torn, bytes.subarray(0, bytes.length - 20));
    expect(readDecisionLog(torn).numRows).toBe(4);
    log.close();
    const t = readDecisionLog(p);
    expect(t.numRows).toBe(10);
    expect(t.schema.metadata.get('format')).toBe('balanceroute-decisions/1');
    const r9 = t.get(9)!.toJSON();
    expect([r9.request_id, r9.prompt_tokens, r9.completion_tokens, r9.outcome, r9.http_status]).toEqual(['r9', 109, 19, 'ok', 200]);
    expect(Array.from(r9.rank_load as Iterable<number>).slice(0, 2)).toEqual([1, 2]);
  });
  it('replays as a trace: completed rows only, in arrival order', () => {
    const p = join(dir, 'trace.arrow');
    const log = new DecisionLog(p, { batchRows: 100, flushMs: 60_000, metadata: {} });
    // rows are written in end order; arrivals: r0 0, r1 1, r2 1, r3 3, r4 2, r5 5 (+1.8e9 s)
    for (let i = 0; i < 6; i++) log.add(row(i, i === 3 ? 'upstream_error' : 'ok'));
    log.close();
    const tr = parseTraceFile({ path: p });
    expect(tr.n).toBe(5);
    expect(tr.skippedFailures).toBe(1);
    expect(tr.columns).toEqual({ arrival: 'arrived_at', prompt: 'prompt_tokens', output: 'completion_tokens' });
    expect(Array.from(tr.timeUs)).toEqual([0, 1e6, 1e6, 2e6, 5e6]);
    expect(Array.from(tr.prompt)).toEqual([100, 101, 102, 104, 105]);
    expect(Array.from(tr.output)).toEqual([10, 11, 12, 14, 15]);
  });
});
