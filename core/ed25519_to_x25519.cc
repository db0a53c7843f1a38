// SPDX-License-Identifier: Apache-2.0
// Ed25519PublicToX25519 (declared in core/crypto_dh.h): decodes an Ed25519
// public key (RFC 8032 §5.1.3), checks it is a point of the prime-order
// subgroup, and maps it to the Montgomery u = (1 + y) / (1 - y) (RFC 7748
// §4.1). OpenSSL exposes no field arithmetic, so this file carries a small
// GF(2^255 - 19) in radix 2^51. Everything here handles PUBLIC keys only and is
// variable-time on purpose; never pass it secrets. Also the bounded cache of
// converted keys behind Ed25519PublicToX25519Cached.
#include <array>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "core/crypto_dh.h"

namespace kt::core {
namespace {

__extension__ typedef unsigned __int128 u128;  // GCC/Clang 128-bit products
constexpr uint64_t kMask51 = (uint64_t{1} << 51) - 1;

// The field operations are forced inline: they are small, and the point
// formulas call them thousands of times per conversion (callgrind: -10% of
// the instructions of a conversion against out-of-line calls).

// Fe is a field element: sum v[i] * 2^(51 i). Limbs stay below 2^52 between
// operations (every operation ends with Carry).
struct Fe {
  uint64_t v[5];
};

constexpr Fe FeSmall(uint64_t x) { return Fe{{x, 0, 0, 0, 0}}; }

inline __attribute__((always_inline)) void Carry(Fe& a) {
  for (int i = 0; i < 4; i++) {
    a.v[i + 1] += a.v[i] >> 51;
    a.v[i] &= kMask51;
  }
  uint64_t c = a.v[4] >> 51;
  a.v[4] &= kMask51;
  a.v[0] += 19 * c;  // 2^255 = 19 (mod p)
  a.v[1] += a.v[0] >> 51;
  a.v[0] &= kMask51;
}

inline __attribute__((always_inline)) Fe Add(const Fe& a, const Fe& b) {
  Fe r;
  for (int i = 0; i < 5; i++) r.v[i] = a.v[i] + b.v[i];
  Carry(r);
  return r;
}

// Sub computes a + 4p - b so that no limb underflows (b's limbs are < 2^52).
inline __attribute__((always_inline)) Fe Sub(const Fe& a, const Fe& b) {
  constexpr uint64_t k4p0 = 4 * (kMask51 - 18);  // 4 * (2^51 - 19)
  constexpr uint64_t k4pi = 4 * kMask51;         // 4 * (2^51 - 1)
  Fe r;
  r.v[0] = a.v[0] + k4p0 - b.v[0];
  for (int i = 1; i < 5; i++) r.v[i] = a.v[i] + k4pi - b.v[i];
  Carry(r);
  return r;
}

// Reduce carries five 128-bit column sums into limbs < 2^52 (inputs with
// limbs < 2^52 give sums < 2^111).
inline __attribute__((always_inline)) Fe Reduce(u128 r0, u128 r1, u128 r2, u128 r3, u128 r4) {
  Fe out;
  r1 += static_cast<uint64_t>(r0 >> 51);
  out.v[0] = static_cast<uint64_t>(r0) & kMask51;
  r2 += static_cast<uint64_t>(r1 >> 51);
  out.v[1] = static_cast<uint64_t>(r1) & kMask51;
  r3 += static_cast<uint64_t>(r2 >> 51);
  out.v[2] = static_cast<uint64_t>(r2) & kMask51;
  r4 += static_cast<uint64_t>(r3 >> 51);
  out.v[3] = static_cast<uint64_t>(r3) & kMask51;
  const uint64_t c = static_cast<uint64_t>(r4 >> 51);  // < 2^56: r4 < 2^107
  out.v[4] = static_cast<uint64_t>(r4) & kMask51;
  out.v[0] += 19 * c;
  out.v[1] += out.v[0] >> 51;
  out.v[0] &= kMask51;
  return out;
}

// Mul is schoolbook multiplication; limbs above 2^255 fold back times 19.
inline __attribute__((always_inline)) Fe Mul(const Fe& a, const Fe& b) {
  const uint64_t b1 = 19 * b.v[1], b2 = 19 * b.v[2], b3 = 19 * b.v[3], b4 = 19 * b.v[4];
  const uint64_t* x = a.v;
  const uint64_t* y = b.v;
  return Reduce((u128)x[0] * y[0] + (u128)x[1] * b4 + (u128)x[2] * b3 + (u128)x[3] * b2 +
                    (u128)x[4] * b1,
                (u128)x[0] * y[1] + (u128)x[1] * y[0] + (u128)x[2] * b4 + (u128)x[3] * b3 +
                    (u128)x[4] * b2,
                (u128)x[0] * y[2] + (u128)x[1] * y[1] + (u128)x[2] * y[0] + (u128)x[3] * b4 +
                    (u128)x[4] * b3,
                (u128)x[0] * y[3] + (u128)x[1] * y[2] + (u128)x[2] * y[1] + (u128)x[3] * y[0] +
                    (u128)x[4] * b4,
                (u128)x[0] * y[4] + (u128)x[1] * y[3] + (u128)x[2] * y[2] + (u128)x[3] * y[1] +
                    (u128)x[4] * y[0]);
}

// Sq is Mul(a, a) with the symmetric products merged (15 products, not 25).
inline __attribute__((always_inline)) Fe Sq(const Fe& a) {
  const uint64_t a0 = a.v[0], a1 = a.v[1], a2 = a.v[2], a3 = a.v[3], a4 = a.v[4];
  const uint64_t d0 = 2 * a0, d1 = 2 * a1, d2 = 2 * a2, d3 = 2 * a3;
  const uint64_t a3_19 = 19 * a3, a4_19 = 19 * a4;
  return Reduce((u128)a0 * a0 + (u128)d1 * a4_19 + (u128)d2 * a3_19,
                (u128)d0 * a1 + (u128)d2 * a4_19 + (u128)a3 * a3_19,
                (u128)d0 * a2 + (u128)a1 * a1 + (u128)d3 * a4_19,
                (u128)d0 * a3 + (u128)d1 * a2 + (u128)a4 * a4_19,
                (u128)d0 * a4 + (u128)d1 * a3 + (u128)a2 * a2);
}

// SqTimes returns a^(2^k).
Fe SqTimes(Fe a, int k) {
  for (int i = 0; i < k; i++) a = Sq(a);
  return a;
}

// Pow2To250Minus1 returns z^(2^250 - 1) and sets *z11 = z^11 (the ref10
// addition chain shared by inversion and the square root).
Fe Pow2To250Minus1(const Fe& z, Fe* z11) {
  const Fe z2 = Sq(z);
  const Fe z9 = Mul(SqTimes(z2, 2), z);
  *z11 = Mul(z9, z2);
  const Fe z_5_0 = Mul(Sq(*z11), z9);                 // 2^5 - 1
  const Fe z_10_0 = Mul(SqTimes(z_5_0, 5), z_5_0);    // 2^10 - 1
  const Fe z_20_0 = Mul(SqTimes(z_10_0, 10), z_10_0); // 2^20 - 1
  const Fe z_40_0 = Mul(SqTimes(z_20_0, 20), z_20_0); // 2^40 - 1
  const Fe z_50_0 = Mul(SqTimes(z_40_0, 10), z_10_0); // 2^50 - 1
  const Fe z_100_0 = Mul(SqTimes(z_50_0, 50), z_50_0);
  const Fe z_200_0 = Mul(SqTimes(z_100_0, 100), z_100_0);
  return Mul(SqTimes(z_200_0, 50), z_50_0);           // 2^250 - 1
}

// Pow returns a^e for a 256-bit little-endian exponent (square-and-multiply).
Fe Pow(const Fe& a, const std::array<uint8_t, 32>& e) {
  Fe r = FeSmall(1);
  for (int bit = 255; bit >= 0; bit--) {
    r = Sq(r);
    if ((e[static_cast<size_t>(bit / 8)] >> (bit % 8)) & 1) r = Mul(r, a);
  }
  return r;
}

// LittleEndian(low, fill, high): the exponent bytes low, fill x 30, high.
constexpr std::array<uint8_t, 32> Exponent(uint8_t low, uint8_t high) {
  std::array<uint8_t, 32> e{};
  e[0] = low;
  for (size_t i = 1; i < 31; i++) e[i] = 0xff;
  e[31] = high;
  return e;
}
constexpr auto kPMinus1Over4 = Exponent(0xfb, 0x1f);  // (p - 1) / 4 = 2^253 - 5

// Invert returns a^(p - 2) = a^(2^255 - 21) = 1 / a (Fermat; a != 0).
Fe Invert(const Fe& a) {
  Fe z11;
  const Fe t = Pow2To250Minus1(a, &z11);
  return Mul(SqTimes(t, 5), z11);
}

// PowP58 returns a^((p - 5) / 8) = a^(2^252 - 3), for the square root.
Fe PowP58(const Fe& a) {
  Fe z11;
  const Fe t = Pow2To250Minus1(a, &z11);
  return Mul(SqTimes(t, 2), a);
}

// ToBytes writes the canonical (fully reduced) little-endian encoding.
std::array<uint8_t, 32> ToBytes(const Fe& a) {
  Fe t = a;
  Carry(t);
  Carry(t);  // value < 2^255 + 2^52, limbs < 2^52
  uint64_t w[4] = {0, 0, 0, 0};
  u128 acc = 0;
  int acc_bits = 0;
  size_t wi = 0;
  for (int i = 0; i < 5; i++) {
    acc += static_cast<u128>(t.v[i]) << acc_bits;
    acc_bits += 51;
    while (acc_bits >= 64 && wi < 4) {
      w[wi++] = static_cast<uint64_t>(acc);
      acc >>= 64;
      acc_bits -= 64;
    }
  }
  w[3] = static_cast<uint64_t>(acc);
  // Subtract p while value >= p (at most twice since value < 2^256 / 2).
  static constexpr uint64_t kP[4] = {0xffffffffffffffedULL, ~0ULL, ~0ULL, 0x7fffffffffffffffULL};
  for (int round = 0; round < 2; round++) {
    bool ge = true;
    for (int i = 3; i >= 0; i--) {
      if (w[i] != kP[i]) {
        ge = w[i] > kP[i];
        break;
      }
    }
    if (!ge) break;
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
      u128 d = static_cast<u128>(w[i]) - kP[i] - borrow;
      w[i] = static_cast<uint64_t>(d);
      borrow = static_cast<uint64_t>(d >> 64) & 1;
    }
  }
  std::array<uint8_t, 32> out;
  for (size_t i = 0; i < 32; i++) out[i] = static_cast<uint8_t>(w[i / 8] >> (8 * (i % 8)));
  return out;
}

// FromBytes reads 255 bits little-endian (the top bit is ignored).
Fe FromBytes(const uint8_t* b) {
  uint64_t w[4];
  for (size_t i = 0; i < 4; i++) {
    w[i] = 0;
    for (size_t j = 0; j < 8; j++) w[i] |= static_cast<uint64_t>(b[8 * i + j]) << (8 * j);
  }
  Fe r;
  r.v[0] = w[0] & kMask51;
  r.v[1] = ((w[0] >> 51) | (w[1] << 13)) & kMask51;
  r.v[2] = ((w[1] >> 38) | (w[2] << 26)) & kMask51;
  r.v[3] = ((w[2] >> 25) | (w[3] << 39)) & kMask51;
  r.v[4] = (w[3] >> 12) & kMask51;
  return r;
}

bool Equal(const Fe& a, const Fe& b) { return ToBytes(a) == ToBytes(b); }
bool IsZero(const Fe& a) { return ToBytes(a) == std::array<uint8_t, 32>{}; }
bool IsOdd(const Fe& a) { return (ToBytes(a)[0] & 1) != 0; }
Fe Neg(const Fe& a) { return Sub(FeSmall(0), a); }

// IsCanonical reports whether the 255-bit little-endian y is < p.
bool IsCanonical(const uint8_t* b) {
  if ((b[31] & 0x7f) != 0x7f) return true;
  for (size_t i = 30; i >= 1; i--) {
    if (b[i] != 0xff) return true;
  }
  return b[0] < 0xed;
}

struct Constants {
  Fe d;         // -121665 / 121666, the Edwards curve constant (RFC 8032 §5.1)
  Fe d2;        // 2d
  Fe sqrt_m1;   // 2^((p-1)/4), a square root of -1
};
const Constants& Curve() {
  static const Constants c = [] {
    Constants k;
    k.d = Mul(Neg(FeSmall(121665)), Invert(FeSmall(121666)));
    k.d2 = Add(k.d, k.d);
    k.sqrt_m1 = Pow(FeSmall(2), kPMinus1Over4);
    return k;
  }();
  return c;
}

// Point is an extended twisted-Edwards point (X : Y : Z : T), x = X/Z,
// y = Y/Z, x y = T/Z, on -x^2 + y^2 = 1 + d x^2 y^2 (RFC 8032 §5.1.4).
struct Point {
  Fe x, y, z, t;
};

// PointAdd is "add-2008-hwcd-3" (Hisil-Wong-Carter-Dawson), complete for a=-1.
Point PointAdd(const Point& p, const Point& q) {
  Fe a = Mul(Sub(p.y, p.x), Sub(q.y, q.x));
  Fe b = Mul(Add(p.y, p.x), Add(q.y, q.x));
  Fe c = Mul(Mul(p.t, Curve().d2), q.t);
  Fe zz = Mul(p.z, q.z);
  Fe d = Add(zz, zz);
  Fe e = Sub(b, a), f = Sub(d, c), g = Add(d, c), h = Add(b, a);
  return Point{Mul(e, f), Mul(g, h), Mul(f, g), Mul(e, h)};
}

// PointDouble is "dbl-2008-hwcd" with a = -1. It reads X, Y, Z only, and
// computes T only when `with_t` (the next operation is an addition).
Point PointDouble(const Point& p, bool with_t) {
  Fe a = Sq(p.x);
  Fe b = Sq(p.y);
  Fe zz = Sq(p.z);
  Fe c = Add(zz, zz);
  Fe d = Neg(a);
  Fe e = Sub(Sub(Sq(Add(p.x, p.y)), a), b);
  Fe g = Add(d, b), f = Sub(g, c), h = Sub(d, b);
  return Point{Mul(e, f), Mul(g, h), Mul(f, g), with_t ? Mul(e, h) : FeSmall(0)};
}

bool IsIdentity(const Point& p) { return IsZero(p.x) && Equal(p.y, p.z); }

Point NegPoint(const Point& p) { return Point{Neg(p.x), p.y, p.z, Neg(p.t)}; }

// The group order L = 2^252 + 27742317777372353535851937790883648493, LE.
constexpr std::array<uint8_t, 32> kOrderL = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

// kWindow is the width of the NAF of L used by InPrimeOrderSubgroup: digits
// are 0 or odd in (-2^(w-1), 2^(w-1)), and any w consecutive digits hold at
// most one non-zero one.
constexpr int kWindow = 5;
constexpr int kNafDigits = 254;  // L < 2^253; its w-NAF has at most 254 digits

// OrderNaf returns the width-kWindow NAF of L, least significant digit first:
// L = sum naf[i] 2^i.
const std::array<int8_t, kNafDigits>& OrderNaf() {
  static const std::array<int8_t, kNafDigits> naf = [] {
    std::array<int8_t, kNafDigits> out{};
    uint64_t k[5] = {0, 0, 0, 0, 0};  // one spare limb for k - d with d < 0
    for (size_t i = 0; i < 32; i++) k[i / 8] |= static_cast<uint64_t>(kOrderL[i]) << (8 * (i % 8));
    auto is_zero = [&] { return (k[0] | k[1] | k[2] | k[3] | k[4]) == 0; };
    for (int i = 0; !is_zero(); i++) {
      KT_CHECK(i < kNafDigits);
      int d = 0;
      if (k[0] & 1) {
        d = static_cast<int>(k[0] & ((1u << kWindow) - 1));
        if (d >= (1 << (kWindow - 1))) d -= 1 << kWindow;
        // k -= d (multi-limb; d is small and odd).
        if (d > 0) {
          uint64_t borrow = static_cast<uint64_t>(d);
          for (int j = 0; j < 5 && borrow != 0; j++) {
            const uint64_t before = k[j];
            k[j] -= borrow;
            borrow = k[j] > before ? 1 : 0;
          }
        } else {
          uint64_t carry = static_cast<uint64_t>(-d);
          for (int j = 0; j < 5 && carry != 0; j++) {
            k[j] += carry;
            carry = k[j] < carry ? 1 : 0;
          }
        }
      }
      out[static_cast<size_t>(i)] = static_cast<int8_t>(d);
      for (int j = 0; j < 4; j++) k[j] = (k[j] >> 1) | (k[j + 1] << 63);
      k[4] >>= 1;
    }
    return out;
  }();
  return naf;
}

// InPrimeOrderSubgroup reports whether [L]P is the identity, by a
// left-to-right w-NAF scalar multiplication (odd multiples P, 3P, ..., 15P
// precomputed). L's NAF has its top digit at 2^252 and then 127 zeros, so this
// is 252 doublings and about 28 additions (a plain double-and-add needs 61).
bool InPrimeOrderSubgroup(const Point& p) {
  const std::array<int8_t, kNafDigits>& naf = OrderNaf();
  constexpr int kOdd = 1 << (kWindow - 2);  // P, 3P, ..., (2^(w-1) - 1)P
  Point odd[kOdd];
  odd[0] = p;
  const Point p2 = PointDouble(p, true);
  for (int i = 1; i < kOdd; i++) odd[i] = PointAdd(odd[i - 1], p2);
  int top = kNafDigits - 1;
  while (naf[static_cast<size_t>(top)] == 0) top--;
  auto multiple = [&](int d) { return d > 0 ? odd[(d - 1) / 2] : NegPoint(odd[(-d - 1) / 2]); };
  Point q = multiple(naf[static_cast<size_t>(top)]);
  for (int i = top - 1; i >= 0; i--) {
    const int d = naf[static_cast<size_t>(i)];
    q = PointDouble(q, d != 0);
    if (d != 0) q = PointAdd(q, multiple(d));
  }
  return IsIdentity(q);
}

}  // namespace

StatusOr<X25519PublicKey> Ed25519PublicToX25519(ByteSpan ed25519_public) {
  if (ed25519_public.size() != 32) {
    return Status::InvalidArgument("ed25519 to x25519: public key must be 32 bytes");
  }
  const uint8_t* b = ed25519_public.data();
  // RFC 8032 §5.1.3 decoding, step 1: y must be canonical.
  if (!IsCanonical(b)) return Status::InvalidArgument("ed25519 to x25519: non-canonical y");
  const bool x_sign = (b[31] >> 7) != 0;
  const Fe y = FromBytes(b);
  const Fe one = FeSmall(1);
  if (Equal(y, one)) return Status::InvalidArgument("ed25519 to x25519: identity point (y = 1)");
  // Steps 2-3: x^2 = u / v with u = y^2 - 1, v = d y^2 + 1.
  const Fe yy = Sq(y);
  const Fe u = Sub(yy, one);
  const Fe v = Add(Mul(Curve().d, yy), one);
  if (IsZero(u)) {
    // y = -1, so x = 0: the point (0, -1) of order 2.
    if (x_sign) return Status::InvalidArgument("ed25519 to x25519: x = 0 with sign 1");
    return Status::InvalidArgument("ed25519 to x25519: point not in the prime-order subgroup");
  }
  // One exponentiation yields both the square root and 1 / (1 - y), which
  // RFC 7748 §4.1 needs at the end. With k = 1 - y and w = u v k^2 (non-zero:
  // u != 0 here, k != 0 as y != 1, and v != 0 as -1/d is not a square), let
  // r = 1 / sqrt(w), computed as in RFC 8032 §5.1.3 step 3 for the ratio 1 / w:
  // r = w^3 (w^7)^((p-5)/8), then w r^2 = 1, or -1 (fixed by sqrt(-1)), or
  // neither, when w (and so u / v = u v k^2 / (v k)^2) is not a square. Then
  //   x = u k r,        as x^2 = u^2 k^2 / (u v k^2) = u / v;
  //   1 / k = u v k r^2 = u v k / (u v k^2).
  const Fe k = Sub(one, y);
  const Fe uv = Mul(u, v);
  const Fe w = Mul(uv, Sq(k));
  const Fe w3 = Mul(Sq(w), w);
  const Fe w7 = Mul(Sq(w3), w);
  Fe r = Mul(w3, PowP58(w7));
  const Fe wrr = Mul(w, Sq(r));
  if (!Equal(wrr, one)) {
    if (!Equal(wrr, Neg(one))) return Status::InvalidArgument("ed25519 to x25519: not a curve point");
    r = Mul(r, Curve().sqrt_m1);
  }
  Fe x = Mul(Mul(u, k), r);
  const Fe inv_k = Mul(Mul(uv, k), Sq(r));
  // Step 4: the sign bit (x != 0 here, as u != 0).
  if (IsOdd(x) != x_sign) x = Neg(x);
  // Every small-order point other than the identity (rejected above) fails
  // this check too, since L is odd: [L]T = [L mod 8]T = [5]T != O.
  const Point p{x, y, one, Mul(x, y)};
  if (!InPrimeOrderSubgroup(p)) {
    return Status::InvalidArgument("ed25519 to x25519: point not in the prime-order subgroup");
  }
  // RFC 7748 §4.1: u = (1 + y) / (1 - y).
  return ToBytes(Mul(Add(one, y), inv_k));
}

namespace {

// ConversionCache is a direct-mapped table of successful conversions. The
// slot of a key is a hash of its bytes salted per process, so that keys
// chosen to collide (which would only cost recomputations) cannot be made
// offline. Clear bumps a generation number instead of wiping the table.
class ConversionCache {
 public:
  static constexpr size_t kSlots = 1024;

  ConversionCache() { RandomBytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&salt_), sizeof(salt_))); }

  bool Get(const uint8_t* ed, X25519PublicKey* out) {
    const size_t i = SlotOf(ed);
    std::lock_guard<std::mutex> lock(mu_);
    const Slot& s = slots_[i];
    if (s.generation != generation_ || std::memcmp(s.ed.data(), ed, 32) != 0) return false;
    *out = s.x;
    return true;
  }

  void Put(const uint8_t* ed, const X25519PublicKey& x) {
    const size_t i = SlotOf(ed);
    std::lock_guard<std::mutex> lock(mu_);
    Slot& s = slots_[i];
    std::memcpy(s.ed.data(), ed, 32);
    s.x = x;
    s.generation = generation_;
  }

  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
  }

 private:
  struct Slot {
    uint64_t generation = 0;  // valid only if equal to generation_
    std::array<uint8_t, 32> ed{};
    X25519PublicKey x{};
  };

  size_t SlotOf(const uint8_t* ed) const {
    uint64_t h = salt_;
    for (size_t i = 0; i < 32; i += 8) {
      uint64_t w;
      std::memcpy(&w, ed + i, 8);
      h = (h ^ w) * 0x9e3779b97f4a7c15ULL;  // multiply-xor mixing (Fibonacci hashing)
      h ^= h >> 29;
    }
    return static_cast<size_t>(h >> 54) % kSlots;  // top 10 bits
  }

  std::mutex mu_;
  uint64_t salt_ = 0;
  uint64_t generation_ = 1;
  std::array<Slot, kSlots> slots_{};
};

ConversionCache& Cache() {
  static ConversionCache* cache = new ConversionCache;  // never destroyed: safe at exit
  return *cache;
}

}  // namespace

StatusOr<X25519PublicKey> Ed25519PublicToX25519Cached(ByteSpan ed25519_public) {
  X25519PublicKey out;
  if (ed25519_public.size() == 32 && Cache().Get(ed25519_public.data(), &out)) return out;
  KT_ASSIGN_OR_RETURN(out, Ed25519PublicToX25519(ed25519_public));
  Cache().Put(ed25519_public.data(), out);
  return out;
}

void ClearEd25519ToX25519Cache() { Cache().Clear(); }

}  // namespace kt::core
