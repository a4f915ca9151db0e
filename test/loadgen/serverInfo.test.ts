// What loadgen records about the server (its /version, engine count, KV cache and /metrics at
// start and end), how `calibrate --from-run` reads it back, and `predict` taking DP size and step
// model from the log or refusing to guess them.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { readMeasuredRun } from '../../src/calibrate/measuredRun.ts';
import { serverInfoFromMetadata, serverMetadata } from '../../src/loadgen/serverInfo.ts';
import { startFakeServer } from './fakeServer.ts';
import { cliIn } from '../cli/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'server-info-'));
const run = cliIn; // the CLI in this process (test/cli/cli.ts)

/** A vLLM-style exposition of two engines; histogram sums/counts grow by `k` requests. */
function exposition(k: number): string {
  const lines: string[] = [];
  for (const e of ['0', '1']) {
    const l = `engine="${e}",model_name="m"`;
    lines.push(`vllm:num_requests_running{${l}} 0`, `vllm:num_requests_waiting{${l}} 0`);
    lines.push(`vllm:cache_config_info{block_size="16",engine="${e}",model_name="m",num_gpu_blocks="1000"} 1`);
    // Per engine: k requests with queue 2 ms, prefill 30 ms, TTFT 40 ms, E2E 200 ms each.
    for (const [name, v] of [['request_queue_time', 0.002], ['request_prefill_time', 0.03], ['time_to_first_token', 0.04], ['e2e_request_latency', 0.2]] as const) {
      const base = name === 'time_to_first_token' ? 'vllm:time_to_first_token_seconds' : name === 'e2e_request_latency' ? 'vllm:e2e_request_latency_seconds' : `vllm:${name}_seconds`;
      lines.push(`${base}_sum{${l}} ${k * v}`, `${base}_count{${l}} ${k}`);
    }
  }
  return lines.join('\n') + '\n';
}

describe('the server snapshot in a loadgen log', () => {
  it('records engine count, KV cache, step model, speed and /metrics deltas', async () => {
    let scrapes = 0;
    const fake = await startFakeServer({
      ttftMs: 2,
      itlMs: 1,
      metrics: () => exposition(scrapes++ === 0 ? 3 : 3 + 5),
      version: () => ({ version: 'balanceroute-emulate', step_model: 'qwen3-30b-a3b-h100', data_parallel_size: 2, speed: 4 }),
    });
    const m = join(dir, 'm.arrow');
    try {
      const r = await run(['loadgen', '--url', fake.url, '--rate', 'inf', '--requests', '6', '--max-output', '4', '-o', m, '--save-json', join(dir, 'bench.json'), '--save-detailed', '-q']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    } finally {
      await fake.close();
    }
    const md = readArrowFile(m).metadata;
    expect(md).toMatchObject({ server_dp: '2', server_kv_blocks: '1000', server_block_size: '16', server_step_model: 'qwen3-30b-a3b-h100', server_speed: '4' });
    expect(md.server_metrics_start).toContain('vllm:request_queue_time_seconds_sum');
    const run0 = readMeasuredRun(m);
    expect(run0).toMatchObject({ source: 'loadgen', anchor: 'client', dp: 2, stepModel: 'qwen3-30b-a3b-h100', speed: 4, kvBlocks: 1000, blockSize: 16 });
    expect(run0.arrivalUs).toHaveLength(6);
    expect([...run0.ok]).toEqual([1, 1, 1, 1, 1, 1]);
    // 5 new requests per engine between the snapshots, each with the same values.
    expect(run0.serverMeans!.count).toBe(10);
    expect(run0.serverMeans!.queueMs).toBeCloseTo(2, 9);
    expect(run0.serverMeans!.prefillMs).toBeCloseTo(30, 9);
    expect(run0.serverMeans!.ttftMs).toBeCloseTo(40, 9);
    expect(run0.serverMeans!.e2eMs).toBeCloseTo(200, 9);

    // The vllm bench JSON of the same run reads as the same requests (client-anchored).
    const j = readMeasuredRun(join(dir, 'bench.json'));
    expect(j.source).toBe('vllm-bench');
    expect([...j.ok]).toEqual([1, 1, 1, 1, 1, 1]);
    expect([...j.output]).toEqual([...run0.output]);
    j.ttftUs.forEach((v, i) => expect(v).toBeCloseTo(run0.ttftUs[i], 3));

    // predict takes DP size, step model and speed from the log.
    const p = join(dir, 'p.arrow');
    const pr = await run(['predict', m, '-o', p, '-q']);
    expect(pr.stderr).toBe('');
    expect(pr.code).toBe(0);
    const s = readArrowFile(p.replace(/\.arrow$/, '.summary.arrow')).rows()[0];
    expect([s.dp, s.model]).toEqual([2, 'qwen3-30b-a3b-h100']);
    expect(readArrowFile(p).metadata.speed).toBe('4');
  });

  it('predict refuses to guess DP size or step model the log does not record', async () => {
    const fake = await startFakeServer({ ttftMs: 2, itlMs: 1 });
    const m = join(dir, 'bare.arrow');
    try {
      expect((await run(['loadgen', '--url', fake.url, '--rate', 'inf', '--requests', '3', '--max-output', '4', '-o', m, '-q'])).code).toBe(0);
    } finally {
      await fake.close();
    }
    expect(readMeasuredRun(m).notes.join(' ')).toMatch(/records no server configuration/);
    const a = await run(['predict', m, '-o', join(dir, 'x.arrow'), '--model', 'qwen3-30b-a3b-h100']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/^balanceroute: dp: .*does not record the server's DP size.*pass --dp N\n$/);
    const b = await run(['predict', m, '-o', join(dir, 'x.arrow'), '--dp', '2']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/^balanceroute: model: .*does not record the server's step model \(it served fake-model\); pass --model/);
  });
});

describe('serverMetadata', () => {
  it('takes the DP size from a complete set of engine labels only', () => {
    const text = (engines: string[]) => engines.map((e) => `vllm:num_requests_running{engine="${e}",model_name="m"} 0`).join('\n') + '\n';
    const md = (engines: string[]) => serverMetadata({ metrics: text(engines), version: { version: '0.19.0' }, models: null }, null);
    expect(md(['0', '1', '2', '3']).server_dp).toBe('4');
    // An external-LB port shows its own engine only: the DP size is not known.
    expect(md(['3']).server_dp).toBeUndefined();
    expect(serverInfoFromMetadata(md(['0'])).dp).toBe(1);
    expect(serverInfoFromMetadata(md(['0'])).means).toBeUndefined();
    expect(serverInfoFromMetadata({}).recorded).toBe(false);
  });
});
