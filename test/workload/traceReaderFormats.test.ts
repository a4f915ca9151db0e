// The trace formats of docs/workloads.md ("Trace replay"), BurstGPT's failed requests, and
// trace windows (`trace_window`), on small files written here.
import { afterAll, describe, expect, it } from 'vitest';
import { buildWorkload, workloadKey } from '../../src/workload/build.ts';
import { clearTraceCache, parseTraceFile, traceStream } from '../../src/workload/traceReader.ts';
import type { WorkloadSpec } from '../../src/workload/types.ts';
import { scenarioFromFlat } from '../../src/config/expand.ts';
import { flagsToEntry, type RunFlags } from '../../src/cli/runCommand.ts';
import { BASE, expectInputError, removeTempFiles, tempFile } from './helpers.ts';

afterAll(removeTempFiles);

const trace = (path: string, over: Partial<WorkloadSpec> = {}): WorkloadSpec => ({ ...BASE, source: 'trace', tracePath: path, rate: 0, requests: 0, maxOutput: 1 << 20, ...over });

describe('trace formats', () => {
  it('Azure LLM inference trace 2023 (raw): TIMESTAMP date-times, ContextTokens, GeneratedTokens', () => {
    const p = tempFile(
      'AzureLLMInferenceTrace_conv.csv',
      'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n',
    );
    const w = buildWorkload(trace(p));
    expect(Array.from(w.arrivalUs)).toEqual([0, 4_314_579]);
    expect(Array.from(w.prompt)).toEqual([374, 396]);
    expect(Array.from(w.output)).toEqual([44, 109]);
  });

  it('Azure LLM inference trace 2024 (raw): same columns, date-times with a UTC offset', () => {
    const p = tempFile(
      'AzureLLMInferenceTrace_code_1week.csv',
      'TIMESTAMP,ContextTokens,GeneratedTokens\n2024-05-10 00:00:00.009930+00:00,2162,5\n2024-05-10 00:00:01.509930+00:00,1100,28\n2024-05-10 02:00:02.009930+02:00,50,7\n',
    );
    const w = buildWorkload(trace(p));
    // The third row is 02:00:02 at +02:00 = 00:00:02 UTC.
    expect(Array.from(w.arrivalUs)).toEqual([0, 1_500_000, 2_000_000]);
    expect(Array.from(w.output)).toEqual([5, 28, 7]);
  });

  it("Vidur's processed traces: arrived_at (s), num_prefill_tokens, num_decode_tokens (extra columns ignored)", () => {
    const p = tempFile('splitwise_conv.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens,num_total_tokens\n0.0,374,44,418\n4.314579,396,109,505\n');
    const t = parseTraceFile({ path: p });
    expect(t.columns).toEqual({ arrival: 'arrived_at', prompt: 'num_prefill_tokens', output: 'num_decode_tokens' });
    expect(Array.from(t.timeUs)).toEqual([0, 4_314_579]);
  });

  it('Mooncake JSONL: timestamp (ms), input_length, output_length (hash_ids ignored)', () => {
    const p = tempFile(
      'mooncake.jsonl',
      '{"timestamp": 0, "input_length": 6955, "output_length": 52, "hash_ids": [0, 1, 2]}\n{"timestamp": 27482, "input_length": 6472, "output_length": 26, "hash_ids": [46, 47]}\n',
    );
    const w = buildWorkload(trace(p));
    expect(Array.from(w.arrivalUs)).toEqual([0, 27_482_000]);
    expect(Array.from(w.prompt)).toEqual([6955, 6472]);
  });

  it('LLMServingSim JSONL: input_toks, output_toks, arrival_time_ns', () => {
    const p = tempFile('llmservingsim.jsonl', '{"input_toks": 2361, "output_toks": 532, "arrival_time_ns": 46926808}\n{"input_toks": 1128, "output_toks": 772, "arrival_time_ns": 347938951}\n');
    const w = buildWorkload(trace(p));
    expect(Array.from(w.arrivalUs)).toEqual([0, Math.round((347_938_951 - 46_926_808) / 1000)]);
    expect(Array.from(w.output)).toEqual([532, 772]);
  });

  it('BurstGPT: Timestamp (s), Request tokens, Response tokens; failed requests (0 response tokens) are skipped and counted', () => {
    clearTraceCache();
    const p = tempFile(
      'BurstGPT_1.csv',
      'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n' +
        '5,ChatGPT,472,18,490,Conversation log\n' +
        '45,ChatGPT,1087,0,1087,Conversation log\n' +
        '118,GPT-4,417,276,693,Conversation log\n' +
        '118,ChatGPT,0,0,0,API log\n' +
        '130,ChatGPT,93,12,105,API log\n',
    );
    const t = parseTraceFile({ path: p });
    expect(t.n).toBe(3);
    expect(t.skippedFailures).toBe(2);
    expect(Array.from(t.timeUs)).toEqual([0, 113e6, 125e6]);
    expect(Array.from(t.prompt)).toEqual([472, 417, 93]);
    expect(Array.from(t.output)).toEqual([18, 276, 12]);
    // A successful BurstGPT row still needs a prompt of at least one token.
    const q = tempFile('BurstGPT_bad.csv', 'Timestamp,Request tokens,Response tokens\n0,0,5\n');
    expectInputError(() => buildWorkload(trace(q)), 'trace', '0', `${q}:2`, 'prompt column "Request tokens"', 'at least 1 token');
  });

  it('other formats keep rejecting 0-token outputs', () => {
    const p = tempFile('zero-out.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,0\n');
    expectInputError(() => buildWorkload(trace(p)), 'trace', '0', `${p}:2`, 'output column "num_decode_tokens"', 'at least 1 token');
  });
});

describe('trace windows', () => {
  // Arrivals at 0, 1, ..., 9 s; prompt i+1.
  const rows = Array.from({ length: 10 }, (_, i) => `${i},${i + 1},${10 + i}`).join('\n');
  const p = tempFile('window.csv', `arrived_at,num_prefill_tokens,num_decode_tokens\n${rows}\n`);

  it('keeps rows arriving in [start_s, end_s) and re-times them from 0', () => {
    const w = buildWorkload(trace(p, { traceWindow: { startS: 2.5, endS: 6 } }));
    expect(Array.from(w.prompt)).toEqual([4, 5, 6]);
    expect(Array.from(w.arrivalUs)).toEqual([0, 1e6, 2e6]);
  });

  it('an open end runs to the last row; start 0 keeps the first row', () => {
    expect(buildWorkload(trace(p, { traceWindow: { startS: 7 } })).n).toBe(3);
    expect(buildWorkload(trace(p, { traceWindow: { startS: 0, endS: 1 } })).n).toBe(1);
  });

  it('requests and rate apply within the window', () => {
    const w = buildWorkload(trace(p, { traceWindow: { startS: 2, endS: 9 }, requests: 3, rate: 4 }));
    expect(Array.from(w.prompt)).toEqual([3, 4, 5]);
    expect(Array.from(w.arrivalUs)).toEqual([0, 250_000, 500_000]);
    expectInputError(() => buildWorkload(trace(p, { traceWindow: { startS: 2, endS: 4 }, requests: 5 })), 'requests', 5, 'only 2 rows in the window');
  });

  it('the window is part of the workload key; bad windows are InputErrors', () => {
    expect(workloadKey(trace(p, { traceWindow: { startS: 1 } }))).not.toBe(workloadKey(trace(p)));
    expectInputError(() => buildWorkload(trace(p, { traceWindow: { startS: 20, endS: 30 } })), 'trace_window', undefined, 'selects no row', '0 to 9.000 s');
    expectInputError(() => buildWorkload(trace(p, { traceWindow: { startS: 5, endS: 5 } })), 'trace_window.end_s', 5, 'after start_s');
    expectInputError(() => buildWorkload({ ...BASE, traceWindow: { startS: 1 } }), 'trace_window', undefined, 'trace replay only');
  });

  it('traceStream without a window is unchanged', () => {
    const t = parseTraceFile({ path: p });
    const s = traceStream(t, 0, 0, 1 << 20);
    expect(s.arrivalUs.length).toBe(10);
  });

  it('trace_window in a configuration and the run flag --trace-window', () => {
    const sc = scenarioFromFlat({ workload: 'trace', trace: p, trace_window: { start_s: 1, end_s: 3 } });
    expect(sc.workload.traceWindow).toEqual({ startS: 1, endS: 3 });
    expectInputError(() => scenarioFromFlat({ workload: 'trace', trace: p, trace_window: { begin: 1 } }), 'trace_window.begin', 'begin', 'unknown key');
    expectInputError(() => scenarioFromFlat({ workload: 'trace', trace: p, trace_window: { start_s: 3, end_s: 1 } }), 'trace_window.end_s', 1, 'after start_s');
    const flags = { router: 'round_robin', dp: '2', seed: '1', workload: 'sharegpt', trace: p, traceWindow: '1.5,', arrival: 'poisson', cv: '1', maxOutput: '1024', model: 'qwen3-30b-a3b-h100', maxNumSeqs: '256', blockSize: '16', maxBatchedTokens: '8192', statsIntervalMs: '100', dispatch: 'on_arrival', assignOrder: 'fcfs', timeoutS: '0' } as RunFlags;
    expect(flagsToEntry(flags).trace_window).toEqual({ start_s: 1.5 });
    expect(flagsToEntry({ ...flags, traceWindow: '2,4' }).trace_window).toEqual({ start_s: 2, end_s: 4 });
    expectInputError(() => flagsToEntry({ ...flags, traceWindow: 'a,b' }), 'trace_window.start_s', 'a', 'must be a number');
  });
});
