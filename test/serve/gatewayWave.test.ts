// Wave admission (`gateway --admission wave`, docs/gateway.md "Wave admission") in front of
// `balanceroute emulate --dp 4` on ephemeral loopback ports: a full wave sends one request to each
// rank, the timeout releases a partial wave, a client that leaves while held is dropped from its
// wave, shutdown releases what is held, and /metrics counts waves and held requests.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/serve/gateway/gateway.ts';
import { readDecisionLog } from '../../src/serve/gateway/decisionLog.ts';
import { parseExposition } from '../../src/serve/gateway/exposition.ts';
import { readGatewayLog } from '../../src/loadgen/gatewayLog.ts';
import { cleanTmp, gateway, tmpLog } from './gatewayHelpers.ts';

const CLI = ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('../cli/main.ts', import.meta.url))];

interface Row {
  request_id: string;
  rank: number;
  wave: number;
  held_ms: number;
  outcome: string;
  http_status: number;
}

let emu: { child: ChildProcess; url: string; port: number };
const gws: Gateway[] = [];

beforeAll(async () => {
  const child = spawn(process.execPath, [...CLI, 'emulate', '--dp', '4', '--lb', 'internal', '--port', '0', '--speed', '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c) => (err += c));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /^emulate: listening (\{.*\})$/m.exec(out);
      if (m) resolve((JSON.parse(m[1]) as { ports: number[] }).ports[0]);
    });
    child.on('exit', (code) => reject(new Error(`emulate exited ${code}: ${err}`)));
  });
  emu = { child, port, url: `http://127.0.0.1:${port}` };
});

afterEach(async () => {
  await Promise.all(gws.splice(0).map((g) => g.close()));
});

afterAll(async () => {
  await Promise.all(gws.splice(0).map((g) => g.close()));
  if (emu && emu.child.exitCode === null) {
    const done = new Promise((r) => emu.child.on('exit', r));
    emu.child.kill('SIGTERM');
    await done;
  }
  cleanTmp();
});

async function waveGateway(waveTimeoutMs: number): Promise<Gateway> {
  const g = await gateway([emu.url], { dp: [4], router: 'jsq_load', logPath: tmpLog(), admission: 'wave', waveTimeoutMs });
  gws.push(g);
  return g;
}

function send(url: string, i: number, signal?: AbortSignal): Promise<{ status: number; text: string }> {
  return fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': `w-${i}` },
    body: JSON.stringify({ model: 'qwen3-30b-a3b-h100', prompt: 'word '.repeat(50 + 10 * i), max_tokens: 4, ignore_eos: true, stream: true }),
    signal,
  }).then(async (r) => ({ status: r.status, text: await r.text() }));
}

async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const s = parseExposition(text).find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value ?? NaN;
}

async function closeAndRows(g: Gateway, graceMs = 0): Promise<Row[]> {
  gws.splice(gws.indexOf(g), 1);
  await g.close(graceMs);
  return readDecisionLog(g.log!.path)
    .toArray()
    .map((r) => r.toJSON() as unknown as Row);
}

/** Ranks of each wave, from the decision log. */
function wavesOf(rows: Row[]): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (const r of rows) if (r.wave >= 0) (m.get(r.wave) ?? m.set(r.wave, []).get(r.wave)!).push(r.rank);
  return m;
}

describe('gateway --admission wave in front of emulate --dp 4', () => {
  it('G held requests go out together, one to each rank; three waves of four', async () => {
    const g = await waveGateway(600_000); // no timeout in this test: only full waves
    const first = await Promise.all([0, 1, 2, 3].map((i) => send(g.url, i)));
    expect(first.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const more = await Promise.all([4, 5, 6, 7, 8, 9, 10, 11].map((i) => send(g.url, i)));
    expect(more.every((r) => r.status === 200)).toBe(true);
    expect(await metric(g.url, 'balanceroute_gateway_waves_total', { trigger: 'full' })).toBe(3);
    expect(await metric(g.url, 'balanceroute_gateway_waves_total', { trigger: 'timeout' })).toBe(0);
    expect(await metric(g.url, 'balanceroute_gateway_wave_held_requests')).toBe(0);
    const rows = await closeAndRows(g);
    expect(rows.length).toBe(12);
    expect(rows.every((r) => r.outcome === 'ok')).toBe(true);
    const waves = wavesOf(rows);
    expect([...waves.keys()].sort()).toEqual([0, 1, 2]);
    for (const ranks of waves.values()) expect([...ranks].sort()).toEqual([0, 1, 2, 3]);
    // The first four all belong to wave 0.
    expect(rows.filter((r) => Number(r.request_id.slice(2)) < 4).every((r) => r.wave === 0)).toBe(true);
    // What predict reads to model the gateway (dispatch: wave and its timeout).
    const meta = readGatewayLog(g.log!.path);
    expect([meta.admission, meta.waveTimeoutMs, meta.ranks]).toEqual(['wave', 600_000, 4]);
  }, 120_000);

  it('the timeout releases a partial wave (on distinct ranks); the gauge counts held requests meanwhile', async () => {
    const T = 3000;
    const g = await waveGateway(T);
    const pending = Promise.all([0, 1].map((i) => send(g.url, i)));
    let settled = false;
    void pending.then(() => (settled = true));
    // Poll the gauge (each poll is one request to /metrics) while the two are held.
    let heldNow = 0;
    for (let k = 0; k < 200 && !settled && heldNow !== 2; k++) {
      heldNow = await metric(g.url, 'balanceroute_gateway_wave_held_requests');
      if (heldNow !== 2) await new Promise((r) => setTimeout(r, 10));
    }
    expect(heldNow).toBe(2);
    const res = await pending;
    expect(res.map((r) => r.status)).toEqual([200, 200]);
    expect(await metric(g.url, 'balanceroute_gateway_waves_total', { trigger: 'timeout' })).toBe(1);
    expect(await metric(g.url, 'balanceroute_gateway_waves_total', { trigger: 'full' })).toBe(0);
    const rows = await closeAndRows(g);
    const waves = wavesOf(rows);
    expect(waves.size).toBe(1);
    const ranks = waves.get(0)!;
    expect(ranks.length).toBe(2);
    expect(new Set(ranks).size).toBe(2);
    // Held until the oldest had waited T (timers do not fire early by more than their 1 ms granularity).
    const oldest = rows.reduce((m, r) => Math.max(m, r.held_ms), 0);
    expect(oldest).toBeGreaterThanOrEqual(T - 1);
  }, 120_000);

  it('a client that leaves while held is dropped from its wave; bad bodies are refused and the gateway keeps serving', async () => {
    const g = await waveGateway(600_000);
    const ac = new AbortController();
    const gone = send(g.url, 100, ac.signal).catch((e: Error) => e);
    for (let k = 0; k < 500 && (await metric(g.url, 'balanceroute_gateway_wave_held_requests')) !== 1; k++) await new Promise((r) => setTimeout(r, 10));
    expect(await metric(g.url, 'balanceroute_gateway_wave_held_requests')).toBe(1);
    ac.abort();
    await gone;
    for (let k = 0; k < 500 && (await metric(g.url, 'balanceroute_gateway_wave_held_requests')) !== 0; k++) await new Promise((r) => setTimeout(r, 10));
    expect(await metric(g.url, 'balanceroute_gateway_wave_held_requests')).toBe(0);
    const badJson = await fetch(`${g.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":' });
    expect(badJson.status).toBe(400);
    const notObject = await fetch(`${g.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1]' });
    expect(notObject.status).toBe(400);
    // Four more make a full wave: the one that left does not count.
    const res = await Promise.all([0, 1, 2, 3].map((i) => send(g.url, i)));
    expect(res.every((r) => r.status === 200)).toBe(true);
    const rows = await closeAndRows(g);
    const aborted = rows.filter((r) => r.outcome === 'client_abort');
    expect(aborted.length).toBe(1);
    expect(aborted[0].wave).toBe(-1);
    expect(aborted[0].rank).toBe(-1);
    const waves = wavesOf(rows);
    expect(waves.size).toBe(1);
    expect([...waves.values()][0].sort()).toEqual([0, 1, 2, 3]);
  }, 120_000);

  it('shutdown releases held requests, which then finish within the grace period', async () => {
    const g = await waveGateway(600_000);
    const pending = Promise.all([0, 1, 2].map((i) => send(g.url, i)));
    for (let k = 0; k < 500 && (await metric(g.url, 'balanceroute_gateway_wave_held_requests')) !== 3; k++) await new Promise((r) => setTimeout(r, 10));
    expect(await metric(g.url, 'balanceroute_gateway_wave_held_requests')).toBe(3);
    const rows = await closeAndRows(g, 30_000);
    const res = await pending;
    expect(res.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(rows.map((r) => r.outcome)).toEqual(['ok', 'ok', 'ok']);
    const waves = wavesOf(rows);
    expect(waves.size).toBe(1);
    expect(new Set([...waves.values()][0]).size).toBe(3);
  }, 120_000);
});
