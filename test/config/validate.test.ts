import { describe, expect, it } from 'vitest';
import { scenarioFromFlat } from '../../src/config/expand.ts';
import { inputError } from './helpers.ts';

/** One rule: a flat entry, the field the error names, and a pattern for the reason. */
const bad = (entry: Record<string, unknown>, field: string, reason: RegExp) => {
  const e = inputError(() => scenarioFromFlat(entry), { field });
  expect(e.message).toMatch(reason);
  return e;
};

describe('validation rules (field and value in every message)', () => {
  it('dp: integer in [1, 4096]', () => {
    bad({ dp: 0 }, 'dp', /must be an integer in \[1, 4096\] \(got 0\)/);
    bad({ dp: 2.5 }, 'dp', /\(got 2\.5\)/);
    bad({ dp: 4097 }, 'dp', /\(got 4097\)/);
    bad({ dp: '8' }, 'dp', /must be a number \(got "8"\)/);
    expect(scenarioFromFlat({ dp: 4096 }).dp).toBe(4096);
  });

  it('rate: > 0 and finite (0 only for traces)', () => {
    bad({ rate: -1 }, 'rate', /must be > 0 .*\(got -1\)/);
    bad({ rate: 0 }, 'rate', /must be > 0 .*\(got 0\)/);
    bad({ rate: Infinity }, 'rate', /must be a finite number/);
    bad({ rate: NaN }, 'rate', /must be a number/);
    expect(scenarioFromFlat({ rate: 0, workload: 'trace', trace: 't.csv' }).workload.rate).toBe(0);
  });

  it('requests: integer >= 1, or 0 for traces', () => {
    bad({ requests: 0 }, 'requests', /must be >= 1 \(0 = the whole trace, only with workload: trace\) \(got 0\)/);
    bad({ requests: -5 }, 'requests', /\(got -5\)/);
    bad({ requests: 1.5 }, 'requests', /\(got 1\.5\)/);
    expect(scenarioFromFlat({ requests: 0, workload: 'trace', trace: 't.csv' }).workload.requests).toBe(0);
  });

  it('seed: integer in [0, 2^32)', () => {
    bad({ seed: -1 }, 'seed', /must be an integer in \[0, 2\^32\) \(got -1\)/);
    bad({ seed: 2 ** 32 }, 'seed', /\(got 4294967296\)/);
    bad({ seed: 0.5 }, 'seed', /\(got 0\.5\)/);
    expect(scenarioFromFlat({ seed: 2 ** 32 - 1 }).workload.seed).toBe(2 ** 32 - 1);
    expect(scenarioFromFlat({ seed: 0 }).workload.seed).toBe(0);
  });

  it('max_num_seqs, block_size, max_batched_tokens, max_model_len, max_output: integers >= 1, with an upper bound', () => {
    for (const key of ['max_num_seqs', 'block_size', 'max_batched_tokens', 'max_model_len']) {
      bad({ [key]: 0 }, key, /must be an integer in \[1, 2147483647\] \(got 0\)/);
      bad({ [key]: 3.5 }, key, /\(got 3\.5\)/);
      bad({ [key]: 2 ** 31 }, key, /must be an integer in \[1, 2147483647\] \(got 2147483648\)/);
    }
    bad({ max_output: 0 }, 'max_output', /must be an integer in \[1, 1073741824\] \(got 0\)/);
  });

  it('kv_capacity: an integer, at least one block, a multiple of block_size (not rounded)', () => {
    bad({ kv_capacity: 8 }, 'kv_capacity', /capacity smaller than one block \(block_size 16\).*\(got 8\)/);
    bad({ kv_capacity: 1000, block_size: 16 }, 'kv_capacity', /must be a multiple of block_size 16 .*not rounded for you: use 992 or 1008\) \(got 1000\)/);
    bad({ kv_capacity: 100.5 }, 'kv_capacity', /must be an integer/);
    expect(scenarioFromFlat({ kv_capacity: 1024, block_size: 32 }).kvCapacity).toBe(1024);
  });

  it('stats_interval_ms and timeout_s: >= 0', () => {
    bad({ stats_interval_ms: -1 }, 'stats_interval_ms', /must be a number in \[0, 86400000\] \(got -1\)/);
    bad({ timeout_s: -0.5 }, 'timeout_s', /must be a number in \[0, 86400\] \(got -0\.5\)/);
    bad({ timeout_s: 1e9 }, 'timeout_s', /\(got 1000000000\)/);
    expect(scenarioFromFlat({ stats_interval_ms: 0, timeout_s: 0 }).statsIntervalMs).toBe(0);
  });

  it('cv: > 0', () => {
    bad({ cv: 0 }, 'cv', /must be a number in \(0, 100\] \(got 0\)/);
    bad({ cv: 1e300 }, 'cv', /\(got 1e\+300\)/);
    expect(scenarioFromFlat({ cv: 0.3, arrival: 'gamma' }).workload.cv).toBe(0.3);
  });

  it('enums: dispatch, assign_order, arrival, trace_time_unit', () => {
    bad({ dispatch: 'eager' }, 'dispatch', /must be one of on_arrival, per_step, wave \(got "eager"\)/);
    bad({ dispatch: 'wave', wave_timeout_ms: -1 }, 'wave_timeout_ms', /must be/);
    bad({ wave_timeout_ms: 50 }, 'wave_timeout_ms', /acts only with dispatch: wave/);
    bad({ assign_order: 'sjf' }, 'assign_order', /must be one of fcfs, lpt \(got "sjf"\)/);
    bad({ arrival: 'uniform' }, 'arrival', /must be one of poisson, gamma \(got "uniform"\)/);
    bad({ trace_time_unit: 'min', workload: 'trace', trace: 't.csv' }, 'trace_time_unit', /must be one of s, ms, us, ns \(got "min"\)/);
  });

  it('trace: required with workload trace, and only then', () => {
    bad({ workload: 'trace', requests: 0 }, 'workload', /a trace workload needs `trace: FILE`.*\(got "trace"\)/);
    bad({ workload: 'sharegpt', trace: 'x.csv' }, 'trace', /a trace file needs `workload: trace` \(workload is "sharegpt"\) \(got "x\.csv"\)/);
    // trace alone implies workload: trace, with the whole trace at its own timing
    expect(scenarioFromFlat({ trace: 'x.csv' }).workload).toMatchObject({ source: 'trace', tracePath: 'x.csv', requests: 0, rate: 0 });
    bad({ trace: '' }, 'trace', /must be a trace file path/);
    bad({ workload: 'trace', trace: 'x.csv', trace_columns: { time: 'ts' } }, 'trace_columns.time', /unknown key; known keys: arrival, prompt, output/);
  });

  it('router and knobs', () => {
    bad({ router: 'nope' }, 'router', /unknown router; known: .*\(got "nope"\)/);
    bad({ router: { b: 3 } }, 'router.name', /needs name: ROUTER/);
    bad({ router: { name: 'br0', c: 3 } }, 'router.c', /unknown knob for br0; known: a, b, envelope, envelope_frac, hold_ms \(got 3\)/);
    bad({ router: { name: 'vllm_default', rotate: 'maybe' } }, 'router.rotate', /must be one of yes, no \(got "maybe"\)/);
    bad({ router: 7 }, 'router', /must be a router name or a mapping/);
  });

  it('length distributions', () => {
    bad({ prompt: { kind: 'normal' } }, 'prompt.kind', /must be one of lognormal, fixed, uniform, empirical \(got "normal"\)/);
    bad({ output: { kind: 'fixed', value: 0 } }, 'output.value', /must be an integer number of tokens in \[1, 1073741824\] \(got 0\)/);
    bad({ output: { kind: 'fixed', value: 99_999_999_999 } }, 'output.value', /in \[1, 1073741824\] \(got 99999999999\)/);
    bad({ output: { kind: 'uniform', min: 10, max: 5 } }, 'output.max', /must be >= min \(10\) \(got 5\)/);
    bad({ output: { kind: 'lognormal', median: 0, sigma: 1 } }, 'output.median', /must be a number of tokens in \(0, 1073741824\]/);
    bad({ output: { kind: 'fixed', value: 3, sigma: 1 } }, 'output.sigma', /unknown key for kind fixed/);
    bad({ prompt: 'short' }, 'prompt', /must be a length distribution/);
    expect(scenarioFromFlat({ prompt: { kind: 'empirical', profile: 'sharegpt' } }).workload.prompt).toEqual({ kind: 'empirical', profile: 'sharegpt' });
  });

  it('workload rules of the workload module, with the sweep field', () => {
    bad({ workload: 'nope' }, 'workload', /unknown workload profile; known: sharegpt.*\(got "nope"\)/);
    bad({ prompt: { kind: 'empirical', profile: 'nope' } }, 'prompt.profile', /unknown workload profile/);
    bad({ workload: 'trace', trace: 't.csv', output: { kind: 'fixed', value: 3 } }, 'output', /a trace replays its own lengths/);
  });

  it('model: a known preset or a readable .json file', () => {
    bad({ model: 'gpt-5' }, 'model', /unknown preset; known: qwen3-30b-a3b-h100.*\(got "gpt-5"\)/);
    bad({ model: '/nonexistent/m.json' }, 'model', /cannot read the model file/);
  });

  it('timeseries: boolean', () => {
    bad({ timeseries: 'yes' }, 'timeseries', /must be true or false/);
  });
});

describe('admission and sorted_round_robin rules', () => {
  it('adp_balance needs sync: barrier; sorted_round_robin needs dispatch: per_step; knobs are integers', () => {
    expect(() => scenarioFromFlat({ admission: 'adp_balance', sync: 'independent' })).toThrow(/^admission: adp_balance synchronises/);
    expect(() => scenarioFromFlat({ router: 'sorted_round_robin' })).toThrow(/^dispatch: router sorted_round_robin deals the global queue at step boundaries: it needs dispatch: per_step/);
    expect(() => scenarioFromFlat({ admission: 'fifo' })).toThrow(/^admission/);
    expect(() => scenarioFromFlat({ adp_timeout_iters: 2.5 })).toThrow(/^adp_timeout_iters/);
    const sc = scenarioFromFlat({ router: 'sorted_round_robin', dispatch: 'per_step', admission: 'adp_balance' });
    expect([sc.admission, sc.adpTimeoutIters, sc.adpBatchingWaitIters]).toEqual(['adp_balance', 50, 10]);
  });
});
