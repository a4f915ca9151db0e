import { ROUTERS } from '../routers/index.ts';
import { listPresets, resolveStepModel } from '../model/presets.ts';
import { HOST_STEP_COEFFICIENTS } from '../model/types.ts';
import { listProfiles } from '../workload/profiles.ts';

export function routersCommand(opts: { json?: boolean }): void {
  const routers = Object.values(ROUTERS);
  if (opts.json) {
    process.stdout.write(JSON.stringify(routers.map((r) => ({ name: r.name, description: r.description, knobs: r.knobs })), null, 2) + '\n');
    return;
  }
  const out: string[] = [];
  for (const r of routers) {
    out.push(`${r.name}  ${r.description}`);
    for (const k of r.knobs) {
      const range =
        k.kind === 'enum'
          ? `one of ${k.values?.join('|')}`
          : `${k.kind}${k.min !== undefined ? ` >= ${k.min}` : ''}${k.max !== undefined ? ` <= ${k.max}` : ''}${k.values?.length ? `, or ${k.values.join('|')}` : ''}`;
      out.push(`    ${k.name} = ${k.default}  (${range})  ${k.description}`);
    }
  }
  out.push('', 'Set knobs with `run -k name=value` or in a sweep: router: [{name: br0, b: [4, 8, 16]}]. See docs/routers.md.');
  process.stdout.write(out.join('\n') + '\n');
}

/** Picoseconds as µs for the listing (the host terms are whole or near-whole µs). */
function fmtUs(ps: number): string {
  return `${+(ps / 1e6).toFixed(3)}µs`;
}

export function presetsCommand(opts: { json?: boolean }): void {
  const presets = listPresets().map((p) => {
    const m = resolveStepModel(p.name);
    return {
      name: p.name,
      description: p.description,
      coefficients_ps: p.coefficients,
      // The host terms (docs/model.md §5), every one listed, 0 where the preset leaves it out.
      host_terms_ps: Object.fromEntries(HOST_STEP_COEFFICIENTS.map((k) => [k, m[k]])),
      async_scheduling: m.asyncScheduling,
      frontend_us: m.frontend ?? { ingressUs: 0, egressUs: 0, perTokenUs: 0 },
      max_model_len: p.maxModelLen,
      kv_capacity_tokens: Object.fromEntries([1, 2, 4, 8, 16, 32, 64].map((g) => [`dp${g}`, m.kvCapacityTokens(g)])),
    };
  });
  const profiles = listProfiles();
  if (opts.json) {
    process.stdout.write(JSON.stringify({ presets, workloads: profiles }, null, 2) + '\n');
    return;
  }
  const out: string[] = ['Step-time presets (--model NAME, or --model FILE.json; see docs/model.md):'];
  for (const p of presets) {
    out.push(`  ${p.name}  ${p.description}`);
    out.push(`      max_model_len ${p.max_model_len}; KV capacity per rank: ${Object.entries(p.kv_capacity_tokens).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    const host = new Set<string>(HOST_STEP_COEFFICIENTS);
    out.push(`      coefficients (ps): ${Object.entries(p.coefficients_ps).filter(([k]) => !host.has(k)).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    out.push(
      `      host terms: ${Object.entries(p.host_terms_ps).map(([k, v]) => `${k}=${fmtUs(v)}`).join(' ')}; async scheduling ${p.async_scheduling ? 'on' : 'off'}; ` +
        `front end: ${Object.entries(p.frontend_us).map(([k, v]) => `${k}=${v}`).join(' ')}`,
    );
  }
  out.push('', 'Workload profiles (--workload NAME; see docs/workloads.md):');
  for (const w of profiles) out.push(`  ${w.name}  ${w.description}`);
  process.stdout.write(out.join('\n') + '\n');
}
