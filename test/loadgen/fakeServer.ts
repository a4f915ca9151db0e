// A small OpenAI-compatible streaming server for loadgen tests, on an ephemeral loopback port.
// Streams one chunk per output token, vLLM-style (data: {json}\n\n, a usage chunk, data: [DONE]),
// and misbehaves on request: HTTP 4xx/5xx, a cut stream, a malformed chunk, an error object in
// the stream, or no answer at all.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeMode = 'ok' | 'http400' | 'http500' | 'cut' | 'malformed' | 'stream_error' | 'hang' | 'no_done' | 'json';

export interface FakeOptions {
  ttftMs?: number;
  itlMs?: number;
  /** Behaviour of request i (from the x-request-id suffix); default 'ok'. */
  mode?: (i: number) => FakeMode;
  /** Rank to report in the x-data-parallel-rank response header. */
  rank?: (i: number) => number | null;
  /** Body of GET /metrics (default: 404, as a server without Prometheus metrics). */
  metrics?: () => string;
  /** Body of GET /version (default: 404). */
  version?: () => unknown;
}

export interface Received {
  index: number;
  atMs: number;
  path: string;
  body: Record<string, unknown>;
}

export interface FakeServer {
  url: string;
  received: Received[];
  /** Most completion requests open at once. */
  maxOpen(): number;
  close(): Promise<void>;
}

export async function startFakeServer(o: FakeOptions = {}): Promise<FakeServer> {
  const received: Received[] = [];
  const open = new Set<ServerResponse>();
  let streams = 0;
  let maxStreams = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'fake-model', object: 'model' }] }));
      return;
    }
    if (req.method === 'GET') {
      const body = req.url === '/metrics' ? o.metrics?.() : req.url === '/version' && o.version ? JSON.stringify(o.version()) : undefined;
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': req.url === '/metrics' ? 'text/plain' : 'application/json' });
      res.end(body ?? JSON.stringify({ detail: 'Not Found' }));
      return;
    }
    streams++;
    maxStreams = Math.max(maxStreams, streams);
    res.on('close', () => streams--);
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      const atMs = performance.now();
      const id = String(req.headers['x-request-id'] ?? '');
      const index = Number(/(\d+)$/.exec(id)?.[1] ?? -1);
      const body = JSON.parse(text) as Record<string, unknown>;
      received.push({ index, atMs, path: req.url ?? '', body });
      const mode = o.mode?.(index) ?? 'ok';
      if (mode === 'hang') return;
      if (mode === 'http400' || mode === 'http500') {
        const code = mode === 'http400' ? 400 : 500;
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: code === 400 ? 'This model\'s maximum context length is 4096 tokens' : 'engine dead', type: 'BadRequestError', code } }));
        return;
      }
      if (mode === 'json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'cmpl-x', object: 'text_completion', choices: [{ index: 0, text: 'hi' }] }));
        return;
      }
      const chat = req.url === '/v1/chat/completions';
      const n = Number(body.max_tokens ?? body.max_completion_tokens ?? 16);
      const promptTokens = Array.isArray(body.prompt) ? body.prompt.length : 7;
      const headers: Record<string, string> = { 'content-type': 'text/event-stream' };
      const rank = o.rank?.(index);
      if (rank !== undefined && rank !== null) headers['x-data-parallel-rank'] = String(rank);
      res.writeHead(200, headers);
      const chunk = (k: number) =>
        chat
          ? { id: `chatcmpl-${index}`, object: 'chat.completion.chunk', choices: [{ index: 0, delta: k === 0 ? { role: 'assistant', content: 'w' } : { content: ' w' }, finish_reason: null }], usage: null }
          : { id: `cmpl-${index}`, object: 'text_completion', choices: [{ index: 0, text: ' w', logprobs: null, finish_reason: k === n - 1 ? 'length' : null }], usage: null };
      let k = 0;
      const next = () => {
        if (res.destroyed) return;
        if (mode === 'cut' && k === Math.floor(n / 2)) {
          res.destroy();
          return;
        }
        if (mode === 'malformed' && k === 1) {
          res.write('data: {"choices": [ not json\n\n');
        }
        if (mode === 'stream_error' && k === 1) {
          res.write(`data: ${JSON.stringify({ object: 'error', message: 'KV cache exhausted', type: 'InternalServerError', code: 500 })}\n\n`);
          res.end('data: [DONE]\n\n');
          return;
        }
        if (k < n) {
          res.write(`data: ${JSON.stringify(chunk(k))}\n\n`);
          k++;
          setTimeout(next, o.itlMs ?? 2);
          return;
        }
        res.write(`data: ${JSON.stringify({ id: `cmpl-${index}`, choices: [], usage: { prompt_tokens: promptTokens, completion_tokens: n, total_tokens: promptTokens + n } })}\n\n`);
        if (mode === 'no_done') res.end();
        else res.end('data: [DONE]\n\n');
      };
      setTimeout(next, o.ttftMs ?? 5);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    maxOpen: () => maxStreams,
    close: () =>
      new Promise<void>((r) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
