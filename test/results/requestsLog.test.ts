// The per-request log written beside a time series agrees with the run's metrics.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/engine/cpu/runScenario.ts';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { requestsPathFor, writeTimeSeries } from '../../src/results/arrowWrite.ts';
import { makeScenario } from '../helpers.ts';

describe('per-request log', () => {
  it('has one row per request; completed rows match the metrics; times are causal', async () => {
    const r = runScenario({ ...makeScenario({ dp: 4, timeseries: true, timeoutS: 20, workload: { rate: 30, requests: 150 } }), index: 7 });
    const dir = mkdtempSync(join(tmpdir(), 'br-req-'));
    const ts = join(dir, 'ts.arrow');
    await writeTimeSeries(ts, [r]);
    expect(requestsPathFor(ts)).toBe(join(dir, 'ts.requests.arrow'));
    const f = readArrowFile(requestsPathFor(ts));
    expect(f.numRows).toBe(150);
    const status = f.column('status') as number[];
    const end = f.column('end_us') as number[];
    const first = f.column('first_token_us') as number[];
    const admit = f.column('admit_us') as number[];
    const arrival = f.column('arrival_us') as number[];
    const rank = f.column('rank') as number[];
    expect(status.filter((s) => s === 4).length).toBe(r.metrics.completed);
    expect(status.filter((s) => s === 5).length).toBe(r.metrics.failed);
    expect(new Set(f.column('config_index') as number[])).toEqual(new Set([7]));
    for (let i = 0; i < 150; i++) {
      if (status[i] !== 4) continue;
      expect(admit[i]).toBeGreaterThanOrEqual(arrival[i]);
      expect(first[i]).toBeGreaterThan(admit[i]);
      expect(end[i]).toBeGreaterThanOrEqual(first[i]);
      expect(rank[i]).toBeGreaterThanOrEqual(0);
      expect(rank[i]).toBeLessThan(4);
    }
  });
});
