// Ctrl-C during a load run: the finished requests are written as a valid Arrow file.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { startFakeServer, type FakeServer } from './fakeServer.ts';

// The CLI from its sources under tsx (as test/cli/cli.ts runs it): no build needed.
const CLI = ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('../cli/main.ts', import.meta.url))];
let fake: FakeServer;
beforeAll(async () => {
  fake = await startFakeServer({ ttftMs: 5, itlMs: 2 });
});
afterAll(() => fake.close());

it('SIGINT writes the finished requests and says so', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'loadgen-int-')), 'm.arrow');
  // 400 requests at 20 req/s would take 20 s; interrupt once some have finished.
  const child = spawn(process.execPath, [...CLI, 'loadgen', '--url', fake.url, '--rate', '20', '--requests', '400', '--max-output', '8', '-o', out, '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const deadline = Date.now() + 30_000;
  while (fake.received.length < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(fake.received.length).toBeGreaterThanOrEqual(10);
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  expect(code).toBe(130);
  const m = /interrupted: wrote the (\d+) finished requests to (\S+)/.exec(stderr);
  expect(m, stderr).not.toBeNull();
  const n = Number(m![1]);
  expect(n).toBeGreaterThanOrEqual(1);
  expect(n).toBeLessThanOrEqual(fake.received.length);
  expect(n).toBeLessThan(400);
  const f = readArrowFile(out);
  expect(f.numRows).toBe(n);
  expect(f.metadata.interrupted).toBe('true');
  expect(f.rows().every((r) => r.outcome === 'completed')).toBe(true);
  expect(readArrowFile(out.replace(/\.arrow$/, '.summary.arrow')).rows()[0].requests).toBe(n);
  expect(stdout).toMatch(/Serving Benchmark Result/);
}, 60_000);
