// `balanceroute capacity` end to end, its bad input, the goodput columns of `sweep --slo`, and the
// capacity verdict of `report`.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { cli, cliIn } from '../cli/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'br-capacity-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const sweep = file(
  'cap.yaml',
  'name: cap-test\nbase: {workload: sharegpt, requests: 200, max_output: 256, rate: 4}\naxes:\n  dp: [2]\n  router: [vllm_default, jsq_load]\n  seed: [1, 2, 3]\n',
);

async function expectBadInput(args: string[], mentions: string[], output: string) {
  const r = await cliIn(args);
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  for (const m of mentions) expect(lines[0]).toContain(m);
  expect(existsSync(output)).toBe(false);
}

describe('capacity: bad input', () => {
  const out = join(dir, 'bad.arrow');
  it('an SLO metric that is not a result column', () => expectBadInput(['capacity', sweep, '--slo', 'ttft_p97_ms=100', '-o', out], ['slo.ttft_p97_ms', 'ttft_p95_ms'], out));
  it('a bound <= 0', () => expectBadInput(['capacity', sweep, '--slo', 'ttft_p95_ms=0', '-o', out], ['slo.ttft_p95_ms', '0'], out));
  it('min-rate >= max-rate', () => expectBadInput(['capacity', sweep, '--slo', 'ttft_p95_ms=100', '--min-rate', '8', '--max-rate', '8', '-o', out], ['min_rate', '8'], out));
  it('a sweep with a rate axis', async () => {
    const withRate = file('rated.yaml', 'base: {requests: 50}\naxes:\n  rate: [1, 2]\n');
    await expectBadInput(['capacity', withRate, '--slo', 'ttft_p95_ms=100', '-o', out], ['rate', 'capacity searches the rate'], out);
  });
  it('a malformed tolerance', () => expectBadInput(['capacity', sweep, '--slo', 'ttft_p95_ms=100', '--tolerance', 'tight', '-o', out], ['tolerance', 'tight'], out));
});

describe('capacity: end to end', () => {
  const out = join(dir, 'cap.arrow');
  let r: ReturnType<typeof cli>;
  beforeAll(() => {
    r = cli(['capacity', sweep, '--slo', 'ttft_p95_ms=500,tpot_p95_ms=40', '--engine', 'cpu', '-o', out]);
  }, 60_000);
  it('writes one row per configuration with capacity columns and the SLO in the metadata', () => {
    expect(r.code, r.stderr).toBe(0);
    const f = readArrowFile(out);
    expect(f.numRows).toBe(6);
    expect(f.metadata.format).toBe('balanceroute-capacity/1');
    expect(f.metadata.slo).toBe('ttft_p95_ms=500,tpot_p95_ms=40');
    const rows = f.rows();
    for (const row of rows) {
      expect(row.capacity_status).toBe('ok');
      expect(row.capacity_req_s as number).toBeGreaterThan(0);
      // The result columns are measured at the capacity, and meet the SLO there.
      expect(row.rate).toBe(row.capacity_req_s);
      expect(row.ttft_p95_ms as number).toBeLessThanOrEqual(500);
      expect(row.tpot_p95_ms as number).toBeLessThanOrEqual(40);
      expect((row.capacity_hi_req_s as number) - (row.capacity_lo_req_s as number)).toBeLessThanOrEqual(0.01 * (row.capacity_lo_req_s as number) + 1e-9);
    }
    expect(Number(f.metadata.simulations)).toBe(rows.reduce((a, x) => a + (x.capacity_simulations as number), 0));
    // The search's cost: early stop on by default, simulations/s and simulated requests/s over wall_ms.
    expect(f.metadata.early_stop).toBe('true');
    expect(Number(f.metadata.stopped_early)).toBeGreaterThan(0);
    expect(Number(f.metadata.stopped_early)).toBeLessThan(Number(f.metadata.simulations));
    expect(Number(f.metadata.simulations_per_s)).toBeCloseTo(Number(f.metadata.simulations) / (Number(f.metadata.wall_ms) / 1000), 0);
    expect(Number(f.metadata.simulated_requests)).toBeGreaterThan(0);
    expect(Number(f.metadata.simulated_requests_per_s)).toBeGreaterThan(0);
  });
  it('prints the paired verdict and the number of simulations', () => {
    expect(r.stdout).toMatch(/DP 2: /);
    expect(r.stdout).toContain('jsq_load');
    expect(r.stderr).toMatch(/6 configurations: \d+ simulations in \d+ rounds, \d+ stopped early/);
    expect(r.stderr).toMatch(/search cost: \d+ simulations, [0-9.]+ simulations\/s, [0-9,]+ simulated requests, [0-9,]+ simulated requests\/s/);
  });
  it('report shows the capacity verdict', { timeout: 60_000 }, () => {
    const html = join(dir, 'cap.html');
    const rep = cli(['report', out, '-o', html]);
    expect(rep.code, rep.stderr).toBe(0);
    const text = readFileSync(html, 'utf8');
    expect(text).toContain('Verdict: capacity under the SLO');
    expect(text).toContain('id="capacity-table"');
    expect(text).toMatch(/data-variant="jsq_load"[^>]*data-significance="(pos|neg|ns)"/);
    expect(text).toMatch(/id="[^"]*capacity-vs-dp"/);
  });
});

describe('sweep --slo: goodput', () => {
  it('adds goodput columns; with loose bounds goodput is the completion rate', { timeout: 60_000 }, async () => {
    const out = join(dir, 'good.arrow');
    const loose = join(dir, 'loose.arrow');
    expect((await cliIn(['sweep', sweep, '--slo', 'ttft_p95_ms=30,tpot_p95_ms=30', '--engine', 'cpu', '-q', '-o', out])).code).toBe(0);
    expect((await cliIn(['sweep', sweep, '--slo', 'e2e_p99_ms=1e9', '--engine', 'cpu', '-q', '-o', loose])).code).toBe(0);
    const tight = readArrowFile(out).rows();
    const all = readArrowFile(loose).rows();
    for (let i = 0; i < all.length; i++) {
      expect(all[i].goodput_req_s as number).toBeCloseTo(all[i].req_per_s as number, 9);
      expect(all[i].slo_attainment).toBe((all[i].completed as number) / (all[i].requests as number));
      expect(tight[i].goodput_req_s as number).toBeLessThanOrEqual(all[i].goodput_req_s as number);
    }
    expect(Math.min(...tight.map((x) => x.slo_attainment as number))).toBeLessThan(1);
    expect(readArrowFile(out).metadata.slo).toBe('ttft_p95_ms=30,tpot_p95_ms=30');
  });
});

describe('report: a sweep over rates gets a capacity verdict', () => {
  it('uses --slo and keeps the throughput table as a section', { timeout: 60_000 }, async () => {
    const rated = file('rated2.yaml', 'name: rated\nbase: {dp: 2, requests: 150, max_output: 256}\naxes:\n  rate: [2, 8, 32]\n  router: [vllm_default, jsq_load]\n  seed: [1, 2]\n');
    const out = join(dir, 'rated.arrow');
    expect((await cliIn(['sweep', rated, '--engine', 'cpu', '-q', '-o', out])).code).toBe(0);
    const html = join(dir, 'rated.html');
    const rep = await cliIn(['report', out, '--slo', 'ttft_p95_ms=300', '-o', html]);
    expect(rep.code, rep.stderr).toBe(0);
    const text = readFileSync(html, 'utf8');
    expect(text).toContain('Verdict: capacity under the SLO');
    expect(text).toContain('ttft_p95_ms=300');
    expect(text).toContain('Throughput per DP size and rate');
  });
});
