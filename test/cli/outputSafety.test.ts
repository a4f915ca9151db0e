// What users actually do with output paths, end to end through the real binary: an output that
// is an input or another output, a bad output path found only after a long sweep, a sweep
// interrupted while it writes.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { MAIN, TSX, cli } from './cli.ts';

// The CLI from the sources (as test/cli/cli.ts runs it): no build needed.
const BIN_ARGS = ['--import', TSX, MAIN];
const tmp = () => mkdtempSync(join(tmpdir(), 'br-safe-'));
const SMALL = 'name: small\nbase: {requests: 20, dp: 2}\naxes:\n  seed: [1, 2]\n';

function expectOneLine(r: { code: number; stderr: string }, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}

describe('an output that is an input or another output is refused', () => {
  it('sweep mine.yaml -o mine.yaml leaves the sweep file alone', () => {
    const dir = tmp();
    const sweep = join(dir, 'mine.yaml');
    writeFileSync(sweep, SMALL);
    expectOneLine(cli(['sweep', sweep, '-o', sweep, '-q']), /output: is also the sweep file/);
    // Through another spelling of the same path, too.
    expectOneLine(cli(['sweep', 'mine.yaml', '-o', './sub/../mine.yaml', '-q'], { cwd: dir }), /output: is also the sweep file/);
    expect(readFileSync(sweep, 'utf8')).toBe(SMALL);
    expect(readdirSync(dir)).toEqual(['mine.yaml']);
  }, 60_000);

  it('run -o x.arrow --timeseries x.arrow writes neither', () => {
    const dir = tmp();
    const x = join(dir, 'x.arrow');
    expectOneLine(cli(['run', '--requests', '10', '-o', x, '--timeseries', x]), /timeseries: is also the results \(-o\)/);
    expect(readdirSync(dir)).toEqual([]);
  }, 60_000);

  it('run --trace t.csv -o t.csv is refused', () => {
    const dir = tmp();
    const t = join(dir, 't.csv');
    writeFileSync(t, 'arrival_s,prompt,output\n0,10,5\n0.1,12,6\n');
    expectOneLine(cli(['run', '--trace', t, '-o', t]), /output: is also the trace file of configuration 0/);
    expect(readFileSync(t, 'utf8')).toMatch(/^arrival_s/);
  }, 60_000);
});

describe('output paths are checked before simulating', () => {
  // This sweep takes minutes: an error that comes only after simulating would time the test out.
  const LONG = 'name: long\nbase: {requests: 2000000, dp: 8, rate: 50}\naxes:\n  seed: [1, 2, 3, 4]\n';

  it('a directory, a path under a regular file, or a bad --timeseries fail at once', () => {
    const dir = tmp();
    const sweep = join(dir, 'long.yaml');
    writeFileSync(sweep, LONG);
    writeFileSync(join(dir, 'plain'), 'x');
    expectOneLine(cli(['sweep', sweep, '-o', dir, '--engine', 'cpu']), /output: is a directory/);
    expectOneLine(cli(['sweep', sweep, '-o', join(dir, 'plain', 'r.arrow'), '--engine', 'cpu']), /output: cannot use this path \(ENOTDIR: a part of it is a file/);
    expectOneLine(cli(['sweep', sweep, '-o', join(dir, 'r.arrow'), '--timeseries', join(dir, 'plain', 'ts.arrow'), '--engine', 'cpu']), /timeseries: cannot use this path \(ENOTDIR/);
    expect(readdirSync(dir).sort()).toEqual(['long.yaml', 'plain']);
  }, 60_000);
});

describe('interrupting a sweep', () => {
  // 16 configurations with time series, a few per chunk: the files grow chunk by chunk.
  const SERIES = 'name: series\nbase: {requests: 4000, dp: 4, rate: 40, timeseries: true}\naxes:\n  seed: [' + [...Array(16).keys()].map((i) => i + 1).join(', ') + ']\n';

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} while the time series is being written removes every temporary file and keeps the old outputs`, async () => {
      const dir = tmp();
      const sweep = join(dir, 's.yaml');
      writeFileSync(sweep, SERIES);
      writeFileSync(join(dir, 'r.arrow'), 'old results');
      const child = spawn(process.execPath, [...BIN_ARGS, 'sweep', sweep, '-o', join(dir, 'r.arrow'), '--timeseries', join(dir, 'ts.arrow'), '--engine', 'cpu', '--threads', '1', '--progress', 'none'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<{ code: number | null; signal: string | null }>((res) => child.on('exit', (code, sig) => res({ code, signal: sig })));
      // Wait until the time series' temporary file holds the first chunk's rows.
      const tsTmp = () => readdirSync(dir).find((f) => f.startsWith('.ts.arrow.') && f.endsWith('.tmp'));
      const deadline = Date.now() + 50_000;
      for (;;) {
        const t = tsTmp();
        if (t && statSync(join(dir, t)).size > 100_000) break;
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the sweep never started writing: ${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      child.kill(signal);
      const { code } = await exited;
      expect(code, stderr).toBe(signal === 'SIGINT' ? 130 : 143);
      expect(stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`^balanceroute: interrupted by ${signal}; removed 3 unfinished output files$`));
      expect(readdirSync(dir).sort()).toEqual(['r.arrow', 's.yaml']);
      expect(readFileSync(join(dir, 'r.arrow'), 'utf8')).toBe('old results');
    }, 90_000);
  }

  it('a sweep that ends normally puts results, time series and request log in place together', () => {
    const dir = tmp();
    const sweep = join(dir, 's.yaml');
    writeFileSync(sweep, 'name: s\nbase: {requests: 30, dp: 2, timeseries: true}\naxes:\n  seed: [1, 2]\n');
    const r = cli(['sweep', sweep, '-o', join(dir, 'r.arrow'), '--timeseries', join(dir, 'ts.arrow'), '--engine', 'cpu']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['r.arrow', 's.yaml', 'ts.arrow', 'ts.requests.arrow']);
    expect(r.stderr).toMatch(/-> .*r\.arrow, .*ts\.arrow, .*ts\.requests\.arrow\n$/);
    const fp = readArrowFile(join(dir, 'r.arrow')).metadata.sweep_fingerprint;
    expect(fp).toMatch(/^[0-9a-f]{16}$/);
    expect(readArrowFile(join(dir, 'ts.arrow')).metadata.sweep_fingerprint).toBe(fp);
    expect(readArrowFile(join(dir, 'ts.requests.arrow')).metadata.sweep_fingerprint).toBe(fp);
    expect(existsSync(join(dir, 'ts.requests.arrow'))).toBe(true);
  }, 60_000);
});
