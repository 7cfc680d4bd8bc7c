#include "core/runtime/kernels/depthwise_lanes.h"

#include <immintrin.h>

#include <algorithm>

#include "core/runtime/kernels/avx512_lanes.h"
#include "core/runtime/kernels/kernel_util.h"
#include "core/runtime/kernels/sgemm.h"

namespace lathe {

namespace {

constexpr int64_t kLanes = DepthwiseLanes::kLanes;

// Output positions computed together: independent FMA chains, with the K * K tap vectors kept in registers.
template <int K>
constexpr int kBlock = K == 3 ? 7 : 6;  // 7 divides the usual 7 x 7 and 14 x 14 planes

// Every output position of the group: out[p] = finish(sum over taps (kh, kw) of taps[kh][kw] * in[base[p] + kh *
// paddedW + kw]) in vectors of 16 lanes; base[] holds whole blocks (positions past the end repeat the last window).
template <int K>
__attribute__((target("avx512f,avx2,fma"))) void laneWindows(const float* in, const int32_t* base, int64_t positions,
                                                             int64_t paddedW, const float* tapVectors,
                                                             const DirectConvOutput& o, int64_t first, int64_t count,
                                                             float* out) {
    constexpr int B = kBlock<K>;
    __m512 taps[K * K];
    for (int t = 0; t < K * K; ++t) taps[t] = _mm512_loadu_ps(tapVectors + t * kLanes);
    // Lanes past `count` are computed and not stored.
    const __m512 bias = filterLanes(o.bias, first, count, 0.f), scale = filterLanes(o.scale, first, count, 1.f);
    const __m512 shift = filterLanes(o.shift, first, count, 0.f);
    const __m512 low = _mm512_set1_ps(o.low), high = _mm512_set1_ps(o.high);
    const int64_t rowStep = paddedW * kLanes;
    for (int64_t p0 = 0; p0 < positions; p0 += B) {
        const float* at[B];
        __m512 acc[B];
#pragma GCC unroll 8
        for (int b = 0; b < B; ++b) {
            at[b] = in + int64_t(base[p0 + b]) * kLanes;
            acc[b] = _mm512_setzero_ps();
        }
#pragma GCC unroll 5
        for (int kh = 0; kh < K; ++kh)
#pragma GCC unroll 5
            for (int kw = 0; kw < K; ++kw)
#pragma GCC unroll 8
                for (int b = 0; b < B; ++b)
                    acc[b] =
                        _mm512_fmadd_ps(taps[kh * K + kw], _mm512_loadu_ps(at[b] + kh * rowStep + kw * kLanes), acc[b]);
#pragma GCC unroll 8
        for (int b = 0; b < B; ++b) {
            // Multiply, then add (no FMA), as the other depthwise kernels round.
            const __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_add_ps(acc[b], bias), scale), shift);
            const __m512 above = _mm512_mask_max_ps(v, kAll, v, low);
            _mm512_storeu_ps(out + (p0 + b) * kLanes, _mm512_mask_min_ps(above, kAll, above, high));
        }
    }
}

// The `valid` positions from `at` of the 16 planes src[l], transposed: v[j] holds position at + j of every plane.
__attribute__((target("avx512f,avx2,fma"))) inline void loadTransposed(const float* const (&src)[kLanes], int64_t at,
                                                                       __mmask16 valid, __m512 (&v)[kLanes]) {
    for (int64_t l = 0; l < kLanes; ++l) v[l] = _mm512_maskz_loadu_ps(valid, src[l] + at);
    transpose16(v);
}

using LaneWindows = void (*)(const float*, const int32_t*, int64_t, int64_t, const float*, const DirectConvOutput&,
                             int64_t, int64_t, float*);
LaneWindows laneWindowsFor(const WindowGeometry& g) { return g.kernel[1] == 3 ? laneWindows<3> : laneWindows<5>; }

}  // namespace

bool DepthwiseLanes::fits(const WindowGeometry& g) {
    const int64_t k = g.kernel[1], stride = g.stride[1];
    return gemmUsesPackedKernel() && cpuUsesAvx512() && g.in[0] == 1 && g.kernel[2] == k && (k == 3 || k == 5) &&
           g.stride[2] == stride && (stride == 1 || stride == 2) && g.dilation[1] == 1 && g.dilation[2] == 1 &&
           g.out[2] <= 8 && g.inSize() <= 4096;
}

DepthwiseLanes::DepthwiseLanes(const WindowGeometry& g, const float* w, int64_t filters) : m_g(g) {
    const int64_t k = g.kernel[1], stride = g.stride[1], top = g.padBegin[1], left = g.padBegin[2];
    const int64_t paddedH = std::max(g.in[1] + top + g.padEnd[1], (g.out[1] - 1) * stride + k);
    m_paddedW = std::max(g.in[2] + left + g.padEnd[2], (g.out[2] - 1) * stride + k);
    m_inVectors = paddedH * m_paddedW;
    const int64_t block = k == 3 ? kBlock<3> : kBlock<5>, positions = g.outSize();
    const int64_t blocked = (positions + block - 1) / block * block;
    m_outVectors = std::max(blocked, (positions + kLanes - 1) / kLanes * kLanes);
    for (int64_t ih = 0; ih < g.in[1]; ++ih)
        for (int64_t iw = 0; iw < g.in[2]; ++iw) m_inSlot.push_back(int32_t((ih + top) * m_paddedW + iw + left));
    for (int64_t p = 0; p < blocked; ++p) {
        const int64_t q = std::min(p, positions - 1);  // positions past the end repeat the last window
        m_outBase.push_back(int32_t(q / g.out[2] * stride * m_paddedW + q % g.out[2] * stride));
    }
    const int64_t taps = k * k, groups = (filters + kLanes - 1) / kLanes;
    m_taps.assign(size_t(groups * taps * kLanes), 0.f);
    for (int64_t f = 0; f < filters; ++f)
        for (int64_t t = 0; t < taps; ++t)
            m_taps[size_t((f / kLanes * taps + t) * kLanes + f % kLanes)] = w[f * taps + t];
}

__attribute__((target("avx512f,avx2,fma"))) void DepthwiseLanes::run(const float* const (&src)[kLanes], int64_t first,
                                                                     int64_t count, const DirectConvOutput& output,
                                                                     float* dst, float* scratch, bool zeroed) const {
    float* in = scratch;
    float* out = scratch + m_inVectors * kLanes;
    if (!zeroed) {
        // Only the padding: the input positions are all written below.
        const int64_t top = m_g.padBegin[1], left = m_g.padBegin[2], inH = m_g.in[1], inW = m_g.in[2];
        const int64_t rowFloats = m_paddedW * kLanes;
        std::fill(in, in + top * rowFloats, 0.f);
        std::fill(in + (top + inH) * rowFloats, in + m_inVectors * kLanes, 0.f);
        for (int64_t row = top; row < top + inH; ++row) {
            std::fill(in + row * rowFloats, in + (row * m_paddedW + left) * kLanes, 0.f);
            std::fill(in + (row * m_paddedW + left + inW) * kLanes, in + (row + 1) * rowFloats, 0.f);
        }
    }
    const int64_t inSize = m_g.inSize(), outSize = m_g.outSize();
    __m512 v[kLanes];
    for (int64_t p0 = 0; p0 < inSize; p0 += kLanes) {
        const int64_t n = std::min(kLanes, inSize - p0);
        loadTransposed(src, p0, __mmask16(lowBits(n)), v);
        for (int64_t j = 0; j < n; ++j) _mm512_storeu_ps(in + int64_t(m_inSlot[size_t(p0 + j)]) * kLanes, v[j]);
    }
    const int64_t taps = m_g.kernel[1] * m_g.kernel[2];
    laneWindowsFor(m_g)(in, m_outBase.data(), outSize, m_paddedW, m_taps.data() + first / kLanes * taps * kLanes,
                        output, first, count, out);
    for (int64_t p0 = 0; p0 < outSize; p0 += kLanes) {
        for (int64_t j = 0; j < kLanes; ++j) v[j] = _mm512_loadu_ps(out + (p0 + j) * kLanes);
        transpose16(v);
        const __mmask16 stored = __mmask16(lowBits(outSize - p0));
        for (int64_t l = 0; l < count; ++l) _mm512_mask_storeu_ps(dst + l * outSize + p0, stored, v[l]);
    }
}

}  // namespace lathe
