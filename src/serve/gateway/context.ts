// What every request of one gateway shares: its options, the topology, the routing view, the
// scraper, metrics, decision log, upstream pools and the header rules. The server builds it once;
// each request handler reads it (and registers itself in `inflight` so a shutdown can end it).
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Pool } from 'undici';
import type { RouterParams } from '../../routers/types.ts';
import { DecisionLog } from './decisionLog.ts';
import { GATEWAY_DEFAULTS } from './defaults.ts';
import { keyDigest } from './httpUtil.ts';
import { createMetrics, type GatewayMetrics } from './metrics.ts';
import type { TextCounter } from './promptTokens.ts';
import { RoutingState } from './routingState.ts';
import { Scraper } from './scraper.ts';
import { SurvivalEstimator, type SurvivalOptions } from './survival.ts';
import { buildTopology, type Topology } from './topology.ts';
import { WaveAdmission } from './wave.ts';

/** How new requests are admitted: routed at once, or held and released in waves of one per rank. */
export const ADMISSION_MODES = ['immediate', 'wave'] as const;
export type GatewayAdmission = (typeof ADMISSION_MODES)[number];

export const RANK_HEADER = 'x-data-parallel-rank';

export interface GatewayOptions {
  backends: string[];
  dp?: number[];
  router: string;
  routerParams: RouterParams;
  host: string;
  port: number;
  statsIntervalMs: number;
  healthIntervalMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Decision log path (Arrow IPC stream); none when undefined. */
  logPath?: string;
  logBatchRows: number;
  logFlushMs: number;
  /** Key clients must present as `Authorization: Bearer <key>`; none = open. */
  apiKey?: string;
  /** Key sent upstream as `Authorization: Bearer <key>`. */
  upstreamApiKey?: string;
  trustClientRank: boolean;
  /** immediate (default): route on arrival; wave: hold and release one request per rank per wave (wave.ts). */
  admission?: GatewayAdmission;
  /** Wave admission: the longest the oldest held request waits before a partial wave is released, ms. */
  waveTimeoutMs?: number;
  maxBodyBytes: number;
  upstreamTimeoutMs: number;
  /** Upstream connections per backend. */
  connections: number;
  tokenizer?: TextCounter;
  survival: SurvivalOptions;
  seed: number;
  /** Operator messages (backend up/down); default: none. Never receives keys. */
  onEvent?: (line: string) => void;
}

export interface GatewayContext {
  readonly opts: GatewayOptions;
  readonly topo: Topology;
  readonly survival: SurvivalEstimator;
  readonly state: RoutingState;
  readonly scraper: Scraper;
  readonly metrics: GatewayMetrics;
  readonly log: DecisionLog | undefined;
  /** Wave admission; undefined with --admission immediate. */
  readonly wave: WaveAdmission | undefined;
  /** One undici pool per backend, by backend index. */
  readonly pools: Pool[];
  /** Digest of the client API key; undefined = open. */
  readonly digest: Buffer | undefined;
  /** `Bearer <upstream key>`, or undefined. */
  readonly upstreamAuth: string | undefined;
  /** Request headers never forwarded as given. */
  readonly drop: ReadonlySet<string>;
  /** Routed requests in flight: each ends its request on shutdown. */
  readonly inflight: Set<() => void>;
  /** A fresh gateway request id (for requests without X-Request-Id). */
  nextRequestId(): string;
}

export function createGatewayContext(opts: GatewayOptions): GatewayContext {
  const topo = buildTopology(opts.backends, opts.dp);
  const survival = new SurvivalEstimator(opts.survival);
  const state = new RoutingState(topo.ranks.length, opts.router, opts.routerParams, survival, opts.seed, opts.statsIntervalMs);
  const scraper = new Scraper(topo, state, {
    intervalMs: opts.statsIntervalMs,
    healthIntervalMs: opts.healthIntervalMs,
    timeoutMs: Math.max(1000, 10 * opts.statsIntervalMs),
    backoffBaseMs: opts.backoffBaseMs,
    backoffMaxMs: opts.backoffMaxMs,
    onChange: (b, up, reason) => opts.onEvent?.(`backend ${b.index} (${b.origin}${b.basePath}) ${up ? 'up' : `down: ${reason}`}`),
  });
  let wave: WaveAdmission | undefined;
  const metrics = createMetrics(topo, state, (b) => scraper.ageS(b), () => wave?.size ?? 0);
  if ((opts.admission ?? 'immediate') === 'wave') {
    wave = new WaveAdmission(topo.ranks.length, opts.waveTimeoutMs ?? GATEWAY_DEFAULTS.waveTimeoutMs, () => state.healthyCount(), metrics.waves);
  }
  const log = opts.logPath
    ? new DecisionLog(opts.logPath, {
        batchRows: opts.logBatchRows,
        flushMs: opts.logFlushMs,
        metadata: {
          router: opts.router,
          router_params: JSON.stringify(opts.routerParams),
          backends: JSON.stringify(topo.backends.map((b) => ({ url: b.origin + b.basePath, dp: b.dp }))),
          ranks: String(topo.ranks.length),
          admission: opts.admission ?? 'immediate',
          ...((opts.admission ?? 'immediate') === 'wave' ? { wave_timeout_ms: String(opts.waveTimeoutMs ?? GATEWAY_DEFAULTS.waveTimeoutMs) } : {}),
        },
      })
    : undefined;
  const pools = topo.backends.map((b) => new Pool(b.origin, { connections: opts.connections, keepAliveTimeout: 30_000 }));
  const digest = opts.apiKey !== undefined ? keyDigest(opts.apiKey) : undefined;
  const upstreamAuth = opts.upstreamApiKey !== undefined ? `Bearer ${opts.upstreamApiKey}` : undefined;
  // The body is re-sent whole, the rank header is the gateway's to set, and the client's
  // credentials are for the gateway when it checks them.
  const drop = new Set(['host', 'content-length', 'expect']);
  if (!opts.trustClientRank) drop.add(RANK_HEADER);
  if (digest || upstreamAuth) drop.add('authorization');
  const idPrefix = randomBytes(4).toString('hex');
  let seq = 0;
  return {
    opts,
    topo,
    survival,
    state,
    scraper,
    metrics,
    log,
    wave,
    pools,
    digest,
    upstreamAuth,
    drop,
    inflight: new Set(),
    nextRequestId: () => `gw-${idPrefix}-${++seq}`,
  };
}

/** Stop scraping, close the upstream pools and the log; `removeLog` deletes the log file (a gateway that never listened leaves nothing behind). */
export async function releaseContext(ctx: GatewayContext, removeLog = false): Promise<void> {
  ctx.wave?.drain();
  await ctx.scraper.stop();
  await Promise.all(ctx.pools.map((p) => p.destroy().catch(() => undefined)));
  if (ctx.log) {
    ctx.log.close();
    if (removeLog) rmSync(ctx.log.path, { force: true });
  }
}
