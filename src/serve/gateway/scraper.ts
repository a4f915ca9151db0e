// Keeps the routing state's snapshots fresh and decides which backends are in the view.
// Every interval each healthy backend's /metrics is scraped (and /health probed less often);
// a backend whose scrape or probe fails, or that the proxy could not connect to, leaves the view
// and is probed again after an exponential backoff (base * 2^(failures-1), capped) until it answers.
import { Pool } from 'undici';
import { parseExposition } from './exposition.ts';
import { engineStats, type EngineStats } from './vllmStats.ts';
import type { RoutingState } from './routingState.ts';
import type { Backend, Topology } from './topology.ts';

export interface ScraperOptions {
  intervalMs: number;
  healthIntervalMs: number;
  timeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Called when a backend goes up or down (for the operator's log). */
  onChange?: (backend: Backend, up: boolean, reason: string) => void;
}

interface BackendStatus {
  healthy: boolean;
  failures: number;
  nextAttemptAt: number;
  lastOkAt: number;
  lastHealthAt: number;
  busy: boolean;
  lastError: string;
}

export class Scraper {
  private readonly pools: Pool[];
  readonly status: BackendStatus[];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly topo: Topology,
    private readonly state: RoutingState,
    private readonly opts: ScraperOptions,
  ) {
    // A small pool of its own per backend: scrapes never queue behind long streaming requests.
    this.pools = topo.backends.map((b) => new Pool(b.origin, { connections: 2, keepAliveTimeout: 10_000 }));
    this.status = topo.backends.map(() => ({ healthy: false, failures: 0, nextAttemptAt: 0, lastOkAt: NaN, lastHealthAt: -Infinity, busy: false, lastError: 'not scraped yet' }));
  }

  /** Scrape every backend once (awaitable, so the gateway starts with a view), then periodically. */
  async start(): Promise<void> {
    await Promise.all(this.topo.backends.map((b) => this.tick(b)));
    this.timer = setInterval(() => {
      for (const b of this.topo.backends) void this.tick(b);
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.pools.map((p) => p.destroy().catch(() => undefined)));
  }

  /** Seconds since backend b's last good scrape (Infinity: never). */
  ageS(b: number): number {
    const t = this.status[b].lastOkAt;
    return Number.isFinite(t) ? (performance.now() - t) / 1000 : Infinity;
  }

  /** The proxy could not reach backend b: take it out of the view now. */
  markDown(b: number, reason: string): void {
    const s = this.status[b];
    if (!s.healthy) return;
    this.fail(this.topo.backends[b], reason);
  }

  private async tick(b: Backend): Promise<void> {
    const s = this.status[b.index];
    const now = performance.now();
    if (s.busy || this.stopped) return;
    if (!s.healthy && now < s.nextAttemptAt) return;
    s.busy = true;
    try {
      if (!s.healthy || now - s.lastHealthAt >= this.opts.healthIntervalMs) {
        await this.get(b, '/health');
        s.lastHealthAt = performance.now();
      }
      const text = await this.get(b, '/metrics');
      const engines = engineStats(parseExposition(text));
      if (this.stopped) return;
      this.apply(b, engines, performance.now());
      s.lastOkAt = performance.now();
      s.failures = 0;
      if (!s.healthy) {
        s.healthy = true;
        for (const r of b.ranks) this.state.setHealthy(r, true);
        this.opts.onChange?.(b, true, 'scrape ok');
      }
    } catch (e) {
      if (!this.stopped) this.fail(b, String((e as Error).message ?? e));
    } finally {
      s.busy = false;
    }
  }

  private fail(b: Backend, reason: string): void {
    const s = this.status[b.index];
    s.failures++;
    s.lastError = reason;
    s.nextAttemptAt = performance.now() + Math.min(this.opts.backoffMaxMs, this.opts.backoffBaseMs * 2 ** (s.failures - 1));
    if (s.healthy) {
      s.healthy = false;
      for (const r of b.ranks) this.state.setHealthy(r, false);
      this.opts.onChange?.(b, false, reason);
    }
  }

  private async get(b: Backend, path: string): Promise<string> {
    const res = await this.pools[b.index].request({
      method: 'GET',
      path: b.basePath + path,
      headersTimeout: this.opts.timeoutMs,
      bodyTimeout: this.opts.timeoutMs,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`GET ${path} answered ${res.statusCode}`);
    return text;
  }

  /** Map the scraped engines onto the backend's ranks (see docs/gateway.md, "Which engine is which rank"). */
  private apply(b: Backend, engines: EngineStats[], now: number): void {
    if (b.dp === 0) {
      this.state.applySnapshot(b.ranks[0], combine(engines), now);
      return;
    }
    // With --dp N the i-th smallest `engine` label is local rank i (hybrid nodes label their
    // engines with global ranks start..start+N-1; the header takes the local index).
    for (let i = 0; i < b.ranks.length; i++) this.state.applySnapshot(b.ranks[i], engines[i], now);
  }
}

/** One rank's stats from a server that exports several engines (counts add; KV usage: the max). */
export function combine(engines: readonly EngineStats[]): EngineStats | undefined {
  if (engines.length <= 1) return engines[0];
  const out: EngineStats = { engine: engines.map((e) => e.engine).join('+'), running: 0, waiting: 0, kvUsage: NaN, kvCapacityTokens: NaN };
  let cap = 0;
  for (const e of engines) {
    out.running += e.running;
    out.waiting += e.waiting;
    if (!(out.kvUsage >= e.kvUsage)) out.kvUsage = e.kvUsage;
    cap += e.kvCapacityTokens;
  }
  out.kvCapacityTokens = cap;
  return out;
}
