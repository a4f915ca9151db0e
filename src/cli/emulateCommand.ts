/**
 * `balanceroute emulate`: serve vLLM's OpenAI API from the simulator's engine core on the wall
 * clock (docs/emulate.md). Prints one line `emulate: listening {json}` with the bound ports once
 * it accepts requests; SIGINT/SIGTERM stop it gracefully (exit 0).
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Option } from 'commander';
import { scenarioFromFlat } from '../config/expand.ts';
import { flagKeys, flagName, type SweepKey } from '../config/schema.ts';
import { InputError } from '../errors.ts';
import { checkDistinct, checkOutputPath, writeFileAtomic, type NamedPath } from '../formats/outputFile.ts';
import { checkHost, listenError, onStop, SHUTDOWN_GRACE_S } from './serverLifecycle.ts';
import { emulatorFromScenario, type EngineThread } from '../serve/emulate/fromScenario.ts';
import type { LbMode } from '../serve/emulate/server.ts';
import { DEFAULT_MAX_BODY_BYTES } from '../serve/emulate/server.ts';
import { estimateCounter, tokenizerCounter } from '../serve/openai/promptTokens.ts';
import { numberFlag, scenarioOptions } from './parseFlags.ts';
import { flagsToEntry, type RunFlags } from './runCommand.ts';

/** Configuration keys whose `run` flags do not apply to a live deployment: HTTP decides arrivals. */
const NOT_LIVE = new Set<SweepKey>([
  'rate', 'requests', 'arrival', 'cv', 'trace_window', 'wave_timeout_ms',
  // The emulator serves one colocated DP group; prefill/decode disaggregation is offline only (docs/pd.md).
  'topology', 'prefill_instances', 'kv_link', 'kv_link_gbps', 'kv_link_latency_us', 'kv_bytes_per_token',
]);

/** The `run` flags of the configuration keys that apply to `emulate` (same names, help and checks). */
export function emulateScenarioOptions(): Option[] {
  const keep = new Set(flagKeys().filter((k) => !NOT_LIVE.has(k)).map(flagName));
  return scenarioOptions().filter((o) => keep.has(o.long!));
}

/** `emulate` flags as commander gives them: the configuration keys' flags plus its own. */
export interface EmulateFlags extends RunFlags {
  port: string;
  host: string;
  lb: string;
  speed: string;
  servedModelName?: string;
  tokenizer?: string;
  maxBodyBytes?: string;
  record?: string;
  engineThread: string;
  shutdownGraceS?: string;
}

function intFlag(field: string, raw: string, min: number, max: number): number {
  const v = numberFlag(field, raw)!;
  if (!Number.isInteger(v) || v < min || v > max) throw new InputError(field, raw, `must be an integer from ${min} to ${max}`);
  return v;
}

export async function emulateCommand(f: EmulateFlags): Promise<void> {
  const sc = scenarioFromFlat(flagsToEntry(f));
  if (sc.dispatch === 'wave') {
    // The wave is formed in front of the deployment; the emulator is the deployment.
    throw new InputError('dispatch', sc.dispatch, 'wave dispatch is done by the gateway in front of the emulator (gateway --admission wave; docs/gateway.md); emulate routes on_arrival or per_step');
  }
  // --record is checked before serving, not at exit, and may be none of the inputs.
  const inputs: NamedPath[] = [
    ...(sc.workload.tracePath !== undefined ? [{ what: 'the trace file', path: sc.workload.tracePath }] : []),
    ...(/\.json$/i.test(sc.model) ? [{ what: 'the model file', path: sc.model }] : []),
    ...(f.tokenizer !== undefined ? [{ what: 'the tokenizer file', path: f.tokenizer }] : []),
  ];
  if (f.record !== undefined) checkDistinct([{ what: 'the recording', target: checkOutputPath(f.record, 'record', { createDir: true }) }], inputs);
  await checkHost(f.host);
  const graceS = numberFlag('shutdown_grace_s', f.shutdownGraceS ?? String(SHUTDOWN_GRACE_S))!;
  if (!(graceS >= 0 && graceS <= 3600)) throw new InputError('shutdown_grace_s', f.shutdownGraceS, 'must be a time in [0, 3600] s');
  const speed = numberFlag('speed', f.speed)!;
  if (!(speed > 0) || speed > 1e6) throw new InputError('speed', f.speed, 'must be a number > 0 (1 = real time, 2 = twice as fast)');
  const lb = f.lb as LbMode;
  const port = intFlag('port', f.port, 0, 65535);
  if (lb === 'external' && port !== 0 && port + sc.dp - 1 > 65535) {
    throw new InputError('port', f.port, `external LB uses ports port..port+${sc.dp - 1}; they must stay below 65536`);
  }
  const maxBodyBytes = f.maxBodyBytes === undefined ? DEFAULT_MAX_BODY_BYTES : intFlag('max_body_bytes', f.maxBodyBytes, 1, 2 ** 31);
  const tokens = f.tokenizer === undefined ? estimateCounter : tokenizerCounter(f.tokenizer);
  if (f.servedModelName !== undefined && f.servedModelName.trim() === '') {
    throw new InputError('served_model_name', f.servedModelName, 'must not be empty');
  }
  const servedModelName = f.servedModelName ?? basename(sc.model).replace(/\.json$/i, '');
  const emu = emulatorFromScenario(sc, {
    speed,
    lb,
    host: f.host,
    port,
    servedModelName,
    tokens,
    maxBodyBytes,
    record: f.record !== undefined,
    engineThread: f.engineThread as EngineThread,
    onFatal: (e) => {
      // The engine cannot step any more: say so, and stop as on a signal (exit status 1).
      process.stderr.write(`emulate: ${e.message}\n`);
      process.exitCode = 1;
      onSignal();
    },
  });
  // Signal handlers first: a supervisor may signal as soon as it reads the listening line.
  // SIGHUP (a closed terminal) and a launcher gone stop it the same way: the recording is kept.
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const removeHandlers = onStop(() => resolveStopped());
  const onSignal = () => resolveStopped();
  let ports: number[];
  try {
    ports = await emu.start();
  } catch (e) {
    removeHandlers();
    await emu.stop();
    throw listenError(e, f.host, f.port);
  }
  const cpuAtStart = cpuSeconds();
  process.stdout.write(
    `emulate: listening ${JSON.stringify({
      host: f.host,
      ports,
      lb,
      dp: sc.dp,
      model: servedModelName,
      router: sc.router,
      speed,
    })}\n`,
  );
  await stopped;
  await emu.stop(graceS * 1000);
  removeHandlers();
  const errs = quantiles(emu.driver.timingErrors());
  const lags = quantiles(emu.driver.emissionLags());
  process.stderr.write(
    `emulate: stopped after ${emu.driver.steps} steps; step end timing error ms ${errs}; token emission lag ms ${lags}; cpu ${(cpuSeconds() - cpuAtStart).toFixed(2)} s while listening\n`,
  );
  if (f.record !== undefined) {
    const rows = (emu.driver.arrivals ?? []).map((a) => `${a.arrivalUs * 1000},${a.promptTokens},${a.outputTokens},${a.rank ?? ''}`);
    const text = ['arrival_time_ns,prompt_tokens,output_tokens,pinned_rank', ...rows].join('\n') + '\n';
    writeFileAtomic(f.record, (path) => writeFileSync(path, text), 'record');
  }
}

/** "p50 x p99 y max z" of wall-ms samples. */
function quantiles(samples: Float64Array): string {
  const v = Array.from(samples).sort((a, b) => a - b);
  if (v.length === 0) return 'p50 - p99 - max -';
  const q = (p: number) => v[Math.min(v.length - 1, Math.floor(p * v.length))].toFixed(3);
  return `p50 ${q(0.5)} p99 ${q(0.99)} max ${v[v.length - 1].toFixed(3)}`;
}

/** CPU time (user + system) this process (all its threads) has used, in seconds. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
