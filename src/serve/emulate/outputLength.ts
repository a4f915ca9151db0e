/**
 * How many tokens a request generates. With `ignore_eos` it is max_tokens, as in vLLM. Otherwise
 * the emulator has no text to end on, so the length is drawn from the scenario's workload: the
 * profile's output distribution (or its `output:` override), capped at `--max-output`, or for a
 * trace the output length of a uniformly drawn row; then capped at max_tokens. Draws come from
 * the workload seed's output stream, so a restarted emulator sees the same sequence of lengths.
 */
import { Rng } from '../../rng.ts';
import { canonicalSpec, getWorkload, STREAM_OUTPUT } from '../../workload/build.ts';
import { sampleLengths } from '../../workload/lengths.ts';
import type { WorkloadSpec } from '../../workload/types.ts';

export type OutputSampler = () => number;

export function outputSampler(spec: WorkloadSpec): OutputSampler {
  const c = canonicalSpec(spec);
  const rng = new Rng(spec.seed, STREAM_OUTPUT);
  if (c.kind === 'trace') {
    const out = getWorkload(spec).output;
    return () => out[rng.below(out.length)];
  }
  const dist = c.output;
  return () => sampleLengths(dist, 'output', 1, rng, c.maxOutput)[0];
}

/** The output length of one request. */
export function outputTokens(ignoreEos: boolean, maxTokens: number, draw: OutputSampler): number {
  if (ignoreEos) return maxTokens;
  const n = draw();
  return n < maxTokens ? n : maxTokens;
}
