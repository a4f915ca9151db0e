// `balanceroute capacity`: its arguments, flags and help; the command itself is in the module the action calls.
import { Option, type Command } from 'commander';
import { capacityCommand } from '../capacityCommand.ts';

export function register(program: Command): void {
  program
    .command('capacity')
    .description('largest request rate meeting a latency SLO, per configuration of a sweep (rate is searched)')
    .argument('<sweep>', 'sweep file without a rate axis (.yaml, .yml or .json)')
    .requiredOption('--slo <metric=bound,...>', 'upper bounds on result columns, e.g. ttft_p95_ms=2000,tpot_p95_ms=100[,failed_frac=0.01]')
    .requiredOption('-o, --output <file.arrow>', 'capacity file (one row per configuration)')
    .option('--min-rate <req/s>', 'lower end of the search (with --max-rate: a grid from min to max; default: walk from the sweep rate)')
    .option('--max-rate <req/s>', 'upper end of the search')
    .option('--tolerance <x%>', 'relative width of the final rate bracket', '1%')
    .option('--window <s|base|fixed>', 'seconds of arrivals per evaluation (requests = rate × window); base: the sweep\'s requests / rate; fixed: same requests at every rate', 'base')
    .addOption(new Option('--engine <engine>', 'simulation engine').choices(['cpu', 'gpu', 'auto']).default('auto'))
    .option('--threads <n>', 'worker threads for the CPU engine (default: all cores)')
    .option('--no-early-stop', 'simulate every evaluation to its end (default: stop one once its SLO miss is certain; same results)')
    .option('-q, --quiet', 'no progress or summary')
    .action(async (file, opts) => {
      await capacityCommand(file, opts);
    });
}
