import { mergeResultFiles } from '../io/merge.ts';

export async function mergeCommand(inputs: string[], flags: { output: string }): Promise<void> {
  const rows = await mergeResultFiles(inputs, flags.output);
  process.stderr.write(`merged ${inputs.length} files, ${rows} rows -> ${flags.output}\n`);
}
