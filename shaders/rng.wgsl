// PCG-RXS-M-XS 32-bit, bit-identical to src/workload/rng.ts (pcgStep, pcgOutput, uniformBelow).
// Router RNG states are seeded on the host with the router's own init(), so only the stepping
// and the output permutation live here.

fn pcgStep(s: u32) -> u32 {
  return s * 747796405u + 2891336453u;
}

fn pcgOutput(s: u32) -> u32 {
  let word = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (word >> 22u) ^ word;
}

/// Map a u32 to [0, n) by multiply-shift (Lemire) in 16-bit halves, exactly as the host does.
fn uniformBelow(u: u32, n: u32) -> u32 {
  let hi = u >> 16u;
  let lo = u & 0xffffu;
  return (hi * n + ((lo * n) >> 16u)) >> 16u;
}
