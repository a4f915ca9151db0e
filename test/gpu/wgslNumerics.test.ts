// The integer building blocks of the kernels, run on the adapter and checked against BigInt and
// the host's PCG: 64-bit add/sub/compare/multiply/shift, floor division by 10^6 (step times), and
// the router RNG. These are what make integer-scored routers bit-exact.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readShader } from '../../src/engine/gpu/shaderSource.ts';
import { webgpuGlobals } from '../../src/engine/gpu/adapter.ts';
import { Rng, pcgOutput, pcgStep, uniformBelow } from '../../src/rng.ts';
import { describeGpu, probe } from './gpuAvailable.ts';

const OUT = 12; // words out per case
const KERNEL = `
@group(0) @binding(0) var<storage, read> inp: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (4u * i + 3u >= arrayLength(&inp)) { return; }
  let a = U64(inp[4u * i], inp[4u * i + 1u] & 0x1fffffu); // < 2^53
  let b = inp[4u * i + 2u];
  let n = max(1u, inp[4u * i + 3u] & 0xfffu);
  let p = mul32x32(a.x, b);
  let q = div64by1e6(a);
  let s = add64(a, U64(b, 0u));
  let m = mul64x32(U64(a.x, a.y & 0x3ffu), b & 0x3fffffu);
  let o = 12u * i;
  out[o] = p.x; out[o + 1u] = p.y;
  out[o + 2u] = q.x; out[o + 3u] = q.y;
  out[o + 4u] = s.x; out[o + 5u] = s.y;
  out[o + 6u] = m.x; out[o + 7u] = m.y;
  out[o + 8u] = select(0u, 1u, lt64(a, s)) | select(0u, 2u, eq64(sub64(s, U64(b, 0u)), a)) | select(0u, 4u, le64(a, a));
  out[o + 9u] = pcgStep(b);
  out[o + 10u] = pcgOutput(b);
  out[o + 11u] = uniformBelow(pcgOutput(b), n);
}
`;

describeGpu('WGSL integer numerics', () => {
  let device: GPUDevice;
  let result: Uint32Array;
  const cases = 4096;
  const inp = new Uint32Array(4 * cases);

  beforeAll(async () => {
    const rng = new Rng(12345, 1);
    for (let i = 0; i < inp.length; i++) inp[i] = rng.nextU32();
    // Edge cases: zeros, all-ones words, values around multiples of 10^6.
    inp.set([0, 0, 0, 1, 0xffffffff, 0x1fffff, 0xffffffff, 4095, 999999, 0, 1, 7, 1000000, 0, 0xffff, 64]);
    const adapter = (await probe.gpu!.requestAdapter())!;
    device = await adapter.requestDevice();
    const { GPUBufferUsage: U, GPUMapMode } = webgpuGlobals();
    const module = device.createShaderModule({ code: readShader('u64.wgsl') + readShader('rng.wgsl') + KERNEL });
    const info = await module.getCompilationInfo();
    expect(info.messages.filter((m) => m.type === 'error').map((m) => m.message)).toEqual([]);
    const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const a = device.createBuffer({ size: inp.byteLength, usage: U.STORAGE | U.COPY_DST });
    const b = device.createBuffer({ size: OUT * 4 * cases, usage: U.STORAGE | U.COPY_SRC });
    const r = device.createBuffer({ size: OUT * 4 * cases, usage: U.MAP_READ | U.COPY_DST });
    device.queue.writeBuffer(a, 0, inp);
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: a } }, { binding: 1, resource: { buffer: b } }] }));
    pass.dispatchWorkgroups(cases / 64);
    pass.end();
    enc.copyBufferToBuffer(b, 0, r, 0, OUT * 4 * cases);
    device.queue.submit([enc.finish()]);
    await r.mapAsync(GPUMapMode.READ);
    result = new Uint32Array(r.getMappedRange().slice(0));
    r.unmap();
  }, 120_000);

  afterAll(() => device?.destroy());

  const u64 = (lo: number, hi: number) => (BigInt(hi) << 32n) | BigInt(lo);
  const each = (check: (i: number, a: bigint, b: number, n: number, o: number) => void) => {
    for (let i = 0; i < cases; i++) {
      const a = u64(inp[4 * i], inp[4 * i + 1] & 0x1fffff);
      check(i, a, inp[4 * i + 2], Math.max(1, inp[4 * i + 3] & 0xfff), OUT * i);
    }
  };
  const word = (o: number) => u64(result[o], result[o + 1]);

  it('multiplies u32 x u32 into 64 bits exactly', () => {
    each((_i, a, b, _n, o) => expect(word(o)).toBe((a & 0xffffffffn) * BigInt(b)));
  });

  it('divides by 10^6 exactly (floor) below 2^53', () => {
    each((_i, a, _b, _n, o) => expect(word(o + 2)).toBe(a / 1000000n));
  });

  it('adds, subtracts, compares and multiplies 64-bit values', () => {
    each((_i, a, b, _n, o) => {
      expect(word(o + 4)).toBe(a + BigInt(b));
      const small = (a & 0xffffffffn) | (((a >> 32n) & 0x3ffn) << 32n);
      expect(word(o + 6)).toBe((small * BigInt(b & 0x3fffff)) & 0xffffffffffffffffn);
      expect(result[o + 8]).toBe((a < a + BigInt(b) ? 1 : 0) | 2 | 4);
    });
  });

  it('steps PCG and maps to [0, n) exactly as the host', () => {
    each((_i, _a, b, n, o) => {
      expect(result[o + 9]).toBe(pcgStep(b));
      expect(result[o + 10]).toBe(pcgOutput(b));
      expect(result[o + 11]).toBe(uniformBelow(pcgOutput(b), n));
    });
  });
});
