#!/usr/bin/env node
// Entry point: the compiled CLI in dist/ (built by `npm run build`, which `prepare` runs on
// install from a checkout and before `npm pack`).
let cli;
try {
  cli = await import('../dist/cli.js');
} catch (e) {
  // A checkout whose dist/ was never built (or was deleted): say what to do in one line.
  if (e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('/dist/cli.js')) {
    process.stderr.write('balanceroute: the compiled CLI (dist/) is missing; run `npm run build` first\n');
    process.exit(1);
  }
  throw e;
}
process.exitCode = await cli.main(process.argv);
