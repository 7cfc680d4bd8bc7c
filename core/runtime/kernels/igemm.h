#pragma once

#include <cstdint>

// Integer GEMM behind the int8 Conv and MatMul kernels: C (int32) = A * B where one operand holds unsigned 8-bit
// codes (u8) and the other signed ones (s8), accumulated in 32 bits without saturation. Both operands are packed with
// the depth K padded to a multiple of 4 (padding bytes 0): A in tiles of 4 rows, B in panels of 16 columns, 4
// consecutive k of one row/column in 4 adjacent bytes. One step multiplies those 4 bytes pairwise and adds them into
// a 32-bit lane: vpdpbusd on CPUs with AVX-VNNI or AVX512-VNNI (in 16-lane registers over two A tiles and two B
// panels when the CPU has AVX512-VNNI and AVX-512 is in use), an exact emulation through 16-bit vpmaddwd with AVX2
// (vpmaddubsw would saturate), scalar code elsewhere. Integer sums do not depend on the order, so every path gives the
// same bits.
namespace lathe {

enum class Int8Path { Scalar, Avx2, Vnni };

// The path in use: the best the CPU has, lowered by LATHE_NO_VNNI (to AVX2) or LATHE_NO_AVX2 (to scalar), so tests
// can run every path on one machine.
Int8Path int8Path();
const char* int8PathName(Int8Path path);

// Where element (r, k) of A and (k, c) of B live in their packed forms.
struct Int8Packing {
    static constexpr int64_t kTileRows = 4;
    static constexpr int64_t kPanelCols = 16;

    // The direct convolution's tile (int8_direct_conv.h): 8 filters by 32 output positions.
    static constexpr int64_t kDirectFilters = 8;
    static constexpr int64_t kDirectPositions = 32;

    static int64_t paddedDepth(int64_t depth) { return (depth + 3) / 4 * 4; }
    static int64_t leftBytes(int64_t rows, int64_t depth) {
        return (rows + kTileRows - 1) / kTileRows * kTileRows * paddedDepth(depth);
    }
    static int64_t rightBytes(int64_t cols, int64_t depth) {
        return (cols + kPanelCols - 1) / kPanelCols * kPanelCols * paddedDepth(depth);
    }
    static int64_t leftOffset(int64_t r, int64_t k, int64_t depth) {
        return r / kTileRows * kTileRows * paddedDepth(depth) + k / 4 * (kTileRows * 4) + r % kTileRows * 4 + k % 4;
    }
    static int64_t rightOffset(int64_t k, int64_t c, int64_t depth) {
        return c / kPanelCols * kPanelCols * paddedDepth(depth) + k / 4 * (kPanelCols * 4) + c % kPanelCols * 4 + k % 4;
    }
};

// C[r * ldc + c] = sum_k A(r, k) * B(k, c) for r < rows, c < cols, on the calling thread. `leftSigned`: A holds s8
// and B u8; otherwise A holds u8 and B s8. Both are packed as Int8Packing describes for this `depth`.
void int8Gemm(const uint8_t* a, const uint8_t* b, int64_t rows, int64_t cols, int64_t depth, bool leftSigned,
              int32_t* c, int64_t ldc);

// The direct convolution's tile: acc[r * ld + p] = sum over steps s of the 4 byte products of input word
// input[offsets[s] + 4 p] (u8) and weight word weights[(s * 8 + r) * 4] (s8), for 8 rows r and 32 positions p. Zmm
// registers with AVX512-VNNI, ymm with AVX-VNNI (or AVX512-VNNI under LATHE_NO_AVX512), the exact emulation with
// AVX2; null on the scalar path.
using Int8DirectTile = void (*)(const uint8_t* input, const int64_t* offsets, int64_t steps, const int8_t* weights,
                                int32_t* acc, int64_t ld);
Int8DirectTile int8DirectTile();

// Requantizes `count` accumulators into codes stored as floats: out[i] = clamp(nearbyint(fma(float(acc[i] + add[i] +
// addAll), multiplier[i], offset[i])) + zero, low, high), with add null for 0 and multiplier/offset either one value
// (`step` 0: the channel of a Conv row) or one per element (`step` 1: channels along a MatMul row). Vectorised with
// AVX2; the same values on every path.
struct Requantization {
    const float* multiplier = nullptr;
    const float* offset = nullptr;
    int64_t step = 0;
    float zero = 0.f, low = 0.f, high = 255.f;
};
void requantize(const int32_t* acc, const int32_t* add, int32_t addAll, int64_t count, const Requantization& r,
                float* out);

// requantize() of one channel (`r.step` 0) over `rows` rows of `count` accumulators `pitch` apart, with the add term
// `sumScale * sums[i]` (sums null for none, laid out as acc), into rows `count` floats apart. 16 lanes on AVX-512.
void requantizeRows(const int32_t* acc, const int32_t* sums, int32_t sumScale, int64_t pitch, int64_t rows,
                    int64_t count, int32_t addAll, const Requantization& r, float* out);
// The same with the accumulators held as floats of integer value (exact sums below 2^24); `out` may be `acc`.
void requantizeRows(const float* acc, const int32_t* sums, int32_t sumScale, int64_t pitch, int64_t rows, int64_t count,
                    int32_t addAll, const Requantization& r, float* out);

// Codes carried as floats turned into bytes: out[i] = uint8(clamp(x[i], lo, hi) + shift) where [lo, hi] is the code
// range (0..255 for u8, -128..127 for s8) and shift 0 or 128 maps it onto 0..255.
void codesToBytes(const float* x, int64_t count, bool isSigned, uint8_t* out);

}  // namespace lathe
