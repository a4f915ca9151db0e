// --threads: the number used is recorded and printed, with the reason when it differs from the
// request; more threads than cores are capped unless forced. Progress is printed as plain lines
// when stderr is not a terminal.
import { availableParallelism } from 'node:os';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProgressBar } from '../../src/cli/progressBar.ts';
import { CpuEngine, MIN_POOL_REQUESTS } from '../../src/engine/cpu/cpuEngine.ts';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { makeScenario } from '../helpers.ts';
import { cli } from './cli.ts';

const cores = availableParallelism();
const many = (n: number, requests: number) => Array.from({ length: n }, (_, i) => ({ ...makeScenario({ workload: { requests } }), index: i }));

describe('thread plan', () => {
  it('below the pool threshold: 1 thread, and says why', () => {
    const plan = new CpuEngine({ threads: 2 }).plan(many(4, 100));
    expect(plan).toEqual({ requested: 2, threads: 1, note: expect.stringMatching(/^400 simulated requests are below the worker-pool threshold of 40,000/) });
  });

  it('more threads than cores are capped unless forced', () => {
    const big = many(4 * cores + 8, Math.ceil(MIN_POOL_REQUESTS / cores));
    const capped = new CpuEngine({ threads: cores * 32, capAtCores: true });
    expect(capped.plan(big)).toEqual({ requested: cores * 32, threads: cores, note: expect.stringContaining(`capped at the ${cores} available core`) });
    expect(capped.info.threads).toBe(cores);
    const forced = new CpuEngine({ threads: cores * 2, capAtCores: false }).plan(big);
    expect(forced).toEqual({ requested: cores * 2, threads: cores * 2, note: undefined });
  });

  it('few configurations: at least two per thread', () => {
    const plan = new CpuEngine({ threads: 8 }).plan(many(3, MIN_POOL_REQUESTS));
    expect(plan).toEqual({ requested: 8, threads: 2, note: 'only 3 configurations (at least 2 per thread)' });
  });

  it('the sweep records and prints the threads used and why', () => {
    const dir = mkdtempSync(join(tmpdir(), 'br-threads-'));
    const sweep = join(dir, 's.yaml');
    writeFileSync(sweep, 'name: s\nbase: {requests: 20, dp: 2}\naxes:\n  seed: [1, 2, 3]\n');
    const out = join(dir, 'r.arrow');
    const r = cli(['sweep', sweep, '-o', out, '--engine', 'cpu', '--threads', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/3 configurations in .*cpu engine, 1 thread: 60 simulated requests are below the worker-pool threshold of 40,000/);
    const m = readArrowFile(out).metadata;
    expect(m.threads).toBe('1');
    expect(m.threads_requested).toBe('2');
    expect(m.threads_note).toMatch(/^60 simulated requests are below/);
  }, 60_000);
});

describe('progress without a terminal', () => {
  it('lines mode prints a line every interval and a closing line', () => {
    let t = 0;
    const lines: string[] = [];
    const bar = createProgressBar('grid', { mode: 'auto', stream: { write: (s: string) => lines.push(s), isTTY: false }, now: () => t, intervalMs: 10_000 });
    bar.update(10, 100); // t = 0: too early
    t = 10_000;
    bar.update(25, 100);
    t = 15_000;
    bar.update(40, 100); // 5 s after the last line: nothing
    t = 20_000;
    bar.update(50, 100);
    t = 40_000;
    bar.update(100, 100); // the end is the closing line's job
    bar.finish();
    bar.finish(); // once
    expect(lines).toEqual([
      'grid: 25/100 configurations 25.0%  00:10 elapsed  ETA 00:30\n',
      'grid: 50/100 configurations 50.0%  00:20 elapsed  ETA 00:20\n',
      'grid: 100/100 configurations done in 00:40\n',
    ]);
  });

  it('a short run prints nothing; none and quiet print nothing; bar mode redraws in place', () => {
    const lines: string[] = [];
    const stream = { write: (s: string) => lines.push(s), isTTY: false };
    const short = createProgressBar('x', { stream, now: () => 0 });
    short.update(1, 1);
    short.finish();
    for (const opts of [{ mode: 'none' as const }, { quiet: true, mode: 'lines' as const }]) {
      const b = createProgressBar('x', { ...opts, stream, now: () => 1e9 });
      b.update(1, 2);
      b.finish();
    }
    expect(lines).toEqual([]);
    const bar = createProgressBar('x', { mode: 'bar', stream, now: () => 1000 });
    bar.update(1, 2);
    bar.finish();
    expect(lines[0]).toMatch(/^\rx \[.*\] 1\/2 50\.0%/);
    expect(lines[1]).toBe('\n');
  });
});
