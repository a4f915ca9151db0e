// `balanceroute gateway` on the command line: bad flags are one-line errors with exit code 2;
// a real run serves, and SIGTERM closes the decision log cleanly.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../cli/cli.ts';
import { InputError } from '../../src/errors.ts';
import { gatewayOptions, type GatewayFlags } from '../../src/cli/gatewayCommand.ts';
import { readDecisionLog } from '../../src/serve/gateway/decisionLog.ts';
import { FakeVllm } from './fakeVllm.ts';
import { cleanTmp, completion, streamText, tmpLog, until } from './gatewayHelpers.ts';

// The CLI from its sources under tsx, as test/cli/cli.ts runs it (bin/ runs the compiled dist/).
const CLI = ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('../cli/main.ts', import.meta.url))];
afterAll(cleanTmp);

describe('gateway flags', () => {
  const base = { router: 'jsq_load', host: '127.0.0.1', port: '0', statsIntervalMs: '100', healthIntervalMs: '1000', logFlushMs: '500', maxBodyBytes: '1000000', upstreamTimeoutS: '60', connections: '64', survivalProfile: 'sharegpt', survivalMin: '200', seed: '1' };
  const one = ['http://127.0.0.1:1'];
  const bad: [Partial<GatewayFlags>, RegExp][] = [
    [{ backend: [] }, /^backend: give at least one --backend URL/],
    [{ backend: one, router: 'nope' }, /^router: unknown router/],
    [{ backend: one, router: 'br0', knob: ['zz=1'] }, /^router\.zz: unknown knob/],
    [{ backend: one, router: 'br0', knob: ['b=-1'] }, /^router\.b: must be in/],
    [{ backend: one, dp: 'four' }, /^dp: must be an integer/],
    [{ backend: one, port: '70000' }, /^port: must be an integer in \[0, 65535\]/],
    [{ backend: one, statsIntervalMs: '0' }, /^stats-interval-ms: must be an integer/],
    [{ backend: one, apiKeyEnv: 'BALANCEROUTE_TEST_UNSET_VAR' }, /^api-key-env: environment variable is unset or empty/],
    [{ backend: one, upstreamApiKeyEnv: 'not a name' }, /^upstream-api-key-env: must be an environment variable name/],
    [{ backend: one, tokenizer: '/nonexistent/tokenizer.json' }, /^tokenizer: no such file/],
    [{ backend: one, maxBodyBytes: '12' }, /^max-body-bytes: must be an integer/],
    [{ backend: one, admission: 'batch' }, /^admission: must be one of immediate, wave/],
    [{ backend: one, admission: 'wave', waveTimeoutMs: '-5' }, /^wave-timeout-ms: must be a time in \[0, 3600000\] ms/],
    [{ backend: one, admission: 'wave', waveTimeoutMs: 'soon' }, /^wave-timeout-ms: must be a time/],
    [{ backend: one, admission: 'immediate', waveTimeoutMs: '50' }, /^wave-timeout-ms: acts only with --admission wave/],
  ];
  it.each(bad)('%j is an InputError naming the flag', async (flags, msg) => {
    const e = await gatewayOptions({ ...base, ...flags } as GatewayFlags).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toMatch(msg);
  });
  it('through the real CLI: one line on stderr, exit code 2', () => {
    for (const [args, msg] of [
      [['--backend', 'http://127.0.0.1:1', '--router', 'nope'], /^balanceroute: router: unknown router/],
      [['--backend', 'http://127.0.0.1:1', '--survival-profile', 'nope'], /^balanceroute: .*survival-profile/],
      [['--backend', 'http://127.0.0.1:1', '--admission', 'nope'], /^balanceroute: .*admission/],
      [['--backend', 'http://127.0.0.1:1', '--wave-timeout-ms', '20'], /^balanceroute: wave-timeout-ms: acts only with --admission wave/],
    ] as const) {
      const r = cli(['gateway', ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n').length).toBe(1);
    }
  }, 60_000);
});

describe('gateway process', () => {
  it('serves, then SIGTERM flushes and closes the log', async () => {
    const f = await new FakeVllm({ engines: [0, 1] }).start();
    const log = tmpLog();
    const child = spawn(process.execPath, [...CLI, 'gateway', '--backend', f.url, '--dp', '2', '--router', 'round_robin', '--port', '0', '--log', log, '--api-key-env', 'GW_TEST_KEY', '--stats-interval-ms', '50'], {
      env: { ...process.env, GW_TEST_KEY: 'k-789' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c) => {
          out += c;
          const nl = out.indexOf('\n');
          if (nl >= 0) resolve(out.slice(0, nl));
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
      });
      const { listening } = JSON.parse(line) as { listening: string };
      for (let i = 0; i < 4; i++) {
        const r = await completion(listening, { max_tokens: 3 }, { authorization: 'Bearer k-789' });
        expect(streamText(await r.text())).toBe(' t0 t1 t2');
      }
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const t = readDecisionLog(log);
      expect(t.numRows).toBe(4);
      expect(t.toArray().map((r) => r.rank)).toEqual([0, 1, 0, 1]);
      expect(stderr).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+ {2}router round_robin {2}ranks 2 \(2 healthy\)/);
      expect(stderr).not.toContain('k-789');
      // the log replays as a trace in the simulator
      const run = cli(['run', '--trace', log, '--dp', '2', '--router', 'round_robin', '--json']);
      expect(run.code).toBe(0);
      const row = JSON.parse(run.stdout);
      expect(row.completed).toBe(4);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await f.stop();
    }
  }, 60_000);

  it('SIGHUP (a closed terminal) flushes and closes the log too', async () => {
    const f = await new FakeVllm({ engines: [0] }).start();
    const log = tmpLog();
    const child = spawn(process.execPath, [...CLI, 'gateway', '--backend', f.url, '--port', '0', '--log', log, '--log-flush-ms', '3600000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c) => {
          out += c;
          const nl = out.indexOf('\n');
          if (nl >= 0) resolve(out.slice(0, nl));
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const { listening } = JSON.parse(line) as { listening: string };
      for (let i = 0; i < 3; i++) await (await completion(listening, { max_tokens: 2 })).text();
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGHUP');
      expect(await exited).toBe(0);
      // The rows waited for a flush that was an hour away: SIGHUP wrote them.
      expect(readDecisionLog(log).numRows).toBe(3);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await f.stop();
    }
  }, 60_000);

  it('killed with SIGKILL: the log holds every flushed request and reads back', async () => {
    const f = await new FakeVllm().start();
    const log = tmpLog();
    const child = spawn(process.execPath, [...CLI, 'gateway', '--backend', f.url, '--port', '0', '--log', log, '--log-flush-ms', '20', '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c) => {
          out += c;
          if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const { listening } = JSON.parse(line) as { listening: string };
      for (let i = 0; i < 3; i++) await (await completion(listening, {})).text();
      // Kill once a flush (every 20 ms) has put all three rows on disk.
      const flushed = () => {
        try {
          return readDecisionLog(log).numRows === 3;
        } catch {
          return false; // no complete batch on disk yet
        }
      };
      await until(flushed, 10_000, 'three flushed rows');
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      const t = readDecisionLog(log);
      expect(t.numRows).toBe(3);
      expect(t.toArray().every((r) => r.outcome === 'ok')).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await f.stop();
    }
  }, 60_000);
});
