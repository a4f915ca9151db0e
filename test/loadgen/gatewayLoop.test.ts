// The loop with the gateway in it: loadgen -> gateway (jsq_load, decision log) -> emulate. The
// log gives every measured request its rank, and predict takes the gateway's router and rank
// count from it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArrowFile } from '../../src/formats/arrowRead.ts';

const CLI = ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('../cli/main.ts', import.meta.url))];
const dir = mkdtempSync(join(tmpdir(), 'gateway-loop-'));

function start(args: string[], ready: RegExp): Promise<{ child: ChildProcess; line: RegExpExecArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const t = setTimeout(() => reject(new Error(`${args[0]} did not start: ${err}`)), 60_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = ready.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ child, line: m });
      }
    });
    child.on('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${err}`)));
  });
}

function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stderr });
    });
  });
}

async function stop(c: ChildProcess | undefined): Promise<void> {
  if (!c || c.exitCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await exited;
}

describe('loadgen through the gateway', () => {
  let emu: ChildProcess | undefined;
  let gw: ChildProcess | undefined;
  let gwUrl = '';
  const log = join(dir, 'decisions.arrow');

  beforeAll(async () => {
    const e = await start(['emulate', '--dp', '2', '--port', '0', '--speed', '10'], /emulate: listening (\{.*\})/);
    emu = e.child;
    const info = JSON.parse(e.line[1]) as { host: string; ports: number[] };
    const g = await start(
      ['gateway', '--backend', `http://${info.host}:${info.ports[0]}`, '--dp', '2', '--port', '0', '--router', 'jsq_load', '--log', log, '--log-flush-ms', '20'],
      /\{"listening":"([^"]+)"/,
    );
    gw = g.child;
    gwUrl = g.line[1];
  }, 120_000);

  afterAll(async () => {
    await stop(gw);
    await stop(emu);
  });

  it('joins the gateway ranks and predicts with its router', async () => {
    const measured = join(dir, 'm.arrow');
    const lg = await runCli(['loadgen', '--url', gwUrl, '--rate', '10', '--requests', '40', '--seed', '2', '--max-output', '64', '-o', measured, '-q']);
    expect(lg.code, lg.stderr).toBe(0);
    await stop(gw); // flushes the decision log
    const pr0 = await runCli(['predict', measured, '--gateway-log', log, '--model', 'qwen3-30b-a3b-h100', '--speed', '10', '-o', join(dir, 'p.arrow'), '-q']);
    expect(pr0.code, pr0.stderr).toBe(0);
    const s = readArrowFile(join(dir, 'p.summary.arrow')).rows()[0];
    expect([s.router, s.dp]).toEqual(['jsq_load', 2]);

    // The log's request ids are loadgen's x-request-id, so every request has its gateway rank.
    const rows = readArrowFile(measured).rows();
    expect(rows.every((r) => r.outcome === 'completed')).toBe(true);
    const ranks = readArrowFile(log);
    const byId = new Map((ranks.column('request_id') as string[]).map((id, i) => [id, (ranks.column('rank') as number[])[i]]));
    for (const r of rows) expect([0, 1]).toContain(byId.get(r.request_id as string));
    expect(new Set(rows.map((r) => byId.get(r.request_id as string))).size).toBe(2);
  }, 300_000);
});
