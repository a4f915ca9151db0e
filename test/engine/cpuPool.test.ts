// The worker-thread pool gives exactly the rows of the calling thread, and reports bad input
// found inside a worker as the same one-line InputError.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpuEngine, MIN_POOL_REQUESTS } from '../../src/engine/cpu/cpuEngine.ts';
import { InputError } from '../../src/errors.ts';
import { inputError } from '../inputError.ts';
import { resolveRouterParams } from '../../src/routers/index.ts';
import { makeScenario } from '../helpers.ts';

describe('CPU engine worker pool', () => {
  const routers = ['vllm_default', 'jsq_load', 'fast_phi', 'power_of_two'];
  const scenarios = Array.from({ length: 48 }, (_, i) => ({
    ...makeScenario({
      router: routers[i % 4],
      routerParams: resolveRouterParams(routers[i % 4], {}),
      dp: 2 + (i % 3) * 3,
      workload: { rate: 4 + (i % 5) * 6, requests: 1000, seed: 1 + Math.floor(i / 12) },
    }),
    index: 100 + i, // indices need not start at 0 (shards)
  }));

  it('uses the pool for a sweep of this size', () => {
    expect(scenarios.length * 1000).toBeGreaterThanOrEqual(MIN_POOL_REQUESTS);
  });

  it('matches the single-thread engine row for row, in input order', async () => {
    const pool = new CpuEngine({ threads: 2 });
    const one = new CpuEngine({ threads: 1 });
    try {
      const a = await pool.run(scenarios);
      expect(pool.info.threads).toBe(2);
      const b = await one.run(scenarios);
      expect(a.map((r) => r.scenario.index)).toEqual(scenarios.map((s) => s.index));
      for (let i = 0; i < a.length; i++) {
        const { wall_ms: _a, ...ma } = a[i].metrics;
        const { wall_ms: _b, ...mb } = b[i].metrics;
        expect(JSON.parse(JSON.stringify(ma))).toEqual(JSON.parse(JSON.stringify(mb)));
      }
      // The pool is reused by a second run on the same engine.
      const again = await pool.run(scenarios.slice(0, 44));
      expect(again).toHaveLength(44);
    } finally {
      await pool.close();
      await one.close();
    }
  }, 60_000);

  it('reports bad input found in a worker as an InputError', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'br-pool-'));
    const trace = join(dir, 'bad.csv');
    writeFileSync(trace, 'arrived_at,num_prefill_tokens\n0.1,100\n');
    const bad = Array.from({ length: 6 }, (_, i) => ({
      ...makeScenario({ workload: { source: 'trace', tracePath: trace, rate: 0, requests: 0 } }),
      index: i,
    }));
    const pool = new CpuEngine({ threads: 2 });
    try {
      const e = await inputError(() => pool.run(bad));
      expect(e.message).toContain('bad.csv');
      expect(e.message.split('\n')).toHaveLength(1);
    } finally {
      await pool.close();
    }
  }, 60_000);
});
