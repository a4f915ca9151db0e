// The model file format (docs/model.md, "Model file format"), described once as a zod schema:
// presets, `--model file.json` and calibration output are all checked by it.
import { z } from 'zod';
import { numberIn, parseWith } from '../zodRules.ts';
import type { PresetSpec } from './analytic/presetSpec.ts';
import { stepCurveSchema } from './stepCurve.ts';
import { BASE_STEP_COEFFICIENTS, OPTIONAL_STEP_COEFFICIENTS, STEP_COEFFICIENTS, type StepCoefficient } from './types.ts';

/** Largest coefficient value accepted: keeps every product below 2^53 (docs/model.md). */
export const MAX_COEFFICIENT_PS = 2 ** 32 - 1;
export const MAX_BASE_PS = 2 ** 46;

const int = (max: number, rule: string) => numberIn({ min: 0, max, int: true, rule });

function coefficient(k: StepCoefficient) {
  const limit = BASE_STEP_COEFFICIENTS.has(k) ? MAX_BASE_PS : MAX_COEFFICIENT_PS;
  return int(limit, `an integer number of picoseconds in [0, ${limit}]`);
}

const coefficients = z.looseObject(
  Object.fromEntries(STEP_COEFFICIENTS.map((k) => [k, OPTIONAL_STEP_COEFFICIENTS.has(k) ? coefficient(k).default(0) : coefficient(k)])) as Record<
    StepCoefficient,
    ReturnType<typeof coefficient>
  >,
  { error: 'must be an object of coefficients in integer picoseconds' },
);

/** Per-DP-size terms: coefficients replaced (known names only) and/or a curve. */
const dpTerms = z.object(
  {
    coefficients: z
      .strictObject(
        Object.fromEntries(STEP_COEFFICIENTS.map((k) => [k, coefficient(k).optional()])) as Record<StepCoefficient, z.ZodOptional<ReturnType<typeof coefficient>>>,
        { error: (iss) => (iss.code === 'unrecognized_keys' ? `unknown coefficient; known: ${STEP_COEFFICIENTS.join(', ')}` : 'must be an object of coefficients') },
      )
      .optional(),
    maxRankTokenCurve: stepCurveSchema.optional(),
  },
  { error: 'must be an object {coefficients, maxRankTokenCurve}' },
);

/** Largest front-end term, µs (one hour: far beyond any HTTP or detokenisation time). */
export const MAX_FRONTEND_US = 3.6e9;
const frontendUs = numberIn({ min: 0, max: MAX_FRONTEND_US, rule: `a number of µs in [0, ${MAX_FRONTEND_US}]` });
/** Front-end terms of client-anchored metrics (docs/model.md §8), µs, each default 0. */
const frontendSchema = z.strictObject(
  { ingressUs: frontendUs.default(0), egressUs: frontendUs.default(0), perTokenUs: frontendUs.default(0) },
  { error: (iss) => (iss.code === 'unrecognized_keys' ? 'unknown key; known: ingressUs, egressUs, perTokenUs' : 'must be an object {ingressUs, egressUs, perTokenUs} (µs)') },
);

const positive = (rule: string) => numberIn({ min: 0, max: Number.MAX_SAFE_INTEGER, minExclusive: true, rule });
const nonNegative = (rule: string) => numberIn({ min: 0, max: Number.MAX_SAFE_INTEGER, rule });

const kvMemory = z.looseObject(
  {
    memoryBytes: positive('a number of bytes > 0'),
    utilization: numberIn({ min: 0, max: 1, minExclusive: true }),
    sharedWeightBytes: nonNegative('a number of bytes >= 0'),
    expertWeightBytes: nonNegative('a number of bytes >= 0'),
    reserveBytes: nonNegative('a number of bytes >= 0'),
    kvBytesPerToken: positive('a number of bytes > 0'),
    blockSize: numberIn({ min: 1, max: 2 ** 31 - 1, int: true }),
  },
  { error: 'must be an object (docs/model.md, "Model file format")' },
);

/** A model file / preset (PresetSpec); unknown top-level keys are ignored (`derivation`, notes). */
export const modelFileSchema = z
  .looseObject(
    {
      name: z.string({ error: 'must be a string' }),
      description: z.string({ error: 'must be a string' }).optional(),
      coefficients,
      maxRankTokenCurve: stepCurveSchema.optional(),
      byDp: z
        .record(z.string(), dpTerms, { error: 'must map DP sizes ("1", "2", ...) to {coefficients, maxRankTokenCurve}' })
        .check((ctx) => {
          const keys = Object.keys(ctx.value);
          if (keys.length === 0) {
            ctx.issues.push({ code: 'custom', message: 'must map DP sizes ("1", "2", ...) to {coefficients, maxRankTokenCurve}', input: ctx.value });
          }
          for (const key of keys) {
            const dp = Number(key);
            if (!Number.isInteger(dp) || dp < 1 || String(dp) !== key) {
              ctx.issues.push({ code: 'custom', message: 'keys must be DP sizes (positive integers)', input: key });
            }
          }
        })
        .optional(),
      maxModelLen: numberIn({ min: 1, max: 2 ** 31 - 1, int: true, rule: 'a positive integer' }),
      kvMemory: kvMemory.optional(),
      kvCapacityTokens: numberIn({ min: 1, max: 2 ** 31 - 1, int: true, rule: 'a positive integer when kvMemory is absent' }).optional(),
      // b/a of the mean-KV group term (docs/model.md §5); max MAX_MEAN_KV_RATIO of presets.ts.
      meanKvRatio: numberIn({ min: 0, max: 1000, rule: 'a number in [0, 1000] (the ratio b/a of the mean-KV group term to perKvTokenRead)' }).optional(),
      // docs/model.md §3, "Async scheduling"; absent = true (vLLM's default).
      asyncScheduling: z.boolean({ error: 'must be true or false' }).optional(),
      frontend: frontendSchema.optional(),
    },
    { error: 'must be a JSON object (docs/model.md, "Model file format")' },
  )
  .check((ctx) => {
    if (!ctx.value.kvMemory && ctx.value.kvCapacityTokens === undefined) {
      ctx.issues.push({ code: 'custom', message: 'must be a positive integer when kvMemory is absent', input: undefined, path: ['kvCapacityTokens'] });
    }
  });

/** Check a model file's content; errors name `field` + the path inside the file. */
export function parseModelFile(raw: unknown, field: string): PresetSpec & z.output<typeof modelFileSchema> {
  return parseWith(modelFileSchema, raw, field) as PresetSpec & z.output<typeof modelFileSchema>;
}
