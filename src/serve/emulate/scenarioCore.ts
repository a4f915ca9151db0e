/**
 * The engine core of a scenario, as the emulator drives it: the EngineCore `run` uses, with the
 * scenario's step-time model, router, limits and workload output-length survival. One function
 * for the in-thread driver and the engine worker, so both run the same core.
 */
import type { Scenario } from '../../config/scenario.ts';
import { EngineCore } from '../../engine/core/index.ts';
import { resolveStepModel } from '../../model/presets.ts';
import { getWorkload } from '../../workload/build.ts';
import type { CoreFactory } from './driver.ts';

export function scenarioCoreFactory(sc: Scenario): CoreFactory {
  const model = resolveStepModel(sc.model);
  // Routers that project loads read the output-length survival of the workload (as in `run`).
  const survival = getWorkload(sc.workload).outputSurvival;
  return (events) => new EngineCore(sc, model, events, { capacityHint: 4096, outputSurvival: survival });
}
