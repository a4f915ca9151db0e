// loadgen --save-json against `vllm bench serve --save-result`: the same keys in the same order
// with the same JSON types (a float is written as a float), per-request arrays with one entry
// per request. The key list is vLLM's, read from vllm/benchmarks/serve.py at commit 009e6d4a
// (`main()`'s settings, `benchmark()`'s result dict, `process_one_metric` per selected metric,
// the client-queue blocks with --max-concurrency, and the keys dropped without --save-detailed).
import { describe, expect, it } from 'vitest';
import { benchMetrics } from '../../src/loadgen/metrics.ts';
import { benchJson, benchJsonText, type RunSettings } from '../../src/loadgen/output.ts';
import type { RequestRecord } from '../../src/loadgen/runner.ts';

type PyType = 'int' | 'float' | 'str' | 'null' | 'list';
const SETTINGS: [string, PyType | PyType[]][] = [
  ['date', 'str'], ['endpoint_type', 'str'], ['backend', 'str'], ['label', 'null'], ['model_id', 'str'], ['tokenizer_id', ['str', 'null']],
  ['num_prompts', 'int'], ['request_rate', ['float', 'str']], ['burstiness', 'float'], ['max_concurrency', ['int', 'null']],
];
const RESULT: [string, PyType | PyType[]][] = [
  ['duration', 'float'], ['completed', 'int'], ['failed', 'int'], ['total_input_tokens', 'int'], ['total_output_tokens', 'int'],
  ['request_throughput', 'float'], ['request_goodput', ['float', 'null']], ['output_throughput', 'float'], ['total_token_throughput', 'float'],
  ['input_lens', 'list'], ['output_lens', 'list'], ['ttfts', 'list'], ['itls', 'list'], ['latencies', 'list'], ['start_times', 'list'],
  ['queue_times', 'list'], ['generated_texts', 'list'], ['errors', 'list'],
  ['max_output_tokens_per_s', 'float'], ['max_concurrent_requests', 'int'], ['rtfx', 'float'],
];
const DETAILED_ONLY = new Set(['input_lens', 'output_lens', 'start_times', 'ttfts', 'itls', 'generated_texts', 'errors']);
const metricBlock = (m: string, pcts: string[]): [string, PyType][] => [
  [`mean_${m}_ms`, 'float'], [`median_${m}_ms`, 'float'], [`std_${m}_ms`, 'float'], ...pcts.map((p): [string, PyType] => [`p${p}_${m}_ms`, 'float']),
];

/** Top-level keys and the JSON type of each raw value, from the text (JSON.parse would lose 1 vs 1.0). */
function rawTypes(text: string): [string, PyType][] {
  const obj = JSON.parse(text) as Record<string, unknown>;
  return Object.keys(obj).map((k) => {
    const v = obj[k];
    if (v === null) return [k, 'null'];
    if (typeof v === 'string') return [k, 'str'];
    if (Array.isArray(v)) return [k, 'list'];
    const raw = new RegExp(`"${k.replace(/\./g, '\\.')}": (-?[0-9.eE+-]+|NaN|-?Infinity)[,}]`).exec(text)![1];
    return [k, /[.eE]|NaN|Infinity/.test(raw) ? 'float' : 'int'];
  });
}

function record(i: number, ok: boolean): RequestRecord {
  return {
    index: i, scheduledUs: i * 1e5, sendUs: i * 1e5 + 10, finishUs: i * 1e5 + 60_000, plannedPrompt: 100, maxTokens: 4, promptTokens: ok ? 100 : null,
    outputTokens: ok ? 4 : null, ok, ttftMs: ok ? 20 : NaN, itlMs: ok ? [10, 10, 10] : [], latencyMs: ok ? 50 : NaN, rank: null, httpStatus: ok ? 200 : 500,
    failure: ok ? null : 'http_5xx', error: ok ? '' : 'HTTP 500: boom', text: ok ? ' the model routes each' : '', queueMs: 0,
  };
}

const settings = (over: Partial<RunSettings> = {}): RunSettings => ({
  url: 'http://x/v1/completions', endpoint: 'completions', model: 'm', requests: 4, rate: 10, burstiness: 1, seed: 0, maxConcurrency: 0, timeoutS: 600,
  maxOutput: 4, source: { kind: 'profile', path: 'sharegpt' }, tokenizer: null, requestIdPrefix: 'r-', interrupted: false, ...over,
});

describe('loadgen --save-json is vllm bench serve --save-result', () => {
  const records = [record(0, true), record(1, true), record(2, false), record(3, true)];
  const bench = benchMetrics(records, 0.4, [99]);

  for (const detailed of [false, true]) {
    it(`keys, order and types${detailed ? ' with --save-detailed' : ''}`, () => {
      const text = benchJsonText(benchJson(bench, records, settings(), detailed));
      const want = [...SETTINGS, ...RESULT.filter(([k]) => detailed || !DETAILED_ONLY.has(k)), ...['ttft', 'tpot', 'itl', 'e2el'].flatMap((m) => metricBlock(m, ['99']))];
      const got = rawTypes(text);
      expect(got.map(([k]) => k)).toEqual(want.map(([k]) => k));
      got.forEach(([k, t], i) => expect([want[i][1]].flat(), k).toContain(t));
    });
  }

  it('per-request arrays hold every request: errors "" for a success, generated texts, 0.0 for a failure', () => {
    const j = JSON.parse(benchJsonText(benchJson(bench, records, settings(), true))) as Record<string, unknown[]>;
    expect(j.errors).toEqual(['', '', 'HTTP 500: boom', '']);
    expect(j.generated_texts).toEqual([' the model routes each', ' the model routes each', '', ' the model routes each']);
    expect(j.ttfts).toEqual([0.02, 0.02, 0, 0.02]);
    expect(j.output_lens).toEqual([4, 4, 0, 4]);
    expect(j.itls[2]).toEqual([]);
    for (const k of ['input_lens', 'output_lens', 'ttfts', 'itls', 'latencies', 'start_times', 'queue_times', 'generated_texts', 'errors']) expect(j[k], k).toHaveLength(4);
  });

  it('floats are floats, a trace run has its offered rate, the tokenizer its id, --max-concurrency its queue blocks', () => {
    const text = benchJsonText(benchJson(bench, records, settings({ rate: Infinity, source: { kind: 'trace', path: 't.csv' }, offeredRate: 7.5, tokenizer: 'tok.json', maxConcurrency: 2 }), false));
    expect(text).toMatch(/"burstiness": 1\.0,/);
    expect(text).toMatch(/"request_rate": 7\.5,/);
    expect(text).toMatch(/"tokenizer_id": "tok\.json",/);
    expect(text).toMatch(/"max_output_tokens_per_s": \d+\.\d+,/);
    expect(text).toMatch(/"rtfx": 0\.0,/);
    const keys = Object.keys(JSON.parse(text) as object);
    // Infinite rate (a trace at its own timing): no queue-inclusive E2EL block, as vLLM.
    expect(keys.slice(-4)).toEqual(['mean_client_queue_time_ms', 'median_client_queue_time_ms', 'std_client_queue_time_ms', 'p99_client_queue_time_ms']);
    const inf = JSON.parse(benchJsonText(benchJson(bench, records, settings({ rate: Infinity }), false))) as Record<string, unknown>;
    expect(inf.request_rate).toBe('inf');
  });
});
