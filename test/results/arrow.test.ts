import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { resultsTable, writeResults, writeTimeSeries } from '../../src/results/arrowWrite.ts';
import { resultColumns, resultRow } from '../../src/results/resultSchema.ts';
import { METRIC_COLUMNS } from '../../src/metrics/types.ts';
import { InputError } from '../../src/errors.ts';
import { ENGINE, META, sampleResults, seriesFor } from './fixtures.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'br-io-'));

describe('result files round-trip', () => {
  const results = sampleResults();
  const dir = tmp();
  const path = join(dir, 'out.arrow');

  it('writes an Arrow IPC file (Feather v2) and reads every row back', async () => {
    await writeResults(path, results, META);
    const f = readArrowFile(path);
    expect(f.numRows).toBe(16);
    const rows = f.rows();
    expect(rows.map((r) => r.config_index)).toEqual([...Array(16).keys()]);
    expect(rows[0]).toMatchObject({ router: 'vllm_default', dp: 2, seed: 1, requests: 500, engine: 'cpu', model: 'qwen3-30b-a3b-h100', workload: 'sharegpt', trace: null });
    // Every column a row can produce is in the file.
    expect(f.columns.map((c) => c.name)).toEqual(resultColumns(results).map((c) => c.name));
    for (const r of results) expect(rows[r.scenario.index]).toEqual({ ...nullKnobs(f.columns.map((c) => c.name)), ...resultRow(r, ENGINE) });
  });

  it('types: Int32, Float64 (wide integers too), dictionary strings', () => {
    const f = readArrowFile(path);
    const type = Object.fromEntries(f.columns.map((c) => [c.name, c.typeName]));
    const dict = 'Dictionary<Int32, Utf8>';
    expect(type).toMatchObject({
      config_index: 'Int32',
      router: dict,
      router_params: dict,
      prompt_dist: dict,
      output_dist: dict,
      knob_waiting_weight: 'Float64',
      knob_rotate: dict,
      knob_a: 'Float64',
      knob_b: dict, // br0's b may be the word G
      knob_envelope: dict,
      knob_envelope_frac: 'Float64',
      dp: 'Int32',
      seed: 'Int32',
      requests: 'Int32',
      max_num_seqs: 'Int32',
      kv_capacity: 'Int32',
      block_size: 'Int32',
      max_batched_tokens: 'Int32',
      max_model_len: 'Int32',
      rate: 'Float64',
      cv: 'Float64',
      stats_interval_ms: 'Float64',
      timeout_s: 'Float64',
      workload: dict,
      trace: dict,
      arrival: dict,
      dispatch: dict,
      assign_order: dict,
      model: dict,
      engine: dict,
      max_output: 'Int32',
      completed: 'Int32',
      failed_timeout: 'Int32',
      preempted: 'Int32',
      output_tokens: 'Float64',
      steps: 'Float64',
      ttft_p99_ms: 'Float64',
      idle_frac: 'Float64',
      wall_ms: 'Float64',
    });
    for (const m of METRIC_COLUMNS) expect(type[m]).toBeDefined();
    expect(f.columns.filter((c) => c.name === 'requests')).toHaveLength(1);
    expect(f.columns.find((c) => c.name === 'ttft_p99_ms')!.metadata).toEqual({ unit: 'ms' });
    expect(f.columns.find((c) => c.name === 'throughput_tok_s')!.metadata).toEqual({ unit: 'tokens/s' });
  });

  it('knob columns are null where the router lacks the knob', () => {
    const f = readArrowFile(path);
    const rows = f.rows();
    const byRouter = (name: string) => rows.filter((r) => r.router === name);
    for (const r of byRouter('vllm_default')) expect(r).toMatchObject({ knob_waiting_weight: 4, knob_rotate: 'yes', knob_a: null, knob_b: null, knob_envelope: null });
    for (const r of byRouter('jsq_load')) expect(r).toMatchObject({ knob_waiting_weight: null, knob_rotate: null, knob_b: null });
    expect(byRouter('br0').map((r) => r.knob_b)).toEqual(['4', '4', '4', '4', '8', '8', '8', '8']);
    expect(JSON.parse(byRouter('br0')[0].router_params as string)).toEqual({ a: 1, b: 4, envelope: 'max', envelope_frac: 0.9, hold_ms: 0 });
  });

  it('keeps values exactly; non-finite metrics become null', () => {
    const rows = readArrowFile(path).rows();
    expect(rows[3].output_tokens).toBe(3_000_000_003);
    expect(rows[1].ttft_p99_ms).toBeNull();
    expect(rows[2].ttft_p99_ms).toBe(results[2].metrics.ttft_p99_ms);
    expect(rows[5].kv_capacity).toBe(results[5].scenario.kvCapacity);
  });

  it('writes schema metadata', () => {
    const meta = readArrowFile(path).metadata;
    expect(meta).toMatchObject({
      format: 'balanceroute-results/1',
      engine: 'cpu',
      adapter: '',
      fallback_adapter: 'false',
      threads: '4',
      balanceroute_version: '0.1.0',
      node_version: process.version,
      sweep_name: 'test-sweep',
      wall_ms: '1234.5',
    });
    expect(new Date(meta.created).toISOString()).toBe(meta.created);
  });

  it('writes an empty file for no results', async () => {
    const p = join(dir, 'empty.arrow');
    await writeResults(p, [], META);
    expect(readArrowFile(p).numRows).toBe(0);
  });

  it('length distributions and traces are recorded', async () => {
    const r = sampleResults('configs:\n  - {output: {kind: fixed, value: 7}}\n  - {workload: trace, trace: /t/x.csv}\n');
    const p = join(dir, 'dist.arrow');
    await writeResults(p, r, META);
    const [a, b] = readArrowFile(p).rows();
    expect(a).toMatchObject({ workload: 'sharegpt', trace: null, prompt_dist: null, output_dist: '{"kind":"fixed","value":7}', rate: 3 });
    expect(b).toMatchObject({ workload: 'trace', trace: '/t/x.csv', prompt_dist: null, output_dist: null, rate: 0 });
  });
});

describe('time series', () => {
  it('long format with config_index, typed columns', async () => {
    const results = sampleResults().slice(0, 3);
    results[0].timeseries = seriesFor(0, 3, results[0].scenario.dp);
    results[2].timeseries = seriesFor(2, 2, results[2].scenario.dp);
    const p = join(tmp(), 'ts.arrow');
    await writeTimeSeries(p, results, META);
    const f = readArrowFile(p);
    expect(f.columns.map((c) => `${c.name}:${c.typeName}`)).toEqual([
      'config_index:Int32', 'router:Dictionary<Int32, Utf8>', 'dp:Int32', 'rate:Float64', 'seed:Int32', 'step:Int32', 'time_us:Float64', 'rank:Int32', 'kv_tokens:Float64',
      'running:Int32', 'waiting:Int32', 'rank_step_us:Float64', 'step_us:Float64',
    ]);
    // Configuration 0 has dp 2 (3 steps), configuration 2 has dp 4 (2 steps).
    expect(f.numRows).toBe(3 * 2 + 2 * 4);
    expect(f.column('config_index')).toEqual([0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2]);
    expect(f.column('rank').slice(6)).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    expect(f.column('kv_tokens').slice(6)).toEqual([200, 201, 202, 203, 204, 205, 206, 207]);
    expect(f.metadata.format).toBe('balanceroute-timeseries/1');
  });
});

describe('atomic writes', () => {
  it('a missing directory is an InputError and leaves nothing', async () => {
    const dir = tmp();
    const p = join(dir, 'no', 'such', 'out.arrow');
    await expect(writeResults(p, sampleResults(), META)).rejects.toThrow(InputError);
    await expect(writeResults(p, sampleResults(), META)).rejects.toThrow(/^output: cannot write the file \(ENOENT: does the directory exist\?\)/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a failure while building rows leaves no file and keeps an old one intact', async () => {
    const dir = tmp();
    const p = join(dir, 'out.arrow');
    writeFileSync(p, 'old');
    const results = sampleResults();
    results[3].metrics.completed = 2 ** 40; // cannot be an Int32
    await expect(writeResults(p, results, META)).rejects.toThrow(/completed, row 3/);
    expect(readdirSync(dir)).toEqual(['out.arrow']);
  });

  it('a failure in the middle of writing removes the temporary file', async () => {
    const { writeFileAtomic } = await import('../../src/formats/outputFile.ts');
    const dir = tmp();
    const p = join(dir, 'out.arrow');
    expect(() =>
      writeFileAtomic(p, (t) => {
        writeFileSync(t, 'partial');
        throw new Error('disk on fire');
      }),
    ).toThrow('disk on fire');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('writing onto a directory fails cleanly', async () => {
    const dir = tmp();
    await expect(writeResults(dir, sampleResults(), META)).rejects.toThrow(InputError);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('reading', () => {
  it('rejects files that are not Arrow IPC', () => {
    const dir = tmp();
    const p = join(dir, 'x.arrow');
    writeFileSync(p, 'config_index,router\n0,br0\n');
    expect(() => readArrowFile(p)).toThrow(InputError);
    expect(() => readArrowFile(p)).toThrow(`file: not an Arrow IPC file (got ${JSON.stringify(p)})`);
    writeFileSync(p, 'ARROW1\0\0garbage');
    expect(() => readArrowFile(p)).toThrow(/^file: not an Arrow IPC file/);
    expect(() => readArrowFile(join(dir, 'none.arrow'))).toThrow(/^file: cannot read the file \(ENOENT\)/);
  });

  it('the table built in memory equals the one read back', async () => {
    const results = sampleResults();
    const t = resultsTable(results, META);
    const p = join(tmp(), 'r.arrow');
    await writeResults(p, results, META);
    expect(readArrowFile(p).table.toArray().map((r) => r.toJSON())).toEqual(t.toArray().map((r) => r.toJSON()));
  });
});

function nullKnobs(names: string[]): Record<string, null> {
  return Object.fromEntries(names.filter((n) => n.startsWith('knob_')).map((n) => [n, null]));
}
