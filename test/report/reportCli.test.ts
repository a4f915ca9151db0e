// `balanceroute report` from the command line: bad input is one line and exit code 2, with no
// report file left behind; minimal files written by other tools still get a report. Most cases
// call the CLI's main() in-process (fast); one runs the real binary end to end.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.ts';
import { cli, type CliResult } from '../cli/cli.ts';
import { tempDir } from './fixtures.ts';

/** Run the CLI in this process, capturing stdout and stderr. */
async function run(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  try {
    const code = await main(['node', 'balanceroute', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const dir = tempDir('br-report-cli-');

function arrowFile(name: string, cols: Record<string, unknown>): string {
  const p = join(dir, name);
  writeFileSync(p, tableToIPC(tableFromArrays(cols as Parameters<typeof tableFromArrays>[0]), 'file'));
  return p;
}

/** The columns the sweep report needs, for 2 routers x 2 seeds, as pandas might write them. */
function minimalResults(drop: string[] = []): Record<string, unknown> {
  const cols: Record<string, unknown> = {
    router: ['vllm_default', 'vllm_default', 'br0', 'br0'],
    dp: Int32Array.of(8, 8, 8, 8),
    rate: Float64Array.of(3, 3, 3, 3),
    seed: Int32Array.of(1, 2, 1, 2),
    requests: Int32Array.of(100, 100, 100, 100),
    failed: Int32Array.of(0, 1, 0, 0),
    throughput_tok_s: Float64Array.of(1000, 1100, 1050, 1210),
    ttft_p95_ms: Float64Array.of(80, 90, 70, 85),
    tpot_mean_ms: Float64Array.of(10, 11, 10, 10.5),
    imbalance: Float64Array.of(0.3, 0.4, 0.2, 0.25),
    idle_frac: Float64Array.of(0.2, 0.25, 0.1, 0.12),
  };
  for (const d of drop) delete cols[d];
  return cols;
}

function minimalSeries(drop: string[] = []): Record<string, unknown> {
  const n = 8; // 4 steps x 2 ranks
  const cols: Record<string, unknown> = {
    config_index: new Int32Array(n),
    step: Int32Array.from({ length: n }, (_, i) => i >> 1),
    time_us: Float64Array.from({ length: n }, (_, i) => (i >> 1) * 1000),
    rank: Int32Array.from({ length: n }, (_, i) => i & 1),
    kv_tokens: Float64Array.from({ length: n }, (_, i) => 100 * (i + 1)),
    running: Int32Array.from({ length: n }, (_, i) => 1 + (i & 1)),
    waiting: new Int32Array(n),
    rank_step_us: Float64Array.from({ length: n }, (_, i) => 500 + 100 * (i & 1)),
    step_us: Float64Array.from({ length: n }, () => 1000),
  };
  for (const d of drop) delete cols[d];
  return cols;
}

async function expectBadInput(args: string[], mentions: string[], output?: string) {
  const r = await run(args);
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  for (const m of mentions) expect(lines[0]).toContain(m);
  if (output) expect(existsSync(output)).toBe(false);
}

describe('report: bad input', () => {
  it('not an Arrow file, end to end through the real binary', () => {
    const p = join(dir, 'notes.arrow');
    writeFileSync(p, 'router,dp\nbr0,8\n');
    const r = cli(['report', p, '-o', join(dir, 'a.html')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`balanceroute: file: not an Arrow IPC file (got ${JSON.stringify(p)})`]);
    expect(existsSync(join(dir, 'a.html'))).toBe(false);
  });
  it('not an Arrow file', async () => {
    const p = join(dir, 'notes.arrow');
    writeFileSync(p, 'router,dp\nbr0,8\n');
    await expectBadInput(['report', p, '-o', join(dir, 'a.html')], ['notes.arrow', 'not an Arrow IPC file'], join(dir, 'a.html'));
  });
  it('a missing file', () => expectBadInput(['report', join(dir, 'nope.arrow')], ['nope.arrow', 'cannot read'], join(dir, 'nope.html')));
  it('a result file missing columns names them', async () => {
    const p = arrowFile('partial.arrow', minimalResults(['ttft_p95_ms', 'idle_frac']));
    await expectBadInput(['report', p, '-o', join(dir, 'b.html')], ['partial.arrow', 'missing columns ttft_p95_ms, idle_frac'], join(dir, 'b.html'));
  });
  it('a time series missing a column names it', async () => {
    const p = arrowFile('ts-partial.arrow', minimalSeries(['waiting']));
    await expectBadInput(['report', p, '-o', join(dir, 'c.html')], ['ts-partial.arrow', 'missing column waiting'], join(dir, 'c.html'));
  });
  it('an Arrow file of something else', async () => {
    const p = arrowFile('other.arrow', { x: Float64Array.of(1, 2) });
    await expectBadInput(['report', p], ['other.arrow', 'neither a sweep result nor a time series'], join(dir, 'other.html'));
  });
  it('an output directory that does not exist', async () => {
    const p = arrowFile('ok1.arrow', minimalResults());
    await expectBadInput(['report', p, '-o', join(dir, 'missing-dir', 'r.html')], ['output', 'does the directory exist']);
  });
  it('a configuration not in the time series', async () => {
    const p = arrowFile('ts1.arrow', minimalSeries());
    await expectBadInput(['report', p, '--config', '5', '-o', join(dir, 'd.html')], ['config', '5', 'holds configurations 0'], join(dir, 'd.html'));
  });
  it('time-series flags on a result file', async () => {
    const p = arrowFile('ok2.arrow', minimalResults());
    await expectBadInput(['report', p, '--results', p, '-o', join(dir, 'e.html')], ['results', 'only applies to a time-series file'], join(dir, 'e.html'));
  });
  it('a bad --bins', async () => {
    const p = arrowFile('ts2.arrow', minimalSeries());
    await expectBadInput(['report', p, '--bins', 'many'], ['bins', 'many']);
  });
});

describe('report: files from other tools', () => {
  it('a result file with only the needed columns (no metadata) gets a report next to it', async () => {
    const p = arrowFile('minimal.arrow', minimalResults());
    const r = await run(['report', p]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('sweep report');
    const html = readFileSync(join(dir, 'minimal.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/); // self-contained
    // br0 wins: +5% and +10% per seed -> +7.5% mean.
    expect(html).toMatch(/data-best="br0"[^>]*data-gain="0\.075000000000000/);
  });
  it('a minimal time series gets a report', async () => {
    const p = arrowFile('ts-min.arrow', minimalSeries());
    const out = join(dir, 'ts-min-report.html');
    const r = await run(['report', p, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('data-chart="c0-running"');
  });
});
