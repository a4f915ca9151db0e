// Default settings of the gateway, in a module of their own so the CLI can show them without
// loading the HTTP stack.

/** Output-length survival bootstrap (see survival.ts). */
export const DEFAULT_SURVIVAL = { profile: 'sharegpt', minCompletions: 200, window: 10_000, rebuildEvery: 64 };

export const GATEWAY_DEFAULTS = {
  host: '127.0.0.1',
  port: 9000,
  statsIntervalMs: 100,
  healthIntervalMs: 1000,
  backoffBaseMs: 100,
  backoffMaxMs: 2000,
  logBatchRows: 256,
  logFlushMs: 500,
  trustClientRank: false,
  admission: 'immediate',
  /** Wave admission: about 5-10 group steps of the default preset (10-20 ms each), a bound on the TTFT a wave adds. */
  waveTimeoutMs: 100,
  maxBodyBytes: 16 << 20,
  upstreamTimeoutMs: 600_000,
  connections: 1024,
  survival: DEFAULT_SURVIVAL,
  seed: 1,
} as const;
