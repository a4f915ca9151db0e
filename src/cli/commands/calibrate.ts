// `balanceroute calibrate`: its arguments, flags and help; the command itself is in the module the action calls.
import type { Command } from 'commander';
import { calibrateCommand } from '../calibrateCommand.ts';

export function register(program: Command): void {
  program
    .command('calibrate')
    .description('fit a step-time model file to a layer-wise vLLM profile (or derive one from a HF config.json with --gpu; or fit the host terms to measured runs with --from-run)')
    .argument('[profile]', 'profile folder (attention.csv, dense.csv, moe.csv, per_sequence.csv, meta.yaml), its parent, or a config.json')
    .requiredOption('-o, --output <file.json>', 'model file to write (use with --model)')
    .option('--config <config.json>', 'Hugging Face config of the profiled model (default: model-config.json next to the profile)')
    .option('--dp <n,...>', 'DP sizes (= EP degrees) to calibrate for (default 1,2,4,8 where they divide the experts); with --from-run: the DP size of the runs (one, or one per run)')
    .option('--tp <n>', 'tensor-parallel degree of each DP rank: the profile\'s tp<n>/ tables plus the per-layer all-reduces (dense models; default 1)')
    .option('--gpu <name>', 'GPU (h100, h200, b200, gb200, a100, rtxpro6000, rtx4090); default from meta.yaml')
    .option('--max-num-seqs <n>', "deployment's max_num_seqs (decode bound, CUDA-graph capture sizes); default from meta.yaml")
    .option('--max-context <tokens>', 'fit only profile points with contexts up to this many tokens')
    .option('--no-cuda-graphs', 'model an enforce_eager deployment (no DP padding to capture sizes)')
    .option('--no-l2-correction', "keep the one-layer profile's L2-resident weight reads as measured")
    .option('--step-overhead-us <us>', 'host time per step (CPU scheduling; written as the model\'s hostPerStep), µs', '0')
    .option('--skew-alpha <a>', 'attention cost share of uneven decode contexts (default: meta.yaml skew_fit)')
    .option('--gpu-memory-utilization <f>', "deployment's gpu_memory_utilization (default from meta.yaml)")
    .option('--reserve-gib <GiB>', 'memory outside weights and KV cache (default: estimated, docs/step-model.md §6)')
    .option('--name <name>', 'model name written into the file')
    .option('--json', 'print the derivation as JSON')
    .option('--from-run <log...>', 'fit the host terms to a measured run: a loadgen .arrow log, a vllm bench serve --save-detailed JSON or an engine requests.jsonl (repeatable; docs/calibration.md)')
    .option('--model <preset|file.json>', 'with --from-run: the base model the host terms are added to (default: the step model the log records)')
    .option('--fit <term,...>', 'with --from-run: host terms to fit (hostPerStep, hostPerRequest, dpSyncIntraNode, dpSyncInterNode; default: those the runs determine)')
    .option('--speed <x>', "with --from-run: the emulator's --speed of the runs (default: recorded in the log, else 1)")
    .option('--seed <n>', 'with --from-run: the vllm bench --seed, to rebuild send times of a JSON without start_times (default 0)')
    .option('--router <name>', 'with --from-run: the router of the measured deployment (default vllm_default)')
    .option('--max-batched-tokens <n>', "with --from-run: the deployment's max_num_batched_tokens (default: recorded, else the scenario default)")
    .option('--kv-capacity <tokens>', 'with --from-run: KV capacity per rank (default: recorded num_gpu_blocks x block_size, else the model)')
    .option('--ranks-per-node <n>', 'with --from-run: GPUs per node, which DP sizes pay dpSyncInterNode (default 8)')
    .option('--async-scheduling <mode>', "with --from-run: on, off or auto (the model's); default: the run's resolved config when recorded, else auto")
    .action((profile, opts) => calibrateCommand(profile, opts));
}
