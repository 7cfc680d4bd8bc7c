// Conv over 1-3 spatial dimensions with groups, strides, dilations, explicit pads and auto_pad, with an optional fused
// epilogue (BatchNormalization / Relu / Clip). Depthwise convolutions (one input channel per group) run the direct
// kernel of depthwise_conv.cpp. Everything else is a GEMM per (image, group, tile of output rows) spread over the
// OpenMP team, with the weights packed at compile time (sgemm.h): an implicit GEMM reading the input directly when the
// output width is a multiple of 8 and the W stride is 1, else im2col written straight into the GEMM's panels (Eigen on
// CPUs without AVX2).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/depthwise_conv.h"
#include "core/runtime/kernels/direct_conv.h"
#include "core/runtime/kernels/kernel_util.h"
#include "core/runtime/kernels/sgemm.h"
#include "core/runtime/kernels/window.h"

namespace lathe {

namespace {

// Shapes of one Conv execution.
struct ConvShape {
    int64_t batch = 0, channels = 0, filters = 0, groups = 1;
    WindowGeometry window;

    int64_t groupChannels() const { return channels / groups; }
    int64_t groupFilters() const { return filters / groups; }
    int64_t patchSize() const { return groupChannels() * window.kernelSize(); }
};

// Multiply-adds below which a Conv runs on the calling thread (about 0.15 ms of work on one core): waking the OpenMP
// team for less costs more than the other threads save (measured at batch 1 with bench_executor, 2 threads).
inline bool worthParallelConv(int64_t macs) { return macs >= (int64_t(1) << 22); }

constexpr int64_t kTileFloats = int64_t(1) << 16;  // im2col tile budget (256 KB): stays in L2 next to the weights

// dst[i] = src[i * stride] for i < count (count is small: at most one output row). Constant-size copies keep the
// compiler from calling memmove for a handful of floats.
inline void copyStrided(float* __restrict dst, const float* __restrict src, int64_t count, int64_t stride) {
    if (stride != 1) {
        for (int64_t i = 0; i < count; ++i) dst[i] = src[i * stride];
        return;
    }
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) __builtin_memcpy(dst + i, src + i, 8 * sizeof(float));
    if (count & 4) __builtin_memcpy(dst + i, src + i, 4 * sizeof(float)), i += 4;
    if (count & 2) __builtin_memcpy(dst + i, src + i, 2 * sizeof(float)), i += 2;
    if (count & 1) dst[i] = src[i];
}

// The patch matrix of output rows [rowBegin, rowEnd) for the channels of one group: patchSize() rows, one per
// (channel, kd, kh, kw), each holding the input value under that tap for every output position of the tile. It is
// written either plainly (row k at col + k * cols) or straight into the GEMM's right-operand panels. Each input row
// is first copied once into `paddedRow` with its left/right zero padding, which every kw tap then reads without
// bounds checks.
template <bool panels>
void im2colTile(const ConvShape& s, const float* x, int64_t rowBegin, int64_t rowEnd, float* col, float* paddedRow) {
    const WindowGeometry& g = s.window;
    const int64_t outW = g.out[2], inW = g.in[2], strideW = g.stride[2], dilationW = g.dilation[2];
    const int64_t padLeft = g.padBegin[2];
    const int64_t paddedWidth = (outW - 1) * strideW + (g.kernel[2] - 1) * dilationW + 1;
    const int64_t copyBegin = std::min(padLeft, paddedWidth),
                  copyEnd = std::clamp(padLeft + inW, copyBegin, paddedWidth);
    std::fill(paddedRow + copyEnd, paddedRow + paddedWidth, 0.f);
    std::fill(paddedRow, paddedRow + copyBegin, 0.f);
    const int64_t cols = (rowEnd - rowBegin) * outW;
    const RightPanelLayout layout(s.patchSize(), cols);
    constexpr int64_t panelCols = RightPanelLayout::kPanelCols;
    const int64_t planeSize = g.inSize();
    for (int64_t c = 0; c < s.groupChannels(); ++c) {
        const float* plane = x + c * planeSize;
        for (int64_t kd = 0; kd < g.kernel[0]; ++kd)
            for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                const int64_t kFirst = ((c * g.kernel[0] + kd) * g.kernel[1] + kh) * g.kernel[2];
                int64_t od = rowBegin / g.out[1], oh = rowBegin % g.out[1];
                for (int64_t r = rowBegin; r < rowEnd; ++r, oh = oh + 1 == g.out[1] ? (++od, 0) : oh + 1) {
                    const int64_t id = od * g.stride[0] - g.padBegin[0] + kd * g.dilation[0];
                    const int64_t ih = oh * g.stride[1] - g.padBegin[1] + kh * g.dilation[1];
                    const bool inside = id >= 0 && id < g.in[0] && ih >= 0 && ih < g.in[1];
                    if (inside)  // copyBegin == padLeft whenever anything is copied
                        copyStrided(paddedRow + copyBegin, plane + (id * g.in[1] + ih) * inW, copyEnd - copyBegin, 1);
                    const int64_t position = (r - rowBegin) * outW;
                    for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                        const int64_t k = kFirst + kw;
                        const float* from = paddedRow + kw * dilationW;
                        if (!panels) {
                            float* dst = col + k * cols + position;
                            if (inside)
                                copyStrided(dst, from, outW, strideW);
                            else
                                std::fill(dst, dst + outW, 0.f);
                            continue;
                        }
                        // One output row, cut where it crosses a panel boundary.
                        float* rowBase = col + layout.rowOffset(k);
                        const int64_t panelStride = layout.panelStride(k);
                        for (int64_t ow = 0; ow < outW;) {
                            const int64_t p = position + ow, lane = p % panelCols;
                            const int64_t chunk = std::min(panelCols - lane, outW - ow);
                            float* dst = rowBase + p / panelCols * panelStride + lane;
                            if (inside)
                                copyStrided(dst, from + ow * strideW, chunk, strideW);
                            else
                                std::fill(dst, dst + chunk, 0.f);
                            ow += chunk;
                        }
                    }
                }
            }
    }
}

// dst[j] = row[2j - left], dst[phaseWidth + j] = row[2j + 1 - left] for j < phaseWidth, zeros outside the row of
// inW floats: 32 columns per step as two masked loads (nothing outside the row is read) and two lane permutes.
__attribute__((target("avx512f,avx2,fma"))) void splitPhasesAvx512(const float* row, int64_t inW, int64_t left,
                                                                   int64_t phaseWidth, float* dst) {
    const __m512i evens = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odds = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    for (int64_t j = 0; j < phaseWidth; j += 16) {
        const int64_t first = 2 * j - left;  // the row column of the step's first element
        const uint32_t inside = insideBits(first, inW);
        // Masked-off elements are not read, so `row + first` may point before the row or past it.
        const __m512 low = _mm512_maskz_loadu_ps(__mmask16(inside), row + first);
        const __m512 high = _mm512_maskz_loadu_ps(__mmask16(inside >> 16), row + first + 16);
        const __mmask16 store = __mmask16(lowBits(phaseWidth - j));
        _mm512_mask_storeu_ps(dst + j, store, _mm512_permutex2var_ps(low, evens, high));
        _mm512_mask_storeu_ps(dst + phaseWidth + j, store, _mm512_permutex2var_ps(low, odds, high));
    }
}

// Input rows [firstRow, firstRow + count) of every channel of a group, with the left/right (and out-of-range rows')
// zero padding, into `out`: per channel `channelStride` floats of rows `width` (>= IW + padBegin) wide, zeros after
// the input. With `phaseWidth` > 0 (W stride 2; width = 2 * phaseWidth) a row holds padded columns 0, 2, 4, ... and
// then 1, 3, 5, ..., phaseWidth of each.
void copyPaddedRows(const ConvShape& s, const float* x, int64_t firstRow, int64_t count, int64_t channelStride,
                    int64_t width, int64_t phaseWidth, float* out) {
    const WindowGeometry& g = s.window;
    const bool vectorSplit = phaseWidth > 0 && cpuUsesAvx512();
    const int64_t inH = g.in[1], inW = g.in[2], left = g.padBegin[2];
    for (int64_t c = 0; c < s.groupChannels(); ++c)
        for (int64_t r = 0; r < count; ++r) {
            float* dst = out + c * channelStride + r * width;
            const int64_t ih = firstRow + r;
            if (ih < 0 || ih >= inH) {
                std::fill(dst, dst + width, 0.f);
                continue;
            }
            if (phaseWidth > 0) {
                const float* src = x + (c * inH + ih) * inW;
                if (vectorSplit) {
                    splitPhasesAvx512(src, inW, left, phaseWidth, dst);
                    continue;
                }
                for (int64_t phase = 0; phase < 2; ++phase)
                    for (int64_t j = 0; j < phaseWidth; ++j) {
                        const int64_t column = 2 * j + phase - left;
                        dst[phase * phaseWidth + j] = column >= 0 && column < inW ? src[column] : 0.f;
                    }
                continue;
            }
            std::fill(dst, dst + left, 0.f);
            copyStrided(dst + left, x + (c * inH + ih) * inW, inW, 1);
            std::fill(dst + left + inW, dst + width, 0.f);
        }
}

// The input pixels of output rows [rowBegin, rowEnd) of a 1x1 convolution without padding (`channels` planes of x),
// into `out`: per channel `channelStride` floats, the rows' pixels in order.
void gatherPixels(const WindowGeometry& g, const float* x, int64_t channels, int64_t rowBegin, int64_t rowEnd,
                  int64_t channelStride, float* out) {
    const int64_t inH = g.in[1], inW = g.in[2], outW = g.out[2];
    for (int64_t c = 0; c < channels; ++c)
        for (int64_t r = rowBegin; r < rowEnd; ++r) {
            const float* src = x + (c * inH + r * g.stride[1]) * inW;
            copyStrided(out + c * channelStride + (r - rowBegin) * outW, src, outW, g.stride[2]);
        }
}

// A residual Add fused into a Conv: y = clamp(epilogue(conv) + values, after.low, after.high), `values` shaped as y.
struct ResidualOutput {
    const float* values = nullptr;
    float low = -std::numeric_limits<float>::infinity(), high = std::numeric_limits<float>::infinity();
};

// Conv as GEMMs C[Mg x tile] = W_group[Mg x K] * patches[K x tile]. `packed` holds each group's weight matrix when
// the weights are constant, else it is empty and `w` is used. A residual needs gemmUsesPackedKernel().
void convGemm(const ConvShape& s, const float* x, const float* w, const std::vector<PackedMatrix>& packed,
              const float* bias, const Epilogue* epilogue, const ResidualOutput* residual, float* y, Workspace& ws) {
    const WindowGeometry& g = s.window;
    const int64_t patch = s.patchSize(), groupFilters = s.groupFilters();
    const int64_t outSize = g.outSize(), inSize = g.inSize(), outW = g.out[2];
    const int64_t rows = g.out[0] * g.out[1];
    const int threads = ws.threads();
    const bool panels = gemmUsesPackedKernel();
    const bool unpadded = g.padBegin == std::array<int64_t, 3>{0, 0, 0} && g.padEnd == g.padBegin;
    const bool unitStride = g.stride == std::array<int64_t, 3>{1, 1, 1};
    // A strided 1x1 convolution without padding (a ResNet shortcut) reads every stride-th pixel: each tile gathers
    // its pixels into a block of channels x tile columns, which is then read as a pointwise convolution's input.
    const bool subsampled = panels && g.kernelSize() == 1 && unpadded && !unitStride && g.in[0] == 1;
    const bool pointwise = g.kernelSize() == 1 && unpadded && (unitStride || subsampled);
    int64_t rowsPerTile = std::clamp<int64_t>(kTileFloats / std::max<int64_t>(patch * outW, 1), 1, rows);
    // More filters than output positions (late stages' small feature maps with large weights): the weights are
    // what streams through the cache, once per tile, so an implicit GEMM (no patch matrix to hold) takes the whole
    // image as one tile, and the team splits the filters (each task streams its share of the weights once).
    const bool implicitShape = panels && (g.stride[2] == 1 || g.stride[2] == 2) && g.in[0] == 1 && g.kernel[0] == 1;
    const bool weightBound = panels && groupFilters > outSize;
    if (weightBound && implicitShape && (outW % 8 == 0 || !pointwise)) rowsPerTile = rows;
    const int64_t filterPanels = (groupFilters + kGemmPanelRows - 1) / kGemmPanelRows;
    auto tileCount = [&] { return (rows + rowsPerTile - 1) / rowsPerTile; };
    int64_t filterBlocks = 1;
    if (weightBound)
        while (filterBlocks < filterPanels && s.batch * s.groups * tileCount() * filterBlocks < 2 * threads)
            filterBlocks = std::min(filterPanels, 2 * filterBlocks);
    // At least two tasks per thread where the rows allow, in tiles whose sizes differ by one row at most (tile t holds
    // rows [t * rows / tiles, (t + 1) * rows / tiles)), so the static schedule gives every thread the same work.
    int64_t tiles = tileCount();
    while (tiles < rows && s.batch * s.groups * tiles * filterBlocks < 2 * threads) tiles = std::min(rows, 2 * tiles);
    rowsPerTile = (rows + tiles - 1) / tiles;
    const int64_t tasks = s.batch * s.groups * tiles * filterBlocks;
    auto weightsOf = [&](int64_t group) {
        return packed.empty() ? GemmOperand(MatrixRef{w + group * groupFilters * patch, groupFilters, patch, patch, 1})
                              : GemmOperand(packed[size_t(group)]);
    };
    const int64_t tileCols = rowsPerTile * outW;
    // Implicit GEMM: unit stride along W and whole 8-column halves per output row let the micro-kernel read patch
    // rows straight from the input (or from a zero-padded copy of the tile's input rows), with no im2col matrix.
    // Other output widths ("wide") compute rows rounded up to 8 columns from a padded copy wide enough for them. On
    // AVX-512 the GEMM stores only the output's columns, straight into y (GatheredColumns::outputWidth); elsewhere
    // into a scratch C whose rows are then cut to the output width (adding a fused residual there). At W stride 2 the
    // padded copy holds each row as its even columns, then its odd ones (two phases of phaseWidth): a tap then reads
    // consecutive outputs from consecutive floats, as at stride 1.
    const bool wide = implicitShape && outW % 8 != 0 && !pointwise;
    const bool implicit = implicitShape && !subsampled && (outW % 8 == 0 || wide);
    const bool phased = implicit && g.stride[2] == 2;
    const bool scratchRows = wide && !cpuUsesAvx512();
    const bool padded = wide || phased || g.padBegin[1] || g.padBegin[2] || g.padEnd[1] || g.padEnd[2];
    const int64_t vectorW = wide ? (outW + 7) / 8 * 8 : outW;
    const int64_t phaseWidth = phased ? vectorW + (g.kernel[2] - 1) * g.dilation[2] / 2 + 1 : 0;
    const int64_t paddedWidth = phased ? 2 * phaseWidth
                                       : std::max(g.in[2] + g.padBegin[2] + g.padEnd[2],
                                                  wide ? vectorW + (g.kernel[2] - 1) * g.dilation[2] : int64_t(0));
    const int64_t paddedRows = (rowsPerTile - 1) * g.stride[1] + (g.kernel[1] - 1) * g.dilation[1] + 1;
    const int64_t channelStride = padded ? paddedRows * paddedWidth : subsampled ? tileCols : inSize;
    const int64_t rowStride = padded ? paddedWidth : g.in[2];
    int64_t* offsets = implicit || (pointwise && panels) ? ws.sharedIndices(size_t(patch)) : nullptr;
    if (offsets)
        for (int64_t c = 0, k = 0; c < s.groupChannels(); ++c)
            for (int64_t kh = 0; kh < g.kernel[1]; ++kh)
                for (int64_t kw = 0; kw < g.kernel[2]; ++kw, ++k)
                    offsets[k] =
                        c * channelStride + kh * g.dilation[1] * rowStride +
                        (phased ? kw * g.dilation[2] % 2 * phaseWidth + kw * g.dilation[2] / 2 : kw * g.dilation[2]);
    const int64_t paddedRowFloats = (outW - 1) * g.stride[2] + (g.kernel[2] - 1) * g.dilation[2] + 1;
    int64_t columnFloats = 0;
    const int64_t wideFloats = scratchRows ? groupFilters * rowsPerTile * vectorW : 0;  // the scratch C
    if (implicit)
        columnFloats = (padded ? s.groupChannels() * channelStride : 0) + wideFloats;
    else if (subsampled)
        columnFloats = s.groupChannels() * tileCols;
    else if (!pointwise)
        columnFloats = (panels ? RightPanelLayout(patch, tileCols).size() : patch * tileCols) + paddedRowFloats;
    const int64_t scratchFloats =
        columnFloats + gemmScratchSize(weightsOf(0), GemmOperand(MatrixRef{x, patch, tileCols, 1, 1}));
#pragma omp parallel for num_threads(threads) \
    schedule(static) if (tasks > 1 && worthParallelConv(s.batch * s.filters * outSize * patch))
    for (int64_t task = 0; task < tasks; ++task) {
        const int64_t block = task % filterBlocks, imageTile = task / filterBlocks;
        const int64_t n = imageTile / (s.groups * tiles), group = (imageTile / tiles) % s.groups;
        const int64_t tile = imageTile % tiles;
        const RowPanels filterRange{block * filterPanels / filterBlocks, (block + 1) * filterPanels / filterBlocks};
        const int64_t rowBegin = tile * rows / tiles, rowEnd = (tile + 1) * rows / tiles;
        const int64_t cols = (rowEnd - rowBegin) * outW;
        const float* xg = x + (n * s.channels + group * s.groupChannels()) * inSize;
        float* scratch = ws.scratch(omp_get_thread_num(), size_t(scratchFloats));
        float* out = y + (n * s.filters + group * groupFilters) * outSize + rowBegin * outW;
        if (!panels) {
            // Eigen path: C starts as the bias, the product accumulates, the epilogue is a separate pass.
            for (int64_t f = 0; f < groupFilters; ++f)
                std::fill_n(out + f * outSize, cols, bias ? bias[group * groupFilters + f] : 0.f);
            GemmOperand columns(MatrixRef{xg + rowBegin * outW, patch, cols, inSize, 1});
            if (!pointwise) {
                im2colTile<false>(s, xg, rowBegin, rowEnd, scratch + paddedRowFloats, scratch);
                columns = GemmOperand(MatrixRef{scratch + paddedRowFloats, patch, cols, cols, 1});
            }
            gemmAccumulate(weightsOf(group), columns, out, outSize, scratch + columnFloats);
            if (epilogue)
                for (int64_t f = 0; f < groupFilters; ++f)
                    epilogue->apply(out + f * outSize, cols, group * groupFilters + f);
            continue;
        }
        // Packed path: bias and epilogue are applied in registers as the micro-kernel stores C; a SiLU after them
        // runs over the task's output while it is still in cache.
        auto multiply = [&] {
            const int64_t channel = group * groupFilters;
            RowOutput output;
            output.bias = bias ? bias + channel : nullptr;
            if (epilogue) {
                output.scale = epilogue->hasAffine() ? epilogue->scale.data() + channel : nullptr;
                output.shift = epilogue->hasAffine() ? epilogue->shift.data() + channel : nullptr;
                output.low = epilogue->low;
                output.high = epilogue->high;
            }
            if (residual) {
                output.residual = true;
                output.residualBytes =
                    reinterpret_cast<std::intptr_t>(residual->values) - reinterpret_cast<std::intptr_t>(y);
                output.residualLow = residual->low;
                output.residualHigh = residual->high;
            }
            if (implicit) {
                const int64_t firstRow = rowBegin * g.stride[1] - g.padBegin[1];
                const float* data = scratch;
                if (padded)
                    copyPaddedRows(s, xg, firstRow,
                                   (rowEnd - rowBegin - 1) * g.stride[1] + (g.kernel[1] - 1) * g.dilation[1] + 1,
                                   channelStride, paddedWidth, phaseWidth, scratch);
                else
                    data = xg + firstRow * g.in[2];
                const int64_t wideCols = (rowEnd - rowBegin) * vectorW;
                const GatheredColumns columns{data,
                                              vectorW,
                                              g.stride[1] * rowStride,
                                              offsets,
                                              patch,
                                              wide ? wideCols : cols,
                                              wide && !scratchRows ? outW : 0};
                if (!scratchRows) {
                    gemmRowsGathered(weightsOf(group), columns, out, outSize, scratch + columnFloats, output,
                                     filterRange);
                    return;
                }
                float* c = scratch + columnFloats - wideFloats;
                RowOutput beforeResidual = output;
                beforeResidual.residual = false;
                gemmRowsGathered(weightsOf(group), columns, c, wideCols, scratch + columnFloats, beforeResidual,
                                 filterRange);
                const float* added = residual ? residual->values + (out - y) : nullptr;
                const int64_t firstFilter = filterRange.begin * kGemmPanelRows;
                const int64_t lastFilter = std::min(groupFilters, filterRange.end * kGemmPanelRows);
                for (int64_t f = firstFilter; f < lastFilter; ++f)
                    for (int64_t r = 0; r < rowEnd - rowBegin; ++r) {
                        float* dst = out + f * outSize + r * outW;
                        const float* src = c + f * wideCols + r * vectorW;
                        if (!added) {
                            std::memcpy(dst, src, size_t(outW) * sizeof(float));
                            continue;
                        }
                        const float* sum = added + f * outSize + r * outW;
                        for (int64_t j = 0; j < outW; ++j)
                            dst[j] = std::min(std::max(src[j] + sum[j], residual->low), residual->high);
                    }
            } else {
                const float* source = xg + rowBegin * outW;  // a pointwise convolution's input: channel planes
                int64_t plane = inSize;
                if (subsampled) {
                    gatherPixels(g, xg, s.groupChannels(), rowBegin, rowEnd, tileCols, scratch);
                    source = scratch;
                    plane = tileCols;
                }
                GemmOperand columns(MatrixRef{source, patch, cols, plane, 1});
                if (pointwise && cols >= 16) {
                    // The tile's columns are contiguous in every channel plane: whole 16-column tiles are read in place
                    // (no packed copy of the input); the last few columns, which a 16-float load would read past, are
                    // packed, unless they end a pair of tiles on AVX-512, whose loads are masked to the columns there
                    // (7 x 7 planes: 49 columns as 32 + 17, instead of 48 in place and 1 packed into a 16-column
                    // panel).
                    const int64_t direct = cpuUsesAvx512() && cols % 32 > 16 ? cols : cols / 16 * 16;
                    const GatheredColumns inPlace{source, direct, 0, offsets, patch, direct};
                    gemmRowsGathered(weightsOf(group), inPlace, out, outSize, scratch + columnFloats, output,
                                     filterRange);
                    if (direct == cols) return;
                    columns = GemmOperand(MatrixRef{source + direct, patch, cols - direct, plane, 1});
                    gemmRows(weightsOf(group), columns, out + direct, outSize, scratch + columnFloats, output,
                             filterRange);
                    return;
                }
                if (!pointwise) {
                    im2colTile<true>(s, xg, rowBegin, rowEnd, scratch + paddedRowFloats, scratch);
                    columns = GemmOperand::rightPanels(scratch + paddedRowFloats, patch, cols);
                }
                gemmRows(weightsOf(group), columns, out, outSize, scratch + columnFloats, output, filterRange);
            }
        };
        multiply();
        if (epilogue && epilogue->silu)
            for (int64_t f = filterRange.begin * kGemmPanelRows;
                 f < std::min(groupFilters, filterRange.end * kGemmPanelRows); ++f)
                siluRange(out + f * outSize, cols);
    }
}

// Which direct kernel runs this convolution, if any (else the GEMM): groups = 1, 2-D, more than one tap, on AVX-512.
// directConvRow with at least two 16-filter vectors and 16 input channels, at W stride 1 or 2; directConvPlane with
// fewer filters at stride 1. Measured per layer against the GEMM path (bench_executor --profile, 2 threads):
// - directConvRow: 3x3 layers of 32-512 filters took 20-30 % less time (ResNet-18 at batch 8: 6.7-7.4 -> 5.0-6.0 ms
//   each); with 16 filters (one vector: a broadcast per multiply-add) and on ResNet-18's 3-channel 7x7 stem, the
//   GEMM was 5-15 % faster.
// - directConvPlane: resnet_fashion's 16-filter, 16-channel 3x3 layers at batch 64 went from 1.2-1.7 to 1.1 ms and
//   from 1.4-2.1 to 1.2-1.3 ms; on one-channel stems (9 or 25 taps) its per-tile costs made it 10-60 % slower than
//   the GEMM, and at 6 channels (LeNet-5's conv2) the two were even.
enum class DirectConv { None, Rows, Plane };
DirectConv directConvFor(const ConvShape& s) {
    const WindowGeometry& g = s.window;
    if (!cpuUsesAvx512() || s.groups != 1 || g.in[0] != 1 || g.kernel[0] != 1 || g.kernelSize() == 1)
        return DirectConv::None;
    if (s.filters >= 2 * DirectConvWeights::kLanes && s.channels >= 16 && (g.stride[2] == 1 || g.stride[2] == 2))
        return DirectConv::Rows;
    if (s.filters < 2 * DirectConvWeights::kLanes && s.channels >= 8 && g.stride[1] == 1 && g.stride[2] == 1)
        return DirectConv::Plane;
    return DirectConv::None;
}

// Conv by a direct kernel: per task (image, tile of output rows) the tile's input rows are copied once with their
// zero padding, then directConvRow computes each output row for every filter, or directConvPlane the whole tile.
// `weights`: the filters x patch matrix; `vectors` its DirectConvWeights (for directConvRow).
void convDirect(DirectConv kind, const ConvShape& s, const float* x, const float* weights,
                const DirectConvWeights& vectors, const float* bias, const Epilogue* epilogue,
                const ResidualOutput* residual, float* y, Workspace& ws) {
    const WindowGeometry& g = s.window;
    const int64_t outH = g.out[1], outW = g.out[2], outSize = g.outSize(), inSize = g.inSize();
    const int64_t width = g.in[2] + g.padBegin[2] + g.padEnd[2];
    const int threads = ws.threads();
    const int64_t tapRows = (g.kernel[1] - 1) * g.dilation[1] + 1;
    // Tiles of at most kTileFloats of input, at least two per thread where the rows allow. Tile t holds rows
    // [t * outH / tiles, (t + 1) * outH / tiles): sizes differ by one row at most, so the static schedule gives every
    // thread the same work (fixed-size tiles cut 56 rows as 17 + 17 + 17 + 5: 34 rows for one thread, 22 for the
    // other).
    const int64_t maxRows =
        std::clamp<int64_t>(kTileFloats / std::max<int64_t>(s.channels * width * g.stride[1], 1), 1, outH);
    int64_t tiles = (outH + maxRows - 1) / maxRows;
    while (tiles < outH && s.batch * tiles < 2 * threads) tiles = std::min(outH, 2 * tiles);
    const int64_t rowsPerTile = (outH + tiles - 1) / tiles, tasks = s.batch * tiles;
    const int64_t channelStride = ((rowsPerTile - 1) * g.stride[1] + tapRows) * width;
    int64_t* offsets = ws.sharedIndices(size_t(s.patchSize()));
    for (int64_t c = 0, k = 0; c < s.channels; ++c)
        for (int64_t kh = 0; kh < g.kernel[1]; ++kh)
            for (int64_t kw = 0; kw < g.kernel[2]; ++kw, ++k)
                offsets[k] = c * channelStride + kh * g.dilation[1] * width + kw * g.dilation[2];
    DirectConvOutput output = directConvOutput(bias, epilogue);
    if (residual) {
        output.residualLow = residual->low;
        output.residualHigh = residual->high;
    }
#pragma omp parallel for num_threads(threads) \
    schedule(static) if (tasks > 1 && worthParallelConv(s.batch * s.filters * outSize * s.patchSize()))
    for (int64_t task = 0; task < tasks; ++task) {
        const int64_t n = task / tiles, rowBegin = task % tiles * outH / tiles;
        const int64_t rowEnd = (task % tiles + 1) * outH / tiles;
        float* scratch = ws.scratch(omp_get_thread_num(), size_t(s.channels * channelStride + kDirectConvPlaneSlack));
        copyPaddedRows(s, x + n * s.channels * inSize, rowBegin * g.stride[1] - g.padBegin[1],
                       (rowEnd - rowBegin - 1) * g.stride[1] + tapRows, channelStride, width, 0, scratch);
        if (kind == DirectConv::Plane) {
            const int64_t at = n * s.filters * outSize + rowBegin * outW;
            DirectConvOutput tileOutput = output;
            if (residual) tileOutput.residual = residual->values + at;
            directConvPlane(weights, s.filters, s.patchSize(),
                            DirectConvPlane{scratch, offsets, width, rowEnd - rowBegin, outW, y + at, outSize},
                            tileOutput);
        }
        for (int64_t oh = rowBegin; oh < rowEnd && kind == DirectConv::Rows; ++oh) {
            const int64_t at = n * s.filters * outSize + oh * outW;
            const DirectConvRow row{
                scratch + (oh - rowBegin) * g.stride[1] * width, g.stride[2], offsets, outW, y + at, outSize};
            DirectConvOutput rowOutput = output;
            if (residual) rowOutput.residual = residual->values + at;
            directConvRow(vectors, row, rowOutput);
        }
        if (epilogue && epilogue->silu)
            for (int64_t f = 0; f < s.filters; ++f)
                siluRange(y + (n * s.filters + f) * outSize + rowBegin * outW, (rowEnd - rowBegin) * outW);
    }
}

// For weights computed at run time. A named lvalue: `m_packed ? *m_packed : std::vector<PackedMatrix>{}` would be a
// prvalue and copy every packed weight matrix on each run.
const std::vector<PackedMatrix> kNoPackedWeights;

class ConvKernel final : public Kernel {
public:
    ConvKernel(std::optional<WindowAttributes> window, Node attributes, int64_t groups,
               std::shared_ptr<const NDArray> weight, std::vector<float> bias, bool packWeights)
        : m_window(std::move(window)),
          m_attributes(std::move(attributes)),
          m_groups(groups),
          m_weight(std::move(weight)),
          m_bias(std::move(bias)) {
        if (!m_weight || !packWeights || m_weight->shape[0] % m_groups != 0) return;
        const int64_t groupFilters = m_weight->shape[0] / m_groups;
        const int64_t patch = m_weight->numel() / m_weight->shape[0];
        auto packed = std::make_shared<std::vector<PackedMatrix>>();
        for (int64_t group = 0; group < m_groups; ++group)
            packed->emplace_back(
                MatrixRef{m_weight->data.data() + group * groupFilters * patch, groupFilters, patch, patch, 1},
                PackedMatrix::Side::Left);
        m_packed = std::move(packed);
        if (m_groups == 1 && patch > m_weight->shape[1] && cpuUsesAvx512())
            m_direct = std::make_shared<const DirectConvWeights>(m_weight->data.data(), groupFilters, patch);
    }

    std::unique_ptr<Kernel> withEpilogue(const Epilogue& epilogue) const override {
        if (m_residualInput >= 0) {
            // After the residual sum only a clamp (Relu, Clip) fits the GEMM's store.
            std::optional<Epilogue> after = m_afterResidual.then(epilogue);
            if (epilogue.hasAffine() || !after || after->hasAffine() || after->silu) return nullptr;
            auto fused = std::make_unique<ConvKernel>(*this);
            fused->m_afterResidual = *after;
            return fused;
        }
        if (!m_weight || (epilogue.hasAffine() && int64_t(epilogue.scale.size()) != m_weight->shape[0])) return nullptr;
        std::optional<Epilogue> combined = m_epilogue ? m_epilogue->then(epilogue) : epilogue;
        if (!combined) return nullptr;
        auto fused = std::make_unique<ConvKernel>(*this);
        fused->m_epilogue = std::move(combined);
        return fused;
    }

    std::unique_ptr<Kernel> withResidual(int input) const override {
        // Only the packed GEMM path adds a residual; depthwise convolutions keep a separate Add. The GEMM adds it as
        // it stores C, before a SiLU epilogue (applied to the stored output), which must come first.
        const bool depthwise = m_weight && m_groups > 1 && m_weight->shape[1] == 1;
        const bool silu = m_epilogue && m_epilogue->silu;
        if (!m_weight || depthwise || silu || m_residualInput >= 0 || !gemmUsesPackedKernel()) return nullptr;
        auto fused = std::make_unique<ConvKernel>(*this);
        fused->m_residualInput = input;
        return fused;
    }

    Status forward(KernelIo& io) const override {
        const NDArray& x = io.input(0);
        const NDArray& w = m_weight ? *m_weight : io.input(1);
        if (x.rank() < 3 || w.rank() != x.rank())
            return invalidInput("input " + shapeToString(x.shape) + " and weights " + shapeToString(w.shape) +
                                " must both have rank 3-5 and equal ranks");
        const size_t rank = size_t(x.rank() - 2);
        const std::vector<int64_t> kernel(w.shape.begin() + 2, w.shape.end());
        std::optional<WindowAttributes> lazy;
        if (!m_window) {
            auto read = readWindowAttributes(m_attributes, rank, kernel);
            if (!read) return read.error();
            lazy = std::move(read.value());
        }
        const WindowAttributes& attributes = m_window ? *m_window : *lazy;
        if (attributes.kernel != kernel)
            return invalidInput("kernel_shape " + shapeToString(attributes.kernel) + " differs from the weights " +
                                shapeToString(w.shape));
        ConvShape s;
        s.batch = x.shape[0];
        s.channels = x.shape[1];
        s.filters = w.shape[0];
        s.groups = m_groups;
        if (s.channels != w.shape[1] * s.groups || s.filters % s.groups != 0)
            return invalidInput("input has " + std::to_string(s.channels) + " channels but weights " +
                                shapeToString(w.shape) + " with group=" + std::to_string(s.groups) + " expect " +
                                std::to_string(w.shape[1] * s.groups));
        auto window = resolveWindow(attributes, std::span(x.shape).subspan(2));
        if (!window) return window.error();
        s.window = window.value();
        const float* bias = nullptr;
        if (!m_bias.empty()) {
            bias = m_bias.data();
        } else if (io.hasInput(2) && m_residualInput != 2) {
            if (io.input(2).numel() != s.filters)
                return invalidInput("bias has shape " + shapeToString(io.input(2).shape) + ", expected [" +
                                    std::to_string(s.filters) + "]");
            bias = io.input(2).data.data();
        }
        std::vector<int64_t> outShape{s.batch, s.filters};
        for (int64_t d : s.window.outShape(rank)) outShape.push_back(d);
        NDArray& y = io.output(0, std::move(outShape));
        if (io.shapesOnly()) {
            std::fill(y.data.begin(), y.data.end(), 0.f);
            return Ok{};
        }
        const Epilogue* epilogue = m_epilogue ? &*m_epilogue : nullptr;
        std::optional<ResidualOutput> residual;
        if (m_residualInput >= 0) {
            const NDArray& r = io.input(size_t(m_residualInput));
            if (r.shape != y.shape)
                return invalidInput("the fused residual Add has inputs of shapes " + shapeToString(y.shape) + " and " +
                                    shapeToString(r.shape) + ", which must be equal");
            residual = ResidualOutput{r.data.data(), m_afterResidual.low, m_afterResidual.high};
        }
        if (s.groupChannels() == 1 && s.groups > 1 && rank <= 2 && !residual)
            convDepthwise(DepthwiseShape{s.batch, s.channels, s.filters, s.window}, x.data.data(), w.data.data(), bias,
                          epilogue, y.data.data(), io.workspace());
        else if (const DirectConv kind = m_direct ? directConvFor(s) : DirectConv::None; kind != DirectConv::None)
            convDirect(kind, s, x.data.data(), w.data.data(), *m_direct, bias, epilogue,
                       residual ? &*residual : nullptr, y.data.data(), io.workspace());
        else
            convGemm(s, x.data.data(), w.data.data(), m_packed ? *m_packed : kNoPackedWeights, bias, epilogue,
                     residual ? &*residual : nullptr, y.data.data(), io.workspace());
        return Ok{};
    }

private:
    std::optional<WindowAttributes> m_window;  // resolved at compile time when the spatial rank was known
    Node m_attributes;                         // the node, for reading the window once the weights' rank is known
    int64_t m_groups;
    std::shared_ptr<const NDArray> m_weight;  // constant weights [M, C/group, k...]: per group an Mg x K matrix
    std::shared_ptr<const std::vector<PackedMatrix>> m_packed;  // per group, for the GEMM (constant weights only)
    std::shared_ptr<const DirectConvWeights> m_direct;          // for directConvRow (groups = 1, more than one tap)
    std::optional<Epilogue> m_epilogue;                         // fused BatchNormalization / Relu / Clip
    int m_residualInput = -1;   // the input index of a fused residual Add's other operand, or -1
    Epilogue m_afterResidual;   // clamp after the residual sum (fused Relu / Clip)
    std::vector<float> m_bias;  // constant bias, empty when absent or computed at run time
};

}  // namespace

Result<std::unique_ptr<Kernel>> makeConvKernel(const KernelContext& context) {
    const Node& node = context.node;
    if (!context.hasInput(0) || !context.hasInput(1)) return invalidInput("needs inputs X and W");
    const int64_t groups = node.attrInt("group", 1);
    if (groups < 1) return invalidInput("group must be positive");
    std::shared_ptr<const NDArray> weight;
    std::vector<int64_t> kernel = node.attrInts("kernel_shape");
    if (const NDArray* w = context.constant(1)) {
        if (w->rank() < 3) return invalidInput("weights must have rank 3-5, got " + shapeToString(w->shape));
        weight = std::make_shared<const NDArray>(*w);
        if (kernel.empty()) kernel.assign(w->shape.begin() + 2, w->shape.end());
    }
    std::optional<WindowAttributes> window;
    if (!kernel.empty()) {
        auto read = readWindowAttributes(node, kernel.size(), kernel);
        if (!read) return read.error();
        window = std::move(read.value());
    }
    std::vector<float> bias;
    if (const NDArray* b = context.constant(2)) {
        if (weight && b->numel() != weight->shape[0])
            return invalidInput("bias has shape " + shapeToString(b->shape) + ", expected [" +
                                std::to_string(weight->shape[0]) + "]");
        bias = values(*b);
    }
    return std::unique_ptr<Kernel>(std::make_unique<ConvKernel>(std::move(window), node, groups, std::move(weight),
                                                                std::move(bias), context.packWeights));
}

}  // namespace lathe
