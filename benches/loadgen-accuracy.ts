/**
 * Send-time accuracy of `balanceroute loadgen`: at a given rate, how far each request's actual
 * send (the start of its POST) lags its scheduled time. Runs the CLI in a child process
 * against a loopback SSE server in another process, several times, and reports the median and
 * spread (min to max over runs) of the p50, p99 and max lag. Never an assertion: a figure for
 * docs/loadgen.md.
 *
 *   node --import tsx benches/loadgen-accuracy.ts [--rate 200] [--requests 2000] [--reps 5] [--rt | --nice N] [--no-save]
 *
 * On a machine shared with other jobs the lag mostly measures the wait for a core. --rt runs the
 * load generator under `chrt -f 10` (SCHED_FIFO, Linux, root), --nice N under `nice -n N`, to
 * measure the generator itself; the result file says which.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readArrowFile } from '../src/formats/arrowRead.ts';
import { percentileSorted } from '../src/loadgen/metrics.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const rate = Number(arg('rate', '200'));
const requests = Number(arg('requests', '2000'));
const reps = Number(arg('reps', '5'));
const save = !process.argv.includes('--no-save');
const niceArg = process.argv.includes('--nice') ? Number(arg('nice', '0')) : null;
const rt = process.argv.includes('--rt');
const wrap = rt ? ['chrt', '-f', '10'] : niceArg !== null ? ['nice', '-n', String(niceArg)] : [];
// The CLI from its sources under tsx: no build needed, and the same code as the tests run.
const CLI = ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('../test/cli/main.ts', import.meta.url))];
const SERVER = fileURLToPath(new URL('./loadgen-server.ts', import.meta.url));

const loadBefore = loadavg()[0];
const server = spawn(process.execPath, ['--import', 'tsx', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise<string>((resolve) => server.stdout!.once('data', (d) => resolve(String(d).trim())));
const dir = mkdtempSync(join(tmpdir(), 'loadgen-bench-'));
const runs: { p50: number; p99: number; max: number; failed: number }[] = [];
try {
  for (let r = 0; r < reps; r++) {
    const out = join(dir, `run${r}.arrow`);
    const cmd = [process.execPath, ...CLI, 'loadgen', '--url', url, '--rate', String(rate), '--requests', String(requests), '--seed', String(r), '--workload', 'azure_code', '--max-output', '16', '-o', out, '-q'];
    const full = [...wrap, ...cmd];
    const res = spawnSync(full[0], full.slice(1), { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`loadgen failed: ${res.stderr}`);
    const f = readArrowFile(out);
    const sched = f.column('scheduled_us') as number[];
    const sent = f.column('arrival_us') as number[];
    const lag = sent.map((s, i) => (s - sched[i]) / 1000).sort((a, b) => a - b);
    const failed = (f.column('status') as number[]).filter((s) => s !== 4).length;
    runs.push({ p50: percentileSorted(lag, 50), p99: percentileSorted(lag, 99), max: lag[lag.length - 1], failed });
    process.stderr.write(`run ${r + 1}/${reps}: lag p50 ${runs[r].p50.toFixed(3)} ms, p99 ${runs[r].p99.toFixed(3)} ms, max ${runs[r].max.toFixed(3)} ms, failed ${failed}\n`);
  }
} finally {
  server.kill('SIGTERM');
}
const med = (xs: number[]) => percentileSorted([...xs].sort((a, b) => a - b), 50);
const fmt = (k: 'p50' | 'p99' | 'max') => {
  const xs = runs.map((x) => x[k]);
  return `${med(xs).toFixed(3)} (${Math.min(...xs).toFixed(3)} to ${Math.max(...xs).toFixed(3)})`;
};
const machine = `${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, Node ${process.version}, 1-min load average ${loadBefore.toFixed(1)} before and ${loadavg()[0].toFixed(1)} after (other jobs on the machine)`;
const md = [
  `# loadgen send accuracy, ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Machine: ${machine}.${wrap.length ? ` Load generator run under \`${wrap.join(' ')}\`.` : ' Load generator at normal priority.'} ${reps} runs of ${requests} requests at ${rate} req/s (Poisson, vllm bench schedule), 16-token streams from a loopback SSE server in another process.`,
  'Lag = actual send (start of the POST) − scheduled time; median over runs (min to max).',
  '',
  '| lag p50 (ms) | lag p99 (ms) | lag max (ms) |',
  '|---:|---:|---:|',
  `| ${fmt('p50')} | ${fmt('p99')} | ${fmt('max')} |`,
  '',
].join('\n');
process.stdout.write(md);
if (save) {
  const outDir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, `${new Date().toISOString().slice(0, 10)}-loadgen-accuracy${rt ? '-rt' : niceArg !== null ? `-nice${niceArg}` : ''}`);
  writeFileSync(`${base}.md`, md);
  writeFileSync(`${base}.json`, JSON.stringify({ machine, wrap, rate, requests, reps, runs }, null, 2) + '\n');
}
