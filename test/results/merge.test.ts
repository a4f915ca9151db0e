import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectShard } from '../../src/config/expand.ts';
import { InputError } from '../../src/errors.ts';
import { inputError } from '../inputError.ts';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { writeResults } from '../../src/results/arrowWrite.ts';
import { mergeResultFiles } from '../../src/results/merge.ts';
import type { RunResult } from '../../src/engine/types.ts';
import { META, sampleResults } from './fixtures.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'br-merge-'));

async function shardFiles(dir: string, results: RunResult[], n: number): Promise<string[]> {
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = join(dir, `shard${i}.arrow`);
    const part = selectShard(results.map((r) => ({ ...r, index: r.scenario.index })), i, n);
    await writeResults(p, part, { ...META, shard: `${i}/${n}` });
    paths.push(p);
  }
  return paths;
}

describe('merge', () => {
  it('merging the shards of a sweep gives the unsharded file', async () => {
    const dir = tmp();
    const results = sampleResults();
    const whole = join(dir, 'whole.arrow');
    await writeResults(whole, results, META);
    for (const n of [2, 3]) {
      const shards = await shardFiles(dir, results, n);
      const out = join(dir, `merged${n}.arrow`);
      // Inputs in any order.
      expect((await mergeResultFiles([...shards].reverse(), out)).rows).toBe(16);
      const a = readArrowFile(whole);
      const b = readArrowFile(out);
      expect(b.columns.map((c) => [c.name, c.typeName, c.metadata])).toEqual(a.columns.map((c) => [c.name, c.typeName, c.metadata]));
      expect(b.rows()).toEqual(a.rows());
      expect(b.metadata.merged_from).toBe(JSON.stringify([...shards].reverse()));
      expect(b.metadata.shard).toBeUndefined(); // a merged file is no longer one shard
      expect(b.metadata.shards).toBe([...Array(n).keys()].reverse().map((i) => `${i}/${n}`).join(','));
      expect(b.metadata.sweep_name).toBe('test-sweep');
    }
  });

  it('unites knob columns when a shard holds no router with some knob', async () => {
    const dir = tmp();
    // Two configurations: shard 0 gets only vllm_default, shard 1 only br0.
    const results = sampleResults('axes:\n  router: [vllm_default, br0]\n');
    const whole = join(dir, 'whole.arrow');
    await writeResults(whole, results, META);
    const shards = await shardFiles(dir, results, 2);
    expect(readArrowFile(shards[0]).columns.some((c) => c.name === 'knob_b')).toBe(false);
    const out = join(dir, 'merged.arrow');
    await mergeResultFiles(shards, out);
    expect(readArrowFile(out).columns.map((c) => `${c.name}:${c.typeName}`)).toEqual(readArrowFile(whole).columns.map((c) => `${c.name}:${c.typeName}`));
    expect(readArrowFile(out).rows()).toEqual(readArrowFile(whole).rows());
  });

  it('rejects files with different columns, naming the file and the column', async () => {
    const dir = tmp();
    const a = join(dir, 'a.arrow');
    const b = join(dir, 'b.arrow');
    await writeResults(a, sampleResults().slice(0, 2), META);
    const other = sampleResults().slice(2, 4);
    await writeResults(b, other, META);
    // A file from a different schema: a time-series file.
    const { writeTimeSeries } = await import('../../src/results/arrowWrite.ts');
    const ts = join(dir, 'ts.arrow');
    await writeTimeSeries(ts, [], META);
    // Its format says so before any column is compared.
    const e = await inputError(() => mergeResultFiles([a, ts], join(dir, 'out.arrow')));
    expect(e.field).toBe('file');
    expect(e.message).toMatch(/^file: has format balanceroute-timeseries\/1, this balanceroute writes and merges balanceroute-results\/1;/);
    expect(e.message).toContain(JSON.stringify(ts));
    expect(readdirSync(dir).sort()).toEqual(['a.arrow', 'b.arrow', 'ts.arrow']);
  });

  it('refuses another version of the result format', async () => {
    const dir = tmp();
    const a = join(dir, 'a.arrow');
    const b = join(dir, 'b.arrow');
    await writeResults(a, sampleResults().slice(0, 2), META);
    await writeResults(b, sampleResults().slice(2, 4), META);
    const { tableFromIPC, tableToIPC } = await import('apache-arrow');
    const t = tableFromIPC(readFileSync(b));
    t.schema.metadata.set('format', 'balanceroute-results/2');
    writeFileSync(b, tableToIPC(t, 'file'));
    const e = await inputError(() => mergeResultFiles([a, b], join(dir, 'out.arrow')));
    expect(e.message).toMatch(/^file: has format balanceroute-results\/2, this balanceroute writes and merges balanceroute-results\/1;/);
    expect(readdirSync(dir).sort()).toEqual(['a.arrow', 'b.arrow']);
  });

  it('rejects a column whose type differs', async () => {
    const dir = tmp();
    const { kindOf, makeTable } = await import('../../src/formats/arrowTable.ts');
    const { writeTable, resultsTable } = await import('../../src/results/arrowWrite.ts');
    const a = join(dir, 'a.arrow');
    await writeResults(a, sampleResults().slice(0, 2), META);
    // Same columns, but dp written as Float64.
    const t = resultsTable(sampleResults().slice(2, 4), META);
    const cols = t.schema.fields.map((f) => ({
      name: f.name,
      kind: f.name === 'dp' ? ('float64' as const) : kindOf(f.type)!,
      values: Array.from(t.getChild(f.name)!) as (number | string | null)[],
    }));
    const b = join(dir, 'b.arrow');
    writeTable(b, makeTable(cols, {}), 'output');
    await expect(mergeResultFiles([a, b], join(dir, 'o.arrow'))).rejects.toThrow(/^file: column dp is Float64 here but Int32 in .*a\.arrow/);
  });

  it('rejects duplicate configurations (overlapping shards)', async () => {
    const dir = tmp();
    const a = join(dir, 'a.arrow');
    const b = join(dir, 'b.arrow');
    await writeResults(a, sampleResults().slice(0, 3), META);
    await writeResults(b, sampleResults().slice(2, 5), META);
    const e = await inputError(() => mergeResultFiles([a, b], join(dir, 'o.arrow')));
    expect(e.field).toBe('config_index');
    expect(e.value).toBe(2);
    expect(e.message).toMatch(/appears in both .*a\.arrow and .*b\.arrow/);
  });

  it('rejects non-result files and empty input lists', async () => {
    const dir = tmp();
    await expect(mergeResultFiles([], join(dir, 'o.arrow'))).rejects.toThrow(InputError);
    const { writeTable } = await import('../../src/results/arrowWrite.ts');
    const { makeTable } = await import('../../src/formats/arrowTable.ts');
    const p = join(dir, 'x.arrow');
    writeTable(p, makeTable([{ name: 'a', kind: 'int32', values: [1] }], {}), 'output');
    await expect(mergeResultFiles([p], join(dir, 'o.arrow'))).rejects.toThrow(/has no config_index column/);
  });
});
