// HTTP layer of the emulator against a stand-in core: framing, errors, routing headers.
import { afterEach, describe, expect, it } from 'vitest';
import { FakeCore } from './fakeCore.ts';
import { postJson, postStream, sample, startEmulator } from './emulateHelpers.ts';
import type { Emulator } from '../../src/serve/emulate/server.ts';

let running: Emulator[] = [];
afterEach(async () => {
  await Promise.all(running.map((e) => e.stop()));
  running = [];
});

async function start(dp = 2, extra = {}) {
  let core!: FakeCore;
  const s = await startEmulator({ dp, core: (ev) => (core = new FakeCore(dp, ev)), ...extra });
  running.push(s.emu);
  return { ...s, core: () => core };
}

describe('emulate HTTP (stand-in core)', () => {
  it('streams one completion chunk per token, the usage chunk and [DONE]', async () => {
    const { base } = await start();
    const r = await postStream(`${base}/v1/completions`, {
      model: 'test-model',
      prompt: [1, 2, 3],
      max_tokens: 20,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(r.done).toBe(true);
    const chunks = r.events as { object: string; choices: { text: string; finish_reason: string | null }[]; usage: unknown }[];
    const tokens = chunks.filter((c) => c.choices.length > 0);
    expect(tokens).toHaveLength(20);
    expect(tokens.every((c) => c.object === 'text_completion' && c.usage === null)).toBe(true);
    expect(tokens.slice(0, 19).every((c) => c.choices[0].finish_reason === null)).toBe(true);
    expect(tokens[19].choices[0].finish_reason).toBe('length');
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 3, completion_tokens: 20, total_tokens: 23 });
    expect(r.raw.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('chat streams open with the role chunk; without include_usage there is no usage chunk', async () => {
    const { base } = await start();
    const r = await postStream(`${base}/v1/chat/completions`, {
      messages: [{ role: 'user', content: 'hello there' }],
      max_completion_tokens: 5,
      ignore_eos: true,
      stream: true,
    });
    const chunks = r.events as { object: string; choices: { delta: Record<string, string> }[]; usage?: unknown }[];
    expect(chunks).toHaveLength(6);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && !('usage' in c))).toBe(true);
    expect(r.done).toBe(true);
  });

  it('non-streaming responses carry usage; output length comes from the sampler capped by max_tokens', async () => {
    const { base } = await start();
    const a = await postJson(`${base}/v1/completions`, { prompt: 'abcdefgh', max_tokens: 100 });
    expect(a.status).toBe(200);
    expect(a.body.usage).toEqual({ prompt_tokens: 2, completion_tokens: 7, total_tokens: 9 });
    expect((a.body.choices as { finish_reason: string }[])[0].finish_reason).toBe('stop');
    const b = await postJson(`${base}/v1/completions`, { prompt: 'abcdefgh', max_tokens: 4 });
    expect(b.body.usage).toMatchObject({ completion_tokens: 4 });
    expect((b.body.choices as { finish_reason: string }[])[0].finish_reason).toBe('length');
    const c = await postJson(`${base}/v1/chat/completions`, { messages: [{ role: 'user', content: 'abcd' }] });
    // 3 (reply header) + 4 (one message) + 1 (4 characters)
    expect(c.body.usage).toMatchObject({ prompt_tokens: 8, completion_tokens: 7 });
    expect(c.body.object).toBe('chat.completion');
  });

  it('bad requests get vLLM error objects and the server keeps serving', async () => {
    const { base } = await start(2, { maxBodyBytes: 1000 });
    const cases: [unknown, number, string | null, RegExp][] = [
      ['{"prompt": [1,2', 400, null, /JSON decode error/],
      [{ max_tokens: 3 }, 400, 'prompt', /prompt: Field required/],
      [{ prompt: 5 }, 400, 'prompt', /prompt/],
      [{ prompt: 'x', max_tokens: 'many' }, 400, 'max_tokens', /max_tokens/],
      [{ prompt: 'x', max_tokens: 0 }, 400, 'max_tokens', /max_tokens/],
      [{ prompt: 'x', stream: 'yes' }, 400, 'stream', /stream/],
      [{ prompt: 'x', stream_options: { include_usage: true } }, 400, 'stream_options', /only be defined when `stream=True`/],
      [{ prompt: [1, 2], max_tokens: 5000 }, 400, 'max_tokens', /maximum context length is 4096 tokens/],
      [{ prompt: 'x', model: 'other' }, 404, 'model', /The model `other` does not exist/],
      [{ prompt: 'x'.repeat(2000) }, 413, null, /exceeds the limit of 1000 bytes/],
      [[1, 2], 400, null, /JSON object/],
    ];
    for (const [body, status, param, msg] of cases) {
      const r = await postJson(`${base}/v1/completions`, body);
      expect(r.status, JSON.stringify(body).slice(0, 40)).toBe(status);
      const err = r.body.error as { message: string; type: string; param: string | null; code: number };
      expect(err.code).toBe(status);
      expect(err.param).toBe(param);
      expect(err.message).toMatch(msg);
      expect(err.type).toBe(status === 404 ? 'NotFoundError' : status === 413 ? 'RequestEntityTooLarge' : 'BadRequestError');
    }
    const chat = await postJson(`${base}/v1/chat/completions`, { messages: [] });
    expect(chat.status).toBe(400);
    expect((chat.body.error as { param: string }).param).toBe('messages');
    const nf = await fetch(`${base}/v1/nothing`);
    expect(nf.status).toBe(404);
    expect(await nf.json()).toEqual({ detail: 'Not Found' });
    const na = await fetch(`${base}/v1/completions`);
    expect(na.status).toBe(405);
    const ok = await postJson(`${base}/v1/completions`, { prompt: [1], max_tokens: 2, ignore_eos: true });
    expect(ok.status).toBe(200);
  });

  it('X-data-parallel-rank pins the rank; non-integers are ignored, out of range is a 400', async () => {
    const { base, core } = await start(2);
    const body = { prompt: [1, 2, 3], max_tokens: 1, ignore_eos: true };
    await postJson(`${base}/v1/completions`, body, { 'X-data-parallel-rank': '1' });
    await postJson(`${base}/v1/completions`, body, { 'x-data-parallel-rank': ' 1 ' });
    await postJson(`${base}/v1/completions`, body, { 'X-data-parallel-rank': '1.0' }); // ignored: round robin -> 0
    expect(core().reqs.map((r) => r.rank)).toEqual([1, 1, 0]);
    for (const h of ['2', '-1']) {
      const r = await postJson(`${base}/v1/completions`, body, { 'X-data-parallel-rank': h });
      expect(r.status).toBe(400);
      expect((r.body.error as { message: string }).message).toBe(`data_parallel_rank ${Number(h)} is out of range [0, 2).`);
    }
    const m = await (await fetch(`${base}/metrics`)).text();
    expect(sample(m, 'vllm:generation_tokens_total', { model_name: 'test-model', engine: '1' })).toBe(2);
    expect(sample(m, 'vllm:generation_tokens_total', { model_name: 'test-model', engine: '0' })).toBe(1);
    expect(sample(m, 'vllm:request_success_total', { model_name: 'test-model', engine: '1', finished_reason: 'length' })).toBe(2);
  });

  it('max_tokens defaults as in vLLM: 16 on completions when absent, the rest of the context when null', async () => {
    const { base } = await start(1, { maxModelLen: 40 });
    const absent = await postJson(`${base}/v1/completions`, { prompt: [1, 2, 3, 4], ignore_eos: true });
    expect(absent.body.usage).toMatchObject({ completion_tokens: 16 });
    const nul = await postJson(`${base}/v1/completions`, { prompt: [1, 2, 3, 4], ignore_eos: true, max_tokens: null });
    expect(nul.body.usage).toMatchObject({ completion_tokens: 36 });
    const chat = await postJson(`${base}/v1/chat/completions`, { messages: [{ role: 'user', content: 'hi' }], ignore_eos: true });
    expect(chat.body.usage).toMatchObject({ prompt_tokens: 8, completion_tokens: 32 });
  });

  it('GET /v1/models and /health', async () => {
    const { base } = await start();
    const h = await fetch(`${base}/health`);
    expect(h.status).toBe(200);
    const m = (await (await fetch(`${base}/v1/models`)).json()) as { data: { id: string; max_model_len: number }[] };
    expect(m.data.map((d) => d.id)).toEqual(['test-model']);
    expect(m.data[0].max_model_len).toBe(4096);
  });
});
