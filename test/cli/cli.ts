// Runs the real CLI in a child process, from the TypeScript sources (main.ts under tsx) so that
// tests need no build; scripts/pack-smoke.sh runs the packed, compiled bin.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect } from 'vitest';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
// tsx's loader by absolute URL: a test may run the CLI in another working directory.
export const TSX = import.meta.resolve('tsx');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], opts: { cwd?: string; input?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    input: opts.input,
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The same CLI in this process, through `main()`: for the suites that run many short commands
 * (bad input, consistency, capacity), where starting Node and tsx per case would cost more than the
 * command. stdout and stderr are captured for the duration of the call; tests in a file run one at
 * a time, so nothing else writes meanwhile. `cwd` changes the process's directory for the call.
 * One real child-process run per command stays in the suites (cli() above).
 */
export async function cliIn(args: string[], opts: { cwd?: string } = {}): Promise<CliResult> {
  const { main } = await import('../../src/cli.ts');
  const out: string[] = [];
  const err: string[] = [];
  const capture = (sink: string[]) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }) as typeof process.stdout.write;
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  const cwd = process.cwd();
  const exitCode = process.exitCode;
  const noColor = process.env.NO_COLOR;
  process.env.NO_COLOR = '1';
  // main() installs the clean-up-on-signal handlers of a CLI process; here they would outlive the
  // call and report the test worker's own termination, so the ones it adds are removed after it.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  try {
    if (opts.cwd) process.chdir(opts.cwd);
    const code = await main(['node', 'balanceroute', ...args]);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    process.chdir(cwd);
    process.exitCode = exitCode;
    for (const s of signals) for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.removeListener(s, l);
    if (noColor === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = noColor;
  }
}

/**
 * Bad input, in process: exit code 2, exactly one line on stderr naming each of `mentions`,
 * nothing on stdout, and no `output` file left behind.
 */
export async function expectBadInput(args: string[], mentions: string[], output?: string): Promise<void> {
  const r = await cliIn(args);
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  for (const m of mentions) expect(lines[0]).toContain(m);
  expect(r.stdout).toBe('');
  if (output) expect(existsSync(output)).toBe(false);
}
