// The CLI as child processes that run concurrently with the test: a command awaited to its end
// (cliAsync), and a server started until it prints its ready line (cliServer) and stopped in
// teardown (stopChild). For the loops that put loadgen, gateway and emulate together on loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { MAIN, TSX } from './cli.ts';

const CLI = ['--import', TSX, MAIN];

/** Run one CLI command to its end (killed after `timeoutMs`); the code is null when killed. */
export function cliAsync(args: string[], timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface CliServer {
  child: ChildProcess;
  /** The ready line's match. */
  ready: RegExpExecArray;
  /** Everything the server wrote to stderr so far (its exit summary after stopChild). */
  stderr(): string;
}

/** Start a CLI server and resolve once its stdout matches `ready` (rejects on exit or after `timeoutMs`). */
export function cliServer(args: string[], ready: RegExp, timeoutMs = 60_000): Promise<CliServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const t = setTimeout(() => reject(new Error(`${args[0]} did not start: ${err}`)), timeoutMs);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = ready.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ child, ready: m, stderr: () => err });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${args[0]} exited with ${code}: ${err}`));
    });
  });
}

/** `emulate` on an ephemeral loopback port; resolves with its base URL. */
export async function emulateServer(args: string[]): Promise<CliServer & { url: string }> {
  const s = await cliServer(['emulate', '--port', '0', ...args], /emulate: listening (\{.*\})/);
  const info = JSON.parse(s.ready[1]) as { host: string; ports: number[] };
  return { ...s, url: `http://${info.host}:${info.ports[0]}` };
}

/** SIGTERM and wait for the exit (servers drain first); nothing when it already ended. */
export async function stopChild(c: ChildProcess | undefined): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await exited;
}
