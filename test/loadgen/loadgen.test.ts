// `balanceroute loadgen` against the fake server: measurement, output files, failures with reasons.
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.ts';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { METRIC_COLUMNS } from '../../src/metrics/types.ts';
import { buildPlan } from '../../src/loadgen/plan.ts';
import { buildWorkload } from '../../src/workload/build.ts';
import { startFakeServer, type FakeServer } from './fakeServer.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadgen-'));
const quiet = async (args: string[]) => {
  const err = process.stderr.write;
  let text = '';
  process.stderr.write = ((s: string) => ((text += s), true)) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'balanceroute', ...args]);
    return { code, stderr: text };
  } finally {
    process.stderr.write = err;
  }
};

describe('loadgen against a well-behaved server', () => {
  let fake: FakeServer;
  const out = join(dir, 'ok.arrow');
  const json = join(dir, 'ok.json');
  beforeAll(async () => {
    fake = await startFakeServer({ ttftMs: 30, itlMs: 4, rank: (i) => i % 2 });
    const r = await quiet(['loadgen', '--url', fake.url, '--rate', '40', '--requests', '16', '--seed', '3', '--max-output', '12', '-o', out, '--save-json', json, '--metric-percentiles', '50,99', '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 30_000);
  afterAll(() => fake.close());

  it('sends the planned token-id prompts with max_tokens and ignore_eos, and the server sees exactly those lengths', () => {
    const wl = buildWorkload({ source: 'sharegpt', arrival: 'poisson', cv: 1, rate: 1, requests: 16, seed: 3, maxOutput: 12 });
    // The one-token initial test request comes first, then the 16 of the run.
    expect(fake.received).toHaveLength(17);
    expect(fake.received[0].index).toBe(-1);
    expect(fake.received[0].body.max_tokens).toBe(1);
    for (const r of fake.received.slice(1)) {
      expect(r.path).toBe('/v1/completions');
      expect((r.body.prompt as number[]).length).toBe(wl.prompt[r.index]);
      expect(r.body.max_tokens).toBe(wl.output[r.index]);
      expect(r.body.ignore_eos).toBe(true);
      expect(r.body.stream).toBe(true);
      expect(r.body.stream_options).toEqual({ include_usage: true });
      expect(r.body.model).toBe('fake-model');
    }
  });

  it('writes one log row per request with vllm bench measurements', () => {
    const f = readArrowFile(out);
    expect(f.metadata.format).toBe('balanceroute-measured/1');
    const rows = f.rows();
    expect(rows).toHaveLength(16);
    for (const r of rows) {
      expect(r.outcome).toBe('completed');
      expect(r.output).toBe(r.max_tokens);
      expect(r.rank).toBe((r.request as number) % 2);
      // TTFT includes the server's 30 ms; later chunks come every 4 ms or so.
      expect(r.ttft_ms as number).toBeGreaterThanOrEqual(29);
      expect(r.ttft_ms as number).toBeLessThan(r.e2e_ms as number);
      const itl = Array.from(r.itl_ms as Iterable<number>);
      expect(itl).toHaveLength((r.output as number) - 1);
      const e2e = (r.ttft_ms as number) + itl.reduce((a, b) => a + b, 0);
      expect(r.e2e_ms as number).toBeCloseTo(e2e, 6);
      if ((r.output as number) > 1) expect(r.tpot_ms as number).toBeCloseTo(((r.e2e_ms as number) - (r.ttft_ms as number)) / ((r.output as number) - 1), 9);
      expect(r.first_token_us as number).toBeCloseTo((r.arrival_us as number) + (r.ttft_ms as number) * 1000, 3);
    }
    // The schedule is vllm bench's: last request at N / rate = 0.4 s.
    expect(rows[15].scheduled_us as number).toBeCloseTo(400_000, 3);
    for (const r of rows) expect((r.arrival_us as number) - (r.scheduled_us as number)).toBeGreaterThanOrEqual(0);
  });

  it('writes a summary row with the simulator result columns', () => {
    const s = readArrowFile(out.replace(/\.arrow$/, '.summary.arrow'));
    expect(s.numRows).toBe(1);
    const names = s.columns.map((c) => c.name);
    for (const m of METRIC_COLUMNS) expect(names).toContain(m);
    const row = s.rows()[0];
    expect(row.requests).toBe(16);
    expect(row.completed).toBe(16);
    expect(row.failed).toBe(0);
    expect(row.engine).toBe('live');
    expect(row.ttft_mean_ms as number).toBeGreaterThan(29);
    expect(row.queue_mean_ms).toBeNull();
    const log = readArrowFile(out).rows();
    const outTok = log.reduce((a, r) => a + (r.output as number), 0);
    expect(row.output_tokens).toBe(outTok);
    expect(row.throughput_tok_s as number).toBeCloseTo(outTok / (row.makespan_s as number), 6);
  });

  it('writes vllm bench JSON keys', () => {
    const j = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
    for (const k of ['date', 'endpoint_type', 'model_id', 'num_prompts', 'request_rate', 'burstiness', 'duration', 'completed', 'failed', 'total_input_tokens', 'total_output_tokens', 'request_throughput', 'output_throughput', 'total_token_throughput', 'max_output_tokens_per_s', 'max_concurrent_requests', 'mean_ttft_ms', 'median_ttft_ms', 'std_ttft_ms', 'p99_ttft_ms', 'p50_itl_ms', 'p99_itl_ms', 'mean_tpot_ms', 'mean_e2el_ms']) {
      expect(j, k).toHaveProperty(k);
    }
    expect(j.completed).toBe(16);
    expect(j.request_rate).toBe(40);
    expect(j).not.toHaveProperty('ttfts');
    const log = readArrowFile(out).rows();
    const mean = log.reduce((a, r) => a + (r.ttft_ms as number), 0) / 16;
    expect(j.mean_ttft_ms as number).toBeCloseTo(mean, 9);
  });
});

describe('loadgen: server faults are per-request failures with reasons', () => {
  let fake: FakeServer;
  const out = join(dir, 'faults.arrow');
  const modes = ['http400', 'http500', 'cut', 'malformed', 'stream_error', 'hang', 'no_done', 'json'] as const;
  beforeAll(async () => {
    fake = await startFakeServer({ ttftMs: 5, itlMs: 2, mode: (i) => modes[i] ?? 'ok' });
    const r = await quiet(['loadgen', '--url', `${fake.url}/v1`, '--model', 'm', '--rate', 'inf', '--requests', '10', '--max-output', '8', '--workload', 'azure_code', '--timeout-s', '0.5', '-o', out, '-q']);
    expect(r.code).toBe(0);
  }, 30_000);
  afterAll(() => fake.close());

  it('records each failure kind and its message', () => {
    const rows = readArrowFile(out).rows();
    expect(rows).toHaveLength(10);
    const by = Object.fromEntries(rows.map((r) => [r.request, r]));
    expect(by[0].outcome).toBe('http_4xx');
    expect(by[0].error).toMatch(/^HTTP 400: This model's maximum context length/);
    expect(by[1].outcome).toBe('http_5xx');
    expect(by[1].error).toBe('HTTP 500: engine dead');
    expect(by[2].outcome).toBe('stream_cut');
    expect(by[3].outcome).toBe('malformed_chunk');
    expect(by[3].error).toMatch(/malformed SSE chunk/);
    expect(by[4].outcome).toBe('stream_error');
    expect(by[4].error).toMatch(/KV cache exhausted/);
    expect(by[5].outcome).toBe('timeout');
    expect(by[5].error).toBe('timed out after 0.5 s');
    expect(by[6].outcome).toBe('stream_cut');
    expect(by[7].outcome).toBe('not_sse');
    expect(by[7].error).toMatch(/content-type application\/json, not an SSE stream/);
    for (const i of [8, 9]) expect(by[i].outcome).toBe('completed');
    for (const i of [0, 1, 2, 3, 4, 5, 6, 7]) {
      expect(by[i].status).toBe(5);
      expect(by[i].ttft_ms).toBeNull();
    }
    const s = readArrowFile(out.replace(/\.arrow$/, '.summary.arrow')).rows()[0];
    expect(s.completed).toBe(2);
    expect(s.failed).toBe(8);
    expect(s.failed_timeout).toBe(1);
    expect(s.failed_rejected).toBe(7);
  });
});

describe('loadgen --trace', () => {
  it("sends at the trace's own timing with its lengths, or rescaled with --rate", async () => {
    const trace = join(dir, 'trace.csv');
    writeFileSync(trace, 'arrival_time_ns,prompt_tokens,output_tokens\n5000000000,12,3\n5050000000,7,5\n5200000000,30,2\n');
    const fake = await startFakeServer({ ttftMs: 2, itlMs: 1 });
    try {
      const out = join(dir, 'trace.arrow');
      const r = await quiet(['loadgen', '--url', fake.url, '--trace', trace, '--no-initial-test', '-o', out, '-q']);
      expect(r.code).toBe(0);
      const rows = readArrowFile(out).rows();
      expect(rows.map((x) => x.scheduled_us)).toEqual([0, 50_000, 200_000]);
      expect(rows.map((x) => x.prompt)).toEqual([12, 7, 30]);
      expect(rows.map((x) => x.output)).toEqual([3, 5, 2]);
      const out2 = join(dir, 'trace2.arrow');
      const r2 = await quiet(['loadgen', '--url', fake.url, '--trace', trace, '--rate', '20', '--no-initial-test', '-o', out2, '-q']);
      expect(r2.code).toBe(0);
      // (n - 1) / span = 20 req/s: the last of 3 at 0.1 s.
      expect(readArrowFile(out2).rows().map((x) => x.scheduled_us)).toEqual([0, 25_000, 100_000]);
    } finally {
      await fake.close();
    }
  }, 30_000);
});

describe('loadgen --max-concurrency', () => {
  it('never has more than C requests in flight, and counts a request from its send', async () => {
    const fake = await startFakeServer({ ttftMs: 40, itlMs: 2 });
    try {
      const out = join(dir, 'conc.arrow');
      const r = await quiet(['loadgen', '--url', fake.url, '--rate', 'inf', '--requests', '8', '--max-concurrency', '2', '--max-output', '4', '--no-initial-test', '-o', out, '-q']);
      expect(r.code).toBe(0);
      expect(fake.maxOpen()).toBe(2);
      const rows = readArrowFile(out).rows();
      expect(rows.every((x) => x.outcome === 'completed')).toBe(true);
      // Everything was due at 0; later requests waited for a slot, and TTFT starts at the send.
      expect(Math.max(...rows.map((x) => x.arrival_us as number))).toBeGreaterThan(3 * 40_000);
      // A request that waited for a slot does not count the wait: its TTFT is shorter than the
      // time it was held back (sent at arrival_us, due at 0).
      const last = rows.reduce((a, b) => ((a.arrival_us as number) > (b.arrival_us as number) ? a : b));
      expect((last.ttft_ms as number) * 1000).toBeLessThan(last.arrival_us as number);
      const s = readArrowFile(out.replace(/\.arrow$/, '.summary.arrow')).rows()[0];
      expect(s.max_concurrency).toBe(2);
    } finally {
      await fake.close();
    }
  }, 30_000);
});

describe('loadgen: ShareGPT text on the chat endpoint', () => {
  it('samples entries that pass vLLM filter, counted with the tokenizer', async () => {
    const words = (n: number) => Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 'hello' : 'word')).join(' ');
    const data = [
      { id: 'a', conversations: [{ from: 'human', value: words(10) }, { from: 'gpt', value: words(6) }] },
      { id: 'b', conversations: [{ from: 'human', value: words(3) }, { from: 'gpt', value: words(20) }] }, // prompt < 4
      { id: 'c', conversations: [{ from: 'human', value: words(1100) }, { from: 'gpt', value: words(8) }] }, // prompt > 1024
      { id: 'd', conversations: [{ from: 'human', value: words(1000) }, { from: 'gpt', value: words(1100) }] }, // total > 2048
      { id: 'e', conversations: [{ from: 'human', value: words(5) }] }, // one turn
      { id: 'f', conversations: [{ from: 'human', value: words(40) }, { from: 'gpt', value: words(9) }] },
    ];
    const ds = join(dir, 'sharegpt.json');
    writeFileSync(ds, JSON.stringify(data));
    const tok = new URL('./fixtures/tokenizer.json', import.meta.url).pathname;
    const plan = buildPlan({ endpoint: 'chat', model: 'm', requests: 5, rate: 10, burstiness: 1, seed: 0, maxOutput: 1024, ignoreEos: true, dataset: ds, tokenizer: tok });
    expect(plan.requests).toHaveLength(5);
    const pairs = new Set(plan.requests.map((r) => `${r.promptTokens}/${r.maxTokens}`));
    expect([...pairs].sort()).toEqual(['10/6', '40/9']); // only a and f pass; oversampled to 5
    const fake = await startFakeServer({ ttftMs: 2, itlMs: 1 });
    try {
      const out = join(dir, 'chat.arrow');
      const r = await quiet(['loadgen', '--url', fake.url, '--endpoint', 'chat', '--dataset', ds, '--tokenizer', tok, '--rate', 'inf', '--requests', '5', '-o', out, '-q']);
      expect(r.code).toBe(0);
      expect(fake.received.every((x) => x.path === '/v1/chat/completions')).toBe(true);
      const msgs = fake.received.map((x) => (x.body.messages as { content: string }[])[0].content);
      expect(msgs.every((m) => m === words(10) || m === words(40))).toBe(true);
      const rows = readArrowFile(out).rows();
      expect(rows.every((x) => x.outcome === 'completed')).toBe(true);
    } finally {
      await fake.close();
    }
  }, 30_000);
});

describe('loadgen: configuration problems exit 2 with one line', () => {
  const cases: [string, string[], RegExp][] = [
    ['unreachable URL', ['--url', 'http://127.0.0.1:1', '--rate', '1', '--requests', '1'], /^balanceroute: url: cannot reach the server \(ECONNREFUSED\)/],
    ['not a URL', ['--url', 'nope', '--rate', '1'], /^balanceroute: url: not a URL/],
    ['missing rate', ['--url', 'http://127.0.0.1:1'], /^balanceroute: rate: is required/],
    ['bad burstiness', ['--url', 'http://127.0.0.1:1', '--rate', '1', '--burstiness', '0'], /^balanceroute: burstiness: must be a gamma shape > 0/],
    ['chat without dataset', ['--url', 'http://127.0.0.1:1', '--rate', '1', '--endpoint', 'chat'], /^balanceroute: endpoint: token-id prompts need --endpoint completions/],
  ];
  for (const [name, args, re] of cases) {
    it(name, async () => {
      const out = join(dir, `bad-${name.replace(/\W/g, '')}.arrow`);
      const r = await quiet(['loadgen', ...args, '-o', out, '-q']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('a server that rejects the initial test request (wrong model name, say)', async () => {
    const fake = await startFakeServer({ mode: (i) => (i === -1 ? 'http400' : 'ok') });
    try {
      const out = join(dir, 'initial.arrow');
      const r = await quiet(['loadgen', '--url', fake.url, '--rate', '1', '--requests', '3', '-o', out, '-q']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^balanceroute: url: the initial test request failed \(HTTP 400: This model's maximum context length is 4096 tokens\)/);
      expect(fake.received).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
    } finally {
      await fake.close();
    }
  });

  it('a dataset that is not ShareGPT-shaped', async () => {
    const fake = await startFakeServer();
    try {
      const ds = join(dir, 'notsharegpt.json');
      writeFileSync(ds, JSON.stringify([{ prompt: 'hello', completion: 'world' }]));
      const tok = new URL('./fixtures/tokenizer.json', import.meta.url).pathname;
      const out = join(dir, 'nsg.arrow');
      const r = await quiet(['loadgen', '--url', fake.url, '--dataset', ds, '--tokenizer', tok, '--rate', '1', '-o', out, '-q']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^balanceroute: dataset: not ShareGPT-shaped: entry 0 has no "conversations" array/);
      expect(existsSync(out)).toBe(false);
      const r2 = await quiet(['loadgen', '--url', fake.url, '--dataset', ds, '--rate', '1', '-o', out, '-q']);
      expect(r2.stderr).toMatch(/^balanceroute: tokenizer: --dataset needs --tokenizer/);
    } finally {
      await fake.close();
    }
  });
});
