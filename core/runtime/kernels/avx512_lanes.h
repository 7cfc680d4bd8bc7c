// AVX-512 helpers for the kernels that put channels (or filters) in the 16 vector lanes and switch between that and one
// plane per vector (NCHW): a 16 x 16 float transpose in registers, and per-channel values loaded into lanes.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "core/runtime/kernels/kernel_util.h"

namespace lathe {

// The masked forms with every lane set: the plain intrinsics' "undefined" pass-through trips GCC 12's
// -Wuninitialized.
constexpr __mmask16 kAll = 0xFFFF;
__attribute__((target("avx512f"))) inline __m512 unpackLow(__m512 a, __m512 b) {
    return _mm512_mask_unpacklo_ps(a, kAll, a, b);
}
__attribute__((target("avx512f"))) inline __m512 unpackHigh(__m512 a, __m512 b) {
    return _mm512_mask_unpackhi_ps(a, kAll, a, b);
}
template <int imm>
__attribute__((target("avx512f"))) inline __m512 shuffle(__m512 a, __m512 b) {
    return _mm512_mask_shuffle_ps(a, kAll, a, b, imm);
}
template <int imm>
__attribute__((target("avx512f"))) inline __m512 shuffleBlocks(__m512 a, __m512 b) {
    return _mm512_mask_shuffle_f32x4(a, kAll, a, b, imm);
}

// r[i] lane l <- r[l] lane i: a 16 x 16 transpose in registers (pairs, then quads, then 128-bit and 256-bit blocks).
__attribute__((target("avx512f,avx2,fma"))) inline void transpose16(__m512 (&r)[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = unpackLow(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = unpackHigh(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; ++i) {
        r[4 * i] = shuffle<_MM_SHUFFLE(1, 0, 1, 0)>(t[4 * i], t[4 * i + 2]);
        r[4 * i + 1] = shuffle<_MM_SHUFFLE(3, 2, 3, 2)>(t[4 * i], t[4 * i + 2]);
        r[4 * i + 2] = shuffle<_MM_SHUFFLE(1, 0, 1, 0)>(t[4 * i + 1], t[4 * i + 3]);
        r[4 * i + 3] = shuffle<_MM_SHUFFLE(3, 2, 3, 2)>(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int h = 0; h < 2; ++h)
        for (int i = 0; i < 4; ++i) {
            t[8 * h + i] = shuffleBlocks<0x88>(r[8 * h + i], r[8 * h + 4 + i]);
            t[8 * h + 4 + i] = shuffleBlocks<0xdd>(r[8 * h + i], r[8 * h + 4 + i]);
        }
    for (int i = 0; i < 8; ++i) {
        r[i] = shuffleBlocks<0x88>(t[i], t[8 + i]);
        r[8 + i] = shuffleBlocks<0xdd>(t[i], t[8 + i]);
    }
}

// Lanes [first, first + count) of a per-channel array (count <= 16), zero past it; `fill` where the array is null.
__attribute__((target("avx512f,avx2,fma"))) inline __m512 filterLanes(const float* values, int64_t first, int64_t count,
                                                                      float fill) {
    return values ? _mm512_maskz_loadu_ps(__mmask16(lowBits(count)), values + first) : _mm512_set1_ps(fill);
}

}  // namespace lathe
