// `balanceroute gateway`: an OpenAI-compatible HTTP front that routes each completion request to
// a DP rank with a balanceroute router and streams the answer back byte for byte.
//
// This file is the server: the HTTP listener, the routes, start (first scrape, listen) and close
// (drain, then end what is left). Each routed completion gets its own RequestHandler
// (requestHandler.ts: read -> choose rank -> attempt, retry -> stream -> finish); what requests
// share (routing view, scraper, metrics, decision log, upstream pools) is the GatewayContext
// (context.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGatewayContext, releaseContext, RANK_HEADER, type GatewayContext, type GatewayOptions } from './context.ts';
import type { DecisionLog } from './decisionLog.ts';
import { BodyTooLarge, bearerMatches, forwardHeaders, readBody, sendError } from './httpUtil.ts';
import type { GatewayMetrics } from './metrics.ts';
import { RequestHandler } from './requestHandler.ts';
import type { RoutingState } from './routingState.ts';
import type { Scraper } from './scraper.ts';
import { GATEWAY_DEFAULTS } from './defaults.ts';
import type { Topology } from './topology.ts';

export { GATEWAY_DEFAULTS, RANK_HEADER, type GatewayOptions };

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly topology: Topology;
  readonly state: RoutingState;
  readonly scraper: Scraper;
  readonly metrics: GatewayMetrics;
  readonly log: DecisionLog | undefined;
  /**
   * Stop accepting, let requests in flight finish for up to `graceMs`, then end the rest (streams
   * with vLLM's error event and `[DONE]`, logged as server_shutdown), flush and close the log.
   */
  close(graceMs?: number): Promise<void>;
}

const ROUTED = new Set(['/v1/completions', '/v1/chat/completions']);

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const ctx = createGatewayContext(opts);
  const server = new GatewayServer(ctx);
  try {
    await ctx.scraper.start();
    await server.listen();
  } catch (e) {
    // Could not listen: leave nothing behind (no half-written log).
    await releaseContext(ctx, true);
    throw e;
  }
  const port = (server.http.address() as AddressInfo).port;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${hostForUrl}:${port}`,
    port,
    topology: ctx.topo,
    state: ctx.state,
    scraper: ctx.scraper,
    metrics: ctx.metrics,
    log: ctx.log,
    close: (graceMs = 0) => server.close(graceMs),
  };
}

/** The HTTP side: routes each request, hands routed completions to a RequestHandler, drains on close. */
class GatewayServer {
  readonly http: Server;
  private closing = false;
  private modelsRR = 0;
  /** Responses still open (routed or not): dropped at the end of close(). */
  private readonly open = new Set<ServerResponse>();

  constructor(private readonly ctx: GatewayContext) {
    this.http = createServer((req, res) => {
      // Writes racing a client disconnect must not crash the process; the 'close' path logs them.
      res.on('error', () => undefined);
      this.open.add(res);
      res.on('close', () => this.open.delete(res));
      this.route(req, res).catch((e) => {
        ctx.opts.onEvent?.(`internal error: ${String((e as Error)?.stack ?? e).split('\n')[0]}`);
        sendError(res, 500, 'internal gateway error');
      });
    });
    this.http.keepAliveTimeout = 65_000;
  }

  listen(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.ctx.opts.port, this.ctx.opts.host, () => resolve());
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { state, topo, metrics, digest, opts } = this.ctx;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (this.closing) {
      req.resume();
      return sendError(res, 503, 'the server is shutting down', undefined, { connection: 'close' });
    }
    if (path === '/health') {
      const n = state.healthyCount();
      res.writeHead(n > 0 ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ healthy_ranks: n, ranks: topo.ranks.length }));
      return;
    }
    if (path === '/metrics') {
      if (req.method !== 'GET') return sendError(res, 405, `method ${req.method} not allowed on ${path}`);
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(text);
      return;
    }
    const tokenizeRoute = path === '/tokenize' || path === '/detokenize';
    if (!path.startsWith('/v1/') && !tokenizeRoute) return sendError(res, 404, `no route ${path}`);
    if (digest && !bearerMatches(req.headers.authorization, digest)) {
      return sendError(res, 401, 'missing or wrong API key (send Authorization: Bearer <key>)', 'AuthenticationError', { 'www-authenticate': 'Bearer' });
    }
    if (tokenizeRoute) {
      // vLLM's /tokenize and /detokenize (vllm bench serve calls them): any healthy backend answers.
      if (req.method !== 'POST') return sendError(res, 405, `method ${req.method} not allowed on ${path}`);
      let raw: Buffer;
      try {
        raw = await readBody(req, opts.maxBodyBytes);
      } catch (e) {
        if (e instanceof BodyTooLarge) return sendError(res, 413, `request body exceeds ${opts.maxBodyBytes} bytes`, undefined, { connection: 'close' });
        throw e;
      }
      return this.anyBackend(req, res, url, raw);
    }
    if (path === '/v1/models') {
      if (req.method !== 'GET') return sendError(res, 405, `method ${req.method} not allowed on ${path}`);
      return this.anyBackend(req, res, url);
    }
    if (!ROUTED.has(path)) return sendError(res, 404, `no route ${path}`);
    if (req.method !== 'POST') return sendError(res, 405, `method ${req.method} not allowed on ${path}`);
    return new RequestHandler(this.ctx, req, res, path, url).run();
  }

  /** GET /v1/models (or, with a body, POST /tokenize, /detokenize): any healthy backend answers (they serve the same model). */
  private async anyBackend(req: IncomingMessage, res: ServerResponse, url: string, reqBody?: Buffer): Promise<void> {
    const { topo, scraper, pools, upstreamAuth, drop, opts } = this.ctx;
    const up = topo.backends.filter((b) => scraper.status[b.index].healthy);
    if (up.length === 0) return sendError(res, 503, 'no healthy backend');
    const b = up[this.modelsRR++ % up.length];
    const headers = forwardHeaders(req.headers, drop);
    if (upstreamAuth) headers.authorization = upstreamAuth;
    try {
      const r = await pools[b.index].request({ method: reqBody ? 'POST' : 'GET', path: b.basePath + url, headers, body: reqBody, headersTimeout: opts.upstreamTimeoutMs, bodyTimeout: opts.upstreamTimeoutMs });
      const body = Buffer.from(await r.body.arrayBuffer());
      res.writeHead(r.statusCode, forwardHeaders(r.headers, new Set()));
      res.end(body);
    } catch (e) {
      sendError(res, 502, `backend ${b.index} failed: ${(e as Error).message}`);
    }
  }

  /** Stop accepting, drain for up to `graceMs`, end what is left, then release scraper, pools and log. */
  async close(graceMs: number): Promise<void> {
    const inflight = this.ctx.inflight;
    this.closing = true;
    // Held requests go now, as one last wave, and then drain like the others.
    this.ctx.wave?.drain();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    for (const end = Date.now() + graceMs; inflight.size > 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    for (const endOne of [...inflight]) endOne();
    // The final events get a moment to reach the clients before the connections are dropped.
    if (this.open.size > 0) await new Promise((r) => setTimeout(r, 50));
    for (const res of this.open) res.destroy();
    this.http.closeAllConnections();
    await closed;
    await releaseContext(this.ctx);
  }
}
