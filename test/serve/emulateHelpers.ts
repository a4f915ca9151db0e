import { Emulator, DEFAULT_MAX_BODY_BYTES, type EmulatorConfig } from '../../src/serve/emulate/server.ts';
import { estimateCounter } from '../../src/serve/openai/promptTokens.ts';

/** Start an emulator on an ephemeral loopback port; `base` is its URL (first port). */
export async function startEmulator(cfg: Partial<EmulatorConfig> & Pick<EmulatorConfig, 'core' | 'dp'>) {
  const emu = new Emulator({
    sync: 'barrier',
    speed: 1,
    lb: 'internal',
    host: '127.0.0.1',
    port: 0,
    servedModelName: 'test-model',
    maxModelLen: 4096,
    kvCapacity: 16000,
    blockSize: 16,
    tokens: estimateCounter,
    outputLength: () => 7,
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    ...cfg,
  });
  const ports = await emu.start();
  return { emu, ports, base: `http://127.0.0.1:${ports[0]}` };
}

export interface SseResult {
  events: unknown[];
  done: boolean;
  raw: string;
}

/** POST a streaming request and collect its SSE events (JSON-parsed) and whether [DONE] came. */
export async function postStream(url: string, body: unknown, headers: Record<string, string> = {}): Promise<SseResult> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const raw = await res.text();
  const events: unknown[] = [];
  let done = false;
  for (const block of raw.split('\n\n')) {
    if (block === '') continue;
    if (!block.startsWith('data: ')) throw new Error(`bad SSE block ${JSON.stringify(block)}`);
    const data = block.slice(6);
    if (data === '[DONE]') done = true;
    else events.push(JSON.parse(data));
  }
  return { events, done, raw };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Value of one sample line of a Prometheus exposition, matching name and labels exactly. */
export function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    const close = line.lastIndexOf('}');
    const got: Record<string, string> = {};
    for (const m of line.slice(name.length + 1, close).matchAll(/([a-zA-Z_]+)="([^"]*)"/g)) got[m[1]] = m[2];
    const keys = Object.keys(labels);
    if (keys.length !== Object.keys(got).length || keys.some((k) => got[k] !== labels[k])) continue;
    return Number(line.slice(close + 1).trim());
  }
  return undefined;
}
