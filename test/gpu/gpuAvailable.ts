// Whether the GPU tests can run here. With CI=true a missing adapter is a failure, never a skip
// (.ci/run installs SwiftShader); elsewhere the GPU tests skip with one line saying how to enable them.
import { describe, it } from 'vitest';
import { probeAdapter, type AdapterProbe } from '../../src/engine/gpu/adapter.ts';

export const probe: AdapterProbe = await probeAdapter();

export const hasAdapter = probe.adapter !== null;

export const onCi = process.env.CI === 'true' || process.env.CI === '1';

export const SKIP_LINE =
  'GPU tests skipped: no WebGPU adapter (install chromium-common for SwiftShader: apt-get install -y --no-install-recommends chromium-common libvulkan1)';

/**
 * `describe` for tests that need a WebGPU adapter. Without one: under CI a failing test,
 * otherwise skipped — and `announce` prints the one line that says how to enable them.
 */
export function describeGpu(name: string, fn: () => void, opts: { announce?: boolean } = {}): void {
  if (hasAdapter) {
    describe(name, fn);
    return;
  }
  if (onCi) {
    describe(name, () => {
      it('has a WebGPU adapter (CI=true requires one: .ci/run installs SwiftShader)', () => {
        throw new Error(`CI=true but ${probe.reason}`);
      });
    });
    return;
  }
  if (opts.announce) process.stderr.write(`${SKIP_LINE}\n`);
  describe.skip(name, fn);
}
