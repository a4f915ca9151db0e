// `balanceroute emulate` as a process: the parseable listening line, SIGTERM -> exit 0,
// --tokenizer, --record, and one-line errors with exit code 2 for bad flags.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cli } from '../cli/cli.ts';
import { postJson, postStream } from './emulateHelpers.ts';

// The CLI from its sources under tsx, as test/cli/cli.ts runs it.
const MAIN = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

// A minimal WordPiece tokenizer: "hello world the worlds xyz" is 6 tokens (worlds = world ##s,
// xyz = [UNK]); the 4-characters-per-token estimate would say 7.
const TOKENIZER = {
  version: '1.0',
  added_tokens: [{ id: 0, content: '[UNK]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
  normalizer: null,
  pre_tokenizer: { type: 'WhitespaceSplit' },
  post_processor: null,
  decoder: null,
  model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: { '[UNK]': 0, hello: 1, world: 2, the: 3, '##s': 4 } },
};

function launch(args: string[]) {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, 'emulate', ...(args.includes('--port') ? [] : ['--port', '0']), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listening = new Promise<{ ports: number[]; dp: number; lb: string }>((resolve, reject) => {
    child.stdout.on('data', () => {
      const m = /^emulate: listening (\{.*\})$/m.exec(stdout);
      if (m) resolve(JSON.parse(m[1]));
    });
    exited.then((code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  listening.catch(() => undefined); // awaited by the tests that expect it to start
  return { child, listening, exited, out: () => ({ stdout, stderr }) };
}

describe('balanceroute emulate (process)', () => {
  it('prints its bound port, serves the acceptance stream, exits 0 on SIGTERM and writes --record', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'br-emulate-'));
    const tok = join(dir, 'tokenizer.json');
    writeFileSync(tok, JSON.stringify(TOKENIZER));
    const rec = join(dir, 'arrivals.csv');
    const p = launch(['--dp', '2', '--tokenizer', tok, '--record', rec]);
    try {
      const info = await p.listening;
      expect(info.dp).toBe(2);
      expect(info.lb).toBe('internal');
      expect(info.ports).toHaveLength(1);
      const base = `http://127.0.0.1:${info.ports[0]}`;
      const r = await postStream(`${base}/v1/completions`, {
        prompt: [1, 2, 3],
        max_tokens: 20,
        ignore_eos: true,
        stream: true,
        stream_options: { include_usage: true },
      });
      expect(r.events.filter((e) => (e as { choices: unknown[] }).choices.length === 1)).toHaveLength(20);
      expect((r.events[20] as { usage: unknown }).usage).toEqual({ prompt_tokens: 3, completion_tokens: 20, total_tokens: 23 });
      expect(r.done).toBe(true);
      const t = await postJson(`${base}/v1/completions`, { prompt: 'hello world the worlds xyz', max_tokens: 2, ignore_eos: true });
      expect(t.body.usage).toMatchObject({ prompt_tokens: 6 });
    } finally {
      p.child.kill('SIGTERM');
    }
    expect(await p.exited).toBe(0);
    expect(p.out().stderr).toMatch(/^emulate: stopped after \d+ steps; step end timing error ms p50 /m);
    const lines = readFileSync(rec, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('arrival_time_ns,prompt_tokens,output_tokens,pinned_rank');
    expect(lines.slice(1).map((l) => l.split(',').slice(1).join(','))).toEqual(['3,20,', '6,2,']);
    // The recorded arrivals replay offline as a trace.
    const run = cli(['run', '--trace', rec, '--dp', '2', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).completed).toBe(2);
  }, 60_000);

  it('external LB prints one port per rank', async () => {
    const p = launch(['--dp', '3', '--lb', 'external']);
    try {
      const info = await p.listening;
      expect(info.ports).toHaveLength(3);
      expect(new Set(info.ports).size).toBe(3);
    } finally {
      p.child.kill('SIGINT');
    }
    expect(await p.exited).toBe(0);
  }, 60_000);

  it.each([
    [['--speed', '0'], 'speed'],
    [['--lb', 'hybrid'], 'hybrid'],
    [['--port', '70000'], 'port'],
    [['--router', 'fastest'], 'router'],
    [['--tokenizer', '/nonexistent/tokenizer.json'], 'tokenizer'],
    [['--dp', '0'], 'dp'],
    [['--sync', 'independent', '--dispatch', 'per_step'], 'dispatch'],
    [['--sync', 'lockstep'], 'sync'],
  ])('bad flag %j: one line, exit code 2', { timeout: 60_000 }, (args, field) => {
    const r = cli(['emulate', '--port', '0', ...args]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(field);
    expect(r.stdout).toBe('');
  });

  it('a port in use: one line naming the port, exit code 2', { timeout: 60_000 }, async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const p = launch(['--port', String(port)]);
      expect(await p.exited).toBe(2);
      expect(p.out().stderr.trim()).toBe(`balanceroute: port: cannot listen on 127.0.0.1: EADDRINUSE (got "${port}")`);
    } finally {
      blocker.close();
    }
  });
});
