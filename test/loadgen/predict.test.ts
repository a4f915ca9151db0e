// `predict` rebuilds a measured run's workload exactly and simulates it; `compare` puts the two
// side by side.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { RESULTS_FORMAT } from '../../src/results/resultSchema.ts';
import { compareSides, readSide } from '../../src/report/compare.ts';
import { scenarioFromFlat } from '../../src/config/expand.ts';
import { simulate } from '../../src/engine/cpu/simulate.ts';
import { resolveStepModel } from '../../src/model/presets.ts';
import { handWorkload } from '../helpers.ts';
import { startFakeServer } from './fakeServer.ts';
import { cliIn } from '../cli/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'predict-'));
const measured = join(dir, 'm.arrow');
const predicted = join(dir, 'p.arrow');
const run = cliIn; // the CLI in this process (test/cli/cli.ts)

beforeAll(async () => {
  const fake = await startFakeServer({ ttftMs: 10, itlMs: 3 });
  try {
    const r = await run(['loadgen', '--url', fake.url, '--rate', '30', '--requests', '24', '--seed', '5', '--max-output', '40', '-o', measured, '-q']);
    expect(r.code).toBe(0);
  } finally {
    await fake.close();
  }
  const p = await run(['predict', measured, '-o', predicted, '--model', 'qwen3-30b-a3b-h100', '--dp', '2', '--router', 'jsq_load', '-q']);
  expect(p.stderr).toBe('');
  expect(p.code).toBe(0);
}, 60_000);

describe('predict', () => {
  it('replays the measured arrivals, prompt and output lengths request by request', () => {
    const m = readArrowFile(measured).rows();
    const p = readArrowFile(predicted).rows();
    expect(p).toHaveLength(m.length);
    m.forEach((mr, i) => {
      const pr = p[i];
      expect(pr.request).toBe(mr.request);
      expect(pr.prompt).toBe(mr.prompt);
      expect(pr.output).toBe(mr.output);
      // Arrivals go through integer µs of model time: within 0.5 µs of the measured send.
      expect(Math.abs((pr.arrival_us as number) - (mr.arrival_us as number))).toBeLessThanOrEqual(0.5 + 1e-9);
      expect(pr.status).toBe(4);
      expect(pr.ttft_ms as number).toBeCloseTo(((pr.first_token_us as number) - (pr.arrival_us as number)) / 1000, 9);
      expect(pr.rank === 0 || pr.rank === 1).toBe(true);
    });
  });

  it('gives the same per-request times as simulating the workload directly', () => {
    const m = readArrowFile(measured).rows().sort((a, b) => (a.arrival_us as number) - (b.arrival_us as number));
    const t0 = m[0].arrival_us as number;
    const wl = handWorkload(m.map((r) => [Math.round((r.arrival_us as number) - t0), r.prompt as number, r.output as number]));
    const sc = scenarioFromFlat({ router: 'jsq_load', dp: 2, workload: 'sharegpt', rate: 1, requests: m.length, max_output: 40 });
    const out = simulate(sc, wl, resolveStepModel(sc.model), { detail: true });
    const p = new Map(readArrowFile(predicted).rows().map((r) => [r.request, r]));
    m.forEach((mr, k) => {
      const pr = p.get(mr.request)!;
      expect(pr.first_token_us as number).toBeCloseTo(t0 + out.requests!.firstTokenUs[k], 6);
      expect(pr.end_us as number).toBeCloseTo(t0 + out.requests!.endUs[k], 6);
      expect(pr.rank).toBe(out.requests!.rank[k]);
    });
  });

  it('writes the simulator result row beside the log', () => {
    const s = readArrowFile(predicted.replace(/\.arrow$/, '.summary.arrow'));
    expect(s.metadata.format).toBe(RESULTS_FORMAT);
    const row = s.rows()[0];
    expect(row.router).toBe('jsq_load');
    expect(row.dp).toBe(2);
    expect(row.requests).toBe(24);
    expect(row.trace).toBe(measured);
    expect(row.completed).toBe(24);
  });

  it('--speed maps wall time to model time and back', async () => {
    const p10 = join(dir, 'p10.arrow');
    const r = await run(['predict', measured, '-o', p10, '--model', 'qwen3-30b-a3b-h100', '--dp', '2', '--router', 'jsq_load', '--speed', '10', '-q']);
    expect(r.code).toBe(0);
    const rows = readArrowFile(p10).rows();
    const m = new Map(readArrowFile(measured).rows().map((x) => [x.request, x]));
    for (const x of rows) expect(Math.abs((x.arrival_us as number) - (m.get(x.request)!.arrival_us as number))).toBeLessThanOrEqual(0.05 + 1e-9);
    // With arrivals 10x further apart in model time, the single-request service time dominates:
    // a request's model-time TTFT is at least one prefill step, so the wall TTFT shrinks ~10x.
    const mean = (rs: Record<string, unknown>[]) => rs.reduce((a, b) => a + (b.ttft_ms as number), 0) / rs.length;
    expect(mean(rows)).toBeLessThan(mean(readArrowFile(predicted).rows()) / 5);
  });

  it('--rtt-ms adds the round trip to first-token and end times, not to TPOT', async () => {
    const p2 = join(dir, 'p-rtt.arrow');
    const r = await run(['predict', measured, '-o', p2, '--model', 'qwen3-30b-a3b-h100', '--dp', '2', '--router', 'jsq_load', '--rtt-ms', '2.5', '-q']);
    expect(r.code).toBe(0);
    const base = new Map(readArrowFile(predicted).rows().map((x) => [x.request, x]));
    for (const x of readArrowFile(p2).rows()) {
      const b = base.get(x.request)!;
      expect(x.ttft_ms as number).toBeCloseTo((b.ttft_ms as number) + 2.5, 9);
      expect(x.e2e_ms as number).toBeCloseTo((b.e2e_ms as number) + 2.5, 9);
      if (x.tpot_ms !== null) expect(x.tpot_ms as number).toBeCloseTo(b.tpot_ms as number, 9);
      expect(x.arrival_us).toBe(b.arrival_us);
    }
    // The engine anchor does not move with the round trip.
    for (const x of readArrowFile(p2).rows()) expect(x.ttft_engine_ms).toBe(base.get(x.request)!.ttft_engine_ms);
    const bad = await run(['predict', measured, '-o', p2, '--rtt-ms', '-1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^balanceroute: rtt_ms: must be a round-trip time >= 0 ms/);
  });
});

describe('predict: both anchors (docs/model.md §8)', () => {
  it('the engine anchor starts at queued_us; the model\'s front-end terms move only the client anchor', async () => {
    const rows = readArrowFile(predicted).rows();
    for (const r of rows) {
      expect(r.queued_us as number).toBeGreaterThanOrEqual(r.arrival_us as number);
      expect(r.scheduled_us as number).toBeGreaterThanOrEqual(r.queued_us as number);
      expect(r.ttft_engine_ms as number).toBeCloseTo(((r.first_token_us as number) - (r.queued_us as number)) / 1000, 6);
      expect(r.ttft_engine_ms as number).toBeLessThanOrEqual((r.ttft_ms as number) + 1e-9);
    }
    expect(readArrowFile(predicted).metadata.anchor).toBe('client');
    const model = join(dir, 'frontend.json');
    writeFileSync(model, JSON.stringify({ extends: 'qwen3-30b-a3b-h100', frontend: { ingressUs: 700, egressUs: 200, perTokenUs: 10 } }));
    const p3 = join(dir, 'p-fe.arrow');
    const r = await run(['predict', measured, '-o', p3, '--dp', '2', '--router', 'jsq_load', '--model', model, '-q']);
    expect(r.code).toBe(0);
    const base = new Map(rows.map((x) => [x.request, x]));
    for (const x of readArrowFile(p3).rows()) {
      const b = base.get(x.request)!;
      const o = x.output as number;
      expect(x.ttft_ms as number).toBeCloseTo((b.ttft_ms as number) + 0.71, 9);
      expect(x.e2e_ms as number).toBeCloseTo((b.e2e_ms as number) + 0.9 + 0.01 * o, 9);
      expect(x.ttft_engine_ms).toBe(b.ttft_engine_ms);
    }
  });
});

describe('compare', () => {
  it('tabulates measured vs predicted over requests completed on both sides', async () => {
    const html = join(dir, 'cmp.html');
    const r = await run(['compare', measured, predicted, '-o', html, '--json']);
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout) as { joined: number; rows: { metric: string; stat: string; measured: number; predicted: number; error: number }[] };
    expect(c.joined).toBe(24);
    const m = readArrowFile(measured).rows();
    const p = readArrowFile(predicted).rows();
    const mean = (rs: Record<string, unknown>[], k: string) => rs.reduce((a, b) => a + (b[k] as number), 0) / rs.length;
    const ttft = c.rows.find((x) => x.metric === 'ttft' && x.stat === 'mean')!;
    expect(ttft.measured).toBeCloseTo(mean(m, 'ttft_ms'), 9);
    expect(ttft.predicted).toBeCloseTo(mean(p, 'ttft_ms'), 9);
    expect(ttft.error).toBeCloseTo((ttft.predicted - ttft.measured) / ttft.measured, 12);
    expect(c.rows).toHaveLength(12);
    const text = readFileSync(html, 'utf8');
    expect(text.match(/<figure class="chart"/g)).toHaveLength(3);
    expect(text).toContain('Requests in flight over time');
  });

  it('`report measured predicted` is the same comparison', async () => {
    const html = join(dir, 'cmp2.html');
    const r = await run(['report', measured, predicted, '-o', html]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^requests 24 \(completed on both sides 24/);
    expect(readFileSync(html, 'utf8')).toContain('<h1>Measured vs predicted</h1>');
  });

  it('a log compared with itself has zero error and a matching in-flight series', () => {
    const side = readSide(readArrowFile(measured), 'measured', 'x');
    const c = compareSides(side, side);
    for (const r of c.rows) expect(r.error).toBe(0);
    expect(c.inFlight.measured).toEqual(c.inFlight.predicted);
    expect(Math.max(...c.inFlight.measured.map(([, n]) => n))).toBeGreaterThan(0);
    expect(c.inFlight.measured[c.inFlight.measured.length - 1][1]).toBe(0);
  });

  it('bad input is one line and exit 2', async () => {
    const a = await run(['predict', predicted.replace(/\.arrow$/, '.summary.arrow'), '-o', join(dir, 'x.arrow')]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/^balanceroute: file: not a loadgen log/);
    expect(existsSync(join(dir, 'x.arrow'))).toBe(false);
    const b = await run(['compare', predicted, measured, '-o', join(dir, 'y.html')]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/^balanceroute: measured: is a predict log/);
    const same = await run(['predict', measured, '-o', measured]);
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/^balanceroute: output: is also the measured log/);
    const c = await run(['predict', measured, '-o', join(dir, 'z.arrow'), '--speed', '0']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/^balanceroute: speed: must be a number > 0/);
  });
});

describe('a gateway decision log', () => {
  it('gives loadgen the ranks and predict its default router, knobs and DP size', async () => {
    const { Schema, Field, Utf8, Int32, Table, makeVector, vectorFromArray, tableToIPC } = await import('apache-arrow');
    const { writeFileSync } = await import('node:fs');
    const n = 6;
    const schema = new Schema([new Field('request_id', new Utf8(), true), new Field('rank', new Int32(), true)],
      new Map([['format', 'balanceroute-decisions/1'], ['router', 'vllm_default'], ['router_params', '{"waiting_weight":2,"rotate":"no"}'], ['ranks', '3']]));
    const ids = Array.from({ length: n }, (_, i) => `loadgen-${i}`);
    const table = new Table(schema, { request_id: vectorFromArray(ids, new Utf8()), rank: makeVector(Int32Array.from(ids.map((_, i) => (i * 2) % 3))) });
    const log = join(dir, 'decisions.arrow');
    writeFileSync(log, tableToIPC(table, 'stream'));
    const fake = await startFakeServer({ ttftMs: 3, itlMs: 1 });
    const m = join(dir, 'gw.arrow');
    try {
      const r = await run(['loadgen', '--url', fake.url, '--rate', 'inf', '--requests', String(n), '--max-output', '8', '--gateway-log', log, '-o', m, '-q']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    } finally {
      await fake.close();
    }
    const rows = readArrowFile(m).rows();
    for (const x of rows) expect(x.rank).toBe(((x.request as number) * 2) % 3);
    const summary = readArrowFile(m.replace(/\.arrow$/, '.summary.arrow')).rows()[0];
    expect(summary.router).toBe('vllm_default');
    expect(summary.dp).toBe(3);
    const p = join(dir, 'gwp.arrow');
    const pr = await run(['predict', m, '-o', p, '--model', 'qwen3-30b-a3b-h100', '-q']);
    expect(pr.code).toBe(0);
    const s = readArrowFile(p.replace(/\.arrow$/, '.summary.arrow')).rows()[0];
    expect(s.router).toBe('vllm_default');
    expect(s.dp).toBe(3);
    expect(JSON.parse(s.router_params as string)).toEqual({ waiting_weight: 2, rotate: 'no' });
    // An explicit flag wins.
    const pr2 = await run(['predict', m, '-o', p, '--model', 'qwen3-30b-a3b-h100', '--router', 'jsq_load', '--dp', '2', '-q']);
    expect(pr2.code).toBe(0);
    const s2 = readArrowFile(p.replace(/\.arrow$/, '.summary.arrow')).rows()[0];
    expect([s2.router, s2.dp]).toEqual(['jsq_load', 2]);
  }, 30_000);
});

describe('thinSeries', () => {
  it('keeps short series and the peak of each bin of long ones', async () => {
    const { thinSeries } = await import('../../src/report/compareReport.ts');
    const short: [number, number][] = [[0, 0], [1, 2], [2, 0]];
    expect(thinSeries(short)).toEqual(short);
    const long: [number, number][] = Array.from({ length: 10_000 }, (_, i) => [i / 1000, i === 7777 ? 99 : i % 5]);
    const t = thinSeries(long, 100);
    expect(t.length).toBeLessThanOrEqual(100);
    expect(Math.max(...t.map(([, n]) => n))).toBe(99);
    expect(t[0][0]).toBe(0);
  });
});
