// Acceptance: the gateway in front of `balanceroute emulate` in vLLM's two DP shapes. 200
// concurrent streaming requests through `gateway --router jsq_load`; the emulator's per-engine
// success counters (vllm:request_success_total{engine}) agree with the decision log rank by rank.
// Runs once the emulator is part of the tree (src/cli/emulateCommand.ts); skipped before.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseExposition } from '../../src/serve/gateway/exposition.ts';
import { cleanTmp, closeAndRead, countBy, gateway, streamText, tmpLog } from './gatewayHelpers.ts';

// The CLI from its sources under tsx (as test/cli/cli.ts), or another checkout's bin.
const CLI = process.env.BALANCEROUTE_BIN !== undefined
  ? [process.env.BALANCEROUTE_BIN]
  : ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('../cli/main.ts', import.meta.url))];
afterAll(cleanTmp);

async function emulate(args: string[]): Promise<{ child: ChildProcess; ports: number[] }> {
  const child = spawn(process.execPath, [...CLI, 'emulate', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c) => (err += c));
  const ports = await new Promise<number[]>((resolve, reject) => {
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /^emulate: listening (\{.*\})$/m.exec(out);
      if (m) resolve((JSON.parse(m[1]) as { ports: number[] }).ports);
    });
    child.on('exit', (code) => reject(new Error(`emulate exited ${code}: ${err}`)));
  });
  return { child, ports };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  await done;
}

/** Σ over finished_reason of vllm:request_success_total, per engine label, over the given ports. */
async function successByEngine(ports: number[]): Promise<Map<number, number>> {
  const m = new Map<number, number>();
  for (const p of ports) {
    const text = await (await fetch(`http://127.0.0.1:${p}/metrics`)).text();
    for (const s of parseExposition(text)) {
      if (s.name === 'vllm:request_success_total') m.set(Number(s.labels.engine), (m.get(Number(s.labels.engine)) ?? 0) + s.value);
    }
  }
  return m;
}

async function spread(backends: string[], dp: number[] | undefined, ports: number[]) {
  const g = await gateway(backends, { dp, router: 'jsq_load', logPath: tmpLog() });
  const model = ((await (await fetch(`${g.url}/v1/models`)).json()) as { data: { id: string }[] }).data[0].id;
  const N = 200;
  const results = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const r = await fetch(`${g.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, prompt: 'word '.repeat(20 + ((i * 53) % 400)), max_tokens: 4 + (i % 13), ignore_eos: true, stream: true, stream_options: { include_usage: true } }),
      });
      return { status: r.status, text: await r.text() };
    }),
  );
  expect(results.every((r) => r.status === 200)).toBe(true);
  expect(results.every((r) => streamText(r.text).length > 0)).toBe(true);
  const rows = await closeAndRead(g);
  expect(rows.length).toBe(N);
  expect(rows.every((r) => r.outcome === 'ok')).toBe(true);
  const byRank = countBy(rows, (r) => r.rank);
  const engines = await successByEngine(ports);
  for (let e = 0; e < 4; e++) {
    expect(engines.get(e) ?? 0).toBe(byRank.get(e) ?? 0);
    expect(byRank.get(e) ?? 0).toBeGreaterThan(N / 8); // spread over every rank
  }
  expect(rows.reduce((a, r) => a + r.completion_tokens, 0)).toBe(Array.from({ length: N }, (_, i) => 4 + (i % 13)).reduce((a, b) => a + b, 0));
}

describe('gateway in front of balanceroute emulate', () => {
  it('external LB (--dp 4 --lb external): four per-rank backends', async () => {
    const emu = await emulate(['--dp', '4', '--lb', 'external', '--speed', '4']);
    try {
      expect(emu.ports.length).toBe(4);
      await spread(emu.ports.map((p) => `http://127.0.0.1:${p}`), undefined, emu.ports);
    } finally {
      await stop(emu.child);
    }
  }, 120_000);

  it('internal LB (--dp 4 --lb internal): one port, pinned with X-data-parallel-rank', async () => {
    const emu = await emulate(['--dp', '4', '--lb', 'internal', '--speed', '4']);
    try {
      expect(emu.ports.length).toBe(1);
      await spread([`http://127.0.0.1:${emu.ports[0]}`], [4], emu.ports);
    } finally {
      await stop(emu.child);
    }
  }, 120_000);
});
