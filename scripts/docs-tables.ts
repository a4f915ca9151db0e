// Regenerate the option tables of docs/sweeps.md from src/config/schema.ts:
//   npx tsx scripts/docs-tables.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withGeneratedTables } from '../src/config/docTables.ts';

const file = fileURLToPath(new URL('../docs/sweeps.md', import.meta.url));
const before = readFileSync(file, 'utf8');
const after = withGeneratedTables(before);
if (after !== before) writeFileSync(file, after);
process.stdout.write(after === before ? 'docs/sweeps.md is up to date\n' : 'docs/sweeps.md updated\n');
