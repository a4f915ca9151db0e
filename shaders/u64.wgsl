// 64-bit unsigned integers as vec2<u32> (x = low word, y = high word). WGSL has no 64-bit
// integers and no f64; the clock, step times in picoseconds and the run's totals need more than
// 32 bits, and they must be exact so that both engines take the same decisions (docs/gpu.md,
// "Numerics"). Everything here is plain u32 arithmetic, identical on every adapter.

alias U64 = vec2<u32>;

fn u64of(lo: u32) -> U64 {
  return U64(lo, 0u);
}

fn add64(a: U64, b: U64) -> U64 {
  let lo = a.x + b.x;
  return U64(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

fn add64u(a: U64, b: u32) -> U64 {
  let lo = a.x + b;
  return U64(lo, a.y + select(0u, 1u, lo < a.x));
}

/// a - b for a >= b.
fn sub64(a: U64, b: U64) -> U64 {
  return U64(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));
}

fn lt64(a: U64, b: U64) -> bool {
  return a.y < b.y || (a.y == b.y && a.x < b.x);
}

fn le64(a: U64, b: U64) -> bool {
  return !lt64(b, a);
}

fn eq64(a: U64, b: U64) -> bool {
  return a.x == b.x && a.y == b.y;
}

fn max64(a: U64, b: U64) -> U64 {
  return select(a, b, lt64(a, b));
}

fn min64(a: U64, b: U64) -> U64 {
  return select(a, b, lt64(b, a));
}

/// Full product of two u32 as a U64 (16-bit limbs, no overflow anywhere).
fn mul32x32(a: u32, b: u32) -> U64 {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu); // < 3 * 2^16
  let lo = (p00 & 0xffffu) | (mid << 16u);
  let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
  return U64(lo, hi);
}

/// a * b modulo 2^64 (exact whenever the true product is below 2^64).
fn mul64x32(a: U64, b: u32) -> U64 {
  var p = mul32x32(a.x, b);
  p.y = p.y + a.y * b;
  return p;
}

/// a >> k for 0 < k < 32.
fn shr64(a: U64, k: u32) -> U64 {
  return U64((a.x >> k) | (a.y << (32u - k)), a.y >> k);
}

/// floor(a / 10^6): floor(floor(a / 64) / 15625), the second by long division in 16-bit limbs
/// (remainder < 15625 < 2^14, so every partial dividend stays below 2^30).
fn div64by1e6(a: U64) -> U64 {
  let x = shr64(a, 6u);
  let d = 15625u;
  var cur = x.y >> 16u;
  let q3 = cur / d;
  var r = cur % d;
  cur = (r << 16u) | (x.y & 0xffffu);
  let q2 = cur / d;
  r = cur % d;
  cur = (r << 16u) | (x.x >> 16u);
  let q1 = cur / d;
  r = cur % d;
  cur = (r << 16u) | (x.x & 0xffffu);
  let q0 = cur / d;
  return U64((q1 << 16u) | q0, (q3 << 16u) | q2);
}

/// Nearest f32 of a U64 (for float-scored routers and the load-balance ratios only).
fn f32of64(a: U64) -> f32 {
  return f32(a.y) * 4294967296.0 + f32(a.x);
}

/// A non-negative f32 truncated to an integer, as a U64 (values below 2^64).
fn u64ofF32(v: f32) -> U64 {
  let hi = floor(v / 4294967296.0);
  let lo = v - hi * 4294967296.0;
  return U64(u32(lo), u32(hi));
}
