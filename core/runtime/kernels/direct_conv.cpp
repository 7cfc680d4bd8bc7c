#include "core/runtime/kernels/direct_conv.h"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <bit>
#include <utility>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/avx512_lanes.h"
#include "core/runtime/kernels/kernel_util.h"
#include "core/runtime/kernels/sgemm.h"

namespace lathe {

namespace {

constexpr int64_t kLanes = DirectConvWeights::kLanes;

// The GEMM's K block: sums restart every this many weight rows and are added to the running total, as the GEMM adds
// each block's tile to C, so the two paths give the same bits.
constexpr int64_t kDepthBlock = RightPanelLayout::kDepthBlock;

// The epilogue of RowOutput (storePairTile's operations in its order) on 16 filters' values, then the transposed
// store of `positions` outputs per filter, with the residual.
__attribute__((target("avx512f,avx2,fma"))) void storeFilterVector(__m512 (&v)[kLanes], int positions,
                                                                   int64_t firstFilter, int64_t filters,
                                                                   const DirectConvOutput& o, float* out,
                                                                   int64_t plane) {
    const __mmask16 all = kAll;
    const int64_t count = std::min(kLanes, filters - firstFilter);
    const __m512 low = _mm512_set1_ps(o.low), high = _mm512_set1_ps(o.high);
    const __m512 scale = filterLanes(o.scale, firstFilter, count, 1.f);
    const __m512 shift = filterLanes(o.shift, firstFilter, count, 0.f);
    for (int j = 0; j < positions; ++j) {
        if (o.scale) v[j] = _mm512_add_ps(_mm512_mul_ps(v[j], scale), shift);  // multiply, then add: no FMA
        v[j] = _mm512_mask_min_ps(v[j], all, _mm512_mask_max_ps(v[j], all, v[j], low), high);
    }
    for (int j = positions; j < kLanes; ++j) v[j] = _mm512_setzero_ps();
    transpose16(v);
    const __mmask16 stored = __mmask16(lowBits(positions));
    const __m512 residualLow = _mm512_set1_ps(o.residualLow), residualHigh = _mm512_set1_ps(o.residualHigh);
    for (int64_t l = 0; l < count; ++l) {
        const int64_t at = (firstFilter + l) * plane;
        __m512 row = v[l];
        if (o.residual) {
            row = _mm512_add_ps(row, _mm512_maskz_loadu_ps(stored, o.residual + at));
            row = _mm512_mask_min_ps(row, all, _mm512_mask_max_ps(row, all, row, residualLow), residualHigh);
        }
        _mm512_mask_storeu_ps(out + at, stored, row);
    }
}

// `vectors` (1 or 2) filter vectors from `firstVector` x P output positions at W stride S.
template <int vectors, int P, int S>
__attribute__((target("avx512f,avx2,fma"))) void directTile(const DirectConvWeights& w, int64_t firstVector,
                                                            const DirectConvRow& row, const DirectConvOutput& o) {
    const int64_t patch = w.patch();
    const float* weights[vectors];
    for (int f = 0; f < vectors; ++f) weights[f] = w.vector(firstVector + f);
    __m512 total[vectors][kLanes];
    for (auto& vector : total)
        for (__m512& v : vector) v = _mm512_setzero_ps();
    for (int64_t block = 0; block < patch; block += kDepthBlock) {
        const int64_t end = std::min(patch, block + kDepthBlock);
        __m512 acc[P][vectors];
#pragma GCC unroll 14
        for (int j = 0; j < P; ++j)
#pragma GCC unroll 2
            for (int f = 0; f < vectors; ++f) acc[j][f] = _mm512_setzero_ps();
        for (int64_t k = block; k < end; ++k) {
            const float* x = row.input + row.offsets[k];
            __m512 wv[vectors];
#pragma GCC unroll 2
            for (int f = 0; f < vectors; ++f) wv[f] = _mm512_loadu_ps(weights[f] + k * kLanes);
#pragma GCC unroll 14
            for (int j = 0; j < P; ++j) {
                const __m512 b = _mm512_set1_ps(x[j * S]);
#pragma GCC unroll 2
                for (int f = 0; f < vectors; ++f) acc[j][f] = _mm512_fmadd_ps(b, wv[f], acc[j][f]);
            }
        }
        // The GEMM's store of a K block: C = acc (+ bias) for the first, C = acc + C after.
#pragma GCC unroll 2
        for (int f = 0; f < vectors; ++f) {
            const int64_t first = (firstVector + f) * kLanes;
            const __m512 bias = o.bias && block == 0
                                    ? filterLanes(o.bias, first, std::min(kLanes, w.filters() - first), 0.f)
                                    : _mm512_setzero_ps();
#pragma GCC unroll 14
            for (int j = 0; j < P; ++j)
                total[f][j] = block > 0 ? _mm512_add_ps(acc[j][f], total[f][j])
                              : o.bias  ? _mm512_add_ps(acc[j][f], bias)
                                        : acc[j][f];
        }
    }
    for (int f = 0; f < vectors; ++f)
        storeFilterVector(total[f], P, (firstVector + f) * kLanes, w.filters(), o, row.out, row.plane);
}

// directConvPlane's tile: `rows` (1-8) filters from `first` x 48 positions from p0, stored by `keep` (per vector, the
// lanes whose position is inside an output row) at output index `at` (per vector, of its first kept lane).
template <int rows>
__attribute__((target("avx512f,avx2,fma"))) void planeTile(const float* weights, int64_t first, int64_t patch,
                                                           const DirectConvPlane& t, int64_t p0,
                                                           const __mmask16 (&keep)[3], const int64_t (&at)[3],
                                                           const DirectConvOutput& o) {
    constexpr int vectors = 3;
    __m512 total[rows][vectors];
    for (auto& row : total)
        for (__m512& v : row) v = _mm512_setzero_ps();
    const float* x = t.input + p0;
    for (int64_t block = 0; block < patch; block += kDepthBlock) {
        const int64_t end = std::min(patch, block + kDepthBlock);
        __m512 acc[rows][vectors];
#pragma GCC unroll 8
        for (int r = 0; r < rows; ++r)
#pragma GCC unroll 3
            for (int v = 0; v < vectors; ++v) acc[r][v] = _mm512_setzero_ps();
        const float* w = weights + first * patch;
        for (int64_t k = block; k < end; ++k) {
            const float* in = x + t.offsets[k];
            const __m512 x0 = _mm512_loadu_ps(in), x1 = _mm512_loadu_ps(in + 16), x2 = _mm512_loadu_ps(in + 32);
#pragma GCC unroll 8
            for (int r = 0; r < rows; ++r) {
                const __m512 b = _mm512_set1_ps(w[r * patch + k]);
                acc[r][0] = _mm512_fmadd_ps(b, x0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(b, x1, acc[r][1]);
                acc[r][2] = _mm512_fmadd_ps(b, x2, acc[r][2]);
            }
        }
        // The GEMM's store of a K block: C = acc (+ bias) for the first, C = acc + C after.
#pragma GCC unroll 8
        for (int r = 0; r < rows; ++r) {
            const __m512 bias = _mm512_set1_ps(o.bias ? o.bias[first + r] : 0.f);
#pragma GCC unroll 3
            for (int v = 0; v < vectors; ++v)
                total[r][v] = block > 0 ? _mm512_add_ps(acc[r][v], total[r][v])
                              : o.bias  ? _mm512_add_ps(acc[r][v], bias)
                                        : acc[r][v];
        }
    }
    const __m512 low = _mm512_set1_ps(o.low), high = _mm512_set1_ps(o.high);
    const __m512 residualLow = _mm512_set1_ps(o.residualLow), residualHigh = _mm512_set1_ps(o.residualHigh);
    for (int r = 0; r < rows; ++r) {
        const int64_t f = first + r;
        const __m512 scale = _mm512_set1_ps(o.scale ? o.scale[f] : 1.f);
        const __m512 shift = _mm512_set1_ps(o.shift ? o.shift[f] : 0.f);
        for (int v = 0; v < vectors; ++v) {
            if (!keep[v]) continue;
            __m512 value = total[r][v];
            if (o.scale) value = _mm512_add_ps(_mm512_mul_ps(value, scale), shift);  // multiply, then add: no FMA
            value = _mm512_mask_min_ps(value, kAll, _mm512_mask_max_ps(value, kAll, value, low), high);
            value = _mm512_maskz_compress_ps(keep[v], value);
            const int64_t index = f * t.plane + at[v];
            const __mmask16 stored = __mmask16(lowBits(std::popcount(uint32_t(keep[v]))));
            if (o.residual) {
                value = _mm512_add_ps(value, _mm512_maskz_loadu_ps(stored, o.residual + index));
                value =
                    _mm512_mask_min_ps(value, kAll, _mm512_mask_max_ps(value, kAll, value, residualLow), residualHigh);
            }
            _mm512_mask_storeu_ps(t.out + index, stored, value);
        }
    }
}

using Tile = void (*)(const DirectConvWeights&, int64_t, const DirectConvRow&, const DirectConvOutput&);

template <int vectors, int S, int... P>
constexpr std::array<Tile, sizeof...(P)> tilesOf(std::integer_sequence<int, P...>) {
    return {directTile<vectors, P + 1, S>...};
}

// [stride - 1][vectors - 1][positions - 1]
const std::array<std::array<std::array<Tile, kDirectConvPositions>, 2>, 2> kTiles = {{
    {tilesOf<1, 1>(std::make_integer_sequence<int, kDirectConvPositions>()),
     tilesOf<2, 1>(std::make_integer_sequence<int, kDirectConvPositions>())},
    {tilesOf<1, 2>(std::make_integer_sequence<int, kDirectConvPositions>()),
     tilesOf<2, 2>(std::make_integer_sequence<int, kDirectConvPositions>())},
}};

}  // namespace

DirectConvOutput directConvOutput(const float* bias, const Epilogue* epilogue) {
    DirectConvOutput output;
    output.bias = bias;
    if (epilogue) {
        output.scale = epilogue->hasAffine() ? epilogue->scale.data() : nullptr;
        output.shift = epilogue->hasAffine() ? epilogue->shift.data() : nullptr;
        output.low = epilogue->low;
        output.high = epilogue->high;
    }
    return output;
}

DirectConvWeights::DirectConvWeights(const float* w, int64_t filters, int64_t patch)
    : m_filters(filters), m_patch(patch) {
    const int64_t vectors = (filters + kLanes - 1) / kLanes;
    m_data.assign(size_t(vectors * patch * kLanes), 0.f);
    for (int64_t f = 0; f < filters; ++f)
        for (int64_t k = 0; k < patch; ++k)
            m_data[size_t((f / kLanes * patch + k) * kLanes + f % kLanes)] = w[f * patch + k];
}

void directConvPlane(const float* weights, int64_t filters, int64_t patch, const DirectConvPlane& tile,
                     const DirectConvOutput& output) {
    using PlaneTile = void (*)(const float*, int64_t, int64_t, const DirectConvPlane&, int64_t, const __mmask16(&)[3],
                               const int64_t(&)[3], const DirectConvOutput&);
    static constexpr PlaneTile kPlaneTiles[8] = {planeTile<1>, planeTile<2>, planeTile<3>, planeTile<4>,
                                                 planeTile<5>, planeTile<6>, planeTile<7>, planeTile<8>};
    // The last row's positions end at its last output column.
    const int64_t positions = (tile.rows - 1) * tile.width + tile.outW;
    // The row and column of position p0, stepped along with it (no division per lane).
    int64_t row = 0, column = 0;
    for (int64_t p0 = 0; p0 < positions; p0 += 3 * kLanes) {
        __mmask16 keep[3] = {0, 0, 0};
        int64_t at[3] = {0, 0, 0};
        for (int v = 0; v < 3; ++v) {
            bool firstKept = true;
            for (int lane = 0; lane < kLanes; ++lane) {
                if (p0 + v * kLanes + lane < positions && column < tile.outW) {
                    keep[v] = __mmask16(keep[v] | (1u << lane));
                    if (firstKept) at[v] = row * tile.outW + column;
                    firstKept = false;
                }
                if (++column == tile.width) column = 0, ++row;
            }
        }
        for (int64_t f = 0; f < filters; f += 8)
            kPlaneTiles[std::min<int64_t>(8, filters - f) - 1](weights, f, patch, tile, p0, keep, at, output);
    }
}

void directConvRow(const DirectConvWeights& w, const DirectConvRow& row, const DirectConvOutput& output) {
    const int64_t vectors = (w.filters() + kLanes - 1) / kLanes;
    const int64_t segments = (row.positions + kDirectConvPositions - 1) / kDirectConvPositions;
    const auto& tiles = kTiles[size_t(row.strideW - 1)];
    for (int64_t s = 0, position = 0; s < segments; ++s) {
        // Near-equal segments: 28 positions as 14 + 14, 30 as 10 + 10 + 10.
        const int64_t count = row.positions / segments + (s < row.positions % segments ? 1 : 0);
        DirectConvRow segment = row;
        segment.input = row.input + position * row.strideW;
        segment.out = row.out + position;
        DirectConvOutput at = output;
        if (at.residual) at.residual += position;
        for (int64_t v = 0; v < vectors; v += 2) {
            const int64_t pair = std::min<int64_t>(2, vectors - v);
            tiles[size_t(pair - 1)][size_t(count - 1)](w, v, segment, at);
        }
        position += count;
    }
}

}  // namespace lathe
