// The CLI from its TypeScript sources, for tests (test/cli/cli.ts runs it under tsx); the
// package's bin runs the compiled dist/ instead (scripts/pack-smoke.sh checks that one).
import { main } from '../../src/cli.ts';

process.exitCode = await main(process.argv);
