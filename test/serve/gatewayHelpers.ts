// Shared pieces of the gateway integration tests: start a gateway on an ephemeral port with
// fast scrapes, read streams, wait for conditions, read the decision log.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveRouterParams } from '../../src/routers/index.ts';
import { GATEWAY_DEFAULTS, startGateway, type Gateway, type GatewayOptions } from '../../src/serve/gateway/gateway.ts';
import { readDecisionLog } from '../../src/serve/gateway/decisionLog.ts';
import { afterAll, afterEach } from 'vitest';
import { FakeVllm } from './fakeVllm.ts';

export const tmpDirs: string[] = [];

export function tmpLog(): string {
  const d = mkdtempSync(join(tmpdir(), 'gw-'));
  tmpDirs.push(d);
  return join(d, 'decisions.arrow');
}

export function cleanTmp(): void {
  for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export async function gateway(backends: string[], extra: Partial<GatewayOptions> & { knobs?: Record<string, unknown> } = {}): Promise<Gateway> {
  const router = extra.router ?? 'jsq_load';
  return startGateway({
    ...GATEWAY_DEFAULTS,
    port: 0,
    statsIntervalMs: 20,
    healthIntervalMs: 50,
    backoffBaseMs: 20,
    backoffMaxMs: 100,
    logFlushMs: 20,
    upstreamTimeoutMs: 10_000,
    ...extra,
    backends,
    router,
    routerParams: resolveRouterParams(router, extra.knobs ?? {}),
  });
}

export interface LogRow {
  request_id: string;
  rank: number;
  first_rank: number;
  attempts: number;
  outcome: string;
  http_status: number;
  completion_tokens: number;
  prompt_tokens: number;
  ttft_ms: number;
}

/** Close the gateway (flushes the log) and read its rows. */
export async function closeAndRead(gw: Gateway, graceMs = 0): Promise<LogRow[]> {
  await gw.close(graceMs);
  const t = readDecisionLog(gw.log!.path);
  return t.toArray().map((r) => r.toJSON() as unknown as LogRow);
}

export function countBy<T>(xs: readonly T[], key: (x: T) => number | string): Map<number | string, number> {
  const m = new Map<number | string, number>();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return m;
}

export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function completion(url: string, body: Record<string, unknown>, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'fake-model', prompt: 'hello', max_tokens: 4, stream: true, ...body }),
    signal,
  });
}

/** SSE data payloads of a body. */
export function events(text: string): string[] {
  return text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice(6));
}

/** Concatenated text of a completions stream. */
export function streamText(text: string): string {
  return events(text)
    .filter((d) => d !== '[DONE]')
    .map((d) => JSON.parse(d))
    .map((o) => (o.choices ?? []).map((c: { text?: string; delta?: { content?: string } }) => c.text ?? c.delta?.content ?? '').join(''))
    .join('');
}

/**
 * Fake backends and gateways that are stopped after each test (and temp logs removed after the
 * file): call once at the top of a test file.
 */
export function managedServers(): {
  fake: (opts?: ConstructorParameters<typeof FakeVllm>[0]) => Promise<FakeVllm>;
  gw: (...args: Parameters<typeof gateway>) => Promise<Gateway>;
} {
  const fakes: FakeVllm[] = [];
  const gws: Gateway[] = [];
  afterEach(async () => {
    await Promise.all(gws.splice(0).map((g) => g.close()));
    await Promise.all(fakes.splice(0).map((f) => f.stop()));
  });
  afterAll(cleanTmp);
  return {
    async fake(opts = {}) {
      const f = await new FakeVllm(opts).start();
      fakes.push(f);
      return f;
    },
    async gw(...args) {
      const g = await gateway(...args);
      gws.push(g);
      return g;
    },
  };
}
