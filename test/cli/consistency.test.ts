// Files read together must come from one sweep: every output carries the sweep's fingerprint,
// `merge` refuses shards of different sweeps and says which shards are missing, and `report`
// refuses a results file from another sweep.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sweepFingerprint } from '../../src/config/fingerprint.ts';
import { expandSweep } from '../../src/config/expand.ts';
import { parseSweepText } from '../../src/config/sweepFile.ts';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { cliIn } from './cli.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'br-fp-'));
const fp = (text: string) => sweepFingerprint(expandSweep(parseSweepText(text, 'x.yaml')));

describe('sweep fingerprint', () => {
  it('depends on the expanded configurations, not on how the file is written', async () => {
    const a = fp('name: a\nbase: {requests: 20, dp: 2}\naxes:\n  seed: [1, 2]\n');
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    // Same configurations, other layout, comments and name order: same fingerprint.
    expect(fp('# same\naxes:\n  seed: [1, 2]\nbase:\n  dp: 2\n  requests: 20\nname: a\n')).toBe(a);
    // One value changed: another sweep.
    expect(fp('name: a\nbase: {requests: 21, dp: 2}\naxes:\n  seed: [1, 2]\n')).not.toBe(a);
    expect(fp('name: a\nbase: {requests: 20, dp: 2}\naxes:\n  seed: [2, 1]\n')).not.toBe(a);
    // Nested values are canonical too: the key order of a length distribution does not matter.
    const dist = fp('base: {requests: 20, prompt: {kind: lognormal, median: 100, sigma: 1}}\n');
    expect(fp('base: {requests: 20, prompt: {sigma: 1, median: 100, kind: lognormal}}\n')).toBe(dist);
    expect(fp('base: {requests: 20, prompt: {sigma: 1.5, median: 100, kind: lognormal}}\n')).not.toBe(dist);
  });
});

describe('merge and report check that files belong together', () => {
  const dir = tmp();
  const A = join(dir, 'a.yaml');
  const B = join(dir, 'b.yaml');
  writeFileSync(A, 'name: a\nbase: {requests: 20, dp: 2}\naxes:\n  seed: [1, 2, 3]\n');
  writeFileSync(B, 'name: b\nbase: {requests: 25, dp: 2}\naxes:\n  seed: [1, 2, 3]\n');
  const shard = async (file: string, i: number, n: number) => {
    const out = join(dir, `${file === A ? 'a' : 'b'}${i}of${n}.arrow`);
    const r = await cliIn(['sweep', file, '-o', out, '--shard', `${i}/${n}`, '-q', '--engine', 'cpu']);
    expect(r.code, r.stderr).toBe(0);
    return out;
  };

  it('every shard carries the fingerprint of the whole sweep', async () => {
    const a0 = await shard(A, 0, 3);
    const a1 = await shard(A, 1, 3);
    const m0 = readArrowFile(a0).metadata;
    expect(m0.sweep_fingerprint).toBe(fp('name: a\nbase: {requests: 20, dp: 2}\naxes:\n  seed: [1, 2, 3]\n'));
    expect(readArrowFile(a1).metadata.sweep_fingerprint).toBe(m0.sweep_fingerprint);
    expect(m0.sweep_configurations).toBe('3');
    expect(m0.shard).toBe('0/3');
  }, 60_000);

  it('merge refuses shards of two sweeps, naming the file', async () => {
    const r = await cliIn(['merge', join(dir, 'a0of3.arrow'), await shard(B, 1, 3), '-o', join(dir, 'mixed.arrow')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/file: is from another sweep than .*a0of3\.arrow \(sweep_fingerprint [0-9a-f]{16}, not [0-9a-f]{16}\)/);
    expect(readdirSync(dir)).not.toContain('mixed.arrow');
  }, 60_000);

  it('merge names the missing shards; --allow-partial merges and records them; the merged file is no shard', async () => {
    const inputs = [join(dir, 'a0of3.arrow'), join(dir, 'a1of3.arrow')];
    const r = await cliIn(['merge', ...inputs, '-o', join(dir, 'part.arrow')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/inputs: shard 2\/3 of the sweep is missing; add it or pass --allow-partial/);
    expect(readdirSync(dir)).not.toContain('part.arrow');

    const p = await cliIn(['merge', ...inputs, '-o', join(dir, 'part.arrow'), '--allow-partial']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).toMatch(/^warning: partial merge; missing shard 2\/3\nmerged 2 files, 2 rows -> /);
    const m = readArrowFile(join(dir, 'part.arrow')).metadata;
    expect(m.shard).toBeUndefined();
    expect(m.shards).toBe('0/3,1/3');
    expect(m.missing_shards).toBe('2/3');

    const all = await cliIn(['merge', ...inputs, await shard(A, 2, 3), '-o', join(dir, 'all.arrow')]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stderr).toMatch(/^merged 3 files, 3 rows -> /);
    const full = readArrowFile(join(dir, 'all.arrow'));
    expect(full.metadata.shard).toBeUndefined();
    expect(full.metadata.missing_shards).toBeUndefined();
    expect(full.column('config_index')).toEqual([0, 1, 2]);
  }, 90_000);

  it('merge of one file says "1 file"; merge onto one of its inputs is refused', async () => {
    const one = await cliIn(['merge', join(dir, 'all.arrow'), '-o', join(dir, 'one.arrow')]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stderr).toMatch(/^merged 1 file, 3 rows -> /);
    const self = await cliIn(['merge', join(dir, 'a0of3.arrow'), join(dir, 'a1of3.arrow'), '-o', join(dir, 'a0of3.arrow'), '--allow-partial']);
    expect(self.code).toBe(2);
    expect(self.stderr).toMatch(/output: is also an input/);
  }, 60_000);

  it('report refuses a time series with the results of another sweep', async () => {
    const S = join(dir, 'ts.yaml');
    writeFileSync(S, 'name: ts\nbase: {requests: 20, dp: 2, timeseries: true}\naxes:\n  seed: [1, 2, 3]\n');
    const r = await cliIn(['sweep', S, '-o', join(dir, 'tsr.arrow'), '--timeseries', join(dir, 'ts.arrow'), '-q', '--engine', 'cpu']);
    expect(r.code, r.stderr).toBe(0);
    const bad = await cliIn(['report', join(dir, 'ts.arrow'), '--results', join(dir, 'all.arrow'), '-o', join(dir, 'ts.html')]);
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/results: is from another sweep than .*ts\.arrow/);
    expect(readdirSync(dir)).not.toContain('ts.html');
    const good = await cliIn(['report', join(dir, 'ts.arrow'), '--results', join(dir, 'tsr.arrow'), '-o', join(dir, 'ts.html')]);
    expect(good.code, good.stderr).toBe(0);
  }, 90_000);
});
