// One configuration from checked values: apply defaults (SCENARIO_DEFAULTS and the step-time
// model's), then the cross-key rules.
import { InputError } from '../errors.ts';
import { SCENARIO_DEFAULTS, type AssignOrder, type Dispatch, type Scenario, type Sync } from './scenario.ts';
import { TRACE_WORKLOAD, isSweepKey, type SweepKey } from './sweepSchema.ts';
import { checkScenario, type FieldOf } from './validate.ts';
import { relocate, type RouterChoice } from './routerValue.ts';
import { canonicalSpec } from '../workload/build.ts';
import type { ArrivalProcess, LengthDist, WorkloadSpec } from '../workload/types.ts';
import { resolveStepModel } from '../model/presets.ts';
import { stepModelForDp } from '../model/stepTime.ts';
import { resolveRouterParams } from '../routers/index.ts';
import type { StepModel } from '../model/types.ts';

/** Checked values of one configuration; `router` is already resolved to one RouterChoice. */
export type CheckedValues = Partial<Record<Exclude<SweepKey, 'router'>, unknown>> & { router?: RouterChoice };

/** Step models resolved once per name within one expansion (a file model is read once). */
export type ModelCache = Map<string, StepModel>;

let defaultRouter: RouterChoice | undefined;

export function buildScenario(v: CheckedValues, fieldOf: FieldOf, index: number, models: ModelCache = new Map()): Scenario {
  const modelName = (v.model as string | undefined) ?? SCENARIO_DEFAULTS.model;
  let model = models.get(modelName);
  if (!model) {
    model = resolveStepModel(modelName, fieldOf('model') ?? 'model');
    models.set(modelName, model);
  }
  const router = v.router ?? (defaultRouter ??= {
    name: SCENARIO_DEFAULTS.router,
    params: resolveRouterParams(SCENARIO_DEFAULTS.router, {}),
    field: 'router',
  });
  const dp = (v.dp as number | undefined) ?? SCENARIO_DEFAULTS.dp;
  stepModelForDp(model, dp, fieldOf('dp') ?? 'dp'); // a calibrated model covers only its DP sizes
  const blockSize = (v.block_size as number | undefined) ?? SCENARIO_DEFAULTS.blockSize;
  const scenario: Scenario = {
    index,
    router: router.name,
    routerParams: router.params,
    dp,
    maxNumSeqs: (v.max_num_seqs as number | undefined) ?? SCENARIO_DEFAULTS.maxNumSeqs,
    kvCapacity: (v.kv_capacity as number | undefined) ?? defaultKvCapacity(model, dp, blockSize),
    blockSize,
    maxBatchedTokens: (v.max_batched_tokens as number | undefined) ?? SCENARIO_DEFAULTS.maxBatchedTokens,
    maxModelLen: (v.max_model_len as number | undefined) ?? model.maxModelLen,
    statsIntervalMs: (v.stats_interval_ms as number | undefined) ?? SCENARIO_DEFAULTS.statsIntervalMs,
    dispatch: (v.dispatch as Dispatch | undefined) ?? SCENARIO_DEFAULTS.dispatch,
    assignOrder: (v.assign_order as AssignOrder | undefined) ?? SCENARIO_DEFAULTS.assignOrder,
    timeoutS: (v.timeout_s as number | undefined) ?? SCENARIO_DEFAULTS.timeoutS,
    model: modelName,
    workload: buildWorkload(v),
    timeseries: (v.timeseries as boolean | undefined) ?? false,
    sync: (v.sync as Sync | undefined) ?? SCENARIO_DEFAULTS.sync,
  };
  checkScenario(scenario, fieldOf);
  checkWorkload(scenario.workload, fieldOf);
  return scenario;
}

/**
 * The workload module's own rules (profile names, length bounds, what a trace may not carry),
 * run now so that a sweep fails before it starts, with its errors moved to where the value was
 * written: `prompt.sigma` -> `axes.prompt[1].sigma`.
 */
function checkWorkload(w: WorkloadSpec, fieldOf: FieldOf): void {
  try {
    canonicalSpec(w);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    const key = /^[a-z_]+/.exec(e.field)?.[0];
    const at = key && isSweepKey(key) ? fieldOf(key) : undefined;
    throw at && at !== key ? relocate(e, at + e.field.slice(key!.length)) : e;
  }
}

/**
 * The model's capacity for this DP size, rounded down to whole blocks of *this* configuration's
 * block size (the model rounds to its own), so a default never trips the multiple-of-block rule.
 */
function defaultKvCapacity(model: StepModel, dp: number, blockSize: number): number {
  const tokens = model.kvCapacityTokens(dp);
  const cap = tokens - (tokens % blockSize);
  if (cap < blockSize) {
    throw new InputError(
      'kv_capacity',
      tokens,
      `model ${model.name} leaves less than one block of KV cache per rank at dp ${dp}; set kv_capacity explicitly or use a larger dp`,
    );
  }
  return cap;
}

function buildWorkload(v: CheckedValues): WorkloadSpec {
  const d = SCENARIO_DEFAULTS.workload;
  // `trace: FILE` alone implies `workload: trace` (as `--trace` does).
  const source = (v.workload as string | undefined) ?? (v.trace !== undefined ? TRACE_WORKLOAD : d.source);
  const isTrace = source === TRACE_WORKLOAD;
  const w: WorkloadSpec = {
    source,
    arrival: (v.arrival as ArrivalProcess | undefined) ?? d.arrival,
    cv: (v.cv as number | undefined) ?? d.cv,
    // A trace keeps its own timing and all its requests unless told otherwise.
    rate: (v.rate as number | undefined) ?? (isTrace ? 0 : d.rate),
    requests: (v.requests as number | undefined) ?? (isTrace ? 0 : d.requests),
    seed: (v.seed as number | undefined) ?? d.seed,
    maxOutput: (v.max_output as number | undefined) ?? d.maxOutput,
  };
  if (v.trace !== undefined) w.tracePath = v.trace as string;
  if (v.trace_columns !== undefined) w.traceColumns = v.trace_columns as WorkloadSpec['traceColumns'];
  if (v.trace_time_unit !== undefined) w.traceTimeUnit = v.trace_time_unit as WorkloadSpec['traceTimeUnit'];
  if (v.trace_window !== undefined) {
    const tw = v.trace_window as { start_s: number; end_s?: number };
    w.traceWindow = tw.end_s === undefined ? { startS: tw.start_s } : { startS: tw.start_s, endS: tw.end_s };
  }
  if (v.prompt !== undefined) w.prompt = v.prompt as LengthDist;
  if (v.output !== undefined) w.output = v.output as LengthDist;
  return w;
}
