// The output side of `run`: one configuration, its result row and optional time series, with
// the same path checks, fingerprint and all-or-nothing commit as `sweep`.
import { sweepFingerprint } from '../config/fingerprint.ts';
import type { Scenario } from '../config/scenario.ts';
import type { Engine, EngineInfo, RunResult } from '../engine/types.ts';
import { planOutputs } from './outputPath.ts';
import { installSignalCleanup } from './signals.ts';
import { simulateToFiles } from './simulateToFiles.ts';
import { scenarioInputs } from './sweepOutput.ts';

export async function runOneToFiles(
  scenario: Scenario,
  paths: { output?: string; timeseries?: string },
  engine: Engine,
  version: string,
): Promise<{ result: RunResult; engine: EngineInfo }> {
  installSignalCleanup();
  const outputs = planOutputs(paths, scenarioInputs([scenario]));
  try {
    const s = await simulateToFiles({
      scenarios: [scenario],
      engine,
      outputs,
      meta: { sweepName: 'run', version, fingerprint: sweepFingerprint([scenario]), configurations: 1 },
      log: (line) => process.stderr.write(line + '\n'),
      keepUpTo: 1,
    });
    return { result: s.kept[0], engine: engine.info };
  } finally {
    await engine.close();
  }
}
