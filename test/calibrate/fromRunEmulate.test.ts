// Acceptance of `calibrate --from-run` (docs/calibration.md): `balanceroute emulate` serves a
// model whose per-step host constant is 2 ms, `loadgen` measures it over HTTP, and `calibrate
// --from-run` on the loadgen log, starting from the same model without the constant, recovers it
// within 5%. Nothing about the injected value reaches the fit except through the measured TPOT:
// the log records the emulator's step model (the injected file) but the fit is told --model BASE.
//
// The model is small (0.2 ms of GPU time per step plus 20 µs per decode) so that the host constant
// is most of a step and 5% of it (0.1 ms) stands well above the client's timing noise, which the
// TPOT mean divides by the output length. The emulator runs in its own process (as in
// test/loadgen/closedLoop.test.ts) so its timers do not share an event loop with loadgen's.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { cliAsync, emulateServer, stopChild, type CliServer } from '../cli/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'from-run-emulate-'));
const INJECTED_US = 2000;
const SPEED = 2;

const BASE = {
  name: 'tiny-dense',
  description: 'a small dense model for the calibrate --from-run acceptance test',
  coefficients: {
    base: 200_000_000, // 0.2 ms
    baseExperts: 0,
    perDecodeSeq: 20_000_000, // 20 µs
    perPrefillToken: 1_000_000, // 1 µs
    perKvTokenRead: 1_000,
    perAttnKiloPair: 0,
    a2aBase: 0,
    a2aPerMaxRankToken: 0,
    a2aPerToken: 0,
  },
  maxModelLen: 8192,
  kvCapacityTokens: 262_144,
};

describe('calibrate --from-run on a loadgen log of emulate', () => {
  let emu: CliServer | undefined;
  let url = '';
  const basePath = join(dir, 'tiny.json');
  const injectedPath = join(dir, 'tiny-host.json');
  const measured = join(dir, 'measured.arrow');

  beforeAll(async () => {
    writeFileSync(basePath, JSON.stringify(BASE));
    writeFileSync(injectedPath, JSON.stringify({ ...BASE, name: 'tiny-dense-host', coefficients: { ...BASE.coefficients, hostPerStep: INJECTED_US * 1_000_000 } }));
    const e = await emulateServer(['--model', injectedPath, '--dp', '1', '--speed', String(SPEED)]);
    emu = e;
    url = e.url;
  }, 90_000);

  afterAll(() => stopChild(emu?.child));

  it('recovers the injected hostPerStep within 5%, and refuses hostPerRequest from one load level', async () => {
    // 80 ShareGPT-length requests (outputs capped at 128 tokens) at 8 req/s of wall time.
    const lg = await cliAsync(['loadgen', '--url', url, '--rate', '8', '--requests', '80', '--seed', '3', '--max-output', '128', '-o', measured, '-q'], 120_000);
    expect(lg.stderr).toBe('');
    expect(lg.code).toBe(0);
    const md = readArrowFile(measured).metadata;
    expect(md).toMatchObject({ server_dp: '1', server_speed: String(SPEED), server_step_model: injectedPath });

    const out = join(dir, 'fitted.json');
    const c = await cliAsync(['calibrate', '--from-run', measured, '--model', basePath, '-o', out, '--json'], 300_000);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    const r = JSON.parse(c.stdout) as { terms: { name: string; valuePs: number; fitted: boolean }[]; residuals: { component: string; errorPct: number; window?: unknown }[] };
    const step = r.terms.find((t) => t.name === 'hostPerStep')!;
    const recoveredUs = step.valuePs / 1e6;
    process.stdout.write(`calibrate --from-run: injected hostPerStep ${INJECTED_US} µs, recovered ${recoveredUs} µs (${(((recoveredUs - INJECTED_US) / INJECTED_US) * 100).toFixed(2)}%)\n`);
    expect(step.fitted).toBe(true);
    expect(Math.abs(recoveredUs - INJECTED_US) / INJECTED_US).toBeLessThanOrEqual(0.05);
    expect(r.terms.filter((t) => t.fitted).map((t) => t.name)).toEqual(['hostPerStep']);
    for (const comp of ['ttft', 'tpot', 'e2e']) expect(r.residuals.some((x) => x.component === comp && x.window === undefined)).toBe(true);
    // The written file is the base plus the term, and it loads.
    const written = JSON.parse(readFileSync(out, 'utf8')) as { coefficients: Record<string, number>; derivation: { fitted: { term: string; runs: string[] }[] } };
    expect(written.coefficients.hostPerStep).toBe(step.valuePs);
    expect(written.coefficients.base).toBe(BASE.coefficients.base);
    expect(written.derivation.fitted).toMatchObject([{ term: 'hostPerStep', runs: [measured] }]);
    const run = await cliAsync(['run', '--model', out, '--dp', '1', '--rate', '2', '--requests', '20', '--json'], 60_000);
    expect(run.code, run.stderr).toBe(0);

    // One load level cannot determine a per-request term.
    const bad = await cliAsync(['calibrate', '--from-run', measured, '--model', basePath, '--fit', 'hostPerStep,hostPerRequest', '-o', join(dir, 'bad.json')], 60_000);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^balanceroute: fit: needs runs at two or more load levels/);
    expect(existsSync(join(dir, 'bad.json'))).toBe(false);
  }, 400_000);
});
