// End to end: a sweep through the CLI writes one row per configuration, readable by an Arrow
// implementation other than the one that wrote it (flechette), with the documented columns.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from '@uwdata/flechette';
import { describe, expect, it } from 'vitest';
import { cli } from './cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'br-sweep-'));

const REQUIRED = [
  'router', 'dp', 'rate', 'seed', 'requests', 'completed', 'failed', 'preempted', 'throughput_tok_s', 'req_per_s',
  'ttft_mean_ms', 'ttft_p50_ms', 'ttft_p95_ms', 'ttft_p99_ms', 'tpot_mean_ms', 'tpot_p95_ms', 'e2e_mean_ms',
  'e2e_p95_ms', 'imbalance', 'idle_frac', 'balance_ratio', 'steps', 'wall_ms',
];

describe('sweep -> Arrow file', () => {
  const sweep = join(dir, 'small.yaml');
  writeFileSync(sweep, [
    'name: small',
    'base: {requests: 60, dp: 4, rate: 4}',
    'axes:',
    '  router: [vllm_default, jsq_load, {name: br0, b: [4, 16]}]',
    '  seed: [1, 2]',
  ].join('\n'));
  const out = join(dir, 'small.arrow');
  const r = cli(['sweep', sweep, '-o', out, '--threads', '2', '--engine', 'cpu']);

  it('exits 0 and prints a table and a summary line', () => {
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('jsq_load');
    expect(r.stderr).toMatch(/8 configurations in .* simulated requests\/s/);
    // 480 simulated requests: the pool is not worth starting; the line says so.
    expect(r.stderr).toMatch(/cpu engine, 1 thread: 480 simulated requests are below the worker-pool threshold/);
  });

  it('has one row per configuration with the documented columns, read by an independent reader', () => {
    const t = tableFromIPC(readFileSync(out));
    expect(t.numRows).toBe(8);
    const names = t.schema.fields.map((f) => f.name);
    for (const c of REQUIRED) expect(names).toContain(c);
    const rows = t.toArray() as Record<string, unknown>[];
    expect(rows.map((x) => x.router)).toEqual(['vllm_default', 'vllm_default', 'jsq_load', 'jsq_load', 'br0', 'br0', 'br0', 'br0']);
    // br0's b may be the word G, so its column holds strings.
    expect(rows.map((x) => x.knob_b)).toEqual([null, null, null, null, '4', '4', '16', '16']);
    for (const x of rows) {
      expect(x.dp).toBe(4);
      expect(x.requests).toBe(60);
      expect((x.completed as number) + (x.failed as number)).toBe(60);
      expect(x.throughput_tok_s as number).toBeGreaterThan(0);
    }
    // Common random numbers: every router sees the same stream for a seed, so at G=4 and light
    // load the totals of output tokens agree across routers.
    const bySeed = (s: number) => new Set(rows.filter((x) => x.seed === s).map((x) => x.output_tokens));
    expect(bySeed(1).size).toBe(1);
    expect(bySeed(2).size).toBe(1);
    const meta = t.schema.metadata as Map<string, string>;
    expect(meta.get('engine')).toBe('cpu');
  });

  it('run -o writes the same row as the sweep for the same configuration', () => {
    const one = join(dir, 'one.arrow');
    const rr = cli(['run', '--router', 'jsq_load', '--dp', '4', '--rate', '4', '--requests', '60', '--seed', '2', '-o', one, '--json']);
    expect(rr.code, rr.stderr).toBe(0);
    const json = JSON.parse(rr.stdout) as Record<string, number>;
    const t = tableFromIPC(readFileSync(one)).toArray()[0] as Record<string, number>;
    const s = (tableFromIPC(readFileSync(out)).toArray() as Record<string, unknown>[]).find((x) => x.router === 'jsq_load' && x.seed === 2) as Record<string, number>;
    for (const k of ['completed', 'steps', 'throughput_tok_s', 'ttft_p95_ms', 'e2e_mean_ms', 'imbalance']) {
      expect(t[k]).toBe(s[k]);
      expect(json[k]).toBe(s[k]);
    }
  }, 60_000);

  it('shards merge back into the unsharded result', () => {
    const a = join(dir, 'a.arrow');
    const b = join(dir, 'b.arrow');
    const m = join(dir, 'm.arrow');
    expect(cli(['sweep', sweep, '-o', a, '--shard', '0/2', '-q']).code).toBe(0);
    expect(cli(['sweep', sweep, '-o', b, '--shard', '1/2', '-q']).code).toBe(0);
    expect(cli(['merge', a, b, '-o', m]).code).toBe(0);
    const full = tableFromIPC(readFileSync(out)).toArray() as Record<string, unknown>[];
    const merged = tableFromIPC(readFileSync(m)).toArray() as Record<string, unknown>[];
    expect(merged.length).toBe(full.length);
    for (let i = 0; i < full.length; i++) {
      expect(merged[i].config_index).toBe(full[i].config_index);
      expect(merged[i].throughput_tok_s).toBe(full[i].throughput_tok_s);
      expect(merged[i].router).toBe(full[i].router);
    }
  }, 90_000);
});
