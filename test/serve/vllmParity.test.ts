// The emulator as a stand-in for vLLM, as real clients use it: text that re-tokenizes to the
// generated count, continuous usage stats, /tokenize and /detokenize, /v1/models' permission
// object and the vLLM v1 /metrics families (names, types, labels, buckets of
// vllm/v1/metrics/loggers.py).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tokenizerCounter } from '../../src/serve/openai/promptTokens.ts';
import type { Emulator } from '../../src/serve/emulate/server.ts';
import { buckets125 } from '../../src/serve/emulate/metrics.ts';
import { FakeCore } from './fakeCore.ts';
import { postJson, postStream, startEmulator } from './emulateHelpers.ts';
import { gateway } from './gatewayHelpers.ts';

// A WordPiece tokenizer whose vocabulary splits some words (as Llama's does): "routes" is
// "route ##s", so the default filler text would re-tokenize to more tokens than generated.
const TOKENIZER = {
  version: '1.0',
  added_tokens: [{ id: 0, content: '[UNK]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
  normalizer: null,
  pre_tokenizer: { type: 'WhitespaceSplit' },
  post_processor: null,
  decoder: { type: 'WordPiece', prefix: '##', cleanup: false },
  model: {
    type: 'WordPiece',
    unk_token: '[UNK]',
    continuing_subword_prefix: '##',
    max_input_chars_per_word: 100,
    vocab: { '[UNK]': 0, the: 1, model: 2, route: 3, '##s': 4, each: 5, request: 6, to: 7, a: 8, rank: 9, and: 10, step: 11, in: 12, with: 13, its: 14, peer: 15, hello: 16, world: 17 },
  },
};

function tokenizerFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'br-tok-'));
  const p = join(dir, 'tokenizer.json');
  writeFileSync(p, JSON.stringify(TOKENIZER));
  return p;
}

let running: Emulator[] = [];
afterEach(async () => {
  await Promise.all(running.map((e) => e.stop()));
  running = [];
});

async function start(extra = {}) {
  const s = await startEmulator({ dp: 2, core: (ev) => new FakeCore(2, ev), ...extra });
  running.push(s.emu);
  return s;
}

describe('the emulator as vLLM', () => {
  it('streams text that re-tokenizes to exactly the generated count under --tokenizer', async () => {
    const tokens = tokenizerCounter(tokenizerFile());
    const { base } = await start({ tokens });
    for (const n of [1, 7, 40, 129]) {
      const r = await postStream(`${base}/v1/completions`, { model: 'test-model', prompt: 'hello world', max_tokens: n, ignore_eos: true, stream: true, stream_options: { include_usage: true } });
      const ev = r.events as { choices: { text: string }[]; usage: { completion_tokens: number } | null }[];
      const text = ev.flatMap((e) => e.choices.map((c) => c.text)).join('');
      expect(ev.at(-1)!.usage!.completion_tokens).toBe(n);
      expect(tokens.encode!(text, false)).toHaveLength(n);
    }
    // Chat too, and the non-streamed body.
    const c = await postJson(`${base}/v1/chat/completions`, { model: 'test-model', messages: [{ role: 'user', content: 'hello' }], max_tokens: 33, ignore_eos: true });
    const msg = (c.body.choices as { message: { content: string } }[])[0].message.content;
    expect(tokens.encode!(msg, false)).toHaveLength(33);
  });

  it('continuous_usage_stats puts the usage so far on every chunk', async () => {
    const { base } = await start();
    const r = await postStream(`${base}/v1/chat/completions`, {
      model: 'test-model',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 5,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true, continuous_usage_stats: true },
    });
    const ev = r.events as { choices: unknown[]; usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } }[];
    const prompt = ev[0].usage.prompt_tokens;
    expect(ev.map((e) => e.usage.completion_tokens)).toEqual([0, 1, 2, 3, 4, 5, 5]); // role chunk, 5 tokens, final usage
    expect(ev.every((e) => e.usage.prompt_tokens === prompt && e.usage.total_tokens === prompt + e.usage.completion_tokens)).toBe(true);
  });

  it('/tokenize and /detokenize round-trip; without a tokenizer they are a 400', async () => {
    const tokens = tokenizerCounter(tokenizerFile());
    const { base } = await start({ tokens });
    const t = await postJson(`${base}/tokenize`, { model: 'test-model', prompt: 'hello world routes', add_special_tokens: false });
    expect(t.status).toBe(200);
    expect(t.body).toEqual({ count: 4, max_model_len: 4096, tokens: [16, 17, 3, 4], token_strs: null });
    const d = await postJson(`${base}/detokenize`, { model: 'test-model', tokens: t.body.tokens });
    expect(d.status).toBe(200);
    expect(d.body).toEqual({ prompt: 'hello world routes' });
    const bare = await start();
    expect((await postJson(`${bare.base}/tokenize`, { prompt: 'x' })).status).toBe(400);
    // Through the gateway too (vllm bench serve calls /tokenize on the URL it is given).
    const gw = await gateway([base], { dp: [2] });
    try {
      const g = await postJson(`${gw.url}/tokenize`, { prompt: 'hello world routes', add_special_tokens: false });
      expect(g.body.tokens).toEqual([16, 17, 3, 4]);
      expect((await postJson(`${gw.url}/detokenize`, { tokens: [16, 17] })).body).toEqual({ prompt: 'hello world' });
    } finally {
      await gw.close();
    }
  });

  it("/v1/models has vLLM's fields and permission object", async () => {
    const { base } = await start();
    const m = (await (await fetch(`${base}/v1/models`)).json()) as { data: Record<string, unknown>[] };
    const d = m.data[0];
    expect(Object.keys(d)).toEqual(['id', 'object', 'created', 'owned_by', 'root', 'parent', 'max_model_len', 'permission']);
    const p = (d.permission as Record<string, unknown>[])[0];
    expect(Object.keys(p)).toEqual(['id', 'object', 'created', 'allow_create_engine', 'allow_sampling', 'allow_logprobs', 'allow_search_indices', 'allow_view', 'allow_fine_tuning', 'organization', 'group', 'is_blocking']);
    expect(p.object).toBe('model_permission');
    expect(String(p.id)).toMatch(/^modelperm-/);
  });

  it('/metrics serves the vLLM v1 families with their types, labels and buckets', async () => {
    const { base } = await start();
    await postStream(`${base}/v1/completions`, { model: 'test-model', prompt: [1, 2, 3], max_tokens: 6, ignore_eos: true, stream: true });
    const text = await (await fetch(`${base}/metrics`)).text();
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    // Every family vLLM v1's PrometheusStatLogger registers that the engine can compute. (Queue
    // and prefill times come from the engine core's own events.)
    const want: Record<string, string> = {
      'vllm:num_requests_running': 'gauge',
      'vllm:num_requests_waiting': 'gauge',
      'vllm:kv_cache_usage_perc': 'gauge',
      'vllm:cache_config_info': 'gauge',
      'vllm:num_preemptions': 'counter',
      'vllm:prompt_tokens': 'counter',
      'vllm:generation_tokens': 'counter',
      'vllm:prefix_cache_queries': 'counter',
      'vllm:prefix_cache_hits': 'counter',
      'vllm:request_success': 'counter',
      'vllm:request_prompt_tokens': 'histogram',
      'vllm:request_generation_tokens': 'histogram',
      'vllm:request_params_max_tokens': 'histogram',
      'vllm:request_max_num_generation_tokens': 'histogram',
      'vllm:request_params_n': 'histogram',
      'vllm:time_to_first_token_seconds': 'histogram',
      'vllm:inter_token_latency_seconds': 'histogram',
      'vllm:request_time_per_output_token_seconds': 'histogram',
      'vllm:e2e_request_latency_seconds': 'histogram',
      'vllm:request_inference_time_seconds': 'histogram',
      'vllm:request_decode_time_seconds': 'histogram',
      'vllm:request_queue_time_seconds': 'histogram',
      'vllm:request_prefill_time_seconds': 'histogram',
      'vllm:iteration_tokens_total': 'histogram',
    };
    for (const [name, type] of Object.entries(want)) {
      // prom-client names a counter without `_total` in TYPE (as prometheus_client does) and its samples with it.
      expect(types.get(name) ?? types.get(`${name}_total`), name).toBe(type);
    }
    // Labels in any order (as vLLM's multiprocess output shows): pick engine 0's bucket bounds.
    const les = (name: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith(`${name}_bucket{`) && l.includes('engine="0"') && l.includes('model_name="test-model"'))
        .map((l) => /le="([^"]+)"/.exec(l)![1]);
    expect(les('vllm:request_prompt_tokens')).toEqual([...buckets125(4096).map(String), '+Inf']);
    expect(buckets125(4096)).toEqual([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]);
    expect(les('vllm:request_params_n')).toEqual(['1', '2', '5', '10', '20', '+Inf']);
    expect(les('vllm:request_time_per_output_token_seconds')[0]).toBe('0.01');
    expect(les('vllm:request_decode_time_seconds')[0]).toBe('0.3');
    // The finished request is counted on the rank that ran it.
    const count = (name: string) => [...text.matchAll(new RegExp(`^${name}_count\\{[^}]*\\} (\\S+)$`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
    const sum = (name: string) => [...text.matchAll(new RegExp(`^${name}_sum\\{[^}]*\\} (\\S+)$`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
    expect(count('vllm:request_generation_tokens')).toBe(1);
    expect(sum('vllm:request_generation_tokens')).toBe(6);
    expect(sum('vllm:request_prompt_tokens')).toBe(3);
    expect(sum('vllm:request_params_max_tokens')).toBe(6);
    expect(count('vllm:request_decode_time_seconds')).toBe(1);
    // Tokens per engine step: one request alone, so six steps with tokens; the first counts the
    // 3 prompt tokens and its first output token, the others one token each.
    expect(les('vllm:iteration_tokens_total')).toEqual(['1', '8', '16', '32', '64', '128', '256', '512', '1024', '2048', '4096', '8192', '16384', '+Inf']);
    expect(count('vllm:iteration_tokens_total')).toBe(6);
    expect(sum('vllm:iteration_tokens_total')).toBe(3 + 6);
  });
});
