// topology pd from the command line (docs/pd.md): `run --topology pd`, a sweep with the new
// axes, the result columns, and bad input (one line naming the field, exit code 2, no output).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { cli, cliIn, expectBadInput } from './cli.ts';

vi.setConfig({ testTimeout: 120_000 });

const dir = mkdtempSync(join(tmpdir(), 'br-pd-'));
const out = (name: string) => join(dir, name);

describe('run --topology pd', () => {
  it('runs (child process), prints the pd line and writes the pd columns', () => {
    const file = out('run.arrow');
    const r = cli(['run', '--topology', 'pd', '--dp', '4', '--prefill-instances', '2', '--kv-link', 'nvlink', '--rate', '10', '--requests', '200', '-o', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/pd {9}prefill instances 2 {2}link nvlink {2}prefill util [0-9.]+% {2}decode util [0-9.]+% {2}KV transfer mean [0-9.]+ ms/);
    expect(r.stdout).toMatch(/pd TTFT ms prefill queue [0-9.]+ \+ prefill [0-9.]+ \+ router wait 0\.0 \+ transfer [0-9.]+ \+ decode queue [0-9.]+ \+ first decode step [0-9.]+ \(means\)/);
    const [row] = readArrowFile(file).rows();
    expect(row.topology).toBe('pd');
    expect(row.prefill_instances).toBe(2);
    expect(row.kv_link).toBe('nvlink');
    expect(row.kv_link_gbps).toBeCloseTo(2520, 9);
    expect(row.kv_link_latency_us).toBe(5);
    expect(row.kv_bytes_per_token).toBe(98_304);
    expect(row.completed).toBe(200);
    for (const c of ['prefill_util', 'decode_util']) {
      expect(row[c] as number).toBeGreaterThan(0);
      expect(row[c] as number).toBeLessThanOrEqual(1);
    }
    // 98,304 B/token at 2520 Gb/s: about 0.31 µs per prompt token, plus 5 µs.
    expect(row.kv_transfer_mean_ms as number).toBeGreaterThan(0.005);
    expect(row.kv_transfer_p95_ms as number).toBeGreaterThanOrEqual(row.kv_transfer_mean_ms as number);
  });

  it('the request log carries each request\'s prefill, transfer and decode times', async () => {
    const ts = out('pdts.arrow');
    const r = await cliIn(['run', '--topology', 'pd', '--dp', '2', '--prefill-instances', '1', '--rate', '5', '--requests', '40', '-o', out('pdts-run.arrow'), '--timeseries', ts]);
    expect(r.code, r.stderr).toBe(0);
    const rows = readArrowFile(out('pdts.requests.arrow')).rows();
    expect(rows).toHaveLength(40);
    for (const q of rows) {
      expect(q.status).toBe(4);
      expect(q.prefill_instance).toBe(0);
      const times = [q.arrival_us, q.admit_us, q.prefill_end_us, q.transfer_start_us, q.transfer_end_us, q.decode_admit_us, q.first_token_us, q.end_us] as number[];
      for (let k = 1; k < times.length; k++) expect(times[k]).toBeGreaterThanOrEqual(times[k - 1]);
      expect(q.transfer_end_us as number).toBeGreaterThan(q.transfer_start_us as number);
    }
  });

  it('colocated rows keep the pd columns null', async () => {
    const file = out('co.arrow');
    const r = await cliIn(['run', '--dp', '2', '--requests', '20', '-o', file, '--timeseries', out('cots.arrow')]);
    expect(r.code, r.stderr).toBe(0);
    const [row] = readArrowFile(file).rows();
    expect(row.topology).toBe('colocated');
    for (const c of ['prefill_instances', 'kv_link', 'kv_link_gbps', 'kv_link_latency_us', 'kv_bytes_per_token', 'prefill_util', 'decode_util', 'kv_transfer_mean_ms', 'kv_transfer_p95_ms']) {
      expect(row[c], c).toBeNull();
    }
    for (const q of readArrowFile(out('cots.requests.arrow')).rows()) {
      for (const c of ['prefill_instance', 'prefill_end_us', 'transfer_start_us', 'transfer_end_us', 'decode_admit_us']) expect(q[c], c).toBe(-1);
    }
  });

  it('a sweep takes the new keys as axes (sweep file field names = scenario keys)', async () => {
    const yaml = out('pd.yaml');
    writeFileSync(yaml, 'name: pd\nbase: {dp: 2, requests: 60, rate: 5, kv_link_latency_us: 20}\naxes:\n  topology: [colocated, pd]\n  prefill_instances: [1, 2]\n  kv_link_gbps: [100, 1000]\n');
    const file = out('sweep.arrow');
    const r = await cliIn(['sweep', yaml, '-o', file, '--engine', 'cpu', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const rows = readArrowFile(file).rows();
    expect(rows).toHaveLength(8);
    const pd = rows.filter((x) => x.topology === 'pd');
    expect(pd.map((x) => [x.prefill_instances, x.kv_link_gbps, x.kv_link_latency_us])).toEqual([
      [1, 100, 20],
      [1, 1000, 20],
      [2, 100, 20],
      [2, 1000, 20],
    ]);
    // Ten times the bandwidth, less transfer time (the latency stays).
    expect(pd[1].kv_transfer_mean_ms as number).toBeLessThan(pd[0].kv_transfer_mean_ms as number);
  });
});

describe('topology pd: bad input', () => {
  it('unknown topology', () => expectBadInput(['run', '--topology', 'disagg', '-o', out('b1.arrow')], ['topology', '"disagg"', 'colocated, pd'], out('b1.arrow')));
  it('no prefill instances', () => expectBadInput(['run', '--topology', 'pd', '--prefill-instances', '0', '-o', out('b2.arrow')], ['prefill_instances', '0'], out('b2.arrow')));
  it('negative bandwidth', () => expectBadInput(['run', '--topology', 'pd', '--kv-link-gbps', '-400', '-o', out('b3.arrow')], ['kv_link_gbps', '-400'], out('b3.arrow')));
  it('negative latency', () => expectBadInput(['run', '--topology', 'pd', '--kv-link-latency-us', '-1'], ['kv_link_latency_us', '-1']));
  it('unknown link', () => expectBadInput(['run', '--topology', 'pd', '--kv-link', 'ethernet'], ['kv_link', '"ethernet"', 'nvlink']));
  it('pd with sync: independent', () => expectBadInput(['run', '--topology', 'pd', '--sync', 'independent', '-o', out('b4.arrow')], ['sync', '"independent"', 'barrier'], out('b4.arrow')));
  it('pd with a client timeout', () => expectBadInput(['run', '--topology', 'pd', '--timeout-s', '30'], ['timeout_s', '30']));
  it('a model without KV bytes per token needs kv_bytes_per_token', () => {
    const model = out('fixed.json');
    writeFileSync(model, JSON.stringify({ name: 'fixed', extends: 'qwen3-30b-a3b-h100', kvCapacityTokens: 100_000 }));
    return expectBadInput(['run', '--topology', 'pd', '--model', model, '--requests', '5', '-o', out('b5.arrow')], ['kv_bytes_per_token', 'kvBytesPerToken'], out('b5.arrow'));
  });
  it('sweep --engine gpu with a pd configuration', () => {
    const yaml = out('gpu.yaml');
    writeFileSync(yaml, 'base: {topology: pd, dp: 2, requests: 10}\n');
    return expectBadInput(['sweep', yaml, '-o', out('b6.arrow'), '--engine', 'gpu'], ['engine', '"gpu"', 'CPU engine', '--engine cpu or auto'], out('b6.arrow'));
  });
});
