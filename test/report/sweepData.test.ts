// Reading a result file for the report: variants, axes, derived columns, averages, bad files.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { InputError } from '../../src/errors.ts';
import { meansOverSeeds, sweepData, type SweepData } from '../../src/report/sweepData.ts';
import { reportKind } from '../../src/report/buildReport.ts';
import { GRID, tempDir, writeSweep } from './fixtures.ts';

const dir = tempDir();
let data: SweepData;
let path: string;

beforeAll(async () => {
  path = (await writeSweep(dir, GRID, 'grid')).results;
  data = sweepData(readArrowFile(path));
}, 60_000);

describe('sweepData', () => {
  it('labels router variants by the knobs that vary for them', () => {
    expect(data.variants).toEqual(['vllm_default', 'jsq_load', 'br0 b=4', 'br0 b=16']);
    expect(data.variantRouter.get('br0 b=16')).toBe('br0');
  });
  it('finds the axes and treats kv_capacity (set by dp) as derived, not as an axis', () => {
    const byName = Object.fromEntries(data.axes.map((a) => [a.name, a]));
    expect(byName.router.values).toEqual(['vllm_default', 'jsq_load', 'br0']);
    expect(byName['br0.b'].values).toEqual(['4', '16']);
    expect(byName.dp.values).toEqual(['2', '4']);
    expect(byName.rate.values).toEqual(['4', '24']);
    expect(byName.seed.values).toEqual(['1', '2', '3']);
    expect(byName.kv_capacity.role).toBe('derived');
    expect(byName.kv_capacity.follows).toBe('dp');
    expect(data.contexts).toEqual(['']);
    expect(data.fixed.find((f) => f.name === 'requests')?.value).toBe('120');
  });
  it('averages over seeds', () => {
    const means = meansOverSeeds(data);
    expect(means).toHaveLength(16);
    const cell = means.find((m) => m.variant === 'jsq_load' && m.dp === 4 && m.rate === 24)!;
    const rows = data.rows.filter((r) => r.variant === 'jsq_load' && r.dp === 4 && r.rate === 24);
    expect(rows).toHaveLength(3);
    expect(cell.n).toBe(3);
    expect(cell.values.throughput_tok_s).toBeCloseTo(rows.reduce((a, r) => a + r.values.throughput_tok_s!, 0) / 3, 9);
  });
  it('a varying setting that is not tied to plotted axes becomes a context', async () => {
    const p = (await writeSweep(dir, GRID.replace('seed: [1, 2, 3]', 'seed: [1]\n  dispatch: [on_arrival, per_step]').replace('dp: [2, 4]', 'dp: [2]'), 'ctx')).results;
    const d = sweepData(readArrowFile(p));
    expect(d.contexts).toEqual(['dispatch=on_arrival', 'dispatch=per_step']);
    expect(d.axes.find((a) => a.name === 'dispatch')?.role).toBe('context');
  }, 60_000);
});

describe('bad result files', () => {
  const arrow = (name: string, cols: Record<string, ArrayLike<number> | string[]>) => {
    const p = join(dir, name);
    writeFileSync(p, tableToIPC(tableFromArrays(cols as Parameters<typeof tableFromArrays>[0]), 'file'));
    return readArrowFile(p);
  };
  it('missing columns are named', () => {
    const f = arrow('few.arrow', { router: ['a', 'b'], dp: Float64Array.of(2, 4), throughput_tok_s: Float64Array.of(1, 2) });
    expect(reportKind(f)).toBe('results');
    expect(() => sweepData(f)).toThrow(InputError);
    expect(() => sweepData(f)).toThrow(/missing columns rate, seed, requests, failed, ttft_p95_ms, tpot_mean_ms, imbalance, idle_frac/);
  });
  it('a file that is neither kind', () => {
    const f = arrow('other.arrow', { x: Float64Array.of(1), y: Float64Array.of(2) });
    expect(() => reportKind(f)).toThrow(/neither a sweep result nor a time series/);
  });
});
