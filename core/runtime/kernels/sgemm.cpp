#include "core/runtime/kernels/sgemm.h"

#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cstdlib>

#include "core/runtime/kernels/kernel_util.h"

namespace lathe {

namespace {

constexpr int64_t kPanelRows = kGemmPanelRows;  // micro-tile height: 6 rows x 2 AVX registers = 12 accumulators
constexpr int64_t kPanelCols = RightPanelLayout::kPanelCols;
constexpr int64_t kDepthBlock = RightPanelLayout::kDepthBlock;
constexpr int64_t kRowBlockPanels = 16;  // A panels per pass over a B panel (96 rows x 256 x 4 B = 96 KB, in L2)

int64_t roundUp(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

// Panel `panel` of K block starting at `depth` inside a packed operand whose padded extent is `padded`.
int64_t panelOffset(int64_t depth, int64_t padded, int64_t panel, int64_t panelWidth, int64_t blockDepth) {
    return depth * padded + panel * panelWidth * blockDepth;
}

// Left operand (rows x depth) in 6-row panels: per K block, per panel, per k the 6 row values (zero padded). The k
// loop is outside, so the panel is written in order (a loop per row wrote it 6 times over at a stride of 6 floats).
void packLeftPanel(const MatrixRef& a, int64_t depth, int64_t panel, float* out) {
    const int64_t blockDepth = std::min(kDepthBlock, a.cols - depth);
    float* dst = out + panelOffset(depth, roundUp(a.rows, kPanelRows), panel, kPanelRows, blockDepth);
    static const float kZero = 0.f;
    const float* src[kPanelRows];
    int64_t step[kPanelRows];
    for (int64_t r = 0; r < kPanelRows; ++r) {
        const int64_t row = panel * kPanelRows + r;
        src[r] = row < a.rows ? a.data + row * a.rowStride + depth * a.colStride : &kZero;
        step[r] = row < a.rows ? a.colStride : 0;
    }
    for (int64_t k = 0; k < blockDepth; ++k, dst += kPanelRows)
#pragma GCC unroll 6
        for (int64_t r = 0; r < kPanelRows; ++r) dst[r] = src[r][k * step[r]];
}

// Right operand (depth x cols) in 16-column panels: per K block, per panel, per k the 16 column values.
void packRightPanel(const MatrixRef& b, int64_t depth, int64_t panel, float* out) {
    const int64_t blockDepth = std::min(kDepthBlock, b.rows - depth);
    float* dst = out + panelOffset(depth, roundUp(b.cols, kPanelCols), panel, kPanelCols, blockDepth);
    const int64_t firstCol = panel * kPanelCols;
    const int64_t width = std::min(kPanelCols, b.cols - firstCol);
    for (int64_t k = 0; k < blockDepth; ++k, dst += kPanelCols) {
        const float* src = b.data + (depth + k) * b.rowStride + firstCol * b.colStride;
        if (b.colStride == 1 && width == kPanelCols) {
            __builtin_memcpy(dst, src, kPanelCols * sizeof(float));  // constant size: inlined, no libc call
            continue;
        }
        for (int64_t c = 0; c < width; ++c) dst[c] = src[c * b.colStride];
        std::fill(dst + width, dst + kPanelCols, 0.f);
    }
}

int64_t panelCount(int64_t extent, int64_t width) { return (extent + width - 1) / width; }
int64_t depthBlocks(int64_t depth) { return panelCount(depth, kDepthBlock); }

// Packing `m` is this many tasks: one per panel and K block.
int64_t packTasks(const MatrixRef& m, PackedMatrix::Side side) {
    return side == PackedMatrix::Side::Left ? depthBlocks(m.cols) * panelCount(m.rows, kPanelRows)
                                            : depthBlocks(m.rows) * panelCount(m.cols, kPanelCols);
}

// Packs task `t` (< packTasks) of `m` into `out`.
void packTask(const MatrixRef& m, PackedMatrix::Side side, int64_t t, float* out) {
    if (side == PackedMatrix::Side::Left) {
        const int64_t panels = panelCount(m.rows, kPanelRows);
        packLeftPanel(m, t / panels * kDepthBlock, t % panels, out);
    } else {
        const int64_t panels = panelCount(m.cols, kPanelCols);
        packRightPanel(m, t / panels * kDepthBlock, t % panels, out);
    }
}

void packAll(const MatrixRef& m, PackedMatrix::Side side, float* out) {
    for (int64_t t = 0; t < packTasks(m, side); ++t) packTask(m, side, t, out);
}

// How a micro-kernel stores its tile: null for C += acc; otherwise the RowOutput pointers advanced to the tile's first
// row, whether this is the first K block (C = bias + acc) and the last (then scale, shift and clamp).
// With `keep` set (pair tiles of GatheredColumns::outputWidth), only the tile's lanes whose bit is set are stored,
// packed to the front of the C row: that is where those output positions are.
struct TileStore {
    RowOutput output;
    bool first = false;
    bool last = false;
    uint32_t keep = 0;
};

template <int rows>
__attribute__((target("avx2,fma"))) inline void storeTile(__m256 (&acc)[rows][2], float* c, int64_t ldc, int64_t cols,
                                                          const TileStore* store) {
    alignas(32) float tile[kPanelCols];
    const float* columnBias = store && store->first ? store->output.columnBias : nullptr;
    __m256 columnBias0 = _mm256_setzero_ps(), columnBias1 = columnBias0;
    if (columnBias) {
        for (int64_t j = 0; j < kPanelCols; ++j) tile[j] = j < cols ? columnBias[j] : 0.f;
        columnBias0 = _mm256_load_ps(tile);
        columnBias1 = _mm256_load_ps(tile + 8);
    }
#pragma GCC unroll 6
    for (int r = 0; r < rows; ++r) {
        float* row = c + r * ldc;
        __m256 v0 = acc[r][0], v1 = acc[r][1];
        if (!store || !store->first) {
            if (cols == kPanelCols) {
                v0 = _mm256_add_ps(v0, _mm256_loadu_ps(row));
                v1 = _mm256_add_ps(v1, _mm256_loadu_ps(row + 8));
            } else {
                for (int64_t j = 0; j < kPanelCols; ++j) tile[j] = j < cols ? row[j] : 0.f;
                v0 = _mm256_add_ps(v0, _mm256_load_ps(tile));
                v1 = _mm256_add_ps(v1, _mm256_load_ps(tile + 8));
            }
        } else if (store->output.bias) {
            const __m256 b = _mm256_set1_ps(store->output.bias[r]);
            v0 = _mm256_add_ps(v0, b);
            v1 = _mm256_add_ps(v1, b);
        }
        if (columnBias) {
            v0 = _mm256_add_ps(v0, columnBias0);
            v1 = _mm256_add_ps(v1, columnBias1);
        }
        if (store && store->last) {
            const RowOutput& o = store->output;
            if (o.scale) {
                const __m256 scale = _mm256_set1_ps(o.scale[r]), shift = _mm256_set1_ps(o.shift[r]);
                // Multiply, then add (no FMA): the same roundings as Epilogue::apply and the unfused
                // BatchNormalization, so fusing never changes a result.
                v0 = _mm256_add_ps(_mm256_mul_ps(v0, scale), shift);
                v1 = _mm256_add_ps(_mm256_mul_ps(v1, scale), shift);
            }
            const __m256 low = _mm256_set1_ps(o.low), high = _mm256_set1_ps(o.high);
            v0 = _mm256_min_ps(_mm256_max_ps(v0, low), high);
            v1 = _mm256_min_ps(_mm256_max_ps(v1, low), high);
            if (o.residual) {
                const float* r = reinterpret_cast<const float*>(reinterpret_cast<std::intptr_t>(row) + o.residualBytes);
                if (cols == kPanelCols) {
                    v0 = _mm256_add_ps(v0, _mm256_loadu_ps(r));
                    v1 = _mm256_add_ps(v1, _mm256_loadu_ps(r + 8));
                } else {
                    for (int64_t j = 0; j < kPanelCols; ++j) tile[j] = j < cols ? r[j] : 0.f;
                    v0 = _mm256_add_ps(v0, _mm256_load_ps(tile));
                    v1 = _mm256_add_ps(v1, _mm256_load_ps(tile + 8));
                }
                const __m256 rl = _mm256_set1_ps(o.residualLow), rh = _mm256_set1_ps(o.residualHigh);
                v0 = _mm256_min_ps(_mm256_max_ps(v0, rl), rh);
                v1 = _mm256_min_ps(_mm256_max_ps(v1, rl), rh);
            }
        }
        if (cols == kPanelCols) {
            _mm256_storeu_ps(row, v0);
            _mm256_storeu_ps(row + 8, v1);
        } else {
            _mm256_store_ps(tile, v0);
            _mm256_store_ps(tile + 8, v1);
            for (int64_t j = 0; j < cols; ++j) row[j] = tile[j];
        }
    }
}

// C[rows x 16] tile (op)= A panel (first `rows` of its 6 rows) * B panel over `depth`; `cols` clips at the matrix edge.
// With `direct`, A is read in place: row r's element k at a[r * lda + k] (no packed panel).
template <int rows, bool direct>
__attribute__((target("avx2,fma"))) inline void microKernel(int64_t depth, const float* a, int64_t lda, const float* b,
                                                            float* c, int64_t ldc, int64_t cols,
                                                            const TileStore* store) {
    __m256 acc[rows][2];
#pragma GCC unroll 6
    for (int r = 0; r < rows; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < depth; ++k, a += direct ? 1 : kPanelRows, b += kPanelCols) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
        for (int r = 0; r < rows; ++r) {
            const __m256 v = _mm256_broadcast_ss(a + (direct ? r * lda : r));
            acc[r][0] = _mm256_fmadd_ps(v, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(v, b1, acc[r][1]);
        }
    }
    storeTile<rows>(acc, c, ldc, cols, store);
}

// As microKernel, but B row k is read from two 8-column halves at half0 + offsets[k] and half1 + offsets[k]. When
// `next` is set, the rows of a tile further on (next + offsets[k]) are prefetched: they are scattered over many
// channels, too many streams for the hardware prefetcher.
template <int rows>
__attribute__((target("avx2,fma"))) inline void microKernelGathered(int64_t depth, const float* a, const float* half0,
                                                                    const float* half1, const float* next,
                                                                    const int64_t* offsets, float* c, int64_t ldc,
                                                                    int64_t cols, const TileStore* store) {
    __m256 acc[rows][2];
#pragma GCC unroll 6
    for (int r = 0; r < rows; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < depth; ++k, a += kPanelRows) {
        if (next) _mm_prefetch(reinterpret_cast<const char*>(next + offsets[k]), _MM_HINT_T0);
        const __m256 b0 = _mm256_loadu_ps(half0 + offsets[k]), b1 = _mm256_loadu_ps(half1 + offsets[k]);
#pragma GCC unroll 6
        for (int r = 0; r < rows; ++r) {
            const __m256 v = _mm256_broadcast_ss(a + r);
            acc[r][0] = _mm256_fmadd_ps(v, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(v, b1, acc[r][1]);
        }
    }
    storeTile<rows>(acc, c, ldc, cols, store);
}

// microKernelGathered for a tile of `rows` (1-6) valid rows.
__attribute__((target("avx2,fma"))) inline void microTileGathered(int64_t rows, int64_t depth, const float* a,
                                                                  const float* half0, const float* half1,
                                                                  const float* next, const int64_t* offsets, float* c,
                                                                  int64_t ldc, int64_t cols, const TileStore* store) {
    using Kernel = void (*)(int64_t, const float*, const float*, const float*, const float*, const int64_t*, float*,
                            int64_t, int64_t, const TileStore*);
    static constexpr Kernel kKernels[kPanelRows] = {microKernelGathered<1>, microKernelGathered<2>,
                                                    microKernelGathered<3>, microKernelGathered<4>,
                                                    microKernelGathered<5>, microKernelGathered<6>};
    kKernels[std::clamp<int64_t>(rows, 1, kPanelRows) - 1](depth, a, half0, half1, next, offsets, c, ldc, cols, store);
}

void microTileGatheredPair(int64_t rows, int64_t depth, const float* a, const float* const (&halves)[4],
                           const float* next, const int64_t* offsets, float* c, int64_t ldc, int64_t cols1,
                           const TileStore* store);
void microTileGatheredPanels(int64_t depth, const float* a, const float* const (&halves)[4], const float* next,
                             const int64_t* offsets, float* c, int64_t ldc, int64_t cols1, const TileStore* store,
                             const TileStore* lowerStore);

// The store of row panel `panel` for the K block [depth, depth + blockDepth) of a product of total depth `total`.
inline const TileStore* tileStore(const RowOutput* output, int64_t panel, int64_t depth, int64_t blockDepth,
                                  int64_t total, TileStore& store) {
    if (!output) return nullptr;
    const int64_t row = panel * kPanelRows;
    store.output = *output;
    if (output->bias) store.output.bias += row;
    if (output->scale) store.output.scale += row;
    if (output->shift) store.output.shift += row;
    store.first = depth == 0;
    store.last = depth + blockDepth == total;
    return &store;
}

__attribute__((target("avx2,fma"))) void multiplyGathered(const float* a, int64_t rows, const GatheredColumns& b,
                                                          float* c, int64_t ldc, const RowOutput* output,
                                                          int64_t panelBegin, int64_t panelEnd) {
    const int64_t paddedRows = roundUp(rows, kPanelRows);
    auto half = [&b](int64_t p) { return b.data + p / b.width * b.rowStride + p % b.width; };
    const bool wide = cpuUsesAvx512();
    // Output rows narrower than `width`: every tile runs as a pair (a lone last tile with an empty second one), whose
    // store keeps the columns inside the output rows.
    const bool compact = b.outputWidth > 0;
    auto keptColumns = [&b](int64_t p) {
        uint32_t keep = 0;
        for (int64_t q = p; q < std::min(b.cols, p + 2 * kPanelCols); q += 8)
            keep |= lowBits(std::min<int64_t>(8, b.outputWidth - q % b.width)) << (q - p);
        return keep;
    };
    // On AVX-512, two full row panels share each B load: 12 rows x 32 columns, 24 accumulators (half the B traffic
    // from L2 per multiply-add of one panel at a time).
    auto twoPanels = [&](int64_t i) { return wide && i + 1 < panelEnd && rows >= (i + 2) * kPanelRows; };
    TileStore store, lowerStore;
    for (int64_t k = 0; k < b.rows; k += kDepthBlock) {
        const int64_t blockDepth = std::min(kDepthBlock, b.rows - k);
        // Groups of column tiles: each A panel (in L1) serves the whole group, and each channel row of B is fetched
        // as a few contiguous lines.
        constexpr int64_t kGroupCols = 4 * kPanelCols;
        for (int64_t group = 0; group < b.cols; group += kGroupCols) {
            const int64_t groupEnd = std::min(b.cols, group + kGroupCols);
            for (int64_t i = panelBegin; i < panelEnd; i += twoPanels(i) ? 2 : 1) {
                const float* panel = a + panelOffset(k, paddedRows, i, kPanelRows, blockDepth);
                const int64_t* offsets = b.offsets + k;
                const TileStore* s = tileStore(output, i, k, blockDepth, b.rows, store);
                const TileStore* lower =
                    twoPanels(i) ? tileStore(output, i + 1, k, blockDepth, b.rows, lowerStore) : nullptr;
                for (int64_t p = group; p < groupEnd; p += kPanelCols) {
                    // A pair: when tile p is full (p + 16 may end at the edge), and for every tile when compact (a
                    // lone last tile, up to 16 columns, with an empty second one).
                    if (compact || (wide && p + kPanelCols < groupEnd)) {
                        const int64_t cols1 = std::clamp<int64_t>(b.cols - p - kPanelCols, 0, kPanelCols);
                        const float* half1 = b.cols - p > 8 ? half(p + 8) : half(p);
                        const float* const halves[4] = {half(p), half1, cols1 > 0 ? half(p + 16) : half(p),
                                                        cols1 > 8   ? half(p + 24)
                                                        : cols1 > 0 ? half(p + 16)
                                                                    : half1};
                        const float* next = i == panelBegin && p + kGroupCols < b.cols ? half(p + kGroupCols) : nullptr;
                        store.keep = lowerStore.keep = compact ? keptColumns(p) : 0;
                        const int64_t column = compact ? p / b.width * b.outputWidth + p % b.width : p;
                        float* tile = c + i * kPanelRows * ldc + column;
                        if (lower)
                            microTileGatheredPanels(blockDepth, panel, halves, next, offsets, tile, ldc, cols1, s,
                                                    lower);
                        else
                            microTileGatheredPair(std::min(kPanelRows, rows - i * kPanelRows), blockDepth, panel,
                                                  halves, next, offsets, tile, ldc, cols1, s);
                        p += kPanelCols;
                        continue;
                    }
                    const int64_t cols = std::min(kPanelCols, b.cols - p);
                    const float* half0 = half(p);
                    const float* half1 = cols > 8 ? half(p + 8) : half0;
                    // While the first panel runs, fetch the matching tile of the next group.
                    const float* next = i == panelBegin && p + kGroupCols < b.cols ? half(p + kGroupCols) : nullptr;
                    for (int64_t j = i; j < i + (lower ? 2 : 1); ++j)
                        microTileGathered(std::min(kPanelRows, rows - j * kPanelRows), blockDepth,
                                          panel + (j - i) * kPanelRows * blockDepth, half0, half1, next, offsets,
                                          c + j * kPanelRows * ldc + p, ldc, cols, j == i ? s : lower);
                }
            }
        }
    }
}

// The micro-kernel for a tile of `rows` (1-6) valid rows; A read in place when `lda` > 0 (see microKernel).
__attribute__((target("avx2,fma"))) inline void microTile(int64_t rows, int64_t depth, const float* a, int64_t lda,
                                                          const float* b, float* c, int64_t ldc, int64_t cols,
                                                          const TileStore* store) {
    using Kernel = void (*)(int64_t, const float*, int64_t, const float*, float*, int64_t, int64_t, const TileStore*);
    static constexpr Kernel kKernels[2][kPanelRows] = {
        {microKernel<1, false>, microKernel<2, false>, microKernel<3, false>, microKernel<4, false>,
         microKernel<5, false>, microKernel<6, false>},
        {microKernel<1, true>, microKernel<2, true>, microKernel<3, true>, microKernel<4, true>, microKernel<5, true>,
         microKernel<6, true>}};
    kKernels[lda > 0][std::clamp<int64_t>(rows, 1, kPanelRows) - 1](depth, a, lda, b, c, ldc, cols, store);
}

// AVX-512 pair kernels (when cpuUsesAvx512()): two adjacent 16-column B panels at once, one 16-lane register per row
// and panel (12 accumulators). Every element sums the same FMAs in the same order as microKernel, so the result has
// the same bits; storePairTile applies storeTile's epilogue to the 16-lane registers.
//
// A register's lanes from memory: `count` floats, spread to the lanes of `keep` when `compact`, else in the first
// lanes. storeLanes is the inverse. (The register forms of expand and compress: their memory forms are slow on Zen 4.)
template <bool compact>
__attribute__((target("avx512f,avx2,fma"))) inline __m512 loadLanes(const float* p, __mmask16 count, __mmask16 keep) {
    const __m512 v = _mm512_maskz_loadu_ps(count, p);
    if constexpr (compact) return _mm512_maskz_expand_ps(keep, v);
    return v;
}

template <bool compact>
__attribute__((target("avx512f,avx2,fma"))) inline void storeLanes(float* p, __mmask16 count, __mmask16 keep,
                                                                   __m512 v) {
    if constexpr (compact) v = _mm512_maskz_compress_ps(keep, v);
    _mm512_mask_storeu_ps(p, count, v);
}

// Stores a 32-column tile of 16-lane accumulators: storeTile's epilogue (the same operations in the same order, so the
// same bits) in 16-lane registers, the second 16 columns masked to `cols1`, or with `compact` only the lanes of
// store->keep, packed. Splitting the registers into storeTile's 8-lane halves went through the stack, and each 8-lane
// reload of a 16-lane store waited for the store.
template <int rows, bool compact>
__attribute__((target("avx512f,avx2,fma"))) inline void storePairTile(const __m512 (&acc)[rows][2], float* c,
                                                                      int64_t ldc, int64_t cols1,
                                                                      const TileStore* store) {
    const __mmask16 all = 0xFFFF;
    __mmask16 keep0 = all, keep1 = __mmask16(lowBits(cols1)), count0 = all, count1 = keep1;
    int64_t offset1 = kPanelCols;  // where the second register's values go
    if constexpr (compact) {
        keep0 = __mmask16(store->keep);
        keep1 = __mmask16(store->keep >> 16);
        offset1 = std::popcount(keep0);
        count0 = __mmask16(lowBits(offset1));
        count1 = __mmask16(lowBits(std::popcount(keep1)));
    }
    const bool add = !store || !store->first, finish = store && store->last;
    const float* columnBias = add ? nullptr : store->output.columnBias;
    const __m512 columnBias0 = columnBias ? _mm512_loadu_ps(columnBias) : _mm512_setzero_ps();
    const __m512 columnBias1 = columnBias ? _mm512_maskz_loadu_ps(keep1, columnBias + kPanelCols) : columnBias0;
#pragma GCC unroll 6
    for (int r = 0; r < rows; ++r) {
        float* row = c + r * ldc;
        __m512 v0 = acc[r][0], v1 = acc[r][1];
        if (add) {
            v0 = _mm512_add_ps(v0, loadLanes<compact>(row, count0, keep0));
            v1 = _mm512_add_ps(v1, loadLanes<compact>(row + offset1, count1, keep1));
        } else if (store->output.bias) {
            const __m512 b = _mm512_set1_ps(store->output.bias[r]);
            v0 = _mm512_add_ps(v0, b);
            v1 = _mm512_add_ps(v1, b);
        }
        if (columnBias) {
            v0 = _mm512_add_ps(v0, columnBias0);
            v1 = _mm512_add_ps(v1, columnBias1);
        }
        if (finish) {
            const RowOutput& o = store->output;
            if (o.scale) {
                const __m512 scale = _mm512_set1_ps(o.scale[r]), shift = _mm512_set1_ps(o.shift[r]);
                // Multiply, then add (no FMA), as storeTile.
                v0 = _mm512_add_ps(_mm512_mul_ps(v0, scale), shift);
                v1 = _mm512_add_ps(_mm512_mul_ps(v1, scale), shift);
            }
            // The masked forms: the plain ones' "undefined" pass-through trips GCC 12's -Wmaybe-uninitialized.
            const __m512 low = _mm512_set1_ps(o.low), high = _mm512_set1_ps(o.high);
            v0 = _mm512_mask_min_ps(v0, all, _mm512_mask_max_ps(v0, all, v0, low), high);
            v1 = _mm512_mask_min_ps(v1, all, _mm512_mask_max_ps(v1, all, v1, low), high);
            if (o.residual) {
                const float* sum =
                    reinterpret_cast<const float*>(reinterpret_cast<std::intptr_t>(row) + o.residualBytes);
                v0 = _mm512_add_ps(v0, loadLanes<compact>(sum, count0, keep0));
                v1 = _mm512_add_ps(v1, loadLanes<compact>(sum + offset1, count1, keep1));
                const __m512 rl = _mm512_set1_ps(o.residualLow), rh = _mm512_set1_ps(o.residualHigh);
                v0 = _mm512_mask_min_ps(v0, all, _mm512_mask_max_ps(v0, all, v0, rl), rh);
                v1 = _mm512_mask_min_ps(v1, all, _mm512_mask_max_ps(v1, all, v1, rl), rh);
            }
        }
        storeLanes<compact>(row, count0, keep0, v0);
        storeLanes<compact>(row + offset1, count1, keep1, v1);
    }
}

// One k step of a pair kernel: every row's A value (a[r], or a[r * lda] when `direct`) times both 16-column rows of B,
// added to its accumulators.
template <int rows, bool direct = false>
__attribute__((target("avx512f,avx2,fma"))) inline void fmaPairStep(__m512 (&acc)[rows][2], const float* a, __m512 v0,
                                                                    __m512 v1, int64_t lda = 0) {
#pragma GCC unroll 6
    for (int r = 0; r < rows; ++r) {
        const __m512 x = _mm512_set1_ps(a[direct ? r * lda : r]);
        acc[r][0] = _mm512_fmadd_ps(x, v0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(x, v1, acc[r][1]);
    }
}

template <int rows, bool direct>
__attribute__((target("avx512f,avx2,fma"))) inline void microKernelPair(int64_t depth, const float* a, int64_t lda,
                                                                        const float* b0, const float* b1, float* c,
                                                                        int64_t ldc, int64_t cols1,
                                                                        const TileStore* store) {
    __m512 acc[rows][2];
#pragma GCC unroll 6
    for (int r = 0; r < rows; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int64_t k = 0; k < depth; ++k, a += direct ? 1 : kPanelRows, b0 += kPanelCols, b1 += kPanelCols) {
        const __m512 v0 = _mm512_loadu_ps(b0), v1 = _mm512_loadu_ps(b1);
        fmaPairStep<rows, direct>(acc, a, v0, v1, lda);
    }
    storePairTile<rows, false>(acc, c, ldc, cols1, store);
}

// Two 8-column halves as one 16-lane register, joined in registers (going through a stack buffer makes the 16-lane
// load wait for two 8-lane stores that cannot be forwarded to it: that stall was most of a gathered pair's time).
// The masked insert: the plain intrinsic's "undefined" pass-through trips GCC 12's -Wmaybe-uninitialized.
__attribute__((target("avx512f,avx2,fma"))) inline __m512 loadHalves(const float* lo, const float* hi) {
    const __m512d low = _mm512_castpd256_pd512(_mm256_castps_pd(_mm256_loadu_ps(lo)));
    const __m256d high = _mm256_castps_pd(_mm256_loadu_ps(hi));
    return _mm512_castpd_ps(_mm512_mask_insertf64x4(low, __mmask8(0xFF), low, high, 1));
}

// Row `offset` of a gathered pair tile's two 16-column tiles (halves[0..3]: their 8-column halves; the second tile
// masked to `second` when each tile's halves are adjacent).
template <bool contiguous>
__attribute__((target("avx512f,avx2,fma"))) inline void loadGatheredRows(const float* const (&halves)[4],
                                                                         int64_t offset, __mmask16 second, __m512& v0,
                                                                         __m512& v1) {
    v0 = contiguous ? _mm512_loadu_ps(halves[0] + offset) : loadHalves(halves[0] + offset, halves[1] + offset);
    v1 = contiguous ? _mm512_maskz_loadu_ps(second, halves[2] + offset)
                    : loadHalves(halves[2] + offset, halves[3] + offset);
}

// microKernelGathered for two adjacent 16-column tiles (halves[0..3]: their 8-column halves); when each tile's halves
// are adjacent in memory (`contiguous`), a row of a tile is one 16-lane load. `compact`: see TileStore::keep.
template <int rows, bool contiguous, bool compact>
__attribute__((target("avx512f,avx2,fma"))) inline void microKernelGatheredPair(
    int64_t depth, const float* a, const float* const (&halves)[4], const float* next, const int64_t* offsets, float* c,
    int64_t ldc, int64_t cols1, const TileStore* store) {
    __m512 acc[rows][2];
#pragma GCC unroll 6
    for (int r = 0; r < rows; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    // Contiguous tiles read only the second tile's cols1 columns: a pointwise convolution's last tile may end at the
    // end of the input (GatheredColumns::cols need not be a multiple of 16 there).
    const __mmask16 second = __mmask16(lowBits(cols1));
    for (int64_t k = 0; k < depth; ++k, a += kPanelRows) {
        const int64_t offset = offsets[k];
        if (next) _mm_prefetch(reinterpret_cast<const char*>(next + offset), _MM_HINT_T0);
        __m512 v0, v1;
        loadGatheredRows<contiguous>(halves, offset, second, v0, v1);
        fmaPairStep<rows>(acc, a, v0, v1);
    }
    storePairTile<rows, compact>(acc, c, ldc, cols1, store);
}

void microTileGatheredPair(int64_t rows, int64_t depth, const float* a, const float* const (&halves)[4],
                           const float* next, const int64_t* offsets, float* c, int64_t ldc, int64_t cols1,
                           const TileStore* store) {
    using Kernel = void (*)(int64_t, const float*, const float* const(&)[4], const float*, const int64_t*, float*,
                            int64_t, int64_t, const TileStore*);
    // [contiguous][compact][rows - 1]
    static constexpr Kernel kKernels[2][2][kPanelRows] = {
        {{microKernelGatheredPair<1, false, false>, microKernelGatheredPair<2, false, false>,
          microKernelGatheredPair<3, false, false>, microKernelGatheredPair<4, false, false>,
          microKernelGatheredPair<5, false, false>, microKernelGatheredPair<6, false, false>},
         {microKernelGatheredPair<1, false, true>, microKernelGatheredPair<2, false, true>,
          microKernelGatheredPair<3, false, true>, microKernelGatheredPair<4, false, true>,
          microKernelGatheredPair<5, false, true>, microKernelGatheredPair<6, false, true>}},
        {{microKernelGatheredPair<1, true, false>, microKernelGatheredPair<2, true, false>,
          microKernelGatheredPair<3, true, false>, microKernelGatheredPair<4, true, false>,
          microKernelGatheredPair<5, true, false>, microKernelGatheredPair<6, true, false>},
         {microKernelGatheredPair<1, true, true>, microKernelGatheredPair<2, true, true>,
          microKernelGatheredPair<3, true, true>, microKernelGatheredPair<4, true, true>,
          microKernelGatheredPair<5, true, true>, microKernelGatheredPair<6, true, true>}}};
    const bool contiguous = halves[1] == halves[0] + 8 && halves[3] == halves[2] + 8;
    const bool compact = store && store->keep;
    kKernels[contiguous][compact][std::clamp<int64_t>(rows, 1, kPanelRows) - 1](depth, a, halves, next, offsets, c, ldc,
                                                                                cols1, store);
}

// microKernelGatheredPair<6> for two consecutive A panels (12 rows; `a + kPanelRows * depth` is the second), each B
// row loaded once for both: the same FMAs per element in the same order, so the same bits.
template <bool contiguous, bool compact>
__attribute__((target("avx512f,avx2,fma"))) inline void microKernelGatheredPanels(
    int64_t depth, const float* a, const float* const (&halves)[4], const float* next, const int64_t* offsets, float* c,
    int64_t ldc, int64_t cols1, const TileStore* store, const TileStore* lowerStore) {
    __m512 upper[kPanelRows][2], lower[kPanelRows][2];
#pragma GCC unroll 6
    for (int r = 0; r < kPanelRows; ++r) upper[r][0] = upper[r][1] = lower[r][0] = lower[r][1] = _mm512_setzero_ps();
    const __mmask16 second = __mmask16(lowBits(cols1));
    const float* a2 = a + kPanelRows * depth;
    for (int64_t k = 0; k < depth; ++k, a += kPanelRows, a2 += kPanelRows) {
        const int64_t offset = offsets[k];
        if (next) _mm_prefetch(reinterpret_cast<const char*>(next + offset), _MM_HINT_T0);
        __m512 v0, v1;
        loadGatheredRows<contiguous>(halves, offset, second, v0, v1);
        fmaPairStep<kPanelRows>(upper, a, v0, v1);
        fmaPairStep<kPanelRows>(lower, a2, v0, v1);
    }
    storePairTile<kPanelRows, compact>(upper, c, ldc, cols1, store);
    storePairTile<kPanelRows, compact>(lower, c + kPanelRows * ldc, ldc, cols1, lowerStore);
}

void microTileGatheredPanels(int64_t depth, const float* a, const float* const (&halves)[4], const float* next,
                             const int64_t* offsets, float* c, int64_t ldc, int64_t cols1, const TileStore* store,
                             const TileStore* lowerStore) {
    using Kernel = void (*)(int64_t, const float*, const float* const(&)[4], const float*, const int64_t*, float*,
                            int64_t, int64_t, const TileStore*, const TileStore*);
    static constexpr Kernel kKernels[2][2] = {
        {microKernelGatheredPanels<false, false>, microKernelGatheredPanels<false, true>},
        {microKernelGatheredPanels<true, false>, microKernelGatheredPanels<true, true>}};
    const bool contiguous = halves[1] == halves[0] + 8 && halves[3] == halves[2] + 8;
    const bool compact = store && store->keep;
    kKernels[contiguous][compact](depth, a, halves, next, offsets, c, ldc, cols1, store, lowerStore);
}

// microKernelPair for a tile of `rows` (1-6) valid rows; A read in place when `lda` > 0 (see microKernel).
void microTilePair(int64_t rows, int64_t depth, const float* a, int64_t lda, const float* b0, const float* b1, float* c,
                   int64_t ldc, int64_t cols1, const TileStore* store) {
    using Kernel = void (*)(int64_t, const float*, int64_t, const float*, const float*, float*, int64_t, int64_t,
                            const TileStore*);
    static constexpr Kernel kKernels[2][kPanelRows] = {
        {microKernelPair<1, false>, microKernelPair<2, false>, microKernelPair<3, false>, microKernelPair<4, false>,
         microKernelPair<5, false>, microKernelPair<6, false>},
        {microKernelPair<1, true>, microKernelPair<2, true>, microKernelPair<3, true>, microKernelPair<4, true>,
         microKernelPair<5, true>, microKernelPair<6, true>}};
    kKernels[lda > 0][std::clamp<int64_t>(rows, 1, kPanelRows) - 1](depth, a, lda, b0, b1, c, ldc, cols1, store);
}

// microKernelPair for two full row panels (12 rows; the second panel's A at `a2`), each B row loaded once for both:
// the same FMAs per element in the same order, so the same bits.
template <bool direct>
__attribute__((target("avx512f,avx2,fma"))) inline void microKernelPanels(int64_t depth, const float* a,
                                                                          const float* a2, int64_t lda, const float* b0,
                                                                          const float* b1, float* c, int64_t ldc,
                                                                          int64_t cols1, const TileStore* store,
                                                                          const TileStore* lowerStore) {
    __m512 upper[kPanelRows][2], lower[kPanelRows][2];
#pragma GCC unroll 6
    for (int r = 0; r < kPanelRows; ++r) upper[r][0] = upper[r][1] = lower[r][0] = lower[r][1] = _mm512_setzero_ps();
    const int64_t step = direct ? 1 : kPanelRows;
    for (int64_t k = 0; k < depth; ++k, a += step, a2 += step, b0 += kPanelCols, b1 += kPanelCols) {
        const __m512 v0 = _mm512_loadu_ps(b0), v1 = _mm512_loadu_ps(b1);
        fmaPairStep<kPanelRows, direct>(upper, a, v0, v1, lda);
        fmaPairStep<kPanelRows, direct>(lower, a2, v0, v1, lda);
    }
    storePairTile<kPanelRows, false>(upper, c, ldc, cols1, store);
    storePairTile<kPanelRows, false>(lower, c + kPanelRows * ldc, ldc, cols1, lowerStore);
}

void microTilePanels(int64_t depth, const float* a, const float* a2, int64_t lda, const float* b0, const float* b1,
                     float* c, int64_t ldc, int64_t cols1, const TileStore* store, const TileStore* lowerStore) {
    if (lda > 0)
        microKernelPanels<true>(depth, a, a2, lda, b0, b1, c, ldc, cols1, store, lowerStore);
    else
        microKernelPanels<false>(depth, a, a2, lda, b0, b1, c, ldc, cols1, store, lowerStore);
}

// The left operand of multiplyPanels: packed panels, or with `lda` > 0 a row-major matrix read in place (its element
// (r, k) at data[r * lda + k]): the micro-kernels broadcast one A element at a time, so a packed copy of activations
// (rebuilt on every run) buys nothing there.
struct LeftOperand {
    const float* data = nullptr;
    int64_t lda = 0;

    // Where row panel `panel` of K block `depth` (of `blockDepth` values) starts, in an operand of `paddedRows` rows.
    const float* block(int64_t depth, int64_t paddedRows, int64_t panel, int64_t blockDepth) const {
        return lda > 0 ? data + panel * kPanelRows * lda + depth
                       : data + panelOffset(depth, paddedRows, panel, kPanelRows, blockDepth);
    }
};

// C += A * B over row panels [rowBegin, rowEnd) and column panels [colBegin, colEnd) of a packed B.
__attribute__((target("avx2,fma"))) void multiplyPanels(const LeftOperand& a, const float* b, int64_t rows,
                                                        int64_t cols, int64_t depth, float* c, int64_t ldc,
                                                        int64_t rowBegin, int64_t rowEnd, int64_t colBegin,
                                                        int64_t colEnd, const RowOutput* output) {
    const int64_t paddedRows = roundUp(rows, kPanelRows), paddedCols = roundUp(cols, kPanelCols);
    const bool wide = cpuUsesAvx512();
    TileStore store;
    // The store of tile (i, j) in the K block at `k`: its rows' outputs, and the column bias from panel j's column.
    TileStore lowerStore;
    auto storeOf = [&](int64_t i, int64_t j, int64_t k, int64_t blockDepth, TileStore& into) {
        const TileStore* s = tileStore(output, i, k, blockDepth, depth, into);
        if (s && into.output.columnBias) into.output.columnBias += j * kPanelCols;
        return s;
    };
    for (int64_t k = 0; k < depth; k += kDepthBlock) {
        const int64_t blockDepth = std::min(kDepthBlock, depth - k);
        for (int64_t rowBlock = rowBegin; rowBlock < rowEnd; rowBlock += kRowBlockPanels) {
            const int64_t rowBlockEnd = std::min(rowEnd, rowBlock + kRowBlockPanels);
            for (int64_t j = colBegin; j < colEnd; ++j) {
                const float* bPanel = b + panelOffset(k, paddedCols, j, kPanelCols, blockDepth);
                if (wide && j + 1 < colEnd) {  // panel j is full; j + 1 may end at the matrix edge
                    const float* bNext = b + panelOffset(k, paddedCols, j + 1, kPanelCols, blockDepth);
                    const int64_t nextCols = std::min(kPanelCols, cols - (j + 1) * kPanelCols);
                    for (int64_t i = rowBlock; i < rowBlockEnd; ++i) {
                        float* tile = c + i * kPanelRows * ldc + j * kPanelCols;
                        const float* panel = a.block(k, paddedRows, i, blockDepth);
                        // Two full row panels share each B load: 12 x 32 tiles, as in multiplyGathered.
                        if (i + 1 < rowBlockEnd && rows >= (i + 2) * kPanelRows) {
                            microTilePanels(blockDepth, panel, a.block(k, paddedRows, i + 1, blockDepth), a.lda, bPanel,
                                            bNext, tile, ldc, nextCols, storeOf(i, j, k, blockDepth, store),
                                            storeOf(i + 1, j, k, blockDepth, lowerStore));
                            ++i;
                            continue;
                        }
                        microTilePair(std::min(kPanelRows, rows - i * kPanelRows), blockDepth, panel, a.lda, bPanel,
                                      bNext, tile, ldc, nextCols, storeOf(i, j, k, blockDepth, store));
                    }
                    ++j;
                    continue;
                }
                const int64_t tileCols = std::min(kPanelCols, cols - j * kPanelCols);
                for (int64_t i = rowBlock; i < rowBlockEnd; ++i)
                    microTile(std::min(kPanelRows, rows - i * kPanelRows), blockDepth,
                              a.block(k, paddedRows, i, blockDepth), a.lda, bPanel,
                              c + i * kPanelRows * ldc + j * kPanelCols, ldc, tileCols,
                              storeOf(i, j, k, blockDepth, store));
            }
        }
    }
}

using StridedMap = Eigen::Map<const RowMatrix, Eigen::Unaligned, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;

StridedMap eigenView(const MatrixRef& m) {
    return StridedMap(m.data, m.rows, m.cols, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(m.rowStride, m.colStride));
}

void eigenAccumulate(const GemmOperand& a, const GemmOperand& b, float* c, int64_t ldc) {
    MatrixMap(c, a.rows(), b.cols(), Eigen::OuterStride<>(ldc)).noalias() += eigenView(a.plain) * eigenView(b.plain);
}

bool isPacked(const GemmOperand& operand) { return operand.panels != nullptr; }

// Whether a left operand that is not pre-packed is read in place (rows of unit-stride elements) rather than packed.
bool readInPlace(const GemmOperand& a) {
    return !isPacked(a) && a.plain.colStride == 1 && (a.plain.rowStride > 0 || a.rows() == 1);
}

// How multiplyPanels reads `a`: its panels, in place, or from `scratch`, where packOperands packs it; and where in
// `scratch` the right operand's panels go.
std::pair<LeftOperand, float*> panelsOf(const GemmOperand& a, float* scratch) {
    if (isPacked(a)) return {LeftOperand{a.panels}, scratch};
    if (readInPlace(a)) return {LeftOperand{a.plain.data, std::max<int64_t>(a.plain.rowStride, 1)}, scratch};
    return {LeftOperand{scratch}, scratch + a.cols() * roundUp(a.rows(), kPanelRows)};
}

// Both operands as multiplyPanels reads them, packing into `scratch` what is neither pre-packed nor read in place.
std::pair<LeftOperand, const float*> packOperands(const GemmOperand& a, const GemmOperand& b, float* scratch) {
    const auto [left, bScratch] = panelsOf(a, scratch);
    if (!isPacked(a) && !readInPlace(a)) packAll(a.plain, PackedMatrix::Side::Left, scratch);
    if (!isPacked(b)) packAll(b.plain, PackedMatrix::Side::Right, bScratch);
    return {left, isPacked(b) ? b.panels : bScratch};
}

}  // namespace

bool cpuUsesAvx512() {
    static const bool available = !std::getenv("LATHE_NO_AVX512") && __builtin_cpu_supports("avx512f") &&
                                  __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return available;
}

bool gemmUsesPackedKernel() {
    static const bool available =
        !std::getenv("LATHE_NO_AVX2") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return available;
}

PackedMatrix::PackedMatrix(const MatrixRef& matrix, Side side) : m_rows(matrix.rows), m_cols(matrix.cols) {
    if (gemmUsesPackedKernel()) {
        m_panels.resize(side == Side::Left ? size_t(m_cols * roundUp(m_rows, kPanelRows))
                                           : size_t(m_rows * roundUp(m_cols, kPanelCols)));
        packAll(matrix, side, m_panels.data());
        return;
    }
    m_plain.resize(size_t(m_rows * m_cols));
    for (int64_t r = 0; r < m_rows; ++r)
        for (int64_t c = 0; c < m_cols; ++c)
            m_plain[size_t(r * m_cols + c)] = matrix.data[r * matrix.rowStride + c * matrix.colStride];
}

GemmOperand GemmOperand::rightPanels(const float* panels, int64_t rows, int64_t cols) {
    GemmOperand operand(MatrixRef{nullptr, rows, cols, cols, 1});
    operand.panels = panels;
    return operand;
}

int64_t gemmScratchSize(const GemmOperand& a, const GemmOperand& b) {
    if (!gemmUsesPackedKernel()) return 0;
    return (isPacked(a) ? 0 : a.cols() * roundUp(a.rows(), kPanelRows)) +
           (isPacked(b) ? 0 : b.rows() * roundUp(b.cols(), kPanelCols));
}

void gemmAccumulate(const GemmOperand& a, const GemmOperand& b, float* c, int64_t ldc, float* scratch) {
    if (a.rows() == 0 || b.cols() == 0 || a.cols() == 0) return;
    if (!gemmUsesPackedKernel()) {
        eigenAccumulate(a, b, c, ldc);
        return;
    }
    const auto [aPanels, bPanels] = packOperands(a, b, scratch);
    multiplyPanels(aPanels, bPanels, a.rows(), b.cols(), a.cols(), c, ldc, 0, panelCount(a.rows(), kPanelRows), 0,
                   panelCount(b.cols(), kPanelCols), nullptr);
}

// The panel range [begin, end) of `panels` clipped to a left operand of `rows` rows.
std::pair<int64_t, int64_t> panelRange(RowPanels panels, int64_t rows) {
    const int64_t count = panelCount(rows, kPanelRows);
    const int64_t end = panels.end < 0 ? count : std::min(panels.end, count);
    return {std::clamp<int64_t>(panels.begin, 0, end), end};
}

void gemmRows(const GemmOperand& a, const GemmOperand& b, float* c, int64_t ldc, float* scratch,
              const RowOutput& output, RowPanels panels) {
    if (a.rows() == 0 || b.cols() == 0 || a.cols() == 0) return;
    const auto [aPanels, bPanels] = packOperands(a, b, scratch);
    const auto [begin, end] = panelRange(panels, a.rows());
    multiplyPanels(aPanels, bPanels, a.rows(), b.cols(), a.cols(), c, ldc, begin, end, 0,
                   panelCount(b.cols(), kPanelCols), &output);
}

void gemmRowsGathered(const GemmOperand& a, const GatheredColumns& b, float* c, int64_t ldc, float* scratch,
                      const RowOutput& output, RowPanels panels) {
    if (a.rows() == 0 || b.cols == 0 || b.rows == 0) return;
    const float* aPanels = a.panels;
    if (!aPanels) {
        packAll(a.plain, PackedMatrix::Side::Left, scratch);
        aPanels = scratch;
    }
    const auto [begin, end] = panelRange(panels, a.rows());
    multiplyGathered(aPanels, a.rows(), b, c, ldc, &output, begin, end);
}

namespace {

// gemmAccumulateParallel (no `output`) and gemmParallel.
void multiplyParallel(const GemmOperand& a, const GemmOperand& b, float* c, int64_t ldc, float* scratch, int threads,
                      const RowOutput* output) {
    const auto [aPanels, bScratch] = panelsOf(a, scratch);
    const float* bPanels = isPacked(b) ? b.panels : bScratch;
    const int64_t rowPanels = panelCount(a.rows(), kPanelRows), colPanels = panelCount(b.cols(), kPanelCols);
    // Tasks: blocks of row panels x groups of column panels, small enough to give every thread several, but whole
    // pairs of column panels on AVX-512 (its micro-kernel takes two at once).
    // Row blocks of even size (33 panels as 11 + 11 + 11, not 16 + 16 + 1): the static schedule deals out tasks by
    // count, so uneven blocks left one thread with most of the work.
    const int64_t minGroup = cpuUsesAvx512() ? 2 : 1;
    const int64_t rowBlocks = panelCount(rowPanels, kRowBlockPanels);
    const int64_t rowBlock = panelCount(rowPanels, rowBlocks);
    int64_t colGroup = 4;
    while (colGroup > minGroup && rowBlocks * panelCount(colPanels, colGroup) < 4 * threads) colGroup /= 2;
    const int64_t colTasks = panelCount(colPanels, colGroup);
    const int64_t tasks = rowBlocks * colTasks;
    // Below about a million multiply-adds (15 us on one core) waking the team costs more than it saves, unless B is
    // large: a few rows (batch 1) times a layer's weights are a stream of B, and split by columns the halves stay in
    // each core's L2 from run to run (the static schedule gives a thread the same columns every time).
    const bool parallel = threads > 1 && tasks > 1 &&
                          (a.rows() * a.cols() * b.cols() >= (int64_t(1) << 20) || b.rows() * b.cols() >= (1 << 17));
    // The operands to pack (a computed B, as in attention's MatMuls; an A read with a column stride) are packed by
    // the same team first, its tasks dealt out one at a time (K blocks differ in size).
    const int64_t aTasks = isPacked(a) || readInPlace(a) ? 0 : packTasks(a.plain, PackedMatrix::Side::Left);
    const int64_t bTasks = isPacked(b) ? 0 : packTasks(b.plain, PackedMatrix::Side::Right);
#pragma omp parallel num_threads(threads) if (parallel)
    {
#pragma omp for schedule(static, 1)
        for (int64_t t = 0; t < aTasks + bTasks; ++t) {
            if (t < aTasks)
                packTask(a.plain, PackedMatrix::Side::Left, t, scratch);
            else
                packTask(b.plain, PackedMatrix::Side::Right, t - aTasks, bScratch);
        }
#pragma omp for schedule(static)
        for (int64_t t = 0; t < tasks; ++t) {
            const int64_t rowBegin = (t / colTasks) * rowBlock, colBegin = (t % colTasks) * colGroup;
            multiplyPanels(aPanels, bPanels, a.rows(), b.cols(), a.cols(), c, ldc, rowBegin,
                           std::min(rowPanels, rowBegin + rowBlock), colBegin, std::min(colPanels, colBegin + colGroup),
                           output);
        }
    }
}

}  // namespace

void gemmAccumulateParallel(const GemmOperand& a, const GemmOperand& b, float* c, int64_t ldc, float* scratch,
                            int threads) {
    if (a.rows() == 0 || b.cols() == 0 || a.cols() == 0) return;
    if (!gemmUsesPackedKernel()) {
        eigenAccumulate(a, b, c, ldc);
        return;
    }
    multiplyParallel(a, b, c, ldc, scratch, threads, nullptr);
}

void gemmParallel(const GemmOperand& a, const GemmOperand& b, float* c, int64_t ldc, float* scratch, int threads,
                  const RowOutput& output) {
    if (a.rows() == 0 || b.cols() == 0) return;
    multiplyParallel(a, b, c, ldc, scratch, threads, &output);
}

}  // namespace lathe
