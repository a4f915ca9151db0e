/**
 * Child process of benches/engine-speed.ts: simulates configurations with the CPU engine of one
 * source tree (the working tree or a temporary worktree of an older commit) and reports the
 * wall time of each run. It only uses entry points that every commit since the seed engine has
 * (`scenarioFromFlat`, `runScenario`, `metrics.wall_ms`), so any commit can be compared.
 *
 * A process that is given one job and then end of input measures a cold run: the first
 * simulation in a fresh process, as `balanceroute run` does (V8 has compiled nothing yet, and
 * code optimised during a process's first simulation can differ from later ones').
 *
 * Protocol: one JSON job per line on stdin, `{ entry, reps }`; one JSON line per job on stdout,
 * `{ wallMs: number[], cpuMs: number[], requests, fingerprint }` (`wallMs`: the engine's own
 * `metrics.wall_ms`; `cpuMs`: the main thread's CPU time over the same call, which other load on a
 * shared machine disturbs less than wall time), where `fingerprint` hashes every metric except
 * the wall time (equal fingerprints: both trees computed the same numbers).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const root = process.argv[2];
if (!root) {
  process.stderr.write('engineSpeedRunner: usage: engineSpeedRunner.ts <source tree root>\n');
  process.exit(2);
}
const url = (p: string) => pathToFileURL(`${root}/${p}`).href;
const { scenarioFromFlat } = await import(url('src/config/expand.ts'));
const { runScenario } = await import(url('src/engine/cpu/runScenario.ts'));
const { getWorkload } = await import(url('src/workload/build.ts'));

/**
 * CPU time of this process's main thread in ms, from /proc (clock ticks, 10 ms on Linux), so
 * that GC and loader threads and time spent waiting for a core do not count; elsewhere the
 * whole process's CPU time.
 */
const statPath = `/proc/self/task/${process.pid}/stat`;
const ticksPerS = existsSync(statPath) ? Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100 : 0;
function mainThreadCpuMs(): number {
  if (ticksPerS === 0) {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1000;
  }
  const stat = readFileSync(statPath, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
  return ((Number(f[11]) + Number(f[12])) * 1000) / ticksPerS; // utime + stime
}

interface Job {
  entry: Record<string, unknown>;
  reps: number;
}

function fingerprint(metrics: Record<string, unknown>): string {
  const h = createHash('sha256');
  for (const k of Object.keys(metrics).sort()) if (k !== 'wall_ms') h.update(`${k}=${String(metrics[k])};`);
  return h.digest('hex').slice(0, 16);
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  const job = JSON.parse(line) as Job;
  const sc = scenarioFromFlat(job.entry);
  getWorkload(sc.workload); // generated (and memoised) outside the timed calls
  const wallMs: number[] = [];
  const cpuMs: number[] = [];
  let fp = '';
  let requests = 0;
  for (let i = 0; i < job.reps; i++) {
    const c0 = mainThreadCpuMs();
    const r = runScenario(sc);
    cpuMs.push(mainThreadCpuMs() - c0);
    wallMs.push(r.metrics.wall_ms);
    requests = r.metrics.requests;
    fp = fingerprint(r.metrics);
  }
  process.stdout.write(JSON.stringify({ wallMs, cpuMs, requests, fingerprint: fp }) + '\n');
}
