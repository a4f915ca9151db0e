// The loop with the gateway in it: loadgen -> gateway (jsq_load, decision log) -> emulate. The
// log gives every measured request its rank, and predict takes the gateway's router and rank
// count from it.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { cliAsync, cliServer, emulateServer, stopChild } from '../cli/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'gateway-loop-'));

describe('loadgen through the gateway', () => {
  let emu: ChildProcess | undefined;
  let gw: ChildProcess | undefined;
  let gwUrl = '';
  const log = join(dir, 'decisions.arrow');

  beforeAll(async () => {
    const e = await emulateServer(['--dp', '2', '--speed', '10']);
    emu = e.child;
    const g = await cliServer(
      ['gateway', '--backend', e.url, '--dp', '2', '--port', '0', '--router', 'jsq_load', '--log', log, '--log-flush-ms', '20'],
      /\{"listening":"([^"]+)"/,
    );
    gw = g.child;
    gwUrl = g.ready[1];
  }, 120_000);

  afterAll(async () => {
    await stopChild(gw);
    await stopChild(emu);
  });

  it('joins the gateway ranks and predicts with its router', async () => {
    const measured = join(dir, 'm.arrow');
    const lg = await cliAsync(['loadgen', '--url', gwUrl, '--rate', '10', '--requests', '40', '--seed', '2', '--max-output', '64', '-o', measured, '-q']);
    expect(lg.code, lg.stderr).toBe(0);
    await stopChild(gw); // flushes the decision log
    const pr0 = await cliAsync(['predict', measured, '--gateway-log', log, '--model', 'qwen3-30b-a3b-h100', '--speed', '10', '-o', join(dir, 'p.arrow'), '-q']);
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
