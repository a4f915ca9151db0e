// The hostile-input round of issue 23, one test per failure it found: an output that is an input
// (also through a link or a default), an input that is not a regular file, a trace too large for
// one string, a prediction of another run, a measurement lost to one bad output, a bad --host, an
// unwritable --out-dir found only at the end, and a recording lost to SIGHUP.
import { spawn, spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { writeSyntheticProfile } from '../calibrate/syntheticProfile.ts';
import { startFakeServer } from '../loadgen/fakeServer.ts';
import { MAIN, TSX, cli, cliIn } from './cli.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'br-hostile-'));
const TRACE = 'arrived_at,prompt_tokens,completion_tokens\n0,10,5\n0.1,12,6\n0.2,9,4\n';

function expectOneLine(r: { code: number; stderr: string }, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}

/** Start a long-running command; resolves its stdout line matching `ready`. */
function launch(args: string[]) {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

describe('failure 1: calibrate never overwrites its profile', () => {
  it('calibrate prof -o prof/model-config.json (or onto a table) is refused and leaves the profile alone', () => {
    const dir = tmp();
    const prof = join(dir, 'prof');
    writeSyntheticProfile(prof);
    const before = readFileSync(join(prof, 'model-config.json'), 'utf8');
    expectOneLine(cli(['calibrate', prof, '-o', join(prof, 'model-config.json')]), /output: is also the model config of the profile/);
    expectOneLine(cli(['calibrate', prof, '-o', join(prof, 'attention.csv')]), /output: is also .*attention\.csv/);
    // Through a hard link, which has another real path but is the same file.
    linkSync(join(prof, 'meta.yaml'), join(dir, 'hard.json'));
    expectOneLine(cli(['calibrate', prof, '-o', join(dir, 'hard.json')]), /output: is also .*meta\.yaml/);
    expect(readFileSync(join(prof, 'model-config.json'), 'utf8')).toBe(before);
  }, 60_000);
});

describe('failure 2: report does not overwrite the request log it reads by default', () => {
  it('report ts.arrow -o ts.requests.arrow is refused', () => {
    const dir = tmp();
    const ts = join(dir, 'ts.arrow');
    expect(cli(['run', '--requests', '20', '--timeseries', ts]).code).toBe(0);
    const req = join(dir, 'ts.requests.arrow');
    const before = readFileSync(req);
    expectOneLine(cli(['report', ts, '-o', req]), /output: is also the request log/);
    expect(readFileSync(req).equals(before)).toBe(true);
  }, 60_000);
});

describe('failure 3: emulate --record onto an input is refused before serving', () => {
  it('--record onto the trace, the model file or the tokenizer', () => {
    const dir = tmp();
    const t = join(dir, 't.csv');
    writeFileSync(t, TRACE);
    expectOneLine(cli(['emulate', '--port', '0', '--trace', t, '--record', t]), /record: is also the trace file/);
    const model = join(dir, 'model.json');
    writeSyntheticProfile(join(dir, 'prof'));
    expect(cli(['calibrate', join(dir, 'prof'), '-o', model]).code).toBe(0);
    expectOneLine(cli(['emulate', '--port', '0', '--model', model, '--record', model]), /record: is also the model file/);
    const tok = join(dir, 'tok.json');
    writeFileSync(tok, '{}');
    expectOneLine(cli(['emulate', '--port', '0', '--tokenizer', tok, '--record', tok]), /record: is also the tokenizer file/);
    expect(readFileSync(t, 'utf8')).toBe(TRACE);
    expect(readFileSync(tok, 'utf8')).toBe('{}');
  }, 60_000);
});

describe('failure 4: gateway --log onto its tokenizer is refused', () => {
  it('gateway --tokenizer tok.json --log tok.json keeps the tokenizer', () => {
    const dir = tmp();
    const tok = join(dir, 'tok.json');
    writeFileSync(tok, '{"keep": true}');
    expectOneLine(cli(['gateway', '--backend', 'http://127.0.0.1:9', '--port', '0', '--tokenizer', tok, '--log', tok]), /log: is also the tokenizer file/);
    expect(readFileSync(tok, 'utf8')).toBe('{"keep": true}');
  }, 60_000);
});

/** The CLI with a short time limit and a memory cap: a command reading /dev/zero must not take the machine with it. */
function bounded(args: string[]) {
  const r = spawnSync(process.execPath, ['--max-old-space-size=512', '--import', TSX, MAIN, ...args], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('failure 5: an input that is not a regular file is refused, not read without bound', () => {
  it('run --trace /dev/zero, --model through a link to it, a sweep naming it, report of it', () => {
    const dir = tmp();
    expectOneLine(bounded(['run', '--trace', '/dev/zero']), /trace: .*not a regular file/);
    symlinkSync('/dev/zero', join(dir, 'model.json'));
    expectOneLine(bounded(['run', '--model', join(dir, 'model.json')]), /model: .*not a regular file/);
    writeFileSync(join(dir, 's.yaml'), 'name: s\nbase: {requests: 10, trace: /dev/zero}\naxes:\n  seed: [1]\n');
    expectOneLine(bounded(['sweep', join(dir, 's.yaml'), '-o', join(dir, 'r.arrow'), '-q']), /trace.*not a regular file/);
    expectOneLine(bounded(['report', '/dev/zero', '-o', join(dir, 'r.html')]), /not a regular file/);
    symlinkSync('/dev/zero', join(dir, 'z.yaml'));
    expectOneLine(bounded(['sweep', join(dir, 'z.yaml'), '-o', join(dir, 'r.arrow'), '-q']), /not a regular file/);
  }, 60_000);
});

describe('failure 6: a trace too large for one string is streamed', () => {
  it('a 600 MiB JSON Lines trace replays', () => {
    const dir = tmp();
    const t = join(dir, 'big.jsonl');
    // Three requests, each line padded with spaces (JSON allows them) to 200 MiB.
    const fd = openSync(t, 'w');
    const pad = Buffer.alloc(8 << 20, 0x20);
    for (const [i, row] of [
      [0, 10, 5],
      [1, 12, 6],
      [2, 9, 4],
    ].entries()) {
      writeSync(fd, `{"arrived_at": ${row[0] / 10}, "prompt_tokens": ${row[1]}, "completion_tokens": ${row[2]}}`);
      for (let k = 0; k < 25; k++) writeSync(fd, pad);
      writeSync(fd, '\n');
      void i;
    }
    closeSync(fd);
    expect(statSync(t).size).toBeGreaterThan(600 * 2 ** 20);
    let r;
    try {
      r = cli(['run', '--trace', t, '--json']);
    } finally {
      rmSync(dir, { recursive: true, force: true }); // 600 MiB: not left in the temporary directory
    }
    expect(r.code, r.stderr).toBe(0);
    const row = JSON.parse(r.stdout) as Record<string, number>;
    expect(row.requests).toBe(3);
  }, 120_000);
});

describe('failure 7: compare refuses a prediction of another run', () => {
  it('another run (other request count) or other lengths: exit 2 with the reason', async () => {
    const dir = tmp();
    const fake = await startFakeServer({ ttftMs: 2, itlMs: 1 });
    try {
      for (const [name, n, seed] of [
        ['a', '12', '1'],
        ['b', '16', '2'],
        ['c', '12', '3'],
      ] as const) {
        const r = await cliIn(['loadgen', '--url', fake.url, '--rate', '200', '--requests', n, '--seed', seed, '--max-output', '8', '-o', join(dir, `${name}.arrow`), '-q']);
        expect(r.code, r.stderr).toBe(0);
      }
    } finally {
      await fake.close();
    }
    for (const name of ['a', 'b', 'c']) {
      const p = await cliIn(['predict', join(dir, `${name}.arrow`), '--dp', '2', '--model', 'qwen3-30b-a3b-h100', '-o', join(dir, `${name}.pred.arrow`), '-q']);
      expect(p.code, p.stderr).toBe(0);
    }
    expect((await cliIn(['compare', join(dir, 'a.arrow'), join(dir, 'a.pred.arrow'), '--json'])).code).toBe(0);
    const other = await cliIn(['compare', join(dir, 'a.arrow'), join(dir, 'b.pred.arrow'), '--json']);
    expectOneLine(other, /predicted: .*(16 requests|another run).*12/);
    const lengths = await cliIn(['compare', join(dir, 'a.arrow'), join(dir, 'c.pred.arrow'), '--json']);
    expectOneLine(lengths, /predicted: .*(another run|length)/);
    expect(existsSync(join(dir, 'a.compare.html'))).toBe(true);
  }, 60_000);
});

describe('failure 8: one bad output does not lose the measurement', () => {
  it('loadgen -o <full disk> --save-json <fine disk> writes the JSON and the summary row and prints the summary', async () => {
    const dir = tmp();
    symlinkSync('/dev/full', join(dir, 'full.arrow'));
    const fake = await startFakeServer({ ttftMs: 2, itlMs: 1 });
    let r;
    try {
      r = await cliIn(['loadgen', '--url', fake.url, '--rate', '200', '--requests', '10', '--max-output', '4', '-o', join(dir, 'full.arrow'), '--save-json', join(dir, 'r.json')]);
    } finally {
      await fake.close();
    }
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/output: cannot write .*ENOSPC/);
    expect(r.stdout).toMatch(/Serving Benchmark Result/);
    const j = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as { completed: number };
    expect(j.completed).toBe(10);
    expect(readArrowFile(join(dir, 'full.summary.arrow')).rows()).toHaveLength(1);
  }, 60_000);
});

describe('failure 9: a bad --host is a one-line error', () => {
  it('emulate --host 999.1.1.1 and gateway --host nonexistent.invalid', () => {
    expectOneLine(cli(['emulate', '--port', '0', '--host', '999.1.1.1']), /host: .*999\.1\.1\.1/);
    expectOneLine(cli(['gateway', '--backend', 'http://127.0.0.1:9', '--port', '0', '--host', 'nonexistent.invalid']), /host: .*nonexistent\.invalid/);
  }, 60_000);
});

describe('failure 10: bench checks --out-dir before benchmarking', () => {
  it('bench --out-dir under a regular file fails at once', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'plain'), 'x');
    expectOneLine(cli(['bench', '--quick', '--reps', '1', '--out-dir', join(dir, 'plain', 'out')]), /out_dir: /);
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    expectOneLine(cli(['bench', '--quick', '--reps', '1', '--out-dir', join(dir, 'plain')]), /out_dir: .*not a directory/);
    expect(readdirSync(dir).sort()).toEqual(['plain', 'ro']);
  }, 60_000);
});

describe('failure 11: SIGHUP keeps the emulator recording', () => {
  it('emulate --record writes the arrivals on SIGHUP', async () => {
    const dir = tmp();
    const rec = join(dir, 'rec.csv');
    const p = launch(['emulate', '--port', '0', '--record', rec]);
    const deadline = Date.now() + 30_000;
    while (!/emulate: listening/.test(p.out()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const { ports, model } = JSON.parse(/emulate: listening (\{.*\})/.exec(p.out())![1]) as { ports: number[]; model: string };
    const res = await fetch(`http://127.0.0.1:${ports[0]}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, prompt: [1, 2, 3], max_tokens: 2 }),
    });
    expect(res.status).toBe(200);
    p.child.kill('SIGHUP');
    await p.exited;
    expect(p.err()).not.toMatch(/internal error/);
    const lines = readFileSync(rec, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('arrival_time_ns,prompt_tokens,output_tokens,pinned_rank');
    expect(lines.slice(1).map((l) => l.split(',').slice(1).join(','))).toEqual(['3,2,']);
  }, 60_000);
});

describe('no server outlives its launcher', () => {
  /** Whether a process is still running (a zombie waiting to be reaped is not). */
  const running = (pid: number) => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };

  it.skipIf(process.platform !== 'linux')('emulate started from a shell that is killed with SIGKILL stops by itself', async () => {
    // `; true` keeps the shell as the parent (no exec), as npx keeps its child.
    const sh = spawn('/bin/sh', ['-c', `"${process.execPath}" --import "${TSX}" "${MAIN}" emulate --port 0 & echo PID:$!; wait; true`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    sh.stdout.on('data', (d) => (out += d));
    const deadline = Date.now() + 30_000;
    while (!/emulate: listening/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const pid = Number(/PID:(\d+)/.exec(out)![1]);
    expect(running(pid)).toBe(true);
    sh.kill('SIGKILL');
    const gone = Date.now() + 15_000;
    while (running(pid) && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
    const still = running(pid);
    if (still) process.kill(pid, 'SIGKILL');
    expect(still).toBe(false);
  }, 60_000);
});

describe('-o - and -o dir/', () => {
  it('-o - writes to stdout where the format allows it; -o dir/ is refused, not a file named dir', () => {
    const dir = tmp();
    writeSyntheticProfile(join(dir, 'prof'));
    const r = cli(['calibrate', join(dir, 'prof'), '-o', '-'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { name: string }).name).toBeTruthy(); // the model file, nothing else
    expect(r.stderr).toMatch(/calibrated/);
    expect(readdirSync(dir)).toEqual(['prof']);
    expectOneLine(cli(['run', '--requests', '10', '-o', '-'], { cwd: dir }), /output: this output cannot go to standard output/);
    expectOneLine(cli(['run', '--requests', '10', '-o', 'out/'], { cwd: dir }), /output: ends with a slash/);
    expect(readdirSync(dir)).toEqual(['prof']);
  }, 60_000);
});
