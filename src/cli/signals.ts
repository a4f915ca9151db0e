// What an interrupted command leaves behind: no temporary files. On SIGINT, SIGTERM or SIGHUP the
// unfinished outputs are removed and the process exits with 128 + the signal number; on any
// other exit (an error, process.exit) the same clean-up runs from the `exit` event.
import { cleanupTemporaryFiles } from '../formats/outputFile.ts';

const SIGNALS = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const;

let installed = false;

/** Install the clean-up handlers once per process (commands that write files call this first). */
export function installSignalCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    cleanupTemporaryFiles();
  });
  for (const [signal, code] of SIGNALS) {
    process.on(signal, () => {
      // Handlers run between JavaScript tasks, never inside a synchronous block: the renames
      // that put a command's outputs in place (commitAll) are never split by a signal.
      const removed = cleanupTemporaryFiles();
      process.stderr.write(
        `\nbalanceroute: interrupted by ${signal}; ${removed > 0 ? `removed ${removed} unfinished output file${removed === 1 ? '' : 's'}` : 'no unfinished output to remove'}\n`,
      );
      process.exit(code);
    });
  }
}
