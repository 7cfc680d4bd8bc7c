#include "core/runtime/kernels/vector_math.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "core/runtime/kernels/kernel_util.h"
#include "core/runtime/kernels/sgemm.h"

namespace lathe {

namespace {

bool useAvx2() {
    static const bool available =
        !std::getenv("LATHE_NO_AVX2") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return available;
}

// e^x for 8 lanes: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two for exactness), e^r by a degree-5 polynomial
// (Cephes expf), 2^n built in the exponent bits. Inputs are clamped to ±88.376 (beyond that the result overflows or
// flushes); NaN stays NaN.
__attribute__((target("avx2,fma"))) inline __m256 expAvx2(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-88.3762626647949f);
    x = _mm256_min_ps(hi, _mm256_max_ps(lo, x));  // x second: a NaN passes through
    __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
    fx = _mm256_floor_ps(fx);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    const __m256 z = _mm256_mul_ps(x, x);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, z, x);
    y = _mm256_add_ps(y, _mm256_set1_ps(1.f));
    // 2^n: n in [-127, 128] after the clamp; n + 127 in the exponent field (n = 128 overflows to inf as it should).
    const __m256i n = _mm256_cvttps_epi32(fx);
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(bits));
}

// expAvx2 for 16 lanes: the same operations in the same order, so each lane gets the same bits.
__attribute__((target("avx512f,avx2,fma"))) inline __m512 expAvx512(__m512 x) {
    const __m512 hi = _mm512_set1_ps(88.3762626647949f), lo = _mm512_set1_ps(-88.3762626647949f);
    const __mmask16 all = 0xFFFF;
    // The masked forms: the plain ones' "undefined" pass-through trips GCC 12's -Wmaybe-uninitialized. Operand
    // order as in expAvx2 (x second: a NaN passes through).
    x = _mm512_mask_min_ps(x, all, hi, _mm512_mask_max_ps(x, all, lo, x));
    __m512 fx = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f));
    fx = _mm512_mask_roundscale_ps(fx, all, fx, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
    const __m512 z = _mm512_mul_ps(x, x);
    __m512 y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_fmadd_ps(y, z, x);
    y = _mm512_add_ps(y, _mm512_set1_ps(1.f));
    const __m512i n = _mm512_mask_cvttps_epi32(_mm512_setzero_si512(), all, fx);
    const __m512i biased = _mm512_add_epi32(n, _mm512_set1_epi32(127));
    const __m512i bits = _mm512_mask_slli_epi32(biased, all, biased, 23);
    return _mm512_mul_ps(y, _mm512_castsi512_ps(bits));
}

// erf for 8 lanes. |x| < 0.9: x · P(x²), the Maclaurin series through x^19 (truncation below 1e-8 relative there);
// beyond: Abramowitz & Stegun 7.1.26, 1 − t·R(t)·e^(−x²) with t = 1 / (1 + 0.3275911·|x|) (absolute error below
// 1.5e-7 before float rounding; |erf| > 0.79 there), with x's sign. ±inf give ±1 (e^(−x²) flushes), NaN stays NaN.
__attribute__((target("avx2,fma"))) inline __m256 erfAvx2(__m256 x) {
    const __m256 signBit = _mm256_set1_ps(-0.f);
    const __m256 sign = _mm256_and_ps(x, signBit), a = _mm256_andnot_ps(signBit, x);
    const __m256 u = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-1.6365844691234924e-07f);
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(1.6462114365889246e-06f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-1.492565035840625e-05f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(0.00012055332981789664f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-0.0008548327023450852f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(0.005223977625442188f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-0.026866170645131252f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(0.11283791670955126f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-0.37612638903183754f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(1.1283791670955126f));
    const __m256 series = _mm256_mul_ps(x, p);
    const __m256 one = _mm256_set1_ps(1.f);
    const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), a, one));
    __m256 r = _mm256_set1_ps(1.061405429f);
    r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(-1.453152027f));
    r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(1.421413741f));
    r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(-0.284496736f));
    r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(0.254829592f));
    const __m256 tail = _mm256_mul_ps(_mm256_mul_ps(r, t), expAvx2(_mm256_xor_ps(u, signBit)));
    const __m256 large = _mm256_or_ps(_mm256_sub_ps(one, tail), sign);
    return _mm256_blendv_ps(large, series, _mm256_cmp_ps(a, _mm256_set1_ps(0.9f), _CMP_LT_OQ));
}

// Lanes [0, count) of a mask for maskload/maskstore.
__attribute__((target("avx2,fma"))) inline __m256i laneMask(int64_t count) {
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(count)), index);
}

// sigmoid (times x when `timesX`) over [begin, end), 8 lanes at a time, the rest masked.
template <bool timesX>
__attribute__((target("avx2,fma"))) void sigmoidRangeAvx2(float* data, int64_t begin, int64_t end) {
    const __m256 one = _mm256_set1_ps(1.f);
    const __m256 signBit = _mm256_set1_ps(-0.f);
    for (int64_t i = begin; i < end; i += 8) {
        const int64_t count = std::min<int64_t>(8, end - i);
        const __m256i mask = laneMask(count);
        const __m256 x = count == 8 ? _mm256_loadu_ps(data + i) : _mm256_maskload_ps(data + i, mask);
        const __m256 e = expAvx2(_mm256_xor_ps(x, signBit));
        const __m256 sigmoid = _mm256_div_ps(one, _mm256_add_ps(one, e));
        const __m256 y = timesX ? _mm256_mul_ps(x, sigmoid) : sigmoid;
        if (count == 8)
            _mm256_storeu_ps(data + i, y);
        else
            _mm256_maskstore_ps(data + i, mask, y);
    }
}

// sigmoidRangeAvx2 in 16 lanes (the same bits).
template <bool timesX>
__attribute__((target("avx512f,avx2,fma"))) void sigmoidRangeAvx512(float* data, int64_t begin, int64_t end) {
    const __m512 one = _mm512_set1_ps(1.f);
    const __m512i signBit = _mm512_set1_epi32(int(0x80000000u));
    for (int64_t i = begin; i < end; i += 16) {
        const __mmask16 lanes = __mmask16(lowBits(end - i));
        const __m512 x = _mm512_maskz_loadu_ps(lanes, data + i);
        const __m512 e = expAvx512(_mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x), signBit)));
        const __m512 sigmoid = _mm512_div_ps(one, _mm512_add_ps(one, e));
        _mm512_mask_storeu_ps(data + i, lanes, timesX ? _mm512_mul_ps(x, sigmoid) : sigmoid);
    }
}

// Sigmoid (times x) over [begin, end) in the widest vectors the CPU has.
template <bool timesX>
void sigmoidRangeVector(float* data, int64_t begin, int64_t end) {
    if (cpuUsesAvx512())
        sigmoidRangeAvx512<timesX>(data, begin, end);
    else
        sigmoidRangeAvx2<timesX>(data, begin, end);
}

template <bool timesX>
void sigmoidScalar(float* data, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
        const float x = data[i];
        const float sigmoid = 1.f / (1.f + std::exp(-x));
        data[i] = timesX ? x * sigmoid : sigmoid;
    }
}

template <bool timesX>
void sigmoidMap(float* data, int64_t n, int threads) {
    if (useAvx2()) {
        constexpr int64_t kChunk = 4096;  // a multiple of 8: only the last chunk has a partial vector
        const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for num_threads(threads) if (worthParallel(n))
        for (int64_t c = 0; c < chunks; ++c)
            sigmoidRangeVector<timesX>(data, c * kChunk, std::min(n, (c + 1) * kChunk));
        return;
    }
    constexpr int64_t kChunk = 4096;
    const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for num_threads(threads) if (worthParallel(n))
    for (int64_t c = 0; c < chunks; ++c) sigmoidScalar<timesX>(data, c * kChunk, std::min(n, (c + 1) * kChunk));
}

enum class Map { Erf, Gelu };

template <Map map>
__attribute__((target("avx2,fma"))) inline __m256 applyAvx2(__m256 x) {
    if constexpr (map == Map::Erf) return erfAvx2(x);
    const __m256 half = _mm256_set1_ps(0.5f);
    const __m256 e = erfAvx2(_mm256_mul_ps(x, _mm256_set1_ps(0.7071067811865476f)));
    return _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(_mm256_set1_ps(1.f), e));
}

template <Map map>
float applyScalar(float x) {
    if constexpr (map == Map::Erf) return std::erf(x);
    return 0.5f * x * (1.f + std::erf(x * 0.7071067811865476f));
}

// `map` over [begin, end), 8 lanes at a time; a partial last vector goes through a buffer (masked stores are slow on
// some CPUs).
template <Map map>
__attribute__((target("avx2,fma"))) void mapRangeAvx2(float* data, int64_t begin, int64_t end) {
    int64_t i = begin;
    for (; i + 8 <= end; i += 8) _mm256_storeu_ps(data + i, applyAvx2<map>(_mm256_loadu_ps(data + i)));
    if (i < end) {
        alignas(32) float tail[8] = {};
        std::copy(data + i, data + end, tail);
        _mm256_store_ps(tail, applyAvx2<map>(_mm256_load_ps(tail)));
        std::copy(tail, tail + (end - i), data + i);
    }
}

template <Map map>
void mapInPlace(float* data, int64_t n, int threads) {
    constexpr int64_t kChunk = 4096;  // a multiple of 8: only the last chunk has a partial vector
    const int64_t chunks = (n + kChunk - 1) / kChunk;
    const bool avx2 = useAvx2();
#pragma omp parallel for num_threads(threads) if (worthParallel(n))
    for (int64_t c = 0; c < chunks; ++c) {
        const int64_t begin = c * kChunk, end = std::min(n, begin + kChunk);
        if (avx2)
            mapRangeAvx2<map>(data, begin, end);
        else
            for (int64_t i = begin; i < end; ++i) data[i] = applyScalar<map>(data[i]);
    }
}

__attribute__((target("avx2,fma"))) float expShiftedSumAvx2(float* x, int64_t n, float shift) {
    const __m256 s = _mm256_set1_ps(shift);
    __m256 sum = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 e = expAvx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
        _mm256_storeu_ps(x + i, e);
        sum = _mm256_add_ps(sum, e);
    }
    if (i < n) {  // the tail through a buffer (masked stores are slow on some CPUs), unused lanes left out of the sum
        alignas(32) float tail[8] = {};
        std::copy(x + i, x + n, tail);
        const __m256 e =
            _mm256_and_ps(expAvx2(_mm256_sub_ps(_mm256_load_ps(tail), s)), _mm256_castsi256_ps(laneMask(n - i)));
        _mm256_store_ps(tail, e);
        std::copy(tail, tail + (n - i), x + i);
        sum = _mm256_add_ps(sum, e);
    }
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, sum);
    float total = 0.f;
    for (float v : lanes) total += v;
    return total;
}

}  // namespace

float expShiftedSum(float* x, int64_t n, float shift) {
    if (useAvx2()) return expShiftedSumAvx2(x, n, shift);
    float sum = 0.f;
    for (int64_t i = 0; i < n; ++i) sum += x[i] = std::exp(x[i] - shift);
    return sum;
}

void sigmoidInPlace(float* data, int64_t n, int threads) { sigmoidMap<false>(data, n, threads); }

void erfInPlace(float* data, int64_t n, int threads) { mapInPlace<Map::Erf>(data, n, threads); }

void geluInPlace(float* data, int64_t n, int threads) { mapInPlace<Map::Gelu>(data, n, threads); }

void siluInPlace(float* data, int64_t n, int threads) { sigmoidMap<true>(data, n, threads); }

void siluRange(float* data, int64_t n) {
    if (useAvx2())
        sigmoidRangeVector<true>(data, 0, n);
    else
        sigmoidScalar<true>(data, 0, n);
}

}  // namespace lathe
