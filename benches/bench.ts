/**
 * `npm run bench`: the engine-speed table first — simulated requests/s per core at light load, 70%
 * of capacity and saturation, DP 8, 16 and 64, median and spread, an older engine against the
 * working tree's in the same run (benches/engine-speed.ts; `--base` picks the old commit, default
 * BASE: the engine just before the event-driven core) — then the case harness of `balanceroute bench`
 * (src/bench/harness.ts: single runs, DP and request curves, sweeps, cores).
 *
 *   npm run bench -- [engine-speed flags: --base C --mode warm,cold --dp 8,16,64 --loads light,70,sat
 *     --seeds 1,2,3 --reps 2 --cold-reps 1 --requests 20000 --router R]
 *     [--quick] [--no-cases] [--cases-only] [--gpu] [--threads N] [--case-reps N] [--no-save]
 *     [--out-dir DIR]
 *
 * Both parts print markdown; unless --no-save, both are also saved under --out-dir
 * (benches/results): `<date>-engine-speed-<base>-vs-<head>.md` and the harness's own files.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCommand } from '../src/cli/benchCommand.ts';

/**
 * The CPU engine just before the event-driven core (docs/model.md §7.1): main 84e5d54, with the
 * one-walk step and capacity's early stop. (Before it: b4e9821, the engine before the one-walk step.)
 */
export const BASE = '84e5d54';

const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const argv = process.argv.slice(2).filter((a) => a !== '--');
const speedArgs: string[] = [];
const harness = { quick: false, gpu: false, threads: undefined as string | undefined, reps: undefined as string | undefined, save: true, outDir: 'benches/results' };
let cases = true;
let speed = true;
let base = BASE;
for (let i = 0; i < argv.length; i++) {
  const f = argv[i];
  const v = argv[i + 1];
  switch (f) {
    case '--quick': harness.quick = true; speedArgs.push(f); break;
    case '--gpu': harness.gpu = true; break;
    case '--threads': harness.threads = v; i++; break;
    case '--case-reps': harness.reps = v; i++; break;
    case '--no-save': harness.save = false; break;
    case '--out-dir': if (!v) fail('--out-dir needs a directory'); harness.outDir = v; i++; break;
    case '--no-cases': cases = false; break;
    case '--cases-only': speed = false; break;
    case '--base': if (!v) fail('--base needs a commit'); base = v; i++; break;
    default:
      // Everything else is engine-speed's (it checks its own flags).
      speedArgs.push(f);
      if (v !== undefined && !v.startsWith('--')) speedArgs.push(argv[++i]);
  }
}

function fail(msg: string): never {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(1);
}

if (speed) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', `${root}/benches/engine-speed.ts`, '--base', base, ...speedArgs], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 << 20,
  });
  process.stdout.write(r.stdout ?? '');
  if (r.status !== 0) fail(`engine speed bench failed (exit ${r.status})`);
  if (harness.save) {
    const sha = (ref: string) => spawnSync('git', ['rev-parse', '--short=7', ref], { cwd: root, encoding: 'utf8' }).stdout.trim();
    mkdirSync(harness.outDir, { recursive: true });
    const file = join(harness.outDir, `${new Date().toISOString().slice(0, 10)}-engine-speed-${sha(base)}-vs-${sha('HEAD')}${harness.quick ? '-quick' : ''}.md`);
    writeFileSync(file, '```\n' + r.stdout + '```\n');
    process.stderr.write(`saved ${file}\n`);
  }
}
if (cases) {
  process.stdout.write('\n');
  await benchCommand({ quick: harness.quick, gpu: harness.gpu, threads: harness.threads, reps: harness.reps, save: harness.save, outDir: harness.outDir });
}
