// `balanceroute gateway`: serve a vLLM DP deployment through a balanceroute router until SIGINT or
// SIGTERM. Flags are checked before anything listens; bad ones are one-line InputErrors.
import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import { InputError } from '../errors.ts';
import { resolveRouterParams } from '../routers/index.ts';
import { isProfileName, PROFILE_NAMES } from '../workload/profiles.ts';
// Only the defaults are loaded eagerly: the HTTP stack is imported when the command runs, so
// other commands do not pay for it.
import { DEFAULT_SURVIVAL, GATEWAY_DEFAULTS } from '../serve/gateway/defaults.ts';
import type { GatewayOptions } from '../serve/gateway/gateway.ts';
import { knobFlags } from './parseFlags.ts';
import { checkDistinct, checkOutputPath } from '../formats/outputFile.ts';
import { checkHost, listenError, onStop, SHUTDOWN_GRACE_S } from './serverLifecycle.ts';
import { dirname, join } from 'node:path';

export interface GatewayFlags {
  backend?: string[];
  dp?: string;
  router: string;
  knob?: string[];
  host: string;
  port: string;
  statsIntervalMs: string;
  healthIntervalMs: string;
  log?: string;
  logFlushMs: string;
  apiKeyEnv?: string;
  upstreamApiKeyEnv?: string;
  trustClientRank?: boolean;
  admission: string;
  waveTimeoutMs?: string;
  tokenizer?: string;
  maxBodyBytes: string;
  upstreamTimeoutS: string;
  connections: string;
  survivalProfile: string;
  survivalMin: string;
  seed: string;
  shutdownGraceS: string;
  quiet?: boolean;
}

/** Register the subcommand on the program (kept here so src/cli.ts needs one line). */
export function addGatewayCommand(program: Command): void {
  program
    .command('gateway')
    .description('route live OpenAI-API traffic across vLLM DP ranks with a balanceroute router (docs/gateway.md)')
    .option('--backend <url...>', 'vLLM server URL; repeat for one per rank (external LB) or per node (hybrid)')
    .option('--dp <n[,n...]>', 'DP ranks behind each backend (native DP: pinned with X-data-parallel-rank); one value or one per backend')
    .option('--router <name>', 'routing policy (see `balanceroute routers`)', 'jsq_load')
    .option('-k, --knob <name=value...>', 'router knob, repeatable')
    .option('--host <addr>', 'listen address', GATEWAY_DEFAULTS.host)
    .option('--port <n>', 'listen port (0 = any free port)', String(GATEWAY_DEFAULTS.port))
    .option('--stats-interval-ms <ms>', 'how often each backend /metrics is scraped', String(GATEWAY_DEFAULTS.statsIntervalMs))
    .option('--health-interval-ms <ms>', 'how often each backend /health is probed', String(GATEWAY_DEFAULTS.healthIntervalMs))
    .option('--log <decisions.arrow>', 'decision log (Arrow IPC stream, one row per request)')
    .option('--log-flush-ms <ms>', 'longest a finished request waits before its log row is written', String(GATEWAY_DEFAULTS.logFlushMs))
    .option('--api-key-env <VAR>', 'require clients to send Authorization: Bearer $VAR')
    .option('--upstream-api-key-env <VAR>', 'send Authorization: Bearer $VAR to the backends (vLLM --api-key)')
    .option('--trust-client-rank', 'honour a client X-data-parallel-rank (a gateway rank index) instead of stripping it')
    .addOption(new Option('--admission <mode>', 'immediate: route each request on arrival; wave: hold new requests and release them one per rank per wave').choices(['immediate', 'wave']).default(GATEWAY_DEFAULTS.admission))
    .option('--wave-timeout-ms <ms>', `wave admission: longest the oldest held request waits before a partial wave is released (default ${GATEWAY_DEFAULTS.waveTimeoutMs})`)
    .option('--tokenizer <tokenizer.json>', 'count text prompts with this Hugging Face tokenizer (default: 4 chars per token)')
    .option('--max-body-bytes <n>', 'largest accepted request body', String(GATEWAY_DEFAULTS.maxBodyBytes))
    .option('--upstream-timeout-s <s>', 'longest wait for upstream headers or between body bytes', String(GATEWAY_DEFAULTS.upstreamTimeoutMs / 1000))
    .option('--connections <n>', 'upstream connections per backend', String(GATEWAY_DEFAULTS.connections))
    .addOption(new Option('--survival-profile <name>', 'workload profile that bootstraps the output-length survival curve').choices([...PROFILE_NAMES]).default(DEFAULT_SURVIVAL.profile))
    .option('--survival-min <n>', 'completed requests before the observed survival curve replaces the profile', String(DEFAULT_SURVIVAL.minCompletions))
    .option('--seed <n>', 'router seed (random, power_of_two)', '1')
    .option('--shutdown-grace-s <s>', 'on SIGTERM/SIGINT/SIGHUP: how long requests in flight may finish before they are ended', String(SHUTDOWN_GRACE_S))
    .option('-q, --quiet', 'print nothing but errors')
    .action(async (opts: GatewayFlags) => {
      await gatewayCommand(opts);
    });
}

function intFlag(field: string, raw: string, min: number, max: number): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(v) || v < min || v > max) throw new InputError(field, raw, `must be an integer in [${min}, ${max}]`);
  return v;
}

function envKey(flag: string, name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new InputError(flag, name, 'must be an environment variable name');
  const v = process.env[name];
  // The value is a secret: errors name the variable, never its content.
  if (v === undefined || v === '') throw new InputError(flag, name, 'environment variable is unset or empty');
  return v;
}

/** Flags -> gateway options (all validation happens here, before anything listens). */
export async function gatewayOptions(f: GatewayFlags): Promise<GatewayOptions> {
  if (!f.backend || f.backend.length === 0) throw new InputError('backend', undefined, 'give at least one --backend URL');
  const dp = f.dp === undefined ? undefined : f.dp.split(',').map((s) => intFlag('dp', s.trim(), 1, 1024));
  const routerParams = resolveRouterParams(f.router, knobFlags(f.knob), 'router');
  const admission = f.admission ?? GATEWAY_DEFAULTS.admission;
  if (admission !== 'immediate' && admission !== 'wave') throw new InputError('admission', admission, 'must be one of immediate, wave');
  let waveTimeoutMs: number = GATEWAY_DEFAULTS.waveTimeoutMs;
  if (f.waveTimeoutMs !== undefined) {
    if (admission !== 'wave') throw new InputError('wave-timeout-ms', f.waveTimeoutMs, 'acts only with --admission wave');
    waveTimeoutMs = Number(f.waveTimeoutMs);
    if (f.waveTimeoutMs.trim() === '' || !Number.isFinite(waveTimeoutMs) || waveTimeoutMs < 0 || waveTimeoutMs > 3_600_000) {
      throw new InputError('wave-timeout-ms', f.waveTimeoutMs, 'must be a time in [0, 3600000] ms');
    }
  }
  if (!isProfileName(f.survivalProfile)) throw new InputError('survival-profile', f.survivalProfile, `must be one of ${PROFILE_NAMES.join(', ')}`);
  if (f.tokenizer !== undefined && !existsSync(f.tokenizer)) throw new InputError('tokenizer', f.tokenizer, 'no such file');
  // The decision log may not be an input (the tokenizer, its config beside it); checked before
  // the tokenizer is even read.
  if (f.log !== undefined) {
    checkDistinct(
      [{ what: 'the decision log', target: checkOutputPath(f.log, 'log', { createDir: true }) }],
      f.tokenizer !== undefined
        ? [
            { what: 'the tokenizer file', path: f.tokenizer },
            { what: 'the tokenizer config', path: join(dirname(f.tokenizer), 'tokenizer_config.json') },
          ]
        : [],
    );
  }
  await checkHost(f.host);
  const tokenizer = f.tokenizer !== undefined ? (await import('../serve/gateway/promptTokens.ts')).loadTokenizer(f.tokenizer) : undefined;
  return {
    backends: f.backend,
    dp,
    router: f.router,
    routerParams,
    host: f.host,
    port: intFlag('port', f.port, 0, 65535),
    statsIntervalMs: intFlag('stats-interval-ms', f.statsIntervalMs, 10, 600_000),
    healthIntervalMs: intFlag('health-interval-ms', f.healthIntervalMs, 10, 600_000),
    backoffBaseMs: GATEWAY_DEFAULTS.backoffBaseMs,
    backoffMaxMs: GATEWAY_DEFAULTS.backoffMaxMs,
    logPath: f.log,
    logBatchRows: GATEWAY_DEFAULTS.logBatchRows,
    logFlushMs: intFlag('log-flush-ms', f.logFlushMs, 1, 3_600_000),
    apiKey: envKey('api-key-env', f.apiKeyEnv),
    upstreamApiKey: envKey('upstream-api-key-env', f.upstreamApiKeyEnv),
    trustClientRank: f.trustClientRank === true,
    admission,
    waveTimeoutMs,
    maxBodyBytes: intFlag('max-body-bytes', f.maxBodyBytes, 1024, 1 << 30),
    upstreamTimeoutMs: intFlag('upstream-timeout-s', f.upstreamTimeoutS, 1, 86_400) * 1000,
    connections: intFlag('connections', f.connections, 1, 100_000),
    tokenizer,
    survival: { ...DEFAULT_SURVIVAL, profile: f.survivalProfile, minCompletions: intFlag('survival-min', f.survivalMin, 1, 1_000_000) },
    seed: intFlag('seed', f.seed, 0, 2 ** 31 - 1),
  };
}

export async function gatewayCommand(f: GatewayFlags): Promise<void> {
  const opts = await gatewayOptions(f);
  const { startGateway } = await import('../serve/gateway/gateway.ts');
  const say = (s: string) => {
    if (!f.quiet) process.stderr.write(`gateway: ${s}\n`);
  };
  opts.onEvent = say;
  const graceS = Number(f.shutdownGraceS);
  if (f.shutdownGraceS.trim() === '' || !(graceS >= 0 && graceS <= 3600)) throw new InputError('shutdown-grace-s', f.shutdownGraceS, 'must be a time in [0, 3600] s');
  let gw;
  try {
    gw = await startGateway(opts);
  } catch (e) {
    throw listenError(e, opts.host, opts.port);
  }
  const up = gw.state.healthyCount();
  say(`listening on ${gw.url}  router ${opts.router}${opts.admission === 'wave' ? `  admission wave (timeout ${opts.waveTimeoutMs} ms)` : ''}  ranks ${gw.topology.ranks.length} (${up} healthy)${opts.logPath ? `  log ${opts.logPath}` : ''}`);
  // Machine-readable line on stdout: scripts and tests read the port from it.
  process.stdout.write(`${JSON.stringify({ listening: gw.url, port: gw.port, ranks: gw.topology.ranks.length })}\n`);
  // SIGINT, SIGTERM, SIGHUP (a closed terminal) or the launcher gone: drain, flush the log, exit 0.
  let remove = () => {};
  await new Promise<void>((resolve) => (remove = onStop(() => resolve())));
  say(`draining (up to ${graceS} s)`);
  await gw.close(graceS * 1000);
  remove();
  say(`stopped${gw.log ? `; ${gw.log.rowsWritten} log rows in ${gw.log.path}` : ''}`);
}
