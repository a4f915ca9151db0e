// Which ranks the gateway routes to. A backend is one vLLM HTTP endpoint; with --dp N it serves
// N DP ranks (vLLM internal or hybrid LB) that the gateway pins with X-data-parallel-rank, else
// it is one rank (vLLM external LB, or an independent replica).
import { InputError } from '../../errors.ts';

export interface Backend {
  readonly index: number;
  /** Origin for the connection pool, e.g. http://127.0.0.1:8000. */
  readonly origin: string;
  /** Path prefix of the server (usually ''), prepended to proxied paths. */
  readonly basePath: string;
  /** Ranks behind this endpoint; 0 = one rank, no header pinning. */
  readonly dp: number;
  /** Global rank indices of this backend's ranks, in local-rank order. */
  readonly ranks: readonly number[];
}

export interface Rank {
  readonly index: number;
  readonly backend: number;
  /** Value sent as X-data-parallel-rank (vLLM validates it against the node-local DP size); -1 = none. */
  readonly localRank: number;
  /** Short name used in logs and metric labels: "0", "1", ... */
  readonly name: string;
}

export interface Topology {
  readonly backends: readonly Backend[];
  readonly ranks: readonly Rank[];
}

/** Build the topology from --backend URLs and --dp (one value for all backends, or one per backend). */
export function buildTopology(urls: readonly string[], dp: readonly number[] | undefined): Topology {
  if (urls.length === 0) throw new InputError('backend', urls, 'give at least one --backend URL');
  if (dp !== undefined && dp.length !== 1 && dp.length !== urls.length) {
    throw new InputError('dp', dp.join(','), `give one --dp value for all backends or one per backend (${urls.length})`);
  }
  for (const n of dp ?? []) {
    if (!Number.isInteger(n) || n < 1 || n > 1024) throw new InputError('dp', n, 'must be an integer in [1, 1024]');
  }
  const backends: Backend[] = [];
  const ranks: Rank[] = [];
  const seen = new Set<string>();
  urls.forEach((raw, b) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new InputError('backend', raw, 'not a URL (expected e.g. http://127.0.0.1:8000)');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InputError('backend', raw, 'must be an http:// or https:// URL');
    if (u.search || u.hash || u.username || u.password) throw new InputError('backend', raw, 'must not carry a query, fragment or credentials');
    const basePath = u.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
    const key = u.origin + basePath;
    if (seen.has(key)) throw new InputError('backend', raw, 'listed twice');
    seen.add(key);
    const n = dp === undefined ? 0 : dp.length === 1 ? dp[0] : dp[b];
    const mine: number[] = [];
    for (let l = 0; l < Math.max(1, n); l++) {
      const index = ranks.length;
      mine.push(index);
      ranks.push({ index, backend: b, localRank: n > 0 ? l : -1, name: String(index) });
    }
    backends.push({ index: b, origin: u.origin, basePath, dp: n, ranks: mine });
  });
  return { backends, ranks };
}
