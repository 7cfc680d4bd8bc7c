// QuantizeLinear, DequantizeLinear (per tensor or along `axis`, int8/uint8/int32 codes carried as exact floats) and
// DynamicQuantizeLinear (uint8, range of the whole input tensor). Rounding is half to even, as ONNX specifies.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/kernel_util.h"

namespace lathe {

namespace {

struct CodeRange {
    float low = 0.f;
    float high = 255.f;
};

// Saturation bounds of the code type: the zero point's declared type, else the output's, else uint8.
CodeRange codeRange(DType type) {
    switch (type) {
        case DType::Int8: return {-128.f, 127.f};
        case DType::Int32: return {-2147483648.f, 2147483520.f};
        default: return {0.f, 255.f};
    }
}

// How the scale/zero point vectors map onto the elements: element i uses entry (i / inner) % channels.
struct AxisLayout {
    int64_t channels = 1;
    int64_t inner = 1;
};

Result<AxisLayout> axisLayout(const std::vector<int64_t>& shape, int64_t axisAttr, const NDArray& scale,
                              const NDArray* zeroPoint) {
    AxisLayout layout;
    if (zeroPoint && zeroPoint->numel() != scale.numel())
        return invalidInput("scale " + shapeToString(scale.shape) + " and zero point " +
                            shapeToString(zeroPoint->shape) + " differ in size");
    if (scale.numel() == 1) return layout;
    if (scale.rank() != 1) return invalidInput("scale must be a scalar or 1-D, got " + shapeToString(scale.shape));
    auto axis = normalizeAxis(axisAttr, int64_t(shape.size()));
    if (!axis) return axis.error();
    if (shape[size_t(axis.value())] != scale.numel())
        return invalidInput("scale has " + std::to_string(scale.numel()) + " values but axis " +
                            std::to_string(axis.value()) + " of the input " + shapeToString(shape) + " has " +
                            std::to_string(shape[size_t(axis.value())]));
    layout.channels = scale.numel();
    layout.inner = dimProduct(shape, size_t(axis.value()) + 1, shape.size());
    return layout;
}

bool useAvx2() {
    static const bool available = !std::getenv("LATHE_NO_AVX2") && __builtin_cpu_supports("avx2");
    return available;
}

// data[i] = clamp(nearbyint(data[i] / scale) + zero, low, high), NaN kept, 8 lanes at a time.
__attribute__((target("avx2"))) void quantizeRunAvx2(float* data, int64_t n, float scale, float zero, float low,
                                                     float high) {
    const __m256 s = _mm256_set1_ps(scale), z = _mm256_set1_ps(zero), lo = _mm256_set1_ps(low),
                 hi = _mm256_set1_ps(high);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_round_ps(_mm256_div_ps(_mm256_loadu_ps(data + i), s),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm256_storeu_ps(data + i, _mm256_min_ps(hi, _mm256_max_ps(lo, _mm256_add_ps(v, z))));
    }
    for (; i < n; ++i) data[i] = std::min(std::max(std::nearbyint(data[i] / scale) + zero, low), high);
}

void quantizeRun(float* data, int64_t n, float scale, float zero, float low, float high) {
    if (useAvx2()) return quantizeRunAvx2(data, n, scale, zero, low, high);
    for (int64_t i = 0; i < n; ++i) data[i] = std::min(std::max(std::nearbyint(data[i] / scale) + zero, low), high);
}

// data[i] = (data[i] - zero) * scale.
__attribute__((target("avx2"))) void dequantizeRunAvx2(float* data, int64_t n, float scale, float zero) {
    const __m256 s = _mm256_set1_ps(scale), z = _mm256_set1_ps(zero);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(data + i, _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(data + i), z), s));
    for (; i < n; ++i) data[i] = (data[i] - zero) * scale;
}

void dequantizeRun(float* data, int64_t n, float scale, float zero) {
    if (useAvx2()) return dequantizeRunAvx2(data, n, scale, zero);
    for (int64_t i = 0; i < n; ++i) data[i] = (data[i] - zero) * scale;
}

// Calls run(begin, count, channel) over the runs of equal channel (whole chunks when there is one), in parallel.
template <typename Run>
void forEachRun(const AxisLayout& l, int64_t n, int threads, int64_t work, Run run) {
    const int64_t runLength = l.channels == 1 ? int64_t(1) << 13 : l.inner;
    const int64_t runs = (n + runLength - 1) / runLength;
#pragma omp parallel for num_threads(threads) if (worthParallel(n * work))
    for (int64_t r = 0; r < runs; ++r)
        run(r * runLength, std::min(runLength, n - r * runLength), l.channels == 1 ? 0 : r % l.channels);
}

class QuantizeLinearKernel final : public Kernel {
public:
    QuantizeLinearKernel(int64_t axis, CodeRange range) : m_axis(axis), m_range(range) {}

    Status forward(KernelIo& io) const override {
        const NDArray& scale = io.input(1);
        const NDArray* zero = io.hasInput(2) ? &io.input(2) : nullptr;
        std::vector<int64_t> shape = io.input(0).shape;
        auto layout = axisLayout(shape, m_axis, scale, zero);
        if (!layout) return layout.error();
        for (float s : scale.data)
            if (!(s > 0.f) || !std::isfinite(s)) return invalidInput("scales must be positive and finite");
        const AxisLayout l = layout.value();
        NDArray& out = io.outputFrom(0, 0, std::move(shape));
        float* data = out.data.data();
        const float* scales = scale.data.data();
        const float* zeros = zero ? zero->data.data() : nullptr;
        forEachRun(l, out.numel(), io.threads(), 4, [&](int64_t begin, int64_t count, int64_t c) {
            quantizeRun(data + begin, count, scales[c], zeros ? zeros[c] : 0.f, m_range.low, m_range.high);
        });
        return Ok{};
    }

private:
    int64_t m_axis;
    CodeRange m_range;
};

class DequantizeLinearKernel final : public Kernel {
public:
    explicit DequantizeLinearKernel(int64_t axis) : m_axis(axis) {}

    Status forward(KernelIo& io) const override {
        const NDArray& scale = io.input(1);
        const NDArray* zero = io.hasInput(2) ? &io.input(2) : nullptr;
        std::vector<int64_t> shape = io.input(0).shape;
        auto layout = axisLayout(shape, m_axis, scale, zero);
        if (!layout) return layout.error();
        const AxisLayout l = layout.value();
        NDArray& out = io.outputFrom(0, 0, std::move(shape));
        float* data = out.data.data();
        const float* scales = scale.data.data();
        const float* zeros = zero ? zero->data.data() : nullptr;
        forEachRun(l, out.numel(), io.threads(), 2, [&](int64_t begin, int64_t count, int64_t c) {
            dequantizeRun(data + begin, count, scales[c], zeros ? zeros[c] : 0.f);
        });
        return Ok{};
    }

private:
    int64_t m_axis;
};

class DynamicQuantizeLinearKernel final : public Kernel {
public:
    Status forward(KernelIo& io) const override {
        const NDArray& x = io.input(0);
        float low = 0.f, high = 0.f;
        for (float v : x.data) {
            low = std::min(low, v);
            high = std::max(high, v);
        }
        if (!std::isfinite(low) || !std::isfinite(high)) return invalidInput("the input holds NaN or infinite values");
        const float scale = (high - low) / 255.f;
        const float zero = scale > 0.f ? std::min(std::max(std::nearbyint(0.f - low / scale), 0.f), 255.f) : 0.f;
        // The scalar outputs first: output 0 may take over the input's buffer.
        io.output(1, {}).data[0] = scale;
        io.output(2, {}).data[0] = zero;
        NDArray& y = io.outputFrom(0, 0, x.shape);
        float* data = y.data.data();
        const int64_t n = y.numel();
        if (!(scale > 0.f)) {
            std::fill(data, data + n, 0.f);
            return Ok{};
        }
#pragma omp parallel for num_threads(io.threads()) if (worthParallel(n * 4))
        for (int64_t i = 0; i < n; ++i)
            data[i] = std::min(std::max(std::nearbyint(data[i] / scale) + zero, 0.f), 255.f);
        return Ok{};
    }
};

DType declaredCodeType(const KernelContext& context, size_t zeroInput, size_t codeOutput) {
    if (context.hasInput(zeroInput) && zeroInput < context.inputTypes.size() &&
        context.inputTypes[zeroInput] != DType::Undefined)
        return context.inputTypes[zeroInput];
    if (codeOutput < context.outputTypes.size()) return context.outputTypes[codeOutput];
    return DType::UInt8;
}

}  // namespace

Result<std::unique_ptr<Kernel>> makeQuantizeLinearKernel(const KernelContext& context) {
    if (!context.hasInput(1)) return invalidInput("needs inputs x and y_scale");
    const DType type = declaredCodeType(context, 2, 0);
    if (type != DType::UInt8 && type != DType::Int8 && type != DType::Undefined)
        return unsupportedAttribute("quantizing to " + std::string(dtypeName(type)) + " (only int8 and uint8)");
    return std::unique_ptr<Kernel>(
        std::make_unique<QuantizeLinearKernel>(context.node.attrInt("axis", 1), codeRange(type)));
}

Result<std::unique_ptr<Kernel>> makeDequantizeLinearKernel(const KernelContext& context) {
    if (!context.hasInput(1)) return invalidInput("needs inputs x and x_scale");
    return std::unique_ptr<Kernel>(std::make_unique<DequantizeLinearKernel>(context.node.attrInt("axis", 1)));
}

Result<std::unique_ptr<Kernel>> makeDynamicQuantizeLinearKernel(const KernelContext& context) {
    if (context.node.outputs.size() != 3) return invalidInput("needs the outputs y, y_scale and y_zero_point");
    return std::unique_ptr<Kernel>(std::make_unique<DynamicQuantizeLinearKernel>());
}

}  // namespace lathe
