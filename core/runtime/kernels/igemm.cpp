#include "core/runtime/kernels/igemm.h"

#include <cpuid.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/runtime/kernels/kernel_util.h"
#include "core/runtime/kernels/sgemm.h"

namespace lathe {

namespace {

constexpr int64_t kRows = Int8Packing::kTileRows;
constexpr int64_t kCols = Int8Packing::kPanelCols;

// AVX-VNNI (CPUID leaf 7, subleaf 1, EAX bit 4) read directly: clang 14 (the fuzz build) has no "avxvnni" for
// __builtin_cpu_supports. The AVX2 check covers the OS saving the YMM state.
bool cpuHasAvxVnni() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) return false;
    return __builtin_cpu_supports("avx2") && ((eax >> 4) & 1u);
}

bool supports(const char* feature) {
    if (std::strcmp(feature, "avxvnni") == 0) return cpuHasAvxVnni();
    if (std::strcmp(feature, "avx512vnni") == 0)
        return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl");
    return __builtin_cpu_supports("avx2");
}

enum class VnniFlavour { None, Avx, Avx512 };

VnniFlavour vnniFlavour() {
    static const VnniFlavour flavour = supports("avxvnni")      ? VnniFlavour::Avx
                                       : supports("avx512vnni") ? VnniFlavour::Avx512
                                                                : VnniFlavour::None;
    return flavour;
}

// Stores the valid rows x cols of a 4 x 16 tile of accumulators.
inline void storeTile(const int32_t (&tile)[kRows][kCols], int64_t rows, int64_t cols, int32_t* c, int64_t ldc) {
    for (int64_t r = 0; r < rows; ++r) std::memcpy(c + r * ldc, tile[r], size_t(cols) * sizeof(int32_t));
}

void tileScalar(const uint8_t* a, const uint8_t* b, int64_t groups, bool leftSigned, int64_t rows, int64_t cols,
                int32_t* c, int64_t ldc) {
    int32_t tile[kRows][kCols] = {};
    for (int64_t g = 0; g < groups; ++g)
        for (int64_t r = 0; r < kRows; ++r)
            for (int64_t j = 0; j < kCols; ++j)
                for (int64_t q = 0; q < 4; ++q) {
                    const uint8_t x = a[g * kRows * 4 + r * 4 + q], y = b[g * kCols * 4 + j * 4 + q];
                    tile[r][j] += leftSigned ? int32_t(int8_t(x)) * int32_t(y) : int32_t(x) * int32_t(int8_t(y));
                }
    storeTile(tile, rows, cols, c, ldc);
}

// The 4 x 16 tile loop: per group of 4 k, two 8-column loads of B, one broadcast of each A row, 8 dot steps.
// DOT(acc, u8 operand, s8 operand) accumulates the four byte products of each 32-bit lane.
#define LATHE_INT8_TILE(NAME, TARGET, DOT)                                                                         \
    __attribute__((target(TARGET))) void NAME(const uint8_t* a, const uint8_t* b, int64_t groups, bool leftSigned, \
                                              int64_t rows, int64_t cols, int32_t* c, int64_t ldc) {               \
        __m256i acc[kRows][2];                                                                                     \
        for (auto& row : acc) row[0] = row[1] = _mm256_setzero_si256();                                            \
        for (int64_t g = 0; g < groups; ++g) {                                                                     \
            const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + g * kCols * 4));            \
            const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + g * kCols * 4 + 32));       \
            for (int64_t r = 0; r < kRows; ++r) {                                                                  \
                int32_t word;                                                                                      \
                std::memcpy(&word, a + g * kRows * 4 + r * 4, 4);                                                  \
                const __m256i av = _mm256_set1_epi32(word);                                                        \
                if (leftSigned) {                                                                                  \
                    acc[r][0] = DOT(acc[r][0], b0, av);                                                            \
                    acc[r][1] = DOT(acc[r][1], b1, av);                                                            \
                } else {                                                                                           \
                    acc[r][0] = DOT(acc[r][0], av, b0);                                                            \
                    acc[r][1] = DOT(acc[r][1], av, b1);                                                            \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
        if (rows == kRows && cols == kCols) {                                                                      \
            for (int64_t r = 0; r < kRows; ++r) {                                                                  \
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc), acc[r][0]);                           \
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc + 8), acc[r][1]);                       \
            }                                                                                                      \
            return;                                                                                                \
        }                                                                                                          \
        alignas(32) int32_t tile[kRows][kCols];                                                                    \
        for (int64_t r = 0; r < kRows; ++r) {                                                                      \
            _mm256_store_si256(reinterpret_cast<__m256i*>(tile[r]), acc[r][0]);                                    \
            _mm256_store_si256(reinterpret_cast<__m256i*>(tile[r] + 8), acc[r][1]);                                \
        }                                                                                                          \
        storeTile(tile, rows, cols, c, ldc);                                                                       \
    }

// u8 x s8 byte products summed per 32-bit lane with 16-bit multiplies: even and odd bytes widened separately.
__attribute__((target("avx2"))) inline __m256i dotEmulated(__m256i acc, __m256i u, __m256i s) {
    const __m256i uEven = _mm256_and_si256(u, _mm256_set1_epi16(0x00FF));
    const __m256i uOdd = _mm256_srli_epi16(u, 8);
    const __m256i sEven = _mm256_srai_epi16(_mm256_slli_epi16(s, 8), 8);
    const __m256i sOdd = _mm256_srai_epi16(s, 8);
    return _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(uEven, sEven), _mm256_madd_epi16(uOdd, sOdd)));
}

__attribute__((target("avx2,avxvnni"))) inline __m256i dotAvxVnni(__m256i acc, __m256i u, __m256i s) {
    return _mm256_dpbusd_avx_epi32(acc, u, s);
}

__attribute__((target("avx2,avx512vnni,avx512vl"))) inline __m256i dotAvx512Vnni(__m256i acc, __m256i u, __m256i s) {
    return _mm256_dpbusd_epi32(acc, u, s);
}

LATHE_INT8_TILE(tileAvx2, "avx2", dotEmulated)
LATHE_INT8_TILE(tileAvxVnni, "avx2,avxvnni", dotAvxVnni)
LATHE_INT8_TILE(tileAvx512Vnni, "avx2,avx512vnni,avx512vl", dotAvx512Vnni)

#undef LATHE_INT8_TILE

// Two packed A tiles (8 rows) by two B panels (32 columns) in 16-lane registers: per group of 4 k, two 64-byte loads of
// B, one broadcast word per row, 16 vpdpbusd (four times the ymm tile's products per step). `a1` and `b1` (the second
// tile and panel) may repeat the first when the operand ends; their rows and columns are not stored.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void tileZmm(const uint8_t* a0, const uint8_t* a1,
                                                                    const uint8_t* b0, const uint8_t* b1,
                                                                    int64_t groups, bool leftSigned, int64_t rows,
                                                                    int64_t cols, int32_t* c, int64_t ldc) {
    __m512i acc[2 * kRows][2];
    for (auto& row : acc) row[0] = row[1] = _mm512_setzero_si512();
    for (int64_t g = 0; g < groups; ++g) {
        const __m512i v0 = _mm512_loadu_si512(b0 + g * kCols * 4), v1 = _mm512_loadu_si512(b1 + g * kCols * 4);
        for (int64_t r = 0; r < 2 * kRows; ++r) {
            int32_t word;
            std::memcpy(&word, (r < kRows ? a0 : a1) + g * kRows * 4 + r % kRows * 4, 4);
            const __m512i av = _mm512_set1_epi32(word);
            if (leftSigned) {
                acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], v0, av);
                acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], v1, av);
            } else {
                acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], av, v0);
                acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], av, v1);
            }
        }
    }
    const __mmask16 first = __mmask16(lowBits(std::min(cols, kCols))), second = __mmask16(lowBits(cols - kCols));
    for (int64_t r = 0; r < std::min<int64_t>(rows, 2 * kRows); ++r) {
        _mm512_mask_storeu_epi32(c + r * ldc, first, acc[r][0]);
        _mm512_mask_storeu_epi32(c + r * ldc + kCols, second, acc[r][1]);
    }
}

// Whether int8Gemm runs tileZmm: AVX512-VNNI with byte masks, and 16-lane registers in use (cpuUsesAvx512()).
bool gemmUsesZmm() {
    static const bool zmm =
        int8Path() == Int8Path::Vnni && cpuUsesAvx512() && supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
    return zmm;
}

// The direct convolution's 8 x 32 tile in 16-lane registers: per step two 64-byte loads, 8 broadcast weight words,
// 16 vpdpbusd.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void directTileZmm(const uint8_t* input, const int64_t* offsets,
                                                                          int64_t steps, const int8_t* weights,
                                                                          int32_t* acc, int64_t ld) {
    __m512i sum[8][2];
    for (auto& row : sum) row[0] = row[1] = _mm512_setzero_si512();
    for (int64_t s = 0; s < steps; ++s) {
        const uint8_t* src = input + offsets[s];
        const __m512i b0 = _mm512_loadu_si512(src), b1 = _mm512_loadu_si512(src + 64);
        const int8_t* w = weights + s * 32;
        for (int64_t r = 0; r < 8; ++r) {
            int32_t word;
            std::memcpy(&word, w + r * 4, 4);
            const __m512i a = _mm512_set1_epi32(word);
            sum[r][0] = _mm512_dpbusd_epi32(sum[r][0], b0, a);
            sum[r][1] = _mm512_dpbusd_epi32(sum[r][1], b1, a);
        }
    }
    for (int64_t r = 0; r < 8; ++r) {
        _mm512_storeu_si512(acc + r * ld, sum[r][0]);
        _mm512_storeu_si512(acc + r * ld + 16, sum[r][1]);
    }
}

// The same tile in 8-lane registers, a quarter (8 positions) at a time so that 8 accumulators, the input and the
// weight word fit the 16 ymm registers. DOT(acc, u8 operand, s8 operand) as in LATHE_INT8_TILE.
#define LATHE_INT8_DIRECT_TILE(NAME, TARGET, DOT)                                                            \
    __attribute__((target(TARGET))) void NAME(const uint8_t* input, const int64_t* offsets, int64_t steps,   \
                                              const int8_t* weights, int32_t* acc, int64_t ld) {             \
        for (int64_t quarter = 0; quarter < 4; ++quarter) {                                                  \
            __m256i sum[8];                                                                                  \
            for (auto& v : sum) v = _mm256_setzero_si256();                                                  \
            for (int64_t s = 0; s < steps; ++s) {                                                            \
                const __m256i b =                                                                            \
                    _mm256_loadu_si256(reinterpret_cast<const __m256i*>(input + offsets[s] + quarter * 32)); \
                const int8_t* w = weights + s * 32;                                                          \
                for (int64_t r = 0; r < 8; ++r) {                                                            \
                    int32_t word;                                                                            \
                    std::memcpy(&word, w + r * 4, 4);                                                        \
                    sum[r] = DOT(sum[r], b, _mm256_set1_epi32(word));                                        \
                }                                                                                            \
            }                                                                                                \
            for (int64_t r = 0; r < 8; ++r)                                                                  \
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + r * ld + quarter * 8), sum[r]);         \
        }                                                                                                    \
    }

LATHE_INT8_DIRECT_TILE(directTileAvx2, "avx2", dotEmulated)
LATHE_INT8_DIRECT_TILE(directTileAvxVnni, "avx2,avxvnni", dotAvxVnni)
LATHE_INT8_DIRECT_TILE(directTileAvx512VnniYmm, "avx2,avx512vnni,avx512vl", dotAvx512Vnni)

#undef LATHE_INT8_DIRECT_TILE

using TileFunction = void (*)(const uint8_t*, const uint8_t*, int64_t, bool, int64_t, int64_t, int32_t*, int64_t);

TileFunction tileFunction(Int8Path path) {
    switch (path) {
        case Int8Path::Vnni:
            return vnniFlavour() == VnniFlavour::Avx ? tileAvxVnni : tileAvx512Vnni;
        case Int8Path::Avx2:
            return tileAvx2;
        case Int8Path::Scalar:
            break;
    }
    return tileScalar;
}

inline float requantizeOne(int32_t acc, float multiplier, float offset, const Requantization& r) {
    return std::min(std::max(std::nearbyint(std::fma(float(acc), multiplier, offset)) + r.zero, r.low), r.high);
}

// The last count < 8 lanes enabled.
__attribute__((target("avx2"))) inline __m256i tailMask(int64_t count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(count)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Eight lanes of requantize(): full blocks with plain loads and stores, the tail through the same arithmetic with
// masked ones (masked stores are slow on some CPUs, so only the tail pays for them).
template <bool Tail>
__attribute__((target("avx2,fma"))) inline void requantizeBlock(const int32_t* acc, const int32_t* add, __m256i all,
                                                                const float* multiplier, const float* offset, __m256 m1,
                                                                __m256 o1, __m256 z, __m256 lo, __m256 hi, __m256i mask,
                                                                float* out) {
    __m256i a = _mm256_add_epi32(
        Tail ? _mm256_maskload_epi32(acc, mask) : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc)), all);
    if (add)
        a = _mm256_add_epi32(
            a, Tail ? _mm256_maskload_epi32(add, mask) : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(add)));
    const __m256 m = !multiplier ? m1 : Tail ? _mm256_maskload_ps(multiplier, mask) : _mm256_loadu_ps(multiplier);
    const __m256 o = !offset ? o1 : Tail ? _mm256_maskload_ps(offset, mask) : _mm256_loadu_ps(offset);
    __m256 v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a), m, o);
    v = _mm256_min_ps(
        _mm256_max_ps(_mm256_add_ps(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), z), lo), hi);
    if (Tail)
        _mm256_maskstore_ps(out, mask, v);
    else
        _mm256_storeu_ps(out, v);
}

__attribute__((target("avx2,fma"))) void requantizeAvx2(const int32_t* acc, const int32_t* add, int32_t addAll,
                                                        int64_t count, const Requantization& r, float* out) {
    const __m256 z = _mm256_set1_ps(r.zero), lo = _mm256_set1_ps(r.low), hi = _mm256_set1_ps(r.high);
    const __m256i all = _mm256_set1_epi32(addAll), full = _mm256_set1_epi32(-1);
    const __m256 m1 = _mm256_set1_ps(*r.multiplier), o1 = _mm256_set1_ps(*r.offset);
    int64_t i = 0;
    for (; i + 8 <= count; i += 8)
        requantizeBlock<false>(acc + i, add ? add + i : nullptr, all, r.step ? r.multiplier + i : nullptr,
                               r.step ? r.offset + i : nullptr, m1, o1, z, lo, hi, full, out + i);
    if (i < count)
        requantizeBlock<true>(acc + i, add ? add + i : nullptr, all, r.step ? r.multiplier + i : nullptr,
                              r.step ? r.offset + i : nullptr, m1, o1, z, lo, hi, tailMask(count - i), out + i);
}

// Sixteen accumulators: int32, or floats of integer value converted exactly.
__attribute__((target("avx512f"))) inline __m512i loadAccumulators(const int32_t* p, __mmask16 lanes) {
    return _mm512_maskz_loadu_epi32(lanes, p);
}
__attribute__((target("avx512f"))) inline __m512i loadAccumulators(const float* p, __mmask16 lanes) {
    return _mm512_mask_cvttps_epi32(_mm512_setzero_si512(), __mmask16(0xFFFF), _mm512_maskz_loadu_ps(lanes, p));
}

template <typename Acc>
__attribute__((target("avx512f"))) void requantizeRowsAvx512(const Acc* acc, const int32_t* sums, int32_t sumScale,
                                                             int64_t pitch, int64_t rows, int64_t count, int32_t addAll,
                                                             const Requantization& r, float* out) {
    const __m512 m = _mm512_set1_ps(*r.multiplier), o = _mm512_set1_ps(*r.offset);
    const __m512 z = _mm512_set1_ps(r.zero), lo = _mm512_set1_ps(r.low), hi = _mm512_set1_ps(r.high);
    const __m512i all = _mm512_set1_epi32(addAll), scale = _mm512_set1_epi32(sumScale);
    const __mmask16 tail = __mmask16((1u << (count % 16)) - 1), every = 0xFFFF;
    for (int64_t row = 0; row < rows; ++row, acc += pitch, out += count) {
        const int32_t* rowSums = sums ? sums + row * pitch : nullptr;
        for (int64_t j = 0; j < count; j += 16) {
            const __mmask16 lanes = j + 16 <= count ? __mmask16(0xFFFF) : tail;
            __m512i a = _mm512_add_epi32(loadAccumulators(acc + j, lanes), all);
            if (rowSums)
                a = _mm512_add_epi32(a, _mm512_mullo_epi32(_mm512_maskz_loadu_epi32(lanes, rowSums + j), scale));
            // Masked forms with every lane on: GCC 12 warns that the plain ones read an undefined register.
            __m512 v = _mm512_fmadd_ps(_mm512_mask_cvtepi32_ps(z, every, a), m, o);
            v = _mm512_mask_roundscale_ps(v, every, v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            v = _mm512_mask_min_ps(v, every, _mm512_mask_max_ps(v, every, _mm512_add_ps(v, z), lo), hi);
            _mm512_mask_storeu_ps(out + j, lanes, v);
        }
    }
}

// Eight codes clamped to [lo, hi], shifted and rounded to 32-bit integers.
__attribute__((target("avx2"))) inline __m256i codeWord(const float* p, __m256 lo, __m256 hi, __m256 shift) {
    return _mm256_cvtps_epi32(_mm256_add_ps(_mm256_min_ps(_mm256_max_ps(_mm256_loadu_ps(p), lo), hi), shift));
}

__attribute__((target("avx2"))) void codesToBytesAvx2(const float* x, int64_t count, bool isSigned, uint8_t* out) {
    const float lo = isSigned ? -128.f : 0.f, hi = isSigned ? 127.f : 255.f, shift = isSigned ? 128.f : 0.f;
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi), vshift = _mm256_set1_ps(shift);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    int64_t i = 0;
    for (; i + 32 <= count; i += 32) {
        const __m256i ab = _mm256_packs_epi32(codeWord(x + i, vlo, vhi, vshift), codeWord(x + i + 8, vlo, vhi, vshift));
        const __m256i cd =
            _mm256_packs_epi32(codeWord(x + i + 16, vlo, vhi, vshift), codeWord(x + i + 24, vlo, vhi, vshift));
        const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(ab, cd), order);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), bytes);
    }
    for (; i + 8 <= count; i += 8) {
        const __m256i v = codeWord(x + i, vlo, vhi, vshift);
        const __m128i halves = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out + i), _mm_packus_epi16(halves, halves));
    }
    for (; i < count; ++i)
        out[i] = uint8_t(std::nearbyint((x[i] >= lo ? (x[i] <= hi ? x[i] : hi) : lo) + shift));  // NaN: lo
}

}  // namespace

Int8Path int8Path() {
    static const Int8Path path = [] {
        if (std::getenv("LATHE_NO_AVX2") || !supports("avx2")) return Int8Path::Scalar;
        if (std::getenv("LATHE_NO_VNNI") || vnniFlavour() == VnniFlavour::None) return Int8Path::Avx2;
        return Int8Path::Vnni;
    }();
    return path;
}

const char* int8PathName(Int8Path path) {
    switch (path) {
        case Int8Path::Vnni:
            return gemmUsesZmm()                       ? "AVX512-VNNI, 16 lanes"
                   : vnniFlavour() == VnniFlavour::Avx ? "AVX-VNNI"
                                                       : "AVX512-VNNI";
        case Int8Path::Avx2:
            return "AVX2";
        case Int8Path::Scalar:
            break;
    }
    return "scalar";
}

Int8DirectTile int8DirectTile() {
    static const Int8DirectTile tile = []() -> Int8DirectTile {
        switch (int8Path()) {
            case Int8Path::Vnni:
                if (cpuUsesAvx512() && supports("avx512vnni") && __builtin_cpu_supports("avx512bw"))
                    return directTileZmm;
                return vnniFlavour() == VnniFlavour::Avx ? directTileAvxVnni : directTileAvx512VnniYmm;
            case Int8Path::Avx2:
                return directTileAvx2;
            case Int8Path::Scalar:
                break;
        }
        return nullptr;
    }();
    return tile;
}

void int8Gemm(const uint8_t* a, const uint8_t* b, int64_t rows, int64_t cols, int64_t depth, bool leftSigned,
              int32_t* c, int64_t ldc) {
    const int64_t padded = Int8Packing::paddedDepth(depth), groups = padded / 4;
    if (gemmUsesZmm()) {
        for (int64_t col = 0; col < cols; col += 2 * kCols) {
            const uint8_t* panel0 = b + col / kCols * kCols * padded;
            const uint8_t* panel1 = col + kCols < cols ? panel0 + kCols * padded : panel0;
            for (int64_t row = 0; row < rows; row += 2 * kRows) {
                const uint8_t* tile0 = a + row / kRows * kRows * padded;
                const uint8_t* tile1 = row + kRows < rows ? tile0 + kRows * padded : tile0;
                tileZmm(tile0, tile1, panel0, panel1, groups, leftSigned, rows - row, cols - col, c + row * ldc + col,
                        ldc);
            }
        }
        return;
    }
    const TileFunction tile = tileFunction(int8Path());
    for (int64_t col = 0; col < cols; col += kCols) {
        const uint8_t* panel = b + col / kCols * kCols * padded;
        for (int64_t row = 0; row < rows; row += kRows)
            tile(a + row / kRows * kRows * padded, panel, groups, leftSigned, std::min(kRows, rows - row),
                 std::min(kCols, cols - col), c + row * ldc + col, ldc);
    }
}

void requantize(const int32_t* acc, const int32_t* add, int32_t addAll, int64_t count, const Requantization& r,
                float* out) {
    if (int8Path() != Int8Path::Scalar) return requantizeAvx2(acc, add, addAll, count, r, out);
    for (int64_t i = 0; i < count; ++i)
        out[i] = requantizeOne(acc[i] + (add ? add[i] : 0) + addAll, r.multiplier[i * r.step], r.offset[i * r.step], r);
}

namespace {

// Eight accumulators, as loadAccumulators; `mask` enables the lanes to read.
__attribute__((target("avx2"))) inline __m256i loadAccumulators8(const int32_t* p, __m256i mask) {
    return _mm256_maskload_epi32(p, mask);
}
__attribute__((target("avx2"))) inline __m256i loadAccumulators8(const float* p, __m256i mask) {
    return _mm256_cvttps_epi32(_mm256_maskload_ps(p, mask));
}

template <typename Acc>
__attribute__((target("avx2,fma"))) void requantizeRowsAvx2(const Acc* acc, const int32_t* sums, int32_t sumScale,
                                                            int64_t pitch, int64_t rows, int64_t count, int32_t addAll,
                                                            const Requantization& r, float* out) {
    const __m256 m = _mm256_set1_ps(*r.multiplier), o = _mm256_set1_ps(*r.offset);
    const __m256 z = _mm256_set1_ps(r.zero), lo = _mm256_set1_ps(r.low), hi = _mm256_set1_ps(r.high);
    const __m256i all = _mm256_set1_epi32(addAll), scale = _mm256_set1_epi32(sumScale);
    const __m256i full = _mm256_set1_epi32(-1), tail = tailMask(count % 8);
    for (int64_t row = 0; row < rows; ++row, acc += pitch, out += count) {
        const int32_t* rowSums = sums ? sums + row * pitch : nullptr;
        for (int64_t j = 0; j < count; j += 8) {
            const __m256i lanes = j + 8 <= count ? full : tail;
            __m256i a = _mm256_add_epi32(loadAccumulators8(acc + j, lanes), all);
            if (rowSums) a = _mm256_add_epi32(a, _mm256_mullo_epi32(_mm256_maskload_epi32(rowSums + j, lanes), scale));
            __m256 v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a), m, o);
            v = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            _mm256_maskstore_ps(out + j, lanes, _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v, z), lo), hi));
        }
    }
}

template <typename Acc>
void requantizeRowsOf(const Acc* acc, const int32_t* sums, int32_t sumScale, int64_t pitch, int64_t rows, int64_t count,
                      int32_t addAll, const Requantization& r, float* out) {
    if (int8Path() != Int8Path::Scalar && cpuUsesAvx512())
        return requantizeRowsAvx512(acc, sums, sumScale, pitch, rows, count, addAll, r, out);
    if (int8Path() != Int8Path::Scalar)
        return requantizeRowsAvx2(acc, sums, sumScale, pitch, rows, count, addAll, r, out);
    for (int64_t row = 0; row < rows; ++row)
        for (int64_t j = 0; j < count; ++j)
            out[row * count + j] =
                requantizeOne(int32_t(acc[row * pitch + j]) + (sums ? sumScale * sums[row * pitch + j] : 0) + addAll,
                              *r.multiplier, *r.offset, r);
}

}  // namespace

void requantizeRows(const int32_t* acc, const int32_t* sums, int32_t sumScale, int64_t pitch, int64_t rows,
                    int64_t count, int32_t addAll, const Requantization& r, float* out) {
    requantizeRowsOf(acc, sums, sumScale, pitch, rows, count, addAll, r, out);
}

void requantizeRows(const float* acc, const int32_t* sums, int32_t sumScale, int64_t pitch, int64_t rows, int64_t count,
                    int32_t addAll, const Requantization& r, float* out) {
    requantizeRowsOf(acc, sums, sumScale, pitch, rows, count, addAll, r, out);
}

void codesToBytes(const float* x, int64_t count, bool isSigned, uint8_t* out) {
    if (int8Path() != Int8Path::Scalar) return codesToBytesAvx2(x, count, isSigned, out);
    const float lo = isSigned ? -128.f : 0.f, hi = isSigned ? 127.f : 255.f, shift = isSigned ? 128.f : 0.f;
    for (int64_t i = 0; i < count; ++i)
        out[i] = uint8_t(std::nearbyint((x[i] >= lo ? (x[i] <= hi ? x[i] : hi) : lo) + shift));  // NaN: lo
}

}  // namespace lathe
