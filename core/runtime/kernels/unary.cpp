// Pointwise ops: activations (Relu, LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish, Elu, Selu, ThresholdedRelu,
// Softplus, Gelu), math
// (Erf, Sqrt, Exp, Log, Neg, Abs, Sin, Cos, Reciprocal, Floor, Ceil, Round, Sign, Not), Clip, and Cast/CastLike,
// which rounds to the target type's values (integers truncated and wrapped, float16/bfloat16 rounded, bool 0/1).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <tuple>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/kernel_util.h"
#include "core/runtime/kernels/vector_math.h"

namespace lathe {

namespace {

// Applies `f` to every element, in place on the input's buffer when this node is its last reader.
template <class F>
class UnaryKernel final : public Kernel {
public:
    UnaryKernel(F f, std::optional<Epilogue> epilogue) : m_f(f), m_epilogue(std::move(epilogue)) {}
    std::optional<Epilogue> asEpilogue() const override { return m_epilogue; }

    Status forward(KernelIo& io) const override {
        std::vector<int64_t> shape = io.input(0).shape;
        NDArray& out = io.outputFrom(0, 0, std::move(shape));
        float* data = out.data.data();
        const int64_t n = out.numel();
#pragma omp parallel for simd num_threads(io.threads()) if (worthParallel(n))
        for (int64_t i = 0; i < n; ++i) data[i] = m_f(data[i]);
        return Ok{};
    }

private:
    F m_f;
    std::optional<Epilogue> m_epilogue;  // the same map as an epilogue, for ops that are clamps (Relu)
};

// Sigmoid, SiLU (Mul(x, Sigmoid(x)) fused: the same values), Erf and GELU, vectorised (kernels/vector_math).
class VectorMapKernel final : public Kernel {
public:
    using Map = void (*)(float* data, int64_t n, int threads);
    explicit VectorMapKernel(Map map) : m_map(map) {}

    Status forward(KernelIo& io) const override {
        std::vector<int64_t> shape = io.input(0).shape;
        NDArray& out = io.outputFrom(0, 0, std::move(shape));
        m_map(out.data.data(), out.numel(), io.threads());
        return Ok{};
    }

    std::unique_ptr<Kernel> withTimesInput() const override {
        return m_map == &sigmoidInPlace ? std::make_unique<VectorMapKernel>(&siluInPlace) : nullptr;
    }

    // SiLU, for a producer to apply to its output in cache (Conv + BatchNormalization + SiLU in EfficientNet).
    std::optional<Epilogue> asEpilogue() const override {
        if (m_map != &siluInPlace) return std::nullopt;
        Epilogue silu;
        silu.silu = true;
        return silu;
    }

private:
    Map m_map;
};

template <class F>
std::unique_ptr<Kernel> makeUnary(F f, std::optional<Epilogue> epilogue = std::nullopt) {
    return std::make_unique<UnaryKernel<F>>(f, std::move(epilogue));
}

// Clip with bounds from attributes (opset < 11) or from optional inputs 1 and 2, which may be computed at run time.
class ClipKernel final : public Kernel {
public:
    ClipKernel(float low, float high, bool lowFromInput, bool highFromInput)
        : m_low(low), m_high(high), m_lowFromInput(lowFromInput), m_highFromInput(highFromInput) {}

    std::optional<Epilogue> asEpilogue() const override {
        if (m_lowFromInput || m_highFromInput) return std::nullopt;
        Epilogue clip;
        clip.low = m_low;
        clip.high = m_high;
        return clip;
    }

    Status forward(KernelIo& io) const override {
        float low = m_low, high = m_high;
        for (auto [index, fromInput, bound] :
             {std::tuple{size_t(1), m_lowFromInput, &low}, std::tuple{size_t(2), m_highFromInput, &high}}) {
            if (!fromInput) continue;
            if (io.input(index).numel() != 1)
                return invalidInput("the min/max inputs must be scalars, got shape " +
                                    shapeToString(io.input(index).shape));
            *bound = io.input(index).data[0];
        }
        std::vector<int64_t> shape = io.input(0).shape;
        NDArray& out = io.outputFrom(0, 0, std::move(shape));
        float* data = out.data.data();
        const int64_t n = out.numel();
#pragma omp parallel for simd num_threads(io.threads()) if (worthParallel(n))
        for (int64_t i = 0; i < n; ++i) data[i] = std::min(std::max(data[i], low), high);
        return Ok{};
    }

private:
    float m_low, m_high;
    bool m_lowFromInput, m_highFromInput;
};

// Rounds to the nearest float16 (ties to even), keeping infinities and NaN; values beyond 65504 become infinite.
// Portable arithmetic rather than _Float16, which clang 14 (the fuzz build) does not support on x86-64.
float roundToHalf(float x) {
    if (std::isnan(x) || std::isinf(x)) return x;
    const float magnitude = std::fabs(x);
    if (magnitude >= 65520.0f) return std::copysign(std::numeric_limits<float>::infinity(), x);
    int exponent = 0;
    std::frexp(magnitude, &exponent);                                      // magnitude = m · 2^exponent, m in [0.5, 1)
    const float quantum = std::ldexp(1.0f, std::max(exponent - 11, -24));  // 10 mantissa bits; subnormals below 2^-14
    return std::copysign(std::nearbyint(magnitude / quantum) * quantum, x);
}

// Rounds to the nearest bfloat16 (ties to even).
float roundToBFloat16(float x) {
    if (std::isnan(x)) return x;
    uint32_t bits = 0;
    std::memcpy(&bits, &x, 4);
    bits = (bits + 0x7fffu + ((bits >> 16) & 1u)) & 0xffff0000u;
    std::memcpy(&x, &bits, 4);
    return x;
}

// An integer value truncated toward zero and wrapped into a `bits`-wide (un)signed range, as C++ conversions do.
float wrapInteger(float x, int bits, bool isSigned) {
    if (!std::isfinite(x)) return 0.f;
    const double t = std::trunc(double(x));
    if (bits >= 64) return float(t);
    const double range = std::ldexp(1.0, bits);
    double wrapped = std::fmod(t, range);
    if (wrapped < 0) wrapped += range;
    if (isSigned && wrapped >= range / 2) wrapped -= range;
    return float(wrapped);
}

Result<std::unique_ptr<Kernel>> makeCast(DType to) {
    switch (to) {
        case DType::Float:
        case DType::Double:
            return makeUnary([](float x) { return x; });
        case DType::Float16:
            return makeUnary(roundToHalf);
        case DType::BFloat16:
            return makeUnary(roundToBFloat16);
        case DType::Bool:
            return makeUnary([](float x) { return x != 0.f ? 1.f : 0.f; });
        case DType::Int8:
            return makeUnary([](float x) { return wrapInteger(x, 8, true); });
        case DType::UInt8:
            return makeUnary([](float x) { return wrapInteger(x, 8, false); });
        case DType::Int16:
            return makeUnary([](float x) { return wrapInteger(x, 16, true); });
        case DType::UInt16:
            return makeUnary([](float x) { return wrapInteger(x, 16, false); });
        case DType::Int32:
            return makeUnary([](float x) { return wrapInteger(x, 32, true); });
        case DType::UInt32:
            return makeUnary([](float x) { return wrapInteger(x, 32, false); });
        case DType::Int64:
            return makeUnary([](float x) { return wrapInteger(x, 64, true); });
        case DType::UInt64:
            return makeUnary([](float x) { return x < 0.f ? 0.f : wrapInteger(x, 64, false); });
        default:
            return unsupportedAttribute("casting to " + std::string(dtypeName(to)) +
                                        " is not supported (the runtime carries numbers as float32)");
    }
}

}  // namespace

Result<std::unique_ptr<Kernel>> makeUnaryKernel(const KernelContext& context) {
    const Node& node = context.node;
    const std::string& op = node.opType;
    if (op == "Relu") {
        Epilogue relu;
        relu.low = 0.f;
        return makeUnary([](float x) { return std::max(x, 0.f); }, relu);
    }
    if (op == "LeakyRelu") {
        const float alpha = node.attrFloat("alpha", 0.01f);
        return makeUnary([alpha](float x) { return x >= 0.f ? x : alpha * x; });
    }
    if (op == "Sigmoid") return std::unique_ptr<Kernel>(std::make_unique<VectorMapKernel>(&sigmoidInPlace));
    if (op == "Tanh") return makeUnary([](float x) { return std::tanh(x); });
    if (op == "HardSigmoid") {
        const float alpha = node.attrFloat("alpha", 0.2f);
        const float beta = node.attrFloat("beta", 0.5f);
        return makeUnary([alpha, beta](float x) { return std::clamp(alpha * x + beta, 0.f, 1.f); });
    }
    if (op == "HardSwish") return makeUnary([](float x) { return x * std::clamp(x / 6.f + 0.5f, 0.f, 1.f); });
    if (op == "Elu") {
        const float alpha = node.attrFloat("alpha", 1.f);
        return makeUnary([alpha](float x) { return x >= 0.f ? x : alpha * (std::exp(x) - 1.f); });
    }
    if (op == "Selu") {
        const float alpha = node.attrFloat("alpha", 1.67326319217681884765625f);
        const float gamma = node.attrFloat("gamma", 1.05070102214813232421875f);
        return makeUnary([alpha, gamma](float x) { return gamma * (x > 0.f ? x : alpha * (std::exp(x) - 1.f)); });
    }
    if (op == "ThresholdedRelu") {
        const float alpha = node.attrFloat("alpha", 1.f);
        return makeUnary([alpha](float x) { return x > alpha ? x : 0.f; });
    }
    if (op == "Softplus") return makeUnary([](float x) { return x > 20.f ? x : std::log1p(std::exp(x)); });
    if (op == "Gelu") {
        const std::string approximate = node.attrString("approximate", "none");
        if (approximate == "tanh")
            return makeUnary([](float x) {
                constexpr float c = 0.7978845608028654f;  // sqrt(2 / pi)
                return 0.5f * x * (1.f + std::tanh(c * (x + 0.044715f * x * x * x)));
            });
        if (approximate != "none")
            return unsupportedAttribute("attribute 'approximate' is '" + approximate + "'; expected none or tanh");
        return std::unique_ptr<Kernel>(std::make_unique<VectorMapKernel>(&geluInPlace));
    }
    if (op == "Erf") return std::unique_ptr<Kernel>(std::make_unique<VectorMapKernel>(&erfInPlace));
    if (op == "Sqrt") return makeUnary([](float x) { return std::sqrt(x); });
    if (op == "Exp") return makeUnary([](float x) { return std::exp(x); });
    if (op == "Log") return makeUnary([](float x) { return std::log(x); });
    if (op == "Neg") return makeUnary([](float x) { return -x; });
    if (op == "Abs") return makeUnary([](float x) { return std::abs(x); });
    if (op == "Sin") return makeUnary([](float x) { return std::sin(x); });
    if (op == "Cos") return makeUnary([](float x) { return std::cos(x); });
    if (op == "Reciprocal") return makeUnary([](float x) { return 1.f / x; });
    if (op == "Floor") return makeUnary([](float x) { return std::floor(x); });
    if (op == "Ceil") return makeUnary([](float x) { return std::ceil(x); });
    if (op == "Round") return makeUnary([](float x) { return std::nearbyint(x); });
    if (op == "Sign") return makeUnary([](float x) { return x > 0.f ? 1.f : (x < 0.f ? -1.f : 0.f); });
    if (op == "Not") return makeUnary([](float x) { return x == 0.f ? 1.f : 0.f; });
    return unsupportedAttribute("no pointwise kernel for " + op);
}

Result<std::unique_ptr<Kernel>> makeClipKernel(const KernelContext& context) {
    const Node& node = context.node;
    float low = -std::numeric_limits<float>::infinity();
    float high = std::numeric_limits<float>::infinity();
    if (context.opset < 11) {
        low = node.attrFloat("min", low);
        high = node.attrFloat("max", high);
        return std::unique_ptr<Kernel>(std::make_unique<ClipKernel>(low, high, false, false));
    }
    bool lowFromInput = context.hasInput(1), highFromInput = context.hasInput(2);
    for (auto [index, fromInput, bound] :
         {std::tuple{size_t(1), &lowFromInput, &low}, std::tuple{size_t(2), &highFromInput, &high}}) {
        const NDArray* constant = context.constant(index);
        if (!*fromInput || !constant) continue;
        if (constant->numel() != 1)
            return invalidInput("the min/max inputs must be scalars, got shape " + shapeToString(constant->shape));
        *bound = constant->data[0];
        *fromInput = false;
    }
    return std::unique_ptr<Kernel>(std::make_unique<ClipKernel>(low, high, lowFromInput, highFromInput));
}

Result<std::unique_ptr<Kernel>> makeCastKernel(const KernelContext& context) {
    const Node& node = context.node;
    if (node.opType == "CastLike") {
        if (!context.hasInput(1)) return invalidInput("CastLike needs the target_type input");
        const DType to = context.inputTypes.size() > 1 ? context.inputTypes[1] : DType::Undefined;
        if (to == DType::Undefined) return invalidInput("the element type of input 'target_type' is unknown");
        return makeCast(to);
    }
    const Attribute* to = node.attribute("to");
    if (!to) return invalidInput("attribute 'to' is required");
    return makeCast(DType(to->i));
}

}  // namespace lathe
