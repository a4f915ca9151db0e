// `balanceroute gateway`: an OpenAI-compatible HTTP front that routes each completion request to
// a DP rank with a balanceroute router and streams the answer back byte for byte.
//
// Request path: read the body (bounded) -> count prompt tokens -> RoutingState.decide (same
// RouterView and router function as the simulator) -> upstream request on the rank's backend
// (undici pool, X-data-parallel-rank for native-DP backends) -> response bytes forwarded as they
// arrive while the output counter updates the rank's tracked KV load -> one decision-log row.
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Pool } from 'undici';
import type { RouterParams } from '../../routers/types.ts';
import { DecisionLog, type DecisionRow, type Outcome } from './decisionLog.ts';
import { BodyTooLarge, bearerMatches, forwardHeaders, keyDigest, readBody, sendError } from './httpUtil.ts';
import { createMetrics, type GatewayMetrics } from './metrics.ts';
import { countPrompt, estimateTokens, type TextCounter } from './promptTokens.ts';
import { RoutingState, type Flight } from './routingState.ts';
import { Scraper } from './scraper.ts';
import { OutputCounter } from './sseTokens.ts';
import { GATEWAY_DEFAULTS } from './defaults.ts';
import { SurvivalEstimator, type SurvivalOptions } from './survival.ts';
import { buildTopology, type Topology } from './topology.ts';

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

export { GATEWAY_DEFAULTS };

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
  const metrics = createMetrics(topo, state, (b) => scraper.ageS(b));
  const log = opts.logPath
    ? new DecisionLog(opts.logPath, {
        batchRows: opts.logBatchRows,
        flushMs: opts.logFlushMs,
        metadata: {
          router: opts.router,
          router_params: JSON.stringify(opts.routerParams),
          backends: JSON.stringify(topo.backends.map((b) => ({ url: b.origin + b.basePath, dp: b.dp }))),
          ranks: String(topo.ranks.length),
        },
      })
    : undefined;
  const pools = topo.backends.map((b) => new Pool(b.origin, { connections: opts.connections, keepAliveTimeout: 30_000 }));
  const digest = opts.apiKey !== undefined ? keyDigest(opts.apiKey) : undefined;
  const upstreamAuth = opts.upstreamApiKey !== undefined ? `Bearer ${opts.upstreamApiKey}` : undefined;
  // Request headers never forwarded as given: the body is re-sent whole, the rank header is the
  // gateway's to set, and the client's credentials are for the gateway when it checks them.
  const drop = new Set(['host', 'content-length', 'expect']);
  if (!opts.trustClientRank) drop.add(RANK_HEADER);
  if (digest || upstreamAuth) drop.add('authorization');
  const idPrefix = randomBytes(4).toString('hex');
  let seq = 0;
  let modelsRR = 0;
  const open = new Set<ServerResponse>();
  /** Routed requests in flight: each ends its request on shutdown. */
  const inflight = new Set<() => void>();
  let closing = false;

  const server: Server = createServer((req, res) => {
    // Writes racing a client disconnect must not crash the process; the 'close' path logs them.
    res.on('error', () => undefined);
    open.add(res);
    res.on('close', () => open.delete(res));
    handle(req, res).catch((e) => {
      opts.onEvent?.(`internal error: ${String((e as Error)?.stack ?? e).split('\n')[0]}`);
      sendError(res, 500, 'internal gateway error');
    });
  });
  server.keepAliveTimeout = 65_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (closing) {
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
      return models(req, res, url, raw);
    }
    if (path === '/v1/models') {
      if (req.method !== 'GET') return sendError(res, 405, `method ${req.method} not allowed on ${path}`);
      return models(req, res, url);
    }
    if (!ROUTED.has(path)) return sendError(res, 404, `no route ${path}`);
    if (req.method !== 'POST') return sendError(res, 405, `method ${req.method} not allowed on ${path}`);
    return routed(req, res, path, url);
  }

  /** GET /v1/models (or, with a body, POST /tokenize, /detokenize): any healthy backend answers (they serve the same model). */
  async function models(req: IncomingMessage, res: ServerResponse, url: string, reqBody?: Buffer): Promise<void> {
    const up = topo.backends.filter((b) => scraper.status[b.index].healthy);
    if (up.length === 0) return sendError(res, 503, 'no healthy backend');
    const b = up[modelsRR++ % up.length];
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

  async function routed(req: IncomingMessage, res: ServerResponse, path: string, url: string): Promise<void> {
    const t0 = performance.now();
    const arrivedAt = (performance.timeOrigin + t0) / 1000;
    // A client that goes away aborts the upstream request (vLLM then frees its KV cache).
    // undici takes an EventEmitter as the abort signal: much cheaper per request than an
    // AbortController, whose signal setup was a tenth of the gateway's request-path CPU.
    const ac = new EventEmitter();
    let clientGone = false;
    let shutDown = false;
    let onGone: (() => void) | undefined;
    res.on('close', () => {
      if (!res.writableFinished) {
        clientGone = true;
        ac.emit('abort');
        onGone?.();
      }
    });
    let raw: Buffer;
    try {
      raw = await readBody(req, opts.maxBodyBytes);
    } catch (e) {
      if (e instanceof BodyTooLarge) return sendError(res, 413, `request body exceeds ${opts.maxBodyBytes} bytes`, undefined, { connection: 'close' });
      if (clientGone) return; // the body never arrived: there is no request to route
      throw e;
    }
    if (clientGone) return;
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return sendError(res, 400, 'request body is not valid JSON');
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return sendError(res, 400, 'request body must be a JSON object');
    const chat = path === '/v1/chat/completions';
    const pc = countPrompt(body as Record<string, unknown>, chat, opts.tokenizer ?? estimateTokens, opts.tokenizer !== undefined);
    const clientId = req.headers['x-request-id'];
    const requestId = typeof clientId === 'string' && clientId !== '' ? clientId : `gw-${idPrefix}-${++seq}`;

    // A client-pinned rank (only with --trust-client-rank): a gateway rank index.
    let pinned = -1;
    const rankHeader = req.headers[RANK_HEADER];
    if (opts.trustClientRank && rankHeader !== undefined) {
      const r = Number(rankHeader);
      if (!Number.isInteger(r) || r < 0 || r >= topo.ranks.length) {
        return sendError(res, 400, `${RANK_HEADER} must be a rank in [0, ${topo.ranks.length}) (got ${JSON.stringify(rankHeader)})`);
      }
      pinned = r;
    }

    const row: DecisionRow = {
      requestId,
      arrivedAt,
      promptTokens: pc.tokens,
      promptExact: pc.exact,
      completionTokens: 0,
      endpoint: path,
      stream: (body as { stream?: unknown }).stream === true,
      rank: -1,
      firstRank: -1,
      backend: -1,
      attempts: 0,
      rankLoad: null,
      rankInflight: null,
      rankWaiting: null,
      rankRunning: null,
      viewAgeMs: NaN,
      decisionUs: NaN,
      ttftMs: NaN,
      endAt: NaN,
      outcome: 'ok',
      httpStatus: 0,
    };
    let flight: Flight | undefined;
    let done = false;
    const counter = { n: 0 };
    const finish = (outcome: Outcome, status: number): void => {
      if (done) return;
      done = true;
      if (flight) state.finish(flight);
      row.outcome = outcome;
      row.httpStatus = status;
      row.completionTokens = counter.n;
      row.endAt = (performance.timeOrigin + performance.now()) / 1000;
      if (outcome === 'ok') survival.record(counter.n);
      metrics.requests.inc({ outcome });
      log?.add(row);
    };

    onGone = () => finish('client_abort', res.headersSent ? res.statusCode : 499);
    // The gateway stopping with this request still open: end it as vLLM does (error event, [DONE]).
    const endOnShutdown = (): void => {
      if (done || clientGone) return;
      shutDown = true;
      ac.emit('abort');
      finish('server_shutdown', res.headersSent ? res.statusCode : 503);
      if (!res.headersSent) sendError(res, 503, 'the server is shutting down');
      else if (row.stream) {
        // (writeHead's headers are not readable back with getHeader: the request says it streams.)
        const err = JSON.stringify({ error: { message: 'the server is shutting down', type: 'ServiceUnavailableError', param: null, code: 503 } });
        res.end(`data: ${err}\n\ndata: [DONE]\n\n`);
      } else res.destroy();
    };
    inflight.add(endOnShutdown);
    res.once('close', () => inflight.delete(endOnShutdown));

    const choose = (exclude: number): boolean => {
      if (pinned >= 0) {
        if (!state.healthy[pinned] || exclude === pinned) return false;
        flight = state.admit(pinned, pc.tokens);
        row.rank = pinned;
        if (row.firstRank < 0) {
          row.firstRank = pinned;
          row.decisionUs = 0;
        }
      } else {
        const d = state.decide(pc.tokens, exclude, log !== undefined);
        if (!d) return false;
        flight = d.flight;
        row.rank = d.decision.rank;
        metrics.decisionSeconds.observe(d.decision.decisionNs / 1e9);
        if (row.firstRank < 0) {
          row.firstRank = d.decision.rank;
          row.rankLoad = log ? d.decision.load : null;
          row.rankInflight = d.decision.inflight;
          row.rankWaiting = d.decision.waiting;
          row.rankRunning = d.decision.running;
          row.viewAgeMs = d.decision.viewAgeMs;
          row.decisionUs = d.decision.decisionNs / 1000;
        }
      }
      row.backend = topo.ranks[row.rank].backend;
      metrics.decisions.inc({ rank: topo.ranks[row.rank].name });
      return true;
    };

    if (clientGone) return; // went away while the body was read: logged, nothing to route
    if (!choose(-1)) {
      finish('no_backend', 503);
      return sendError(res, 503, 'no healthy backend rank');
    }
    for (;;) {
      row.attempts++;
      const canRetry = row.attempts < 2 && pinned < 0;
      const r = await attempt(req, res, path, url, raw, row, flight!, counter, ac, () => clientGone || shutDown, canRetry, t0, finish);
      if (r === 'done' || clientGone || shutDown) return;
      // Failed before the first byte: once more on the next-best rank (the failed one excluded).
      const failed = row.rank;
      state.finish(flight!);
      flight = undefined;
      metrics.retries.inc();
      if (!choose(failed)) {
        finish('upstream_error', 502);
        return sendError(res, 502, `rank ${failed} failed and no other healthy rank is available`);
      }
    }
  }

  /** One upstream exchange. 'retry': failed before any byte reached the client and may be retried. */
  function attempt(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    url: string,
    raw: Buffer,
    row: DecisionRow,
    flight: Flight,
    counter: { n: number },
    ac: EventEmitter,
    gone: () => boolean,
    canRetry: boolean,
    t0: number,
    finish: (o: Outcome, s: number) => void,
  ): Promise<'done' | 'retry'> {
    const rank = topo.ranks[row.rank];
    const b = topo.backends[rank.backend];
    const rankName = rank.name;
    const headers = forwardHeaders(req.headers, drop);
    if (rank.localRank >= 0) headers[RANK_HEADER] = String(rank.localRank);
    if (upstreamAuth) headers.authorization = upstreamAuth;
    if (headers['x-request-id'] === undefined) headers['x-request-id'] = row.requestId;
    return new Promise((resolve) => {
      const fail = (kind: 'connect' | 'status', message: string, status: number): void => {
        metrics.upstreamErrors.inc({ rank: rankName, kind });
        if (canRetry) return resolve('retry');
        finish('upstream_error', status);
        sendError(res, status, `rank ${row.rank} failed: ${message}`);
        resolve('done');
      };
      pools[b.index]
        .request({
          method: 'POST',
          path: b.basePath + url,
          headers,
          body: raw,
          signal: ac,
          headersTimeout: opts.upstreamTimeoutMs,
          bodyTimeout: opts.upstreamTimeoutMs,
        })
        .then(
          (up) => {
            if (gone()) {
              up.body.destroy();
              return resolve('done');
            }
            if (up.statusCode >= 500 && canRetry) {
              up.body.dump().catch(() => undefined);
              return fail('status', `answered ${up.statusCode}`, 502);
            }
            const ctype = String(up.headers['content-type'] ?? '');
            const sse = ctype.startsWith('text/event-stream');
            const out = new OutputCounter(sse);
            let sent = false;
            const head = (): void => {
              sent = true;
              row.ttftMs = performance.now() - t0;
              // The head goes out with the first chunk, in one write.
              res.writeHead(up.statusCode, forwardHeaders(up.headers, new Set()));
            };
            up.body.on('data', (chunk: Buffer) => {
              if (gone()) return;
              if (!sent) head();
              const added = out.push(chunk);
              counter.n = out.tokens;
              state.progress(flight, added);
              if (!res.write(chunk)) {
                up.body.pause();
                res.once('drain', () => up.body.resume());
              }
            });
            up.body.on('end', () => {
              if (gone()) return resolve('done');
              if (!sent) head();
              state.progress(flight, out.end());
              counter.n = out.tokens;
              if (out.promptTokens !== undefined) {
                row.promptTokens = out.promptTokens;
                row.promptExact = true;
              }
              res.end();
              const s = up.statusCode;
              finish(s < 300 ? (out.errorEvent ? 'failed_midstream' : 'ok') : s < 500 ? 'upstream_4xx' : 'upstream_error', s);
              resolve('done');
            });
            up.body.on('error', (e: Error) => {
              if (gone()) return resolve('done');
              if (!sent) {
                scraper.markDown(b.index, e.message);
                return fail('connect', e.message, 502);
              }
              metrics.upstreamErrors.inc({ rank: rankName, kind: 'midstream' });
              scraper.markDown(b.index, e.message);
              if (sse) {
                // The client sees a well-formed end: one error event, then [DONE] (vLLM's own shape).
                const err = JSON.stringify({ error: { message: `upstream rank ${row.rank} failed mid-stream: ${e.message}`, type: 'InternalServerError', param: null, code: 502 } });
                res.end(`data: ${err}\n\ndata: [DONE]\n\n`);
              } else res.destroy();
              finish('failed_midstream', up.statusCode);
              resolve('done');
            });
          },
          (e: Error & { code?: string }) => {
            if (gone()) return resolve('done');
            scraper.markDown(b.index, `${e.code ?? ''} ${e.message}`.trim());
            fail('connect', e.message, 502);
          },
        );
    });
  }

  try {
    await scraper.start();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => resolve());
    });
  } catch (e) {
    // Could not listen: leave nothing behind (no half-written log).
    await scraper.stop();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
    if (log) {
      log.close();
      rmSync(log.path, { force: true });
    }
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;

  return {
    url: `http://${hostForUrl}:${port}`,
    port,
    topology: topo,
    state,
    scraper,
    metrics,
    log,
    async close(graceMs = 0) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      for (const end = Date.now() + graceMs; inflight.size > 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
      for (const endOne of [...inflight]) endOne();
      // The final events get a moment to reach the clients before the connections are dropped.
      if (open.size > 0) await new Promise((r) => setTimeout(r, 50));
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await closed;
      await scraper.stop();
      await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
      log?.close();
    },
  };
}
