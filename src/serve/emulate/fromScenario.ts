/**
 * Build an emulator from a scenario: the engine core (src/engine/core, the one `run` drives)
 * with the scenario's step-time model, router, limits and workload output distribution.
 */
import type { Scenario } from '../../config/scenario.ts';
import { EngineCore } from '../../engine/core/index.ts';
import { resolveStepModel } from '../../model/presets.ts';
import { getWorkload } from '../../workload/build.ts';
import type { TokenCounter } from '../openai/promptTokens.ts';
import type { CoreEvents, Sync } from './coreApi.ts';
import { outputSampler } from './outputLength.ts';
import { Emulator, type LbMode } from './server.ts';

export interface ServeOptions {
  speed: number;
  lb: LbMode;
  host: string;
  port: number;
  servedModelName: string;
  tokens: TokenCounter;
  maxBodyBytes: number;
  record?: boolean;
  observers?: CoreEvents;
}

export function emulatorFromScenario(sc: Scenario, o: ServeOptions): Emulator {
  const model = resolveStepModel(sc.model);
  // Routers that project loads read the output-length survival of the workload (as in `run`).
  const survival = getWorkload(sc.workload).outputSurvival;
  const sync: Sync = sc.sync ?? 'barrier';
  return new Emulator({
    core: (events) => {
      const core = new EngineCore(sc, model, events, { capacityHint: 4096, outputSurvival: survival });
      return Object.assign(core, { admitTimeUs: (id: number) => core.st.admitUs[id] });
    },
    dp: sc.dp,
    sync,
    speed: o.speed,
    lb: o.lb,
    host: o.host,
    port: o.port,
    servedModelName: o.servedModelName,
    maxModelLen: sc.maxModelLen,
    kvCapacity: Math.floor(sc.kvCapacity / sc.blockSize) * sc.blockSize,
    blockSize: sc.blockSize,
    tokens: o.tokens,
    outputLength: outputSampler(sc.workload),
    maxBodyBytes: o.maxBodyBytes,
    record: o.record,
    observers: o.observers,
  });
}
