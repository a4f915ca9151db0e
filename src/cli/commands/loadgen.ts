// `balanceroute loadgen`: its arguments, flags and help; the command itself is in the module the action calls.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('loadgen')
    .description('send a workload to an OpenAI-compatible server (vLLM, the emulator) and measure it as vllm bench serve does')
    .requiredOption('--url <url>', 'server base URL (http://127.0.0.1:8000) or full endpoint URL')
    .option('--endpoint <kind>', 'completions or chat', 'completions')
    .option('--rate <req/s>', 'mean request rate, or inf (for --trace: rescale to this rate; default keeps the trace timing)')
    .option('--burstiness <k>', 'gamma shape of inter-arrival gaps (1 = Poisson, < 1 burstier), or inf', '1')
    .option('--requests <n>', 'number of requests (default 1000; for --trace: first n, default all)')
    .option('--workload <profile>', 'built-in length profile for token-id prompts (sharegpt, azure_conv, azure_code; default sharegpt)')
    .option('--trace <file>', 'replay the timing and lengths of a trace file (CSV or JSONL)')
    .option('--dataset <sharegpt.json>', 'real prompts from a ShareGPT JSON file (needs --tokenizer)')
    .option('--tokenizer <tokenizer.json>', "the model's Hugging Face tokenizer.json, to count dataset tokens")
    .option('--seed <n>', 'seed of arrivals, lengths and prompts (as vllm bench --seed)', '0')
    .option('--max-output <n>', 'cap on sampled output lengths in tokens', '1024')
    .option('--max-concurrency <n>', 'at most n requests in flight')
    .option('--timeout-s <s>', 'per-request timeout from the send (0 = none)', '600')
    .option('--model <name>', 'model name sent in requests (default: the first of GET /v1/models)')
    .option('--header <name:value...>', 'extra request header, repeatable (e.g. X-data-parallel-rank:1)')
    .option('--request-id-prefix <p>', 'x-request-id of request i is PREFIXi', 'loadgen-')
    .option('--no-ignore-eos', 'do not send ignore_eos: true (outputs may end early)')
    .option('--no-initial-test', 'skip the one-token test request sent before the run')
    .option('--gateway-log <decisions.arrow>', "after the run, take each request's rank (and the router) from a `balanceroute gateway` decision log")
    .option('-o, --output <file.arrow>', 'per-request log; the summary row goes to FILE.summary.arrow', 'measured.arrow')
    .option('--save-json <file.json>', "also write vllm bench serve's result JSON")
    .option('--save-detailed', 'with --save-json: include the per-request arrays')
    .option('--metric-percentiles <p,...>', 'percentiles to report (as vllm bench)', '99')
    .option('-q, --quiet', 'no progress bar or summary')
    .action(async (opts) => {
      // Loaded on use: the HTTP client and tokenizer are not needed by the other commands.
      const { loadgenCommand } = await import('../loadgenCommand.ts');
      await loadgenCommand(opts);
    });
}
