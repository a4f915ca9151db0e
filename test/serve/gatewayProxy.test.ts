// The gateway in front of fake vLLM servers: deployment modes, the view from real exposition
// text, transparent streaming, header handling, auth and bad input.
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { closeAndRead, managedServers, completion, countBy, events, gateway, streamText, tmpLog, until } from './gatewayHelpers.ts';

function rawPost(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const { fake, gw } = managedServers();

describe('deployment modes: per-engine counters agree with the decision log', () => {
  it('per-rank backends (external LB): 60 concurrent streams spread by jsq_load', async () => {
    const f = await Promise.all([0, 1, 2].map((e) => fake({ engines: [e], tokenDelayMs: 20 })));
    const g = await gw(f.map((x) => x.url), { logPath: tmpLog() });
    const bodies = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const r = await completion(g.url, { prompt: 'x'.repeat(4 * (10 + ((i * 37) % 50))), max_tokens: 3 + (i % 5), stream_options: { include_usage: true } });
        return { status: r.status, text: await r.text(), i };
      }),
    );
    expect(bodies.every((b) => b.status === 200)).toBe(true);
    for (const b of bodies) expect(streamText(b.text)).toBe(Array.from({ length: 3 + (b.i % 5) }, (_, k) => ` t${k}`).join(''));
    const rows = await closeAndRead(g);
    expect(rows.length).toBe(60);
    expect(rows.every((r) => r.outcome === 'ok' && r.attempts === 1)).toBe(true);
    const byRank = countBy(rows, (r) => r.rank);
    for (const e of [0, 1, 2]) {
      expect(f[e].completed.get(e) ?? 0).toBe(byRank.get(e) ?? 0);
      expect(byRank.get(e)).toBeGreaterThanOrEqual(10); // spread, not piled on one rank
    }
    // exact token counts from usage; prompt tokens from usage replace the estimate
    expect(rows.reduce((a, r) => a + r.completion_tokens, 0)).toBe(bodies.reduce((a, b) => a + 3 + (b.i % 5), 0));
  });

  it('native DP (--dp 4): the gateway pins every request with X-data-parallel-rank', async () => {
    const f = await fake({ engines: [0, 1, 2, 3], tokenDelayMs: 3 });
    const g = await gw([f.url], { dp: [4], logPath: tmpLog() });
    await Promise.all(Array.from({ length: 40 }, (_, i) => completion(g.url, { prompt: 'y'.repeat(8 * (1 + (i % 7))) }).then((r) => r.text())));
    const rows = await closeAndRead(g);
    const byRank = countBy(rows, (r) => r.rank);
    for (const e of [0, 1, 2, 3]) expect(f.completed.get(e) ?? 0).toBe(byRank.get(e) ?? 0);
    // every upstream request carried the header of the rank the log names
    const byId = new Map(rows.map((r) => [r.request_id, r.rank]));
    for (const s of f.seen) expect(Number(s.headers['x-data-parallel-rank'])).toBe(byId.get(String(s.headers['x-request-id'])));
  });

  it('hybrid (two nodes, --dp 2 each): local rank in the header, global rank in the log', async () => {
    const n0 = await fake({ engines: [0, 1] });
    const n1 = await fake({ engines: [2, 3] });
    const g = await gw([n0.url, n1.url], { dp: [2], logPath: tmpLog(), router: 'round_robin' });
    for (let i = 0; i < 8; i++) await (await completion(g.url, {})).text();
    const rows = await closeAndRead(g);
    expect(rows.map((r) => r.rank)).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    expect([...n0.completed.entries()].sort()).toEqual([[0, 2], [1, 2]]);
    expect([...n1.completed.entries()].sort()).toEqual([[2, 2], [3, 2]]);
    expect(n1.seen.map((s) => s.headers['x-data-parallel-rank'])).toEqual(['0', '1', '0', '1']);
  });
});

describe('view from /metrics', () => {
  it('reads running/waiting/KV per engine with extra labels and the old KV metric name', async () => {
    const f = await fake({ engines: [0, 1], oldMetricNames: true, extraLabels: true, numGpuBlocks: 512, blockSize: 32 });
    f.gauges.set(0, { running: 5, waiting: 2, kv: 0.75 });
    f.gauges.set(1, { running: 1, waiting: 0, kv: 0.125 });
    const g = await gw([f.url], { dp: [2] });
    await until(() => g.state.snapRunning[0] === 5, 3000, 'scrape');
    expect(Array.from(g.state.snapRunning)).toEqual([5, 1]);
    expect(Array.from(g.state.snapWaiting)).toEqual([2, 0]);
    expect(Array.from(g.state.snapKvUsage)).toEqual([0.75, 0.125]);
    expect(Array.from(g.state.kvCap)).toEqual([512 * 32, 512 * 32]);
    // vllm_default's 4w+r over this snapshot prefers rank 1
    f.gauges.set(1, { running: 30, waiting: 0, kv: 0.125 });
    await until(() => g.state.snapRunning[1] === 30, 3000, 'rescrape');
    expect(g.scraper.ageS(0)).toBeLessThan(1);
  });

  it('the gateway exports its own Prometheus metrics', async () => {
    const f = await fake();
    const g = await gw([f.url]);
    await (await completion(g.url, {})).text();
    const text = await (await fetch(`${g.url}/metrics`)).text();
    expect(text).toMatch(/balanceroute_gateway_decisions_total\{rank="0"\} 1/);
    expect(text).toMatch(/balanceroute_gateway_requests_total\{outcome="ok"\} 1/);
    expect(text).toMatch(/balanceroute_gateway_decision_seconds_count 1/);
    expect(text).toMatch(/balanceroute_gateway_inflight\{rank="0"\} 0/);
    expect(text).toMatch(/balanceroute_gateway_rank_healthy\{rank="0"\} 1/);
    expect(text).toMatch(/balanceroute_gateway_scrape_age_seconds\{backend="0"\} 0\.\d+/);
  });
});

describe('transparent proxy', () => {
  it('streams bytes unchanged (same text as direct), chat and non-streaming too', async () => {
    const f = await fake({ tokenDelayMs: 2 });
    const g = await gw([f.url]);
    for (const body of [{ max_tokens: 6 }, { max_tokens: 6, stream_options: { include_usage: true } }, { max_tokens: 3, stream: false }]) {
      const direct = await (await completion(f.url, body)).text();
      const via = await (await completion(g.url, body)).text();
      // identical except the response id, which counts requests at the fake
      expect(via.replace(/cmpl-\d+/g, 'ID')).toBe(direct.replace(/cmpl-\d+/g, 'ID'));
    }
    const chat = await fetch(`${g.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true }),
    });
    expect(chat.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(streamText(await chat.text())).toBe(' t0 t1 t2');
  });

  it('forwards headers except hop-by-hop ones; strips a client X-data-parallel-rank', async () => {
    const f = await fake({ engines: [0, 1] });
    const g = await gw([f.url], { dp: [2], router: 'round_robin' });
    // node:http, since fetch refuses to set Connection
    const r = await rawPost(`${g.url}/v1/completions`, JSON.stringify({ model: 'm', prompt: 'p', max_tokens: 2, stream: true }), {
      'content-type': 'application/json', 'x-data-parallel-rank': '1', connection: 'keep-alive, x-hop', 'x-hop': 'secret', 'x-custom': 'kept', 'x-request-id': 'my-id-1',
    });
    expect(r.status).toBe(200);
    expect(r.headers['x-fake-engine']).toBe('0'); // round_robin's first pick, not the client's 1
    expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(r.headers['x-fake-hop']).toBeUndefined(); // named hop-by-hop by the upstream's Connection
    const seen = f.seen[0].headers;
    expect(seen['x-data-parallel-rank']).toBe('0');
    expect(seen['x-custom']).toBe('kept');
    expect(seen['x-hop']).toBeUndefined();
    expect(seen['x-request-id']).toBe('my-id-1');
  });

  it('--trust-client-rank honours the client header (a gateway rank) and rejects a bad one', async () => {
    const f = await fake({ engines: [0, 1, 2] });
    const g = await gw([f.url], { dp: [3], trustClientRank: true, logPath: tmpLog() });
    const r = await completion(g.url, {}, { 'x-data-parallel-rank': '2' });
    await r.text();
    expect(r.headers.get('x-fake-engine')).toBe('2');
    const bad = await completion(g.url, {}, { 'x-data-parallel-rank': '7' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/x-data-parallel-rank must be a rank in \[0, 3\)/);
    const rows = await closeAndRead(g);
    expect(rows.map((x) => x.rank)).toEqual([2]);
  });

  it('the official openai client streams through unchanged', async () => {
    const f = await fake({ tokenDelayMs: 1 });
    const g = await gw([f.url]);
    const run = async (baseURL: string) => {
      const client = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: 'unused', maxRetries: 0 });
      const s = await client.completions.create({ model: 'fake-model', prompt: 'hi', max_tokens: 5, stream: true, stream_options: { include_usage: true } });
      const parts: string[] = [];
      let usage: unknown;
      for await (const c of s) {
        if (c.choices[0]) parts.push(c.choices[0].text);
        if (c.usage) usage = c.usage;
      }
      const chat = await client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, stream: true });
      const deltas: string[] = [];
      for await (const c of chat) deltas.push(c.choices[0]?.delta?.content ?? '');
      const models = await client.models.list();
      return { parts, usage, deltas, models: models.data.map((m) => m.id) };
    };
    const direct = await run(f.url);
    const via = await run(g.url);
    expect(via).toEqual(direct);
    expect(via.parts).toEqual([' t0', ' t1', ' t2', ' t3', ' t4']);
  });
});

describe('security and bad input', () => {
  it('API key: 401 without or with a wrong key; upstream key replaces it; no key in the log', async () => {
    const f = await fake({ apiKey: 'upstream-secret-123' });
    const logPath = tmpLog();
    const g = await gw([f.url], { apiKey: 'client-secret-456', upstreamApiKey: 'upstream-secret-123', logPath });
    const none = await completion(g.url, {});
    expect(none.status).toBe(401);
    expect((await none.json()).error.type).toBe('AuthenticationError');
    expect((await completion(g.url, {}, { authorization: 'Bearer wrong' })).status).toBe(401);
    const ok = await completion(g.url, {}, { authorization: 'Bearer client-secret-456' });
    expect(ok.status).toBe(200);
    await ok.text();
    expect(f.seen.map((s) => s.headers.authorization)).toEqual(['Bearer upstream-secret-123']);
    // /health and /metrics stay open, as on vLLM
    expect((await fetch(`${g.url}/health`)).status).toBe(200);
    const metrics = await (await fetch(`${g.url}/metrics`)).text();
    await closeAndRead(g);
    const bytes = readFileSync(logPath).toString('latin1');
    for (const s of [bytes, metrics]) {
      expect(s).not.toContain('client-secret-456');
      expect(s).not.toContain('upstream-secret-123');
    }
  });

  it('a port in use is an error and leaves no log file behind', async () => {
    const f = await fake();
    const g = await gw([f.url]);
    const logPath = tmpLog();
    await expect(gateway([f.url], { port: g.port, logPath })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(existsSync(logPath)).toBe(false);
  });

  it('bad requests get vLLM-style JSON errors and the gateway keeps serving', async () => {
    const f = await fake();
    const g = await gw([f.url], { maxBodyBytes: 2048 });
    const big = await completion(g.url, { prompt: 'z'.repeat(5000) });
    expect(big.status).toBe(413);
    expect((await big.json()).error.code).toBe(413);
    const bad = await fetch(`${g.url}/v1/completions`, { method: 'POST', body: '{not json' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/not valid JSON/);
    expect((await fetch(`${g.url}/v1/completions`, { method: 'POST', body: '[1,2]' })).status).toBe(400);
    expect((await fetch(`${g.url}/v1/nothing`)).status).toBe(404);
    expect((await fetch(`${g.url}/v1/completions`)).status).toBe(405);
    const ok = await completion(g.url, {});
    expect(ok.status).toBe(200);
    expect(events(await ok.text()).at(-1)).toBe('[DONE]');
    expect(f.seen.length).toBe(1);
  });
});
