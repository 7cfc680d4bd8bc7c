#include "core/runtime/kernels/quantized_add.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "core/runtime/kernels/igemm.h"
#include "core/runtime/kernels/kernel_util.h"

namespace lathe {

namespace {

// The steps' operations on one element, each rounded to float in turn.
inline float addOne(float a, float b, const QuantizedAddParams& p) {
    const float realA = (a - p.aZero) * p.aScale;
    const float realB = (b - p.bZero) * p.bScale;
    const float sum = realA + realB;
    const float clamped = std::min(std::max(sum, p.low), p.high);
    return std::min(std::max(std::nearbyint(clamped / p.yScale) + p.yZero, p.codeLow), p.codeHigh);
}

__attribute__((target("avx2"))) void addRunAvx2(const float* a, const float* b, int64_t n, const QuantizedAddParams& p,
                                                float* y) {
    const __m256 as = _mm256_set1_ps(p.aScale), az = _mm256_set1_ps(p.aZero);
    const __m256 bs = _mm256_set1_ps(p.bScale), bz = _mm256_set1_ps(p.bZero);
    const __m256 lo = _mm256_set1_ps(p.low), hi = _mm256_set1_ps(p.high);
    const __m256 ys = _mm256_set1_ps(p.yScale), yz = _mm256_set1_ps(p.yZero);
    const __m256 codeLo = _mm256_set1_ps(p.codeLow), codeHi = _mm256_set1_ps(p.codeHigh);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 realA = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(a + i), az), as);
        const __m256 realB = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(b + i), bz), bs);
        const __m256 sum = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(realA, realB), lo), hi);
        const __m256 code = _mm256_round_ps(_mm256_div_ps(sum, ys), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm256_storeu_ps(y + i, _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(code, yz), codeLo), codeHi));
    }
    for (; i < n; ++i) y[i] = addOne(a[i], b[i], p);
}

void addRun(const float* a, const float* b, int64_t n, const QuantizedAddParams& p, float* y) {
    if (int8Path() != Int8Path::Scalar) return addRunAvx2(a, b, n, p, y);  // AVX2 present, LATHE_NO_AVX2 unset
    for (int64_t i = 0; i < n; ++i) y[i] = addOne(a[i], b[i], p);
}

class QuantizedAddKernel final : public Kernel {
public:
    explicit QuantizedAddKernel(const QuantizedAddParams& params) : m_params(params) {}

    Status forward(KernelIo& io) const override {
        const NDArray& a = io.input(0);
        const NDArray& b = io.input(1);
        auto shape = broadcastShapes(a.shape, b.shape);
        if (!shape) return shape.error();
        NDArray& y = io.output(0, shape.value());
        const int64_t n = y.numel();
        const float* pa = a.data.data();
        const float* pb = b.data.data();
        if (a.shape != y.shape || b.shape != y.shape) {  // broadcast: both operands spelled out at y's shape first
            float* spread = io.workspace().shared(size_t(2 * n));
            stridedCopy(pa, 0, broadcastStrides(a.shape, y.shape), y.shape, spread, io.threads());
            stridedCopy(pb, 0, broadcastStrides(b.shape, y.shape), y.shape, spread + n, io.threads());
            pa = spread;
            pb = spread + n;
        }
        const int64_t chunk = int64_t(1) << 14, chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for num_threads(io.threads()) if (worthParallel(n * 4))
        for (int64_t c = 0; c < chunks; ++c) {
            const int64_t begin = c * chunk;
            addRun(pa + begin, pb + begin, std::min(chunk, n - begin), m_params, y.data.data() + begin);
        }
        return Ok{};
    }

private:
    QuantizedAddParams m_params;
};

}  // namespace

Result<std::unique_ptr<Kernel>> makeQuantizedAddKernel(const QuantizedAddParams& p) {
    for (auto [value, what] :
         {std::pair{p.aScale, "the first input's scale"}, std::pair{p.bScale, "the second input's scale"},
          std::pair{p.yScale, "the output's scale"}})
        if (!(value > 0.f) || !std::isfinite(value))
            return invalidInput(std::string(what) + " must be positive and finite, got " + std::to_string(value));
    return std::unique_ptr<Kernel>(std::make_unique<QuantizedAddKernel>(p));
}

}  // namespace lathe
