// Depthwise convolution: one input channel per group, each filter a window over its channel's plane.
#include "core/runtime/kernels/depthwise_conv.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "core/runtime/kernels/depthwise_lanes.h"
#include "core/runtime/kernels/kernel_util.h"
#include "core/runtime/kernels/sgemm.h"

namespace lathe {

namespace {

// Multiply-adds below which a depthwise convolution runs on the calling thread. A depthwise multiply-add costs about
// ten times a GEMM's (no reuse across filters: 5-15 G/s on one core against 50-60 G/s), so the team pays off at a tenth
// of worthParallelConv's work: 0.5 M multiply-adds, about 50 us on one core (bench_executor, 2 threads).
inline bool worthParallelDepthwise(int64_t macs) { return macs >= (int64_t(1) << 19); }

// What a depthwise output row gets besides the taps: the channel's bias and its epilogue, folded to
// y = clamp(scale * (bias + sum) + shift, low, high).
struct DepthwiseRowOutput {
    float bias = 0.f, scale = 1.f, shift = 0.f;
    float low = -std::numeric_limits<float>::infinity(), high = std::numeric_limits<float>::infinity();

    float finish(float sum) const { return std::min(std::max(scale * (bias + sum) + shift, low), high); }
};

// One depthwise output row from a zero-padded input plane: out[ow] = finish(sum over kh, kw of
// taps[kh][kw] * in[kh * rowStep + ow * strideW + kw * dilationW]) for ow < count.
void depthwiseRow(const float* in, int64_t rowStep, const float* taps, int64_t kernelH, int64_t kernelW,
                  int64_t strideW, int64_t dilationW, const DepthwiseRowOutput& o, float* out, int64_t count) {
    for (int64_t ow = 0; ow < count; ++ow) {
        float sum = 0.f;
        for (int64_t kh = 0; kh < kernelH; ++kh)
            for (int64_t kw = 0; kw < kernelW; ++kw)
                sum += taps[kh * kernelW + kw] * in[kh * rowStep + ow * strideW + kw * dilationW];
        out[ow] = o.finish(sum);
    }
}

__attribute__((target("avx2,fma"))) inline __m256 finishAvx2(__m256 sum, const DepthwiseRowOutput& o) {
    // Multiply, then add (no FMA), as DepthwiseRowOutput::finish and the unfused BatchNormalization round.
    const __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_add_ps(sum, _mm256_set1_ps(o.bias)), _mm256_set1_ps(o.scale)),
                                   _mm256_set1_ps(o.shift));
    return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(o.low)), _mm256_set1_ps(o.high));
}

// A padded input plane of a depthwise convolution split by W phase for the vector kernel: padded row r, column c
// lands at r * rowStride + (c % strideW) * phaseWidth + c / strideW, so output column ow of tap (kh, kw) reads
// offsets[tap] + ow for every stride and dilation, and 8 consecutive outputs are one unaligned load. Each phase
// holds the output width rounded up to 8 plus the taps' reach; columns beyond the padded input are zeros.
struct DepthwisePhases {
    int64_t strideW = 1, phaseWidth = 0, rowStride = 0, rows = 0, vectorWidth = 0;
    std::vector<int64_t> offsets;  // per tap (kh, kw) in weight order

    explicit DepthwisePhases(const WindowGeometry& g) : strideW(g.stride[2]) {
        vectorWidth = (g.out[2] + 7) / 8 * 8;
        phaseWidth = vectorWidth + (g.kernel[2] - 1) * g.dilation[2] / strideW + 1;
        if (strideW == 2) phaseWidth = (phaseWidth + 7) / 8 * 8;
        rowStride = strideW * phaseWidth;
        rows = g.in[1] + g.padBegin[1] + g.padEnd[1];
        for (int64_t kh = 0; kh < g.kernel[1]; ++kh)
            for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                const int64_t c = kw * g.dilation[2];
                offsets.push_back(kh * g.dilation[1] * rowStride + c % strideW * phaseWidth + c / strideW);
            }
    }
    int64_t size() const { return rows * rowStride; }

    // Floats of scratch fill() needs besides the plane: one padded row.
    int64_t rowScratch() const { return rowStride; }

    // Writes one input plane (inH x inW) with its zero padding into `out` (size() floats); `paddedRow` holds
    // rowScratch() floats. The padding is the same for every plane: with `zeroed`, `out` and `paddedRow` still hold
    // an earlier fill() of this geometry and only the input values are written.
    void fill(const WindowGeometry& g, const float* src, float* out, float* paddedRow, bool zeroed) const {
        const int64_t inH = g.in[1], inW = g.in[2], top = g.padBegin[1], left = std::min(g.padBegin[2], rowStride);
        if (!zeroed) {
            std::fill(out, out + size(), 0.f);
            std::fill(paddedRow, paddedRow + rowScratch(), 0.f);
        }
        // Padded row c = input column c - left, zeros around; its length is strideW * phaseWidth.
        const int64_t copied = std::clamp<int64_t>(rowStride - left, 0, inW);
        for (int64_t ih = std::max<int64_t>(0, -top); ih < inH && ih + top < rows; ++ih) {
            float* row = out + (ih + top) * rowStride;
            float* padded = strideW == 1 ? row : paddedRow;
            std::memcpy(padded + left, src + ih * inW, size_t(copied) * sizeof(float));
            if (strideW == 2)
                deinterleave2(padded, row);
            else if (strideW > 2)
                for (int64_t p = 0; p < strideW; ++p)
                    for (int64_t j = 0; j < phaseWidth; ++j) row[p * phaseWidth + j] = padded[j * strideW + p];
        }
    }

private:
    // row[j] = padded[2j], row[phaseWidth + j] = padded[2j + 1] for j < phaseWidth (a multiple of 8 with stride 2).
    __attribute__((target("avx2,fma"))) void deinterleave2(const float* padded, float* row) const {
        for (int64_t j = 0; j < phaseWidth; j += 8) {
            const __m256 a = _mm256_loadu_ps(padded + 2 * j), b = _mm256_loadu_ps(padded + 2 * j + 8);
            const __m256 even = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
            const __m256 odd = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
            _mm256_storeu_ps(row + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xD8)));
            _mm256_storeu_ps(row + phaseWidth + j,
                             _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(odd), 0xD8)));
        }
    }
};

// Stores the first `count` (1-8) lanes of v at out.
__attribute__((target("avx2,fma"))) inline void storeLanes(float* out, __m256 v, int64_t count) {
    if (count >= 8) {
        _mm256_storeu_ps(out, v);
        return;
    }
    alignas(32) static constexpr int32_t kLanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    _mm256_maskstore_ps(out, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kLanes + 8 - count)), v);
}

// One depthwise output plane from a DepthwisePhases plane, 16 then 8 outputs of a row at a time (the last vector of
// a row stores only the row's remaining lanes). Taps = 0: any tap count, read from memory; else exactly Taps taps
// kept in registers. Sums over (kh, kw) in weight order with FMAs, like the scalar kernel's order.
template <int Taps>
__attribute__((target("avx2,fma"))) void depthwisePlaneAvx2(const float* plane, const DepthwisePhases& phases,
                                                            const WindowGeometry& g, const float* taps,
                                                            const DepthwiseRowOutput& o, float* out) {
    const int64_t count = Taps ? Taps : int64_t(phases.offsets.size());
    const int64_t* offsets = phases.offsets.data();
    __m256 weights[Taps ? Taps : 1];
    if constexpr (Taps > 0)
        for (int t = 0; t < Taps; ++t) weights[t] = _mm256_broadcast_ss(taps + t);
    const int64_t outW = g.out[2], rowStep = g.stride[1] * phases.rowStride;
    for (int64_t oh = 0; oh < g.out[1]; ++oh, out += outW) {
        const float* in = plane + oh * rowStep;
        int64_t ow = 0;
        for (; ow + 16 <= phases.vectorWidth; ow += 16) {
            __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
            for (int64_t t = 0; t < count; ++t) {
                const float* at = in + offsets[t] + ow;
                const __m256 weight = Taps ? weights[t] : _mm256_broadcast_ss(taps + t);
                acc0 = _mm256_fmadd_ps(weight, _mm256_loadu_ps(at), acc0);
                acc1 = _mm256_fmadd_ps(weight, _mm256_loadu_ps(at + 8), acc1);
            }
            _mm256_storeu_ps(out + ow, finishAvx2(acc0, o));
            storeLanes(out + ow + 8, finishAvx2(acc1, o), outW - ow - 8);
        }
        for (; ow < phases.vectorWidth; ow += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (int64_t t = 0; t < count; ++t)
                acc = _mm256_fmadd_ps(Taps ? weights[t] : _mm256_broadcast_ss(taps + t),
                                      _mm256_loadu_ps(in + offsets[t] + ow), acc);
            storeLanes(out + ow, finishAvx2(acc, o), outW - ow);
        }
    }
}

// The column side of a depthwise plane for depthwisePlaneAvx512: output columns in chunks of 16 lanes; for chunk c and
// tap column kw, the input column of lane 0 (`start`) and which of the input elements a load covers lie inside the row
// (`mask`: 16 bits with stride 1, 32 bits over two vectors with stride 2), so padding is read as masked-off zeros and
// no padded copy of the plane is made. `store` masks the chunk's output lanes.
struct DepthwiseColumns {
    int64_t chunks = 0;
    std::vector<int64_t> start;   // [chunk][kw]
    std::vector<uint32_t> mask;   // [chunk][kw]
    std::vector<uint16_t> store;  // [chunk]

    explicit DepthwiseColumns(const WindowGeometry& g) : chunks((g.out[2] + 15) / 16) {
        const int64_t strideW = g.stride[2], span = 16 * strideW, inW = g.in[2];
        for (int64_t c = 0; c < chunks; ++c) {
            store.push_back(uint16_t(lowBits(g.out[2] - c * 16)));
            for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                const int64_t first = c * span - g.padBegin[2] + kw * g.dilation[2];
                start.push_back(first);
                mask.push_back(insideBits(first, inW) & lowBits(span));
            }
        }
    }
};

// The 16 inputs of one tap for 16 consecutive outputs: p[0..15] (stride 1) or p[0], p[2], ..., p[30] (stride 2), with
// the elements whose bit in `mask` is clear read as zeros. Masked-off elements are not read, so `p` may point before
// the row or past the plane.
template <int Stride>
__attribute__((target("avx512f,avx2,fma"))) inline __m512 loadTap(const float* p, uint32_t mask, __m512i evens) {
    if constexpr (Stride == 1)
        return _mm512_maskz_loadu_ps(__mmask16(mask), p);
    else
        return _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(__mmask16(mask), p), evens,
                                      _mm512_maskz_loadu_ps(__mmask16(mask >> 16), p + 16));
}

// One depthwise output plane straight from its input plane (no copy) on AVX-512, for square K x K windows with
// stride 1 or 2 (both axes) and no dilation. Output rows go in groups of seven (independent FMA chains; 7 divides
// the usual 7/14/28/56/112 planes), 16 columns per vector. Each input row the group reads is loaded once per tap
// column (a masked load; stride 2: two loads and an even-lane permute) and feeds every output row of the group whose
// window holds it, so a 3 x 3 stride-1 group does 27 loads for 63 FMAs. Input rows visit in order, so each output
// lane still sums its taps in weight order (kh, then kw), as the other kernels do. The column masks depend only on
// the chunk and the tap column; rows above or below the plane read `zeroRow` (at least inW zeros).
template <int K, int Stride>
__attribute__((target("avx512f,avx2,fma"))) void depthwisePlaneAvx512(const float* src, const float* zeroRow,
                                                                      const WindowGeometry& g,
                                                                      const DepthwiseColumns& columns,
                                                                      const float* taps, const DepthwiseRowOutput& o,
                                                                      float* out) {
    constexpr int kRows = 7, kInputRows = (kRows - 1) * Stride + K;
    const int64_t inH = g.in[1], inW = g.in[2], outH = g.out[1], outW = g.out[2], top = g.padBegin[1];
    const __m512i evens = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512 bias = _mm512_set1_ps(o.bias), scale = _mm512_set1_ps(o.scale), shift = _mm512_set1_ps(o.shift);
    const __m512 low = _mm512_set1_ps(o.low), high = _mm512_set1_ps(o.high);
    for (int64_t oh0 = 0; oh0 < outH; oh0 += kRows) {
        const int64_t rows = std::min<int64_t>(kRows, outH - oh0);
        const float* in[kInputRows];
        for (int j = 0; j < kInputRows; ++j) {
            const int64_t ih = oh0 * Stride - top + j;
            in[j] = ih >= 0 && ih < inH ? src + ih * inW : zeroRow;
        }
        // The input rows the next group adds, fetched ahead: on planes larger than the caches (224 x 224 nets) this
        // halves the time (MobileNet V2's 112 x 112 stride-2 layer at batch 8: 3.1 -> 1.4 ms on 2 threads).
        const int64_t nextEnd = (oh0 + kRows) * Stride - top + kInputRows;
        for (int64_t ih = std::max<int64_t>(0, nextEnd - kRows * Stride); ih < std::min(nextEnd, inH); ++ih)
            for (int64_t at = 0; at < inW; at += 16)
                _mm_prefetch(reinterpret_cast<const char*>(src + ih * inW + at), _MM_HINT_T0);
        for (int64_t c = 0; c < columns.chunks; ++c) {
            const int64_t* first = columns.start.data() + c * K;
            const uint32_t* mask = columns.mask.data() + c * K;
            __m512 acc[kRows];
#pragma GCC unroll 7
            for (int r = 0; r < kRows; ++r) acc[r] = _mm512_setzero_ps();
#pragma GCC unroll 17
            for (int j = 0; j < kInputRows; ++j)
#pragma GCC unroll 5
                for (int kw = 0; kw < K; ++kw) {
                    const __m512 x = loadTap<Stride>(in[j] + first[kw], mask[kw], evens);
#pragma GCC unroll 5
                    for (int kh = 0; kh < K; ++kh) {
                        const int r = (j - kh) / Stride;
                        if (j < kh || (j - kh) % Stride != 0 || r >= kRows) continue;
                        acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(taps[kh * K + kw]), x, acc[r]);
                    }
                }
            for (int64_t r = 0; r < rows; ++r) {
                // Multiply, then add (no FMA), as DepthwiseRowOutput::finish rounds.
                const __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_add_ps(acc[r], bias), scale), shift);
                // The masked forms: the plain ones' "undefined" pass-through trips GCC 12's -Wmaybe-uninitialized.
                const __m512 above = _mm512_mask_max_ps(v, __mmask16(0xFFFF), v, low);
                _mm512_mask_storeu_ps(out + (oh0 + r) * outW + c * 16, __mmask16(columns.store[size_t(c)]),
                                      _mm512_mask_min_ps(above, __mmask16(0xFFFF), above, high));
            }
        }
    }
}

// The direct kernel for this geometry, or null (then the AVX2 or scalar kernels run).
using DirectPlaneKernel = void (*)(const float*, const float*, const WindowGeometry&, const DepthwiseColumns&,
                                   const float*, const DepthwiseRowOutput&, float*);
DirectPlaneKernel directPlaneKernel(const WindowGeometry& g) {
    const int64_t k = g.kernel[1], stride = g.stride[1];
    if (!gemmUsesPackedKernel() || !cpuUsesAvx512() || g.in[0] != 1 || g.kernel[2] != k || g.stride[2] != stride ||
        g.dilation[1] != 1 || g.dilation[2] != 1)
        return nullptr;
    if (k == 3) return stride == 1 ? depthwisePlaneAvx512<3, 1> : stride == 2 ? depthwisePlaneAvx512<3, 2> : nullptr;
    if (k == 5) return stride == 1 ? depthwisePlaneAvx512<5, 1> : stride == 2 ? depthwisePlaneAvx512<5, 2> : nullptr;
    return nullptr;
}

// convDepthwise on DepthwiseLanes: one item per image and 16 consecutive filters.
void convDepthwiseLanes(const DepthwiseShape& s, const float* x, const float* w, const float* bias,
                        const Epilogue* epilogue, float* y, Workspace& ws, const DepthwisePlaneHook& afterPlane) {
    constexpr int64_t kLanes = DepthwiseLanes::kLanes;
    const WindowGeometry& g = s.window;
    const DepthwiseLanes lanes(g, w, s.filters);
    const DirectConvOutput output = directConvOutput(bias, epilogue);
    const int64_t groups = (s.filters + kLanes - 1) / kLanes, multiplier = s.filters / s.channels;
    std::vector<char> zeroed(size_t(ws.threads()), 0);  // per thread: its scratch holds this call's padding
#pragma omp parallel for num_threads( \
    ws.threads()) if (worthParallelDepthwise(s.batch * s.filters * g.outSize() * g.kernelSize()))
    for (int64_t item = 0; item < s.batch * groups; ++item) {
        const int64_t n = item / groups, first = item % groups * kLanes, count = std::min(kLanes, s.filters - first);
        const float* src[kLanes];
        for (int64_t l = 0; l < kLanes; ++l)
            src[l] = x + (n * s.channels + (first + std::min(l, count - 1)) / multiplier) * g.inSize();
        const int thread = omp_get_thread_num();
        float* dst = y + (n * s.filters + first) * g.outSize();
        lanes.run(src, first, count, output, dst, ws.scratch(thread, size_t(lanes.scratchFloats())),
                  zeroed[size_t(thread)]);
        zeroed[size_t(thread)] = 1;
        for (int64_t l = 0; l < count; ++l) {
            float* plane = dst + l * g.outSize();
            if (epilogue && epilogue->silu) siluRange(plane, g.outSize());
            if (afterPlane) afterPlane(n * s.filters + first + l, plane);
        }
    }
}

}  // namespace

// With AVX-512, small planes (output rows of at most 8) with square 3x3 and 5x5 windows, stride 1 or 2 and no
// dilation go 16 channels at a time with the channels in the lanes (DepthwiseLanes). Other such windows compute each
// output plane straight from its input plane (depthwisePlaneAvx512: 1.5-1.65x the AVX2 kernel's speed on
// MobileNet-style layers at batch 64, one thread, measured by a harness calling convDepthwise). Otherwise, with AVX2
// each input plane is copied once into a padded, W-phase-split plane (DepthwisePhases) that every tap reads with vector
// loads; elsewhere into a zero-padded plane (unless there is no padding) read by the scalar kernel.
void convDepthwise(const DepthwiseShape& s, const float* x, const float* w, const float* bias, const Epilogue* epilogue,
                   float* y, Workspace& ws, const DepthwisePlaneHook& afterPlane) {
    const WindowGeometry& g = s.window;
    if (DepthwiseLanes::fits(g)) {
        convDepthwiseLanes(s, x, w, bias, epilogue, y, ws, afterPlane);
        return;
    }
    const int64_t inH = g.in[1], inW = g.in[2], outH = g.out[1], outW = g.out[2];
    const int64_t top = g.padBegin[1], left = g.padBegin[2];
    const int64_t paddedH = inH + top + g.padEnd[1], paddedW = inW + left + g.padEnd[2];
    const bool padded = paddedH != inH || paddedW != inW;
    const bool vector = gemmUsesPackedKernel();
    const DirectPlaneKernel direct = directPlaneKernel(g);
    const std::optional<DepthwiseColumns> columns = direct ? std::optional<DepthwiseColumns>(g) : std::nullopt;
    const std::vector<float> zeroRow(direct ? size_t(inW) : 0, 0.f);
    const std::optional<DepthwisePhases> phases = vector && !direct ? std::optional<DepthwisePhases>(g) : std::nullopt;
    const int64_t kernelTaps = g.kernel[1] * g.kernel[2];
    const int64_t planes = s.batch * s.filters;
    const int64_t multiplier = s.filters / s.channels;
    std::vector<char> zeroed(size_t(ws.threads()), 0);  // per thread: its scratch plane holds this call's padding
#pragma omp parallel for num_threads(ws.threads()) if (worthParallelDepthwise(planes * g.outSize() * g.kernelSize()))
    for (int64_t p = 0; p < planes; ++p) {
        const int64_t n = p / s.filters, f = p % s.filters;
        const float* src = x + (n * s.channels + f / multiplier) * g.inSize();
        DepthwiseRowOutput output;
        output.bias = bias ? bias[f] : 0.f;
        if (epilogue) {
            output.scale = epilogue->hasAffine() ? epilogue->scale[size_t(f)] : 1.f;
            output.shift = epilogue->hasAffine() ? epilogue->shift[size_t(f)] : 0.f;
            output.low = epilogue->low;
            output.high = epilogue->high;
        }
        const float* taps = w + f * kernelTaps;
        float* dst = y + p * g.outSize();
        if (g.inSize() <= 1024 && p + 1 < planes) {
            // Small planes (7 x 7, 14 x 14) are done in a few hundred cycles, too few for the hardware prefetcher to
            // follow from one plane to the next: the next plane's input lines are fetched while this one computes.
            const float* next = x + ((p + 1) / s.filters * s.channels + (p + 1) % s.filters / multiplier) * g.inSize();
            for (int64_t at = 0; at < g.inSize(); at += 16)
                _mm_prefetch(reinterpret_cast<const char*>(next + at), _MM_HINT_T0);
        }
        // The plane, then a SiLU over it while it is in cache.
        auto computePlane = [&] {
            if (direct) {
                direct(src, zeroRow.data(), g, *columns, taps, output, dst);
                return;
            }
            if (phases) {
                const int thread = omp_get_thread_num();
                float* plane = ws.scratch(thread, size_t(phases->size() + phases->rowScratch()));
                phases->fill(g, src, plane, plane + phases->size(), zeroed[size_t(thread)]);
                zeroed[size_t(thread)] = 1;
                if (kernelTaps == 9)
                    depthwisePlaneAvx2<9>(plane, *phases, g, taps, output, dst);
                else
                    depthwisePlaneAvx2<0>(plane, *phases, g, taps, output, dst);
                return;
            }
            if (padded) {
                float* plane = ws.scratch(omp_get_thread_num(), size_t(paddedH * paddedW));
                std::fill(plane, plane + top * paddedW, 0.f);
                for (int64_t ih = 0; ih < inH; ++ih) {
                    float* row = plane + (top + ih) * paddedW;
                    std::fill(row, row + left, 0.f);
                    std::copy(src + ih * inW, src + (ih + 1) * inW, row + left);
                    std::fill(row + left + inW, row + paddedW, 0.f);
                }
                std::fill(plane + (top + inH) * paddedW, plane + paddedH * paddedW, 0.f);
                src = plane;
            }
            for (int64_t oh = 0; oh < outH; ++oh)
                depthwiseRow(src + oh * g.stride[1] * paddedW, g.dilation[1] * paddedW, taps, g.kernel[1], g.kernel[2],
                             g.stride[2], g.dilation[2], output, dst + oh * outW, outW);
        };
        computePlane();
        if (epilogue && epilogue->silu) siluRange(dst, g.outSize());
        if (afterPlane) afterPlane(p, dst);
    }
}

}  // namespace lathe
