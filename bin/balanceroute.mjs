#!/usr/bin/env node
// Entry point: the compiled CLI in dist/ (built by `npm run build`, which `prepare` runs on
// install from a checkout and before `npm pack`).
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv);
