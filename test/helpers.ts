// Shared builders for tests: scenarios and hand-made workloads without going through config files.
import type { Scenario } from '../src/config/scenario.ts';
import { SCENARIO_DEFAULTS } from '../src/config/scenario.ts';
import type { Workload, WorkloadSpec } from '../src/workload/types.ts';
import { resolveStepModel } from '../src/model/presets.ts';
import { resolveRouterParams } from '../src/routers/index.ts';

export function makeScenario(over: Partial<Omit<Scenario, 'workload'>> & { workload?: Partial<WorkloadSpec> } = {}): Scenario {
  const model = resolveStepModel(over.model ?? SCENARIO_DEFAULTS.model);
  const dp = over.dp ?? SCENARIO_DEFAULTS.dp;
  const router = over.router ?? SCENARIO_DEFAULTS.router;
  return {
    index: 0,
    router,
    routerParams: over.routerParams ?? resolveRouterParams(router, {}),
    dp,
    maxNumSeqs: SCENARIO_DEFAULTS.maxNumSeqs,
    kvCapacity: model.kvCapacityTokens(dp),
    blockSize: SCENARIO_DEFAULTS.blockSize,
    maxBatchedTokens: SCENARIO_DEFAULTS.maxBatchedTokens,
    maxModelLen: model.maxModelLen,
    statsIntervalMs: SCENARIO_DEFAULTS.statsIntervalMs,
    dispatch: SCENARIO_DEFAULTS.dispatch,
    assignOrder: SCENARIO_DEFAULTS.assignOrder,
    timeoutS: SCENARIO_DEFAULTS.timeoutS,
    model: SCENARIO_DEFAULTS.model,
    timeseries: false,
    ...over,
    workload: { ...SCENARIO_DEFAULTS.workload, ...over.workload },
  } as Scenario;
}

/** A workload from explicit (arrival µs, prompt, output) triples. */
export function handWorkload(rows: [number, number, number][], label = 'hand'): Workload {
  const n = rows.length;
  const maxO = Math.max(1, ...rows.map((r) => r[2]));
  const survival = new Float64Array(maxO + 1);
  for (let a = 0; a <= maxO; a++) survival[a] = rows.filter((r) => r[2] > a).length / n;
  return {
    n,
    arrivalUs: Float64Array.from(rows.map((r) => r[0])),
    prompt: Int32Array.from(rows.map((r) => r[1])),
    output: Int32Array.from(rows.map((r) => r[2])),
    outputSurvival: survival,
    label,
  };
}
