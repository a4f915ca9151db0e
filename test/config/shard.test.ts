import { describe, expect, it } from 'vitest';
import { parseShard, selectShard } from '../../src/config/expand.ts';
import { expandText, inputError } from './helpers.ts';

describe('shards', () => {
  const all = expandText('axes:\n  router: [vllm_default, jsq_load, {name: br0, b: [4, 8]}]\n  seed: [1, 2, 3, 4, 5]\n');

  it('partition the configurations, keeping their indices', () => {
    for (const n of [1, 2, 3, 7, 40]) {
      const parts = Array.from({ length: n }, (_, i) => selectShard(all, i, n));
      const seen = parts.flat().map((s) => s.index).sort((a, b) => a - b);
      expect(seen).toEqual(all.map((s) => s.index));
      parts.forEach((p, i) => {
        for (const s of p) {
          expect(s.index % n).toBe(i);
          expect(s).toBe(all[s.index]);
        }
      });
    }
  });

  it('parse i/n and reject bad forms with field shard', () => {
    expect(parseShard('0/4')).toEqual({ i: 0, n: 4 });
    expect(parseShard(' 3 / 4 ')).toEqual({ i: 3, n: 4 });
    for (const s of ['4/4', '1/0', 'a/b', '1', '-1/4', '1/4/2', '']) {
      const e = inputError(() => parseShard(s));
      expect(e.field).toBe('shard');
      expect(e.message).toContain(JSON.stringify(s));
    }
    expect(inputError(() => parseShard('4/4')).message).toMatch(/in \[0, 3\] \(0-based\)/);
    expect(inputError(() => selectShard(all, 2, 2)).field).toBe('shard');
  });
});
