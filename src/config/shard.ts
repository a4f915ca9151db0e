// Splitting a sweep into n shards for independent processes (a Kubernetes Indexed Job, a Slurm
// array); `merge` joins their outputs. Shard i takes every configuration with index % n === i,
// which spreads routers and axes evenly over shards instead of giving one shard all the slow ones.
import { InputError } from '../errors.ts';

export interface Shard {
  /** 0-based shard number, in [0, n). */
  i: number;
  n: number;
}

/** Parse `i/n` (0-based i, as in $JOB_COMPLETION_INDEX / $SLURM_ARRAY_TASK_ID with --array=0-(n-1)). */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new InputError('shard', text, 'expected i/n with 0 <= i < n, e.g. 0/4');
  const shard = { i: Number(m[1]), n: Number(m[2]) };
  checkShard(shard, text);
  return shard;
}

/** The configurations of shard i of n, in order, keeping their original `index`. */
export function selectShard<T extends { index: number }>(scenarios: readonly T[], i: number, n: number): T[] {
  checkShard({ i, n }, `${i}/${n}`);
  return scenarios.filter((s) => s.index % n === i);
}

function checkShard({ i, n }: Shard, given: string): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new InputError('shard', given, 'the number of shards n must be an integer >= 1');
  if (!Number.isSafeInteger(i) || i < 0 || i >= n) {
    throw new InputError('shard', given, `the shard number i must be an integer in [0, ${n - 1}] (0-based)`);
  }
}
