// `dispatch: wave` on the command line: `run --dispatch wave --wave-timeout-ms` records both in the
// result row; bad values and combinations are one-line errors naming the field (exit 2); the
// emulator refuses it (the gateway forms waves); the GPU engine hands it to the CPU engine.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareConfig } from '../../src/engine/gpu/prepare.ts';
import { resolveRouterParams } from '../../src/routers/index.ts';
import { makeScenario } from '../helpers.ts';
import { cliIn } from './cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'wave-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('run --dispatch wave', () => {
  it('simulates and records dispatch and wave_timeout_ms in the result row', async () => {
    const out = join(dir, 'wave.arrow');
    const r = await cliIn(['run', '--dp', '4', '--rate', '20', '--requests', '200', '--router', 'jsq_load', '--dispatch', 'wave', '--wave-timeout-ms', '50', '-o', out]);
    expect(r.code).toBe(0);
    const row = tableFromIPC(readFileSync(out)).get(0)!.toJSON() as Record<string, unknown>;
    expect(row.dispatch).toBe('wave');
    expect(row.wave_timeout_ms).toBe(50);
    expect(row.completed).toBe(200);
    const plain = join(dir, 'plain.arrow');
    expect((await cliIn(['run', '--dp', '4', '--rate', '20', '--requests', '50', '-o', plain])).code).toBe(0);
    expect(tableFromIPC(readFileSync(plain)).get(0)!.toJSON().wave_timeout_ms).toBeNull();
  }, 60_000);

  const bad: [string[], RegExp][] = [
    [['--dispatch', 'wave', '--wave-timeout-ms', '-1'], /^balanceroute: wave_timeout_ms: .*-1/],
    [['--dispatch', 'wave', '--wave-timeout-ms', 'soon'], /^balanceroute: wave_timeout_ms: /],
    [['--wave-timeout-ms', '50'], /^balanceroute: wave_timeout_ms: acts only with dispatch: wave .*\(got 50\)/],
    [['--dispatch', 'wave', '--router', 'sorted_round_robin'], /^balanceroute: dispatch: .*needs dispatch: per_step/],
    [['--dispatch', 'waves'], /^balanceroute: dispatch: must be one of on_arrival, per_step, wave/],
  ];
  it.each(bad)('run %j: one line naming the field, exit 2, no output written', async (args, msg) => {
    const out = join(dir, `bad-${args.join('_')}.arrow`);
    const r = await cliIn(['run', '--requests', '20', ...args, '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n').length).toBe(1);
    expect(() => readFileSync(out)).toThrow();
  });

  it('emulate refuses dispatch: wave before it listens', async () => {
    const r = await cliIn(['emulate', '--dp', '2', '--port', '0', '--dispatch', 'wave']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^balanceroute: dispatch: wave dispatch is done by the gateway .*gateway --admission wave.*\(got "wave"\)/);
    expect(r.stderr.trim().split('\n').length).toBe(1);
  });

  it('the GPU engine hands wave dispatch to the CPU engine, saying why', () => {
    const sc = makeScenario({ dp: 4, router: 'jsq_load', routerParams: resolveRouterParams('jsq_load', {}), dispatch: 'wave', waveTimeoutMs: 100 });
    const p = prepareConfig(sc, 0);
    expect('reason' in p && p.reason).toBe('wave dispatch runs on the CPU engine (no WGSL port yet)');
  });
});
