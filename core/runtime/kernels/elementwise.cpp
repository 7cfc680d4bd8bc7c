// Elementwise ops: Add/Sub/Mul/Div with numpy broadcasting, and the pointwise activations.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <tuple>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/kernel_util.h"

namespace lathe {

namespace {

enum class BinaryOp { Add, Sub, Mul, Div, IntDiv };

template <BinaryOp op>
inline float apply(float a, float b) {
    if constexpr (op == BinaryOp::Add) return a + b;
    if constexpr (op == BinaryOp::Sub) return a - b;
    if constexpr (op == BinaryOp::Mul) return a * b;
    if constexpr (op == BinaryOp::Div) return a / b;
    if constexpr (op == BinaryOp::IntDiv) return std::trunc(a / b);
}

// Output dimensions with per-operand element strides (0 where an operand broadcasts), adjacent dimensions merged
// whenever both operands walk them contiguously.
struct BroadcastLayout {
    std::vector<int64_t> dims;
    std::vector<int64_t> strideA;
    std::vector<int64_t> strideB;
};

BroadcastLayout broadcastLayout(const std::vector<int64_t>& out, const std::vector<int64_t>& a,
                                const std::vector<int64_t>& b) {
    const size_t rank = out.size();
    auto padded = [rank](const std::vector<int64_t>& s) {
        std::vector<int64_t> p(rank - s.size(), 1);
        p.insert(p.end(), s.begin(), s.end());
        return p;
    };
    const std::vector<int64_t> pa = padded(a), pb = padded(b);
    const std::vector<int64_t> sa = rowMajorStrides(pa), sb = rowMajorStrides(pb);
    BroadcastLayout layout;
    for (size_t i = 0; i < rank; ++i) {
        if (out[i] == 1) continue;
        const int64_t strideA = pa[i] == 1 ? 0 : sa[i];
        const int64_t strideB = pb[i] == 1 ? 0 : sb[i];
        if (!layout.dims.empty() && layout.strideA.back() == strideA * out[i] &&
            layout.strideB.back() == strideB * out[i]) {
            layout.dims.back() *= out[i];
            layout.strideA.back() = strideA;
            layout.strideB.back() = strideB;
            continue;
        }
        layout.dims.push_back(out[i]);
        layout.strideA.push_back(strideA);
        layout.strideB.push_back(strideB);
    }
    if (layout.dims.empty()) layout = {{1}, {0}, {0}};
    return layout;
}

template <BinaryOp op>
void applyRow(const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t n) {
    if (sa == 1 && sb == 1) {
        for (int64_t i = 0; i < n; ++i) out[i] = apply<op>(a[i], b[i]);
    } else if (sa == 1 && sb == 0) {
        const float bv = *b;
        for (int64_t i = 0; i < n; ++i) out[i] = apply<op>(a[i], bv);
    } else if (sa == 0 && sb == 1) {
        const float av = *a;
        for (int64_t i = 0; i < n; ++i) out[i] = apply<op>(av, b[i]);
    } else {
        for (int64_t i = 0; i < n; ++i) out[i] = apply<op>(a[i * sa], b[i * sb]);
    }
}

template <BinaryOp op>
void broadcastApply(const NDArray& a, const NDArray& b, NDArray& out, int threads) {
    const BroadcastLayout layout = broadcastLayout(out.shape, a.shape, b.shape);
    const size_t inner = layout.dims.size() - 1;
    const int64_t rowLength = layout.dims[inner];
    const int64_t rows = dimProduct(layout.dims, 0, inner);
    const float* pa = a.data.data();
    const float* pb = b.data.data();
    float* po = out.data.data();
#pragma omp parallel for num_threads(threads) if (worthParallel(out.numel()))
    for (int64_t row = 0; row < rows; ++row) {
        int64_t offsetA = 0, offsetB = 0, rest = row;
        for (size_t d = inner; d-- > 0;) {
            const int64_t index = rest % layout.dims[d];
            rest /= layout.dims[d];
            offsetA += index * layout.strideA[d];
            offsetB += index * layout.strideB[d];
        }
        applyRow<op>(pa + offsetA, layout.strideA[inner], pb + offsetB, layout.strideB[inner], po + row * rowLength,
                     rowLength);
    }
}

template <BinaryOp op>
class BinaryKernel final : public Kernel {
public:
    Status forward(KernelIo& io) const override {
        const NDArray& a = io.input(0);
        const NDArray& b = io.input(1);
        auto shape = broadcastShapes(a.shape, b.shape);
        if (!shape) return shape.error();
        NDArray& out = io.output(0, std::move(shape.value()));
        broadcastApply<op>(a, b, out, io.threads());
        return Ok{};
    }
};

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

}  // namespace

Result<std::unique_ptr<Kernel>> makeBinaryKernel(const KernelContext& context) {
    const std::string& op = context.node.opType;
    if (context.node.inputs.size() != 2) return invalidInput(op + " needs exactly two inputs");
    if (op == "Add") return std::unique_ptr<Kernel>(std::make_unique<BinaryKernel<BinaryOp::Add>>());
    if (op == "Sub") return std::unique_ptr<Kernel>(std::make_unique<BinaryKernel<BinaryOp::Sub>>());
    if (op == "Mul") return std::unique_ptr<Kernel>(std::make_unique<BinaryKernel<BinaryOp::Mul>>());
    const bool integer = !context.outputTypes.empty() && isIntegerType(context.outputTypes[0]);
    if (integer) return std::unique_ptr<Kernel>(std::make_unique<BinaryKernel<BinaryOp::IntDiv>>());
    return std::unique_ptr<Kernel>(std::make_unique<BinaryKernel<BinaryOp::Div>>());
}

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
    if (op == "Sigmoid") return makeUnary([](float x) { return 1.f / (1.f + std::exp(-x)); });
    if (op == "Tanh") return makeUnary([](float x) { return std::tanh(x); });
    if (op == "HardSigmoid") {
        const float alpha = node.attrFloat("alpha", 0.2f);
        const float beta = node.attrFloat("beta", 0.5f);
        return makeUnary([alpha, beta](float x) { return std::clamp(alpha * x + beta, 0.f, 1.f); });
    }
    if (op == "HardSwish") return makeUnary([](float x) { return x * std::clamp(x / 6.f + 0.5f, 0.f, 1.f); });
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

}  // namespace lathe
