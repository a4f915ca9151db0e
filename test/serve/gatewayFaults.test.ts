// Faults: refused connections, 5xx before the first byte, resets after it, client disconnects,
// no healthy rank, a backend killed mid-run and restarted. Nothing hangs, nothing is lost:
// every request ends in the decision log with its outcome.
import { describe, expect, it } from 'vitest';
import { closeAndRead, managedServers, completion, countBy, events, gateway, streamText, tmpLog, until } from './gatewayHelpers.ts';

const { fake, gw } = managedServers();

/** Two per-rank backends; jsq_load sends the first request of an idle system to rank 0. */
async function pair(extra: Parameters<typeof gateway>[1] = {}) {
  const f = [await fake({ engines: [0] }), await fake({ engines: [1] })];
  const g = await gw(f.map((x) => x.url), { logPath: tmpLog(), ...extra });
  return { f, g };
}

describe('before the first byte: one retry on the next-best rank', () => {
  it('connection refused: retried on rank 1, rank 0 leaves the view', async () => {
    // Slow health checks so the gateway still believes rank 0 is up when the request comes.
    const { f, g } = await pair({ statsIntervalMs: 60_000, healthIntervalMs: 60_000 });
    await f[0].kill();
    const r = await completion(g.url, {});
    expect(r.status).toBe(200);
    expect(streamText(await r.text())).toBe(' t0 t1 t2 t3');
    expect(g.state.healthy[0]).toBe(0);
    const metrics = await (await fetch(`${g.url}/metrics`)).text();
    expect(metrics).toMatch(/balanceroute_gateway_retries_total 1/);
    expect(metrics).toMatch(/balanceroute_gateway_upstream_errors_total\{rank="0",kind="connect"\} 1/);
    const rows = await closeAndRead(g);
    expect(rows.map((x) => [x.first_rank, x.rank, x.attempts, x.outcome])).toEqual([[0, 1, 2, 'ok']]);
  });

  it('5xx before the first byte: retried; a second 5xx is passed through and logged as a failure', async () => {
    const { f, g } = await pair();
    f[0].failures.push({ kind: 'status', status: 500 });
    const r = await completion(g.url, {});
    expect(r.status).toBe(200);
    await r.text();
    f[0].failures.push({ kind: 'status', status: 503 });
    f[1].failures.push({ kind: 'status', status: 500 });
    const r2 = await completion(g.url, {});
    expect(r2.status).toBe(500); // the second rank's answer, as it came
    await r2.text();
    const rows = await closeAndRead(g);
    expect(rows.map((x) => [x.first_rank, x.rank, x.attempts, x.outcome, x.http_status])).toEqual([
      [0, 1, 2, 'ok', 200],
      [0, 1, 2, 'upstream_error', 500],
    ]);
  });

  it('socket reset before the response: retried', async () => {
    const { f, g } = await pair();
    f[0].failures.push({ kind: 'reset_before' });
    const r = await completion(g.url, {});
    expect(r.status).toBe(200);
    await r.text();
    const rows = await closeAndRead(g);
    expect(rows.map((x) => [x.rank, x.attempts, x.outcome])).toEqual([[1, 2, 'ok']]);
  });

  it('a failing /health takes the backend out of the view until it passes again', async () => {
    const { f, g } = await pair();
    f[0].healthy = false;
    await until(() => g.state.healthy[0] === 0, 3000, 'rank 0 out');
    for (let i = 0; i < 3; i++) await (await completion(g.url, {})).text();
    expect(f[0].seen.length).toBe(0);
    f[0].healthy = true;
    await until(() => g.state.healthy[0] === 1, 3000, 'rank 0 back');
    await (await completion(g.url, {})).text();
    expect(f[0].seen.length).toBe(1); // jsq_load: both idle -> rank 0
    const rows = await closeAndRead(g);
    expect(rows.map((x) => x.rank)).toEqual([1, 1, 1, 0]);
  });

  it('no healthy rank: 503 with a JSON error, logged as no_backend', async () => {
    const { f, g } = await pair();
    await Promise.all(f.map((x) => x.kill()));
    await until(() => g.state.healthyCount() === 0, 5000, 'backends down');
    const r = await completion(g.url, {});
    expect(r.status).toBe(503);
    expect((await r.json()).error).toMatchObject({ code: 503, type: 'ServiceUnavailableError' });
    expect((await fetch(`${g.url}/health`)).status).toBe(503);
    const rows = await closeAndRead(g);
    expect(rows.map((x) => [x.rank, x.outcome, x.http_status])).toEqual([[-1, 'no_backend', 503]]);
  });
});

describe('after the first byte', () => {
  it('an upstream reset ends the stream with an error event and [DONE]; counted as failed', async () => {
    const { f, g } = await pair();
    f[0].failures.push({ kind: 'reset_after', tokens: 3 });
    const r = await completion(g.url, { max_tokens: 10 });
    expect(r.status).toBe(200);
    const ev = events(await r.text());
    expect(ev.length).toBe(5);
    expect(streamText(ev.slice(0, 3).map((e) => `data: ${e}\n\n`).join(''))).toBe(' t0 t1 t2');
    expect(JSON.parse(ev[3]).error.message).toMatch(/failed mid-stream/);
    expect(ev[4]).toBe('[DONE]');
    const metrics = await (await fetch(`${g.url}/metrics`)).text();
    expect(metrics).toMatch(/balanceroute_gateway_upstream_errors_total\{rank="0",kind="midstream"\} 1/);
    const rows = await closeAndRead(g);
    expect(rows.map((x) => [x.rank, x.outcome, x.completion_tokens])).toEqual([[0, 'failed_midstream', 3]]);
  });

  it('a client disconnect aborts the upstream request and frees the rank', async () => {
    const { f, g } = await pair();
    f[0].opts.tokenDelayMs = 20;
    const ac = new AbortController();
    const r = await completion(g.url, { max_tokens: 500 }, {}, ac.signal);
    const reader = r.body!.getReader();
    await reader.read(); // first token arrived
    expect(g.state.inflight[0]).toBe(1);
    ac.abort();
    await until(() => f[0].aborted === 1, 5000, 'upstream abort');
    expect(f[0].completed.get(0) ?? 0).toBe(0);
    await until(() => g.state.inflight[0] === 0, 2000, 'bookkeeping');
    expect(g.state.kvTracked[0] + g.state.queuedTracked[0]).toBe(0);
    const rows = await closeAndRead(g);
    expect(rows.map((x) => [x.rank, x.outcome])).toEqual([[0, 'client_abort']]);
  });
});

describe('shutting down (SIGTERM)', () => {
  it('a stream open past the grace period ends with an error event and [DONE], logged as server_shutdown', async () => {
    const { f, g } = await pair();
    f[0].opts.tokenDelayMs = 20;
    const r = await completion(g.url, { max_tokens: 500 });
    const reader = r.body!.getReader();
    await reader.read(); // streaming
    const t0 = Date.now();
    const rows = closeAndRead(g, 100);
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90); // the grace period was given
    const ev = events(text);
    expect(ev.at(-1)).toBe('[DONE]');
    expect(JSON.parse(ev.at(-2)!).error).toMatchObject({ message: 'the server is shutting down', code: 503 });
    expect((await rows).map((x) => [x.rank, x.outcome])).toEqual([[0, 'server_shutdown']]);
  });

  it('a request that finishes within the grace period is delivered whole', async () => {
    const { f, g } = await pair();
    f[0].opts.tokenDelayMs = 10;
    const r = completion(g.url, { max_tokens: 10 });
    await until(() => g.state.inflight[0] === 1, 2000, 'in flight');
    const rows = closeAndRead(g, 5000);
    expect(streamText(await (await r).text())).toBe(' t0 t1 t2 t3 t4 t5 t6 t7 t8 t9');
    expect((await rows).map((x) => x.outcome)).toEqual(['ok']);
  });
});

describe('a backend killed mid-run', () => {
  it('no request hangs, every request is logged, the gateway routes around it and back', async () => {
    const f = [await fake({ engines: [0], tokenDelayMs: 10 }), await fake({ engines: [1], tokenDelayMs: 10 })];
    const g = await gw(f.map((x) => x.url), { logPath: tmpLog() });
    const port0 = f[0].port;
    const wave = (n: number) =>
      Promise.all(
        Array.from({ length: n }, async () => {
          try {
            const r = await completion(g.url, { max_tokens: 20 });
            return { status: r.status, text: await r.text() };
          } catch (e) {
            return { status: -1, text: String(e) };
          }
        }),
      );
    const first = wave(30);
    // Kill once rank 0 is streaming (a request there has sent its first byte).
    await until(() => g.state.kvTracked[0] > 0, 5000, 'a stream on rank 0');
    await f[0].kill();
    const results = await first;
    expect(results.every((x) => x.status === 200)).toBe(true);
    await until(() => g.state.healthy[0] === 0, 2000, 'rank 0 out of the view');
    // while it is down, everything goes to rank 1
    const during = await wave(6);
    expect(during.every((x) => x.status === 200 && streamText(x.text).length > 0)).toBe(true);
    await f[0].start(port0);
    await until(() => g.state.healthy[0] === 1, 5000, 'rank 0 back');
    await wave(6);
    const rows = await closeAndRead(g);
    expect(rows.length).toBe(42);
    const outcomes = countBy(rows, (x) => x.outcome);
    expect((outcomes.get('ok') ?? 0) + (outcomes.get('failed_midstream') ?? 0)).toBe(42);
    expect(outcomes.get('failed_midstream') ?? 0).toBeGreaterThan(0); // streams cut by the kill
    const duringRows = rows.slice(30, 36);
    expect(duringRows.every((x) => x.rank === 1)).toBe(true);
    // after the restart rank 0 serves again
    expect(f[0].completed.get(0) ?? 0).toBeGreaterThan(0);
  });
});
