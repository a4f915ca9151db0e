// One configuration from checked values: apply defaults (schema.ts and the step-time model's),
// then the cross-key rules. Keys that copy into one Scenario or WorkloadSpec field are copied
// generically from their schema entry; only the keys whose default depends on others are named.
import { InputError } from '../errors.ts';
import type { Scenario } from './scenario.ts';
import { KEYS, SWEEP_KEYS, TRACE_DEFAULTS, TRACE_WORKLOAD, defaultOf, isSweepKey, type KeyValue, type SweepKey } from './schema.ts';
import { checkScenario, type FieldOf } from './validate.ts';
import type { RouterChoice } from './routerValue.ts';
import { canonicalSpec } from '../workload/build.ts';
import type { WorkloadSpec } from '../workload/types.ts';
import { resolveStepModel } from '../model/presets.ts';
import { stepModelForDp } from '../model/stepTime.ts';
import { resolveRouterParams } from '../routers/index.ts';
import type { StepModel } from '../model/types.ts';
import { fieldSegments } from './fieldPath.ts';

/** Checked values of one configuration; `router` is already resolved to one RouterChoice. */
export type CheckedValues = { [K in Exclude<SweepKey, 'router'>]?: KeyValue<K> } & { router?: RouterChoice };

/** Step models resolved once per name within one expansion (a file model is read once). */
export type ModelCache = Map<string, StepModel>;

let defaultRouter: RouterChoice | undefined;

type Target = { scenario?: string; workload?: string };
const target = (k: SweepKey) => KEYS[k] as Target;

export function buildScenario(v: CheckedValues, fieldOf: FieldOf, index: number, models: ModelCache = new Map()): Scenario {
  const modelName = v.model ?? defaultOf('model')!;
  let model = models.get(modelName);
  if (!model) {
    model = resolveStepModel(modelName, fieldOf('model') ?? 'model');
    models.set(modelName, model);
  }
  const router = v.router ?? (defaultRouter ??= {
    name: defaultOf('router')!.name,
    params: resolveRouterParams(defaultOf('router')!.name, {}),
    field: 'router',
  });
  const values = v as Record<string, unknown>;
  const pick = (k: SweepKey) => values[k] ?? defaultOf(k);
  const dp = pick('dp') as number;
  stepModelForDp(model, dp, fieldOf('dp') ?? 'dp'); // a calibrated model covers only its DP sizes
  const blockSize = pick('block_size') as number;
  const scenario = {
    index,
    router: router.name,
    routerParams: router.params,
    kvCapacity: v.kv_capacity ?? defaultKvCapacity(model, dp, blockSize),
    maxModelLen: v.max_model_len ?? model.maxModelLen,
    model: modelName,
    workload: buildWorkload(values),
  } as Record<string, unknown>;
  for (const k of SWEEP_KEYS) {
    const field = target(k).scenario;
    if (field !== undefined) scenario[field] = pick(k);
  }
  const s = scenario as unknown as Scenario;
  checkScenario(s, fieldOf, router.field);
  checkWorkload(s.workload, fieldOf);
  return s;
}

/**
 * The workload module's own rules (what a trace may not carry, ...), run now so that a sweep
 * fails before it starts, with its errors moved to where the value was written:
 * `prompt.sigma` -> `axes.prompt[1].sigma`.
 */
function checkWorkload(w: WorkloadSpec, fieldOf: FieldOf): void {
  try {
    canonicalSpec(w);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    const [key] = fieldSegments(e.field);
    const at = typeof key === 'string' && isSweepKey(key) ? fieldOf(key) : undefined;
    throw at && at !== key ? e.at(at + e.field.slice(String(key).length)) : e;
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

function buildWorkload(v: Record<string, unknown>): WorkloadSpec {
  // `trace: FILE` alone implies `workload: trace` (as `--trace` does); a trace keeps its own
  // timing and all its requests unless told otherwise.
  const source = (v.workload as string | undefined) ?? (v.trace !== undefined ? TRACE_WORKLOAD : defaultOf('workload')!);
  const isTrace = source === TRACE_WORKLOAD;
  const w: Record<string, unknown> = { source };
  for (const k of SWEEP_KEYS) {
    const field = target(k).workload;
    if (field === undefined || k === 'workload') continue;
    const given = v[k];
    const dflt = isTrace && Object.hasOwn(TRACE_DEFAULTS, k) ? TRACE_DEFAULTS[k as keyof typeof TRACE_DEFAULTS] : defaultOf(k);
    if (given !== undefined) w[field] = given;
    else if (dflt !== undefined) w[field] = dflt;
  }
  return w as unknown as WorkloadSpec;
}
