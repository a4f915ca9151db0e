/**
 * Build an emulator from a scenario: the engine core (src/engine/core, the one `run` drives)
 * with the scenario's step-time model, router, limits and workload output distribution, on its
 * own engine thread (default) or on the HTTP thread.
 */
import { resolve } from 'node:path';
import type { Scenario } from '../../config/scenario.ts';
import type { TokenCounter } from '../openai/promptTokens.ts';
import type { CoreEvents, Sync } from './coreApi.ts';
import { outputSampler } from './outputLength.ts';
import { scenarioCoreFactory } from './scenarioCore.ts';
import { Emulator, type LbMode } from './server.ts';

/** Where the engine core steps: its own worker thread, or the thread that serves HTTP. */
export type EngineThread = 'worker' | 'main';

export interface ServeOptions {
  speed: number;
  lb: LbMode;
  host: string;
  port: number;
  servedModelName: string;
  tokens: TokenCounter;
  maxBodyBytes: number;
  /** Default 'worker'. */
  engineThread?: EngineThread;
  record?: boolean;
  observers?: CoreEvents;
  onFatal?: (e: Error) => void;
}

export function emulatorFromScenario(sc: Scenario, o: ServeOptions): Emulator {
  // Built here either way: a bad model or router fails now, in one line, not on the worker.
  const factory = scenarioCoreFactory(sc);
  factory({});
  const sync: Sync = sc.sync ?? 'barrier';
  return new Emulator({
    core: (o.engineThread ?? 'worker') === 'worker' ? { worker: sc } : factory,
    dp: sc.dp,
    sync,
    speed: o.speed,
    lb: o.lb,
    host: o.host,
    port: o.port,
    servedModelName: o.servedModelName,
    // A model file by its absolute path: the log that records it is read from elsewhere.
    stepModel: /\.json$/i.test(sc.model) ? resolve(sc.model) : sc.model,
    maxModelLen: sc.maxModelLen,
    kvCapacity: Math.floor(sc.kvCapacity / sc.blockSize) * sc.blockSize,
    blockSize: sc.blockSize,
    tokens: o.tokens,
    outputLength: outputSampler(sc.workload),
    maxBodyBytes: o.maxBodyBytes,
    record: o.record,
    observers: o.observers,
    onFatal: o.onFatal,
  });
}
