// The gateway's own Prometheus metrics (prom-client, in a private registry so several gateways
// can live in one process, as in tests). Per-rank gauges are read from the routing state when
// scraped, so the request path only increments counters and observes the latency histogram.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RoutingState } from './routingState.ts';
import type { Topology } from './topology.ts';

export interface GatewayMetrics {
  registry: Registry;
  decisions: Counter<'rank'>;
  decisionSeconds: Histogram<string>;
  upstreamErrors: Counter<'rank' | 'kind'>;
  retries: Counter<string>;
  requests: Counter<'outcome'>;
  /** Wave admission: waves released, by what released them (full, timeout, drain). */
  waves: Counter<'trigger'>;
}

export function createMetrics(topo: Topology, state: RoutingState, scrapeAgeS: (backend: number) => number, heldRequests: () => number = () => 0): GatewayMetrics {
  const registry = new Registry();
  const p = 'balanceroute_gateway_';
  const decisions = new Counter({ name: `${p}decisions_total`, help: 'Routing decisions per rank (retries included).', labelNames: ['rank'], registers: [registry] });
  for (const r of topo.ranks) decisions.inc({ rank: r.name }, 0);
  const decisionSeconds = new Histogram({
    name: `${p}decision_seconds`,
    help: 'Time to build the router view and call the router, seconds.',
    buckets: [1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 1e-2],
    registers: [registry],
  });
  const upstreamErrors = new Counter({
    name: `${p}upstream_errors_total`,
    help: 'Upstream failures per rank: connect (refused/reset before a response), status (5xx), midstream (after the first byte).',
    labelNames: ['rank', 'kind'],
    registers: [registry],
  });
  const retries = new Counter({ name: `${p}retries_total`, help: 'Requests retried on another rank after failing before their first byte.', registers: [registry] });
  const requests = new Counter({ name: `${p}requests_total`, help: 'Routed requests by outcome (as in the decision log).', labelNames: ['outcome'], registers: [registry] });
  const perRank = (name: string, help: string, arr: () => ArrayLike<number>) =>
    new Gauge({
      name: `${p}${name}`,
      help,
      labelNames: ['rank'],
      registers: [registry],
      collect() {
        const a = arr();
        for (const r of topo.ranks) this.set({ rank: r.name }, a[r.index]);
      },
    });
  perRank('inflight', 'Requests the gateway has in flight per rank.', () => state.inflight);
  perRank('kv_load_tokens', 'Tracked KV load per rank: prompt + streamed tokens of in-flight requests.', () =>
    topo.ranks.map((r) => state.kvTracked[r.index] + state.queuedTracked[r.index]),
  );
  perRank('rank_healthy', '1 when the rank is in the router view.', () => state.healthy);
  new Gauge({
    name: `${p}scrape_age_seconds`,
    help: 'Time since the last successful /metrics scrape per backend (+Inf: never).',
    labelNames: ['backend'],
    registers: [registry],
    collect() {
      for (const b of topo.backends) this.set({ backend: String(b.index) }, scrapeAgeS(b.index));
    },
  });
  new Gauge({
    name: `${p}survival_completions`,
    help: 'Completed requests behind the output-length survival curve (0 = still the bootstrap profile).',
    registers: [registry],
    collect() {
      this.set(state.survival.source === 'observed' ? state.survival.completions : 0);
    },
  });
  const waves = new Counter({
    name: `${p}waves_total`,
    help: 'Wave admission: waves released, by trigger (full: one request per rank; timeout: the oldest held request waited --wave-timeout-ms; drain: shutdown).',
    labelNames: ['trigger'],
    registers: [registry],
  });
  for (const trigger of ['full', 'timeout', 'drain']) waves.inc({ trigger }, 0);
  new Gauge({
    name: `${p}wave_held_requests`,
    help: 'Wave admission: requests held now, waiting for their wave (0 with --admission immediate).',
    registers: [registry],
    collect() {
      this.set(heldRequests());
    },
  });
  return { registry, decisions, decisionSeconds, upstreamErrors, retries, requests, waves };
}
