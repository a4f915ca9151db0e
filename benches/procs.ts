// Child processes of the live benches (emulate, gateway): start one and wait for the JSON line it
// prints once listening, stop it with SIGTERM and wait for its exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Start `node argv` in the repository root; resolves with the first JSON object it prints on stdout. */
export function startProc(argv: string[]): Promise<{ child: ChildProcess; info: Record<string, unknown> }> {
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      // The first line holding a JSON object (emulate prefixes it with `emulate: listening `).
      const m = /^[^{\n]*(\{.*\})$/m.exec(out);
      if (m) resolve({ child, info: JSON.parse(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`${argv.join(' ')} exited ${code}`)));
  });
}

/** SIGTERM, then wait for the exit (the servers drain first). */
export async function stopProc(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null) return;
  const done = new Promise((r) => c.on('exit', r));
  c.kill('SIGTERM');
  await done;
}
