// Failure is loud (issue 3, item 5): a broken or sabotaged kernel fails the run with an error naming
// the kernel and the chunk — it never returns rows of zeros — and the device is destroyed.
import { describe, expect, it } from 'vitest';
import { GpuEngine } from '../../src/engine/gpu/gpuEngine.ts';
import { webgpuGlobals } from '../../src/engine/gpu/adapter.ts';
import { resolveRouterParams } from '../../src/routers/index.ts';
import { makeScenario } from '../helpers.ts';
import { describeGpu, probe } from './gpuAvailable.ts';

const scenarios = ['jsq_load', 'brh', 'round_robin'].map((router, index) => ({
  ...makeScenario({ router, routerParams: resolveRouterParams(router, {}), dp: 4, workload: { rate: 8, requests: 30, seed: 7 } }),
  index,
}));

/** Run with the simulation module's source rewritten; return the rejection. */
async function runBroken(rewrite: (src: string) => string): Promise<{ error: Error; destroyed: number }> {
  const GPUDevice = (webgpuGlobals() as unknown as { GPUDevice: { prototype: { destroy: () => void } } }).GPUDevice;
  const original = GPUDevice.prototype.destroy;
  let destroyed = 0;
  GPUDevice.prototype.destroy = function (this: unknown) {
    destroyed++;
    return original.call(this);
  };
  const engine = await GpuEngine.create({ probe, shaderOverride: (_module, src) => rewrite(src) });
  try {
    await engine.run(scenarios);
  } catch (e) {
    return { error: e as Error, destroyed };
  } finally {
    GPUDevice.prototype.destroy = original;
    await engine.close();
  }
  throw new Error('the run with a broken kernel succeeded');
}

function replaceOnce(src: string, from: string, to: string): string {
  expect(src).toContain(from);
  return src.replace(from, to);
}

describeGpu('WebGPU engine failures are loud', () => {
  it('a shader that does not compile fails the run, naming the kernel and the chunk', async () => {
    const { error, destroyed } = await runBroken((src) => src + '\nfn broken( {\n');
    expect(error.name).toBe('GpuError');
    expect(error.message).toMatch(/kernel simulate\.wgsl.*chunk 1 of 1 \(3 configurations\).*shader compilation failed/);
    expect(destroyed).toBe(1);
  }, 60_000);

  it('a kernel that type-checks but does not validate fails the same way', async () => {
    const { error } = await runBroken((src) => replaceOnce(src, 'atomicAdd(&control[CTL_RAN], 1u);', 'atomicAdd(&control[CTL_RAN], 1.5);'));
    expect(error.message).toMatch(/kernel simulate\.wgsl.*chunk 1 of 1.*shader compilation failed/);
  }, 60_000);

  it('a dispatch that does not run (no invocation reports in) fails the run', async () => {
    const { error, destroyed } = await runBroken((src) => replaceOnce(src, 'atomicAdd(&control[CTL_RAN], 1u);', ''));
    expect(error.message).toMatch(/kernel simulate\.wgsl:simulateSteps.*chunk 1 of 1.*0 of 3 invocations ran/);
    expect(destroyed).toBe(1);
  }, 60_000);

  it('a kernel that claims to be done without simulating never yields rows of zeros', async () => {
    const { error } = await runBroken((src) => replaceOnce(src, 'if (iterate()) {', 'if (true) {'));
    expect(error.message).toMatch(/kernel simulate\.wgsl:simulateSteps.*chunk 1 of 1.*configuration \d+ .*request 0 ended in state 0/);
  }, 60_000);

  it('a kernel whose totals disagree with its per-request outcomes fails the run', async () => {
    const { error } = await runBroken((src) => replaceOnce(src, '  completed = completed + 1u;', '  failedRejected = failedRejected + 1u;'));
    expect(error.message).toMatch(/kernel simulate\.wgsl:simulateSteps.*chunk 1 of 1.*configuration \d+ .*totals disagree/);
  }, 60_000);

  it('a run that stalls is reported per configuration', async () => {
    // Routed requests never reach a waiting queue: nothing is runnable and no arrival is left.
    const { error } = await runBroken((src) => replaceOnce(src, '  pushWaitingTail(g, r);\n  setRk(K_INFLIGHT', '  setRk(K_INFLIGHT'));
    expect(error.message).toMatch(/simulateSteps.*chunk 1 of 1.*configuration \d+ .*stalled/);
  }, 60_000);
});

describe('WebGPU engine without an adapter', () => {
  it('GpuEngine.create fails with the probe reason', async () => {
    const none = { adapter: null, gpu: null, name: '', isFallback: false, reason: 'no WebGPU adapter found (test)', swiftShaderIcd: null };
    await expect(GpuEngine.create({ probe: none })).rejects.toThrow('no WebGPU adapter found (test)');
  });
});
