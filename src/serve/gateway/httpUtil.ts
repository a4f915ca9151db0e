// Small HTTP pieces of the gateway: vLLM/OpenAI-style error bodies, hop-by-hop header filtering,
// bearer-token check, bounded body reading.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/** Send an OpenAI-style error, the shape vLLM's server uses: {"error": {message, type, param, code}}. */
export function sendError(res: ServerResponse, status: number, message: string, type = errorType(status), extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { message, type, param: null, code: status } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

function errorType(status: number): string {
  if (status === 400) return 'BadRequestError';
  if (status === 401) return 'AuthenticationError';
  if (status === 404) return 'NotFoundError';
  if (status === 405) return 'MethodNotAllowedError';
  if (status === 413) return 'RequestEntityTooLarge';
  if (status === 503) return 'ServiceUnavailableError';
  return status >= 500 ? 'InternalServerError' : 'BadRequestError';
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) never forwarded by a proxy. */
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'trailers', 'transfer-encoding', 'upgrade']);

/** Copy headers, dropping hop-by-hop ones, those the Connection header names, and `drop`. */
export function forwardHeaders(h: IncomingHttpHeaders | Record<string, string | string[] | undefined>, drop: ReadonlySet<string>): Record<string, string | string[]> {
  const named = new Set<string>();
  const conn = h.connection;
  if (conn) for (const t of String(conn).split(',')) named.add(t.trim().toLowerCase());
  const out: Record<string, string | string[]> = {};
  for (const [k0, v] of Object.entries(h)) {
    if (v === undefined) continue;
    const k = k0.toLowerCase();
    if (HOP_BY_HOP.has(k) || named.has(k) || drop.has(k)) continue;
    out[k] = v;
  }
  return out;
}

/** Constant-time check of `Authorization: Bearer <key>` (digests make the compared lengths equal). */
export function bearerMatches(header: string | undefined, keyDigest: Buffer): boolean {
  const m = header === undefined ? null : /^Bearer\s+(.+)$/i.exec(header);
  const given = createHash('sha256').update(m ? m[1].trim() : '\u0000no-key').digest();
  return timingSafeEqual(given, keyDigest) && m !== null;
}

export function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

export class BodyTooLarge extends Error {}

/** Read a request body of at most `limit` bytes (BodyTooLarge beyond it). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(parts.length === 1 ? parts[0] : Buffer.concat(parts)));
    req.on('error', reject);
  });
}
