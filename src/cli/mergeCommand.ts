import { mergeResultFiles } from '../results/merge.ts';
import { installSignalCleanup } from './signals.ts';

export async function mergeCommand(inputs: string[], flags: { output: string; allowPartial?: boolean }): Promise<void> {
  installSignalCleanup();
  const m = await mergeResultFiles(inputs, flags.output, { allowPartial: flags.allowPartial });
  if (m.missingShards.length > 0) process.stderr.write(`warning: partial merge; missing shard${m.missingShards.length === 1 ? '' : 's'} ${m.missingShards.join(', ')}\n`);
  else if (m.missingConfigurations > 0) process.stderr.write(`warning: partial merge; ${m.missingConfigurations} configuration${m.missingConfigurations === 1 ? '' : 's'} of the sweep missing\n`);
  const files = `${inputs.length} file${inputs.length === 1 ? '' : 's'}`;
  process.stderr.write(`merged ${files}, ${m.rows} row${m.rows === 1 ? '' : 's'} -> ${flags.output}\n`);
}
