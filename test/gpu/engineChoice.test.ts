// Engine choice (issue 3, item 3): `gpu` uses the GPU or fails with one line; `auto` takes only a
// hardware adapter and says why otherwise; the adapter is recorded in the output file.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseEngine, type EngineChoice } from '../../src/engine/choose.ts';
import { inputError } from '../inputError.ts';
import type { AdapterProbe } from '../../src/engine/gpu/adapter.ts';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { cli } from '../cli/cli.ts';
import { describeGpu, probe } from './gpuAvailable.ts';

const flags = (engine: EngineChoice['engine']): EngineChoice => ({ engine });
const fake = (p: Partial<AdapterProbe>): (() => Promise<AdapterProbe>) => async () => ({
  adapter: null, gpu: null, name: '', isFallback: false, reason: '', swiftShaderIcd: null, ...p,
});
const none = fake({ reason: 'no WebGPU adapter found (install chromium-common ...)' });
const software = fake({ adapter: {} as GPUAdapter, gpu: {} as GPU, name: 'google swiftshader (SwiftShader driver 5.0.0)', isFallback: true });
const hardware = fake({ adapter: {} as GPUAdapter, gpu: {} as GPU, name: 'nvidia hopper (NVIDIA H100)', isFallback: false });

describe('chooseEngine', () => {
  it('--engine gpu without an adapter is a one-line input error naming the engine', async () => {
    const err = await inputError(() => chooseEngine(flags('gpu'), () => {}, none));
    expect(err.message).toMatch(/^engine: no WebGPU adapter found .*; use --engine cpu or auto$/);
    expect(err.message).not.toContain('\n');
  });

  it('--engine gpu on a software adapter uses it and says it is software', async () => {
    const log: string[] = [];
    const e = await chooseEngine(flags('gpu'), (s) => log.push(s), software);
    expect(e.info).toMatchObject({ engine: 'gpu', adapter: 'google swiftshader (SwiftShader driver 5.0.0)', fallbackAdapter: true });
    expect(log).toEqual(['engine: gpu (google swiftshader (SwiftShader driver 5.0.0), a software adapter: correct but slower than the cpu engine)']);
    await e.close();
  });

  it('--engine auto takes a hardware adapter', async () => {
    const log: string[] = [];
    const e = await chooseEngine(flags('auto'), (s) => log.push(s), hardware);
    expect(e.info).toMatchObject({ engine: 'gpu', adapter: 'nvidia hopper (NVIDIA H100)', fallbackAdapter: false });
    expect(log).toEqual(['engine: gpu (auto: hardware adapter nvidia hopper (NVIDIA H100))']);
    await e.close();
  });

  it('--engine auto stays on the CPU with only a software adapter, and says so', async () => {
    const log: string[] = [];
    const e = await chooseEngine(flags('auto'), (s) => log.push(s), software);
    expect(e.info.engine).toBe('cpu');
    expect(log).toEqual(['engine: cpu (auto: only a software adapter (google swiftshader (SwiftShader driver 5.0.0)) was found)']);
  });

  it('--engine auto stays on the CPU without an adapter, and says why', async () => {
    const log: string[] = [];
    const e = await chooseEngine(flags('auto'), (s) => log.push(s), none);
    expect(e.info.engine).toBe('cpu');
    expect(log).toEqual(['engine: cpu (auto: no WebGPU adapter found (install chromium-common ...))']);
  });

  it('--engine cpu never probes for an adapter', async () => {
    const e = await chooseEngine(flags('cpu'), () => {}, () => Promise.reject(new Error('probed')));
    expect(e.info.engine).toBe('cpu');
  });
});

describeGpu('sweep --engine gpu (end to end)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'br-gpu-'));
  const sweep = join(dir, 'small.yaml');
  writeFileSync(sweep, [
    'name: small-gpu',
    'base: {requests: 40, rate: 6}',
    'axes:',
    '  dp: [2, 8]',
    '  router: [round_robin, vllm_default, jsq_load, br0, brh]',
  ].join('\n'));

  it('writes the same rows as --engine cpu, with the engine and adapter recorded', () => {
    const g = cli(['sweep', sweep, '--engine', 'gpu', '-o', join(dir, 'g.arrow')]);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stderr).toContain(`engine: gpu (${probe.name}`);
    const c = cli(['sweep', sweep, '--engine', 'cpu', '-o', join(dir, 'c.arrow'), '-q']);
    expect(c.code, c.stderr).toBe(0);
    const gf = readArrowFile(join(dir, 'g.arrow'));
    const cf = readArrowFile(join(dir, 'c.arrow'));
    expect(gf.metadata.engine).toBe('gpu');
    expect(gf.metadata.adapter).toBe(probe.name);
    expect(gf.metadata.fallback_adapter).toBe(String(probe.isFallback));
    expect(new Set(gf.column('engine'))).toEqual(new Set(['gpu']));
    const strip = (rows: Record<string, unknown>[]) => rows.map(({ wall_ms: _w, engine: _e, imbalance: _i, balance_ratio: _b, token_balance_ratio: _t, ...r }) => r);
    expect(strip(gf.rows())).toEqual(strip(cf.rows()));
    const gi = gf.column('imbalance') as number[];
    const ci = cf.column('imbalance') as number[];
    gi.forEach((v, i) => expect(Math.abs(v - ci[i])).toBeLessThanOrEqual(1e-6 * Math.abs(ci[i]) + 1e-9));
  }, 180_000);

  it('--engine auto says which engine it chose and why', () => {
    const r = cli(['sweep', sweep, '--engine', 'auto', '-o', join(dir, 'a.arrow')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(probe.isFallback ? /engine: cpu \(auto: only a software adapter \(.*\) was found\)/ : /engine: gpu \(auto: hardware adapter /);
  }, 180_000);
});
