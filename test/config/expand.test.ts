import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countConfigurations, loadSweepFile, scenarioFromFlat } from '../../src/config/expand.ts';
import { parseSweepText } from '../../src/config/sweepFile.ts';
import { SCENARIO_DEFAULTS } from '../../src/config/scenario.ts';
import { resolveStepModel } from '../../src/model/presets.ts';
import { expandText, inputError } from './helpers.ts';

const model = resolveStepModel(SCENARIO_DEFAULTS.model);

describe('expansion order and counts', () => {
  it('crosses axes in file order, the last key fastest', () => {
    const s = expandText('axes:\n  dp: [2, 4]\n  rate: [1, 2, 3]\n  seed: [7, 8]\n');
    expect(s).toHaveLength(12);
    expect(s.map((x) => x.index)).toEqual([...Array(12).keys()]);
    expect(s.map((x) => [x.dp, x.workload.rate, x.workload.seed])).toEqual([
      [2, 1, 7], [2, 1, 8], [2, 2, 7], [2, 2, 8], [2, 3, 7], [2, 3, 8],
      [4, 1, 7], [4, 1, 8], [4, 2, 7], [4, 2, 8], [4, 3, 7], [4, 3, 8],
    ]);
  });

  it('expands knob lists within their router, in place', () => {
    const s = expandText('axes:\n  router: [vllm_default, {name: br0, a: [1, 2], b: [4, 8]}, jsq_load]\n  seed: [1, 2]\n');
    expect(s).toHaveLength((1 + 4 + 1) * 2);
    const routers = s.filter((x) => x.workload.seed === 1).map((x) => (x.router === 'br0' ? `br0 a=${x.routerParams.a} b=${x.routerParams.b}` : x.router));
    expect(routers).toEqual(['vllm_default', 'br0 a=1 b=4', 'br0 a=1 b=8', 'br0 a=2 b=4', 'br0 a=2 b=8', 'jsq_load']);
    // Resolved knobs carry defaults, in the router's declared order.
    expect(Object.keys(s[2].routerParams)).toEqual(['a', 'b', 'envelope', 'envelope_frac', 'hold_ms']);
    expect(s[2].routerParams.envelope).toBe('max');
  });

  it('crosses configs with axes: configs outermost, each merged over base', () => {
    const s = expandText('base: {dp: 8, rate: 5}\naxes:\n  seed: [1, 2, 3]\nconfigs:\n  - {dp: 4, rate: 2}\n  - {max_num_seqs: 64}\n');
    expect(s).toHaveLength(6);
    expect(s.map((x) => [x.dp, x.workload.rate, x.maxNumSeqs, x.workload.seed])).toEqual([
      [4, 2, 256, 1], [4, 2, 256, 2], [4, 2, 256, 3],
      [8, 5, 64, 1], [8, 5, 64, 2], [8, 5, 64, 3],
    ]);
  });

  it('precedence: base < axes < a configs entry, which pins the axes it sets', () => {
    // The brief's example: the entry {dp: 4, rate: 2} is crossed with the router and seed axes only.
    const s = expandText('base: {dp: 16, max_num_seqs: 8}\naxes:\n  router: [vllm_default, {name: br0, b: [4, 8]}]\n  dp: [8]\n  rate: [3]\n  seed: [1, 2]\nconfigs:\n  - {dp: 4, rate: 2}\n  - {seed: 9}\n');
    expect(s).toHaveLength(3 * 2 + 3);
    expect(s.slice(0, 6).map((x) => [x.router, x.routerParams.b ?? null, x.dp, x.workload.rate, x.workload.seed])).toEqual([
      ['vllm_default', null, 4, 2, 1], ['vllm_default', null, 4, 2, 2],
      ['br0', 4, 4, 2, 1], ['br0', 4, 4, 2, 2],
      ['br0', 8, 4, 2, 1], ['br0', 8, 4, 2, 2],
    ]);
    // The axis dp: [8] beats base dp: 16; base values of other keys still apply.
    expect(s.slice(6).map((x) => [x.router, x.dp, x.workload.rate, x.workload.seed, x.maxNumSeqs])).toEqual([
      ['vllm_default', 8, 3, 9, 8], ['br0', 8, 3, 9, 8], ['br0', 8, 3, 9, 8],
    ]);
    // A pinned value keeps its own position for errors.
    const e = inputError(() => expandText('axes:\n  dp: [8]\nconfigs:\n  - {dp: 4}\n  - {dp: 5000}\n', 'p.yaml'));
    expect(e.message).toMatch(/^p\.yaml:5: configs\[1\]\.dp: /);
  });

  it('expands knob lists of a router given in base or configs before the axes', () => {
    const s = expandText('base:\n  router: {name: br0, b: [4, 8]}\naxes:\n  seed: [1, 2]\n');
    expect(s.map((x) => [x.routerParams.b, x.workload.seed])).toEqual([[4, 1], [4, 2], [8, 1], [8, 2]]);
  });

  it('treats a scalar axis as a one-element list', () => {
    const s = expandText('axes:\n  rate: 4\n  router: {name: br0, b: 2}\n  seed: [1, 2]\n');
    expect(s).toHaveLength(2);
    expect(s[0].workload.rate).toBe(4);
    expect(s[0].routerParams.b).toBe(2);
  });

  it('YAML anchors and merge keys work', () => {
    const s = expandText('configs:\n  - &small {dp: 2, max_num_seqs: 16}\n  - {<<: *small, dp: 4}\n');
    expect(s.map((x) => [x.dp, x.maxNumSeqs])).toEqual([[2, 16], [4, 16]]);
  });

    it('a file with only base (or nothing) is one configuration', () => {
    expect(expandText('base: {dp: 2}\n')).toHaveLength(1);
    expect(expandText('name: empty\n')).toHaveLength(1);
  });

  it('counts without expanding, and refuses more than 10,000,000 configurations', () => {
    const big = (n: number) => `axes:\n  seed: [${Array.from({ length: n }, (_, i) => i).join(',')}]\n  rate: [${Array.from({ length: 1000 }, (_, i) => i + 1).join(',')}]\n  dp: [${Array.from({ length: 11 }, (_, i) => i + 1).join(',')}]\n`;
    expect(countConfigurations(parseSweepText(big(10), 's.yaml').spec)).toBe(110_000);
    const e = inputError(() => expandText(big(1000)));
    expect(e.message).toMatch(/more than 10,000,000 configurations/);
  });
});

describe('defaults', () => {
  it('fills SCENARIO_DEFAULTS and the model-derived capacity and length limit', () => {
    const [s] = expandText('axes:\n  dp: [4]\n');
    expect(s).toMatchObject({
      index: 0,
      router: 'vllm_default',
      routerParams: { waiting_weight: 4, rotate: 'yes' },
      maxNumSeqs: SCENARIO_DEFAULTS.maxNumSeqs,
      blockSize: 16,
      maxBatchedTokens: SCENARIO_DEFAULTS.maxBatchedTokens,
      statsIntervalMs: 100,
      dispatch: 'on_arrival',
      assignOrder: 'fcfs',
      timeoutS: 0,
      model: SCENARIO_DEFAULTS.model,
      timeseries: false,
      kvCapacity: model.kvCapacityTokens(4),
      maxModelLen: model.maxModelLen,
    });
    expect(s.workload).toEqual({ ...SCENARIO_DEFAULTS.workload });
  });

  it('kv_capacity follows dp per configuration, rounded to the configured block size', () => {
    const s = expandText('axes:\n  dp: [2, 16]\n  block_size: [16, 1000]\n');
    expect(s[0].kvCapacity).toBe(model.kvCapacityTokens(2));
    expect(s[2].kvCapacity).toBe(model.kvCapacityTokens(16));
    expect(s[1].kvCapacity % 1000).toBe(0);
    expect(model.kvCapacityTokens(2) - s[1].kvCapacity).toBeLessThan(1000);
  });

  it('a trace workload defaults to all its requests at its own timing', () => {
    const [s] = expandText('base: {workload: trace, trace: /data/t.csv, trace_columns: {arrival: ts}, trace_time_unit: ms}\n');
    expect(s.workload).toMatchObject({ source: 'trace', tracePath: '/data/t.csv', requests: 0, rate: 0, traceColumns: { arrival: 'ts' }, traceTimeUnit: 'ms' });
  });

  it('maps every key to the scenario', () => {
    const [s] = expandText(`base:
  router: {name: vllm_default, rotate: no}
  dp: 3
  rate: 2.5
  seed: 9
  requests: 40
  workload: sharegpt
  arrival: gamma
  cv: 2
  max_output: 64
  prompt: {kind: uniform, min: 10, max: 20}
  output: {kind: lognormal, median: 100, sigma: 0.5, max: 400}
  model: qwen3-30b-a3b-h100
  max_num_seqs: 32
  kv_capacity: 32000
  block_size: 32
  max_batched_tokens: 2048
  max_model_len: 8192
  stats_interval_ms: 0
  dispatch: per_step
  assign_order: lpt
  timeout_s: 30
  timeseries: true
  async_scheduling: off
  ranks_per_node: 4
  admission: adp_balance
  adp_timeout_iters: 20
  adp_batching_wait_iters: 0
  topology: colocated
  prefill_instances: 3
  kv_link: roce
  kv_link_gbps: 100
  kv_link_latency_us: 7
  kv_bytes_per_token: 1000
`);
    expect(s).toEqual({
      index: 0,
      router: 'vllm_default',
      routerParams: { waiting_weight: 4, rotate: 'no' },
      dp: 3,
      maxNumSeqs: 32,
      kvCapacity: 32000,
      blockSize: 32,
      maxBatchedTokens: 2048,
      maxModelLen: 8192,
      statsIntervalMs: 0,
      dispatch: 'per_step',
      assignOrder: 'lpt',
      timeoutS: 30,
      model: 'qwen3-30b-a3b-h100',
      timeseries: true,
      sync: 'barrier',
      asyncScheduling: 'off',
      ranksPerNode: 4,
      admission: 'adp_balance',
      adpTimeoutIters: 20,
      adpBatchingWaitIters: 0,
      waveTimeoutMs: 100,
      topology: 'colocated',
      prefillInstances: 3,
      kvLink: 'roce',
      kvLinkGbps: 100,
      kvLinkLatencyUs: 7,
      kvBytesPerToken: 1000,
      workload: {
        source: 'sharegpt',
        arrival: 'gamma',
        cv: 2,
        rate: 2.5,
        requests: 40,
        seed: 9,
        maxOutput: 64,
        prompt: { kind: 'uniform', min: 10, max: 20 },
        output: { kind: 'lognormal', median: 100, sigma: 0.5, max: 400 },
      },
    });
  });
});

describe('sweep files on disk', () => {
  it('loads YAML and JSON the same way, and resolves trace paths against the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'br-sweep-'));
    const yamlPath = join(dir, 'a.yaml');
    const jsonPath = join(dir, 'a.json');
    writeFileSync(yamlPath, 'name: t\nbase: {workload: trace, trace: traces/x.csv}\naxes:\n  router: [jsq_load, {name: br0, b: [1, 2]}]\n');
    writeFileSync(jsonPath, JSON.stringify({ name: 't', base: { workload: 'trace', trace: 'traces/x.csv' }, axes: { router: ['jsq_load', { name: 'br0', b: [1, 2] }] } }, null, '\t'));
    const a = loadSweepFile(yamlPath);
    const b = loadSweepFile(jsonPath);
    expect(a.name).toBe('t');
    expect(a.scenarios).toEqual(b.scenarios);
    expect(a.scenarios).toHaveLength(3);
    expect(a.scenarios[0].workload.tracePath).toBe(join(dir, 'traces/x.csv'));
  });

  it('loads the shipped examples', () => {
    expect(loadSweepFile('examples/seed-dp8.yaml').scenarios).toHaveLength(20);
    expect(loadSweepFile('examples/grid.yaml').scenarios).toHaveLength(256);
    const hold = loadSweepFile('examples/br0-hold.yaml').scenarios;
    expect(hold).toHaveLength(36);
    expect(hold.every((s) => s.dispatch === 'per_step')).toBe(true);
    expect(loadSweepFile('examples/qwen3-rtxpro6000-dp2.yaml').scenarios).toHaveLength(1);
  });

  it('rejects unknown extensions and unreadable files', () => {
    expect(inputError(() => loadSweepFile('sweep.toml')).message).toMatch(/^file: a sweep file must end in \.yaml, \.yml or \.json \(got "sweep\.toml"\)$/);
    expect(inputError(() => loadSweepFile('/nonexistent/s.yaml')).message).toMatch(/cannot read the sweep file \(ENOENT\)/);
  });
});

describe('scenarioFromFlat (the run command)', () => {
  it('builds one configuration with the same defaults', () => {
    const s = scenarioFromFlat({ router: { name: 'br0', b: '16' }, dp: 4, rate: undefined });
    expect(s.routerParams).toEqual({ a: 1, b: 16, envelope: 'max', envelope_frac: 0.9, hold_ms: 0 });
    expect(s).toEqual({ ...expandText('base: {router: {name: br0, b: 16}, dp: 4}\n')[0] });
  });

  it('applies the same rules, naming the bare key', () => {
    expect(inputError(() => scenarioFromFlat({ dp: 0 })).message).toBe('dp: must be an integer in [1, 4096] (got 0)');
    expect(inputError(() => scenarioFromFlat({ speed: 1 })).field).toBe('speed');
    expect(inputError(() => scenarioFromFlat({ router: { name: 'br0', b: [1, 2] } })).message).toMatch(/^router\.b: one configuration takes one value per knob/);
    expect(inputError(() => scenarioFromFlat({ workload: 'trace', requests: 0, rate: 0 })).message).toMatch(/^workload: a trace workload needs `trace: FILE`/);
  });
});

describe('the size guard counts knob lists before expanding them', () => {
  it('refuses a router whose knob lists multiply past the limit', () => {
    const list = `[${Array.from({ length: 100 }, (_, i) => i).join(', ')}]`;
    // Refused from the product of the list lengths, without expanding (benches/micro.ts times it).
    const e = inputError(() => expandText(`axes:\n  router: [{name: br0, a: ${list}, b: ${list}, envelope_frac: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]}]\n  seed: [${list.slice(1, -1)}, 100]\n`));
    expect(e.field).toBe('axes');
    expect(e.value).toBe(100 * 100 * 10 * 101);
  });
});
