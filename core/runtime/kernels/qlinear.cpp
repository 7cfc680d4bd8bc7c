// QLinearConv and QLinearMatMul (the QOperator int8 ops) as dequantize → float Conv/MatMul kernel → requantize:
// y = saturate(round(op(x̂, ŵ) + b̂) / y_scale) + y_zero_point) with x̂ = (x - x_zp)·x_scale, ŵ per output channel
// (per column for MatMul), b̂ = B·x_scale·w_scale. With constant weights, scales and zero points (per-tensor for x
// and y) they run on integer arithmetic instead (int8_linear.h); otherwise constant weights are dequantized and
// packed once at compile time.
#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/int8_linear.h"
#include "core/runtime/kernels/kernel_util.h"

namespace lathe {

Result<std::unique_ptr<Kernel>> makeConvKernel(const KernelContext& context);
Result<std::unique_ptr<Kernel>> makeMatMulKernel(const KernelContext& context);

namespace {

struct Requantize {
    float low = 0.f;
    float high = 255.f;
};

Result<float> scalarOf(const NDArray& array, const char* what) {
    if (array.numel() != 1)
        return invalidInput(std::string(what) + " must be a scalar (per-tensor), got shape " +
                            shapeToString(array.shape));
    return array.data[0];
}

// (x - zero) * scale per tensor.
NDArray dequantizeTensor(const NDArray& x, float scale, float zero) {
    NDArray out(x.shape);
    const int64_t n = x.numel();
    for (int64_t i = 0; i < n; ++i) out.data[size_t(i)] = (x.data[size_t(i)] - zero) * scale;
    return out;
}

// Dequantizes a weight whose scale/zero point are scalars or vectors along `axis` (0: rows, last: columns).
Result<NDArray> dequantizeWeight(const NDArray& w, const NDArray& scale, const NDArray& zero, bool lastAxis) {
    if (w.rank() < 1) return invalidInput("the weight must not be a scalar");
    const int64_t channels = lastAxis ? w.shape.back() : w.shape[0];
    if ((scale.numel() != 1 && scale.numel() != channels) || zero.numel() != scale.numel())
        return invalidInput("weight scale " + shapeToString(scale.shape) + " / zero point " +
                            shapeToString(zero.shape) + " fit neither one value nor the " + std::to_string(channels) +
                            " channels of " + shapeToString(w.shape));
    NDArray out(w.shape);
    const int64_t n = w.numel(), inner = lastAxis ? 1 : n / std::max<int64_t>(channels, 1);
    for (int64_t i = 0; i < n; ++i) {
        const size_t c = scale.numel() == 1 ? 0 : size_t((i / inner) % channels);
        out.data[size_t(i)] = (w.data[size_t(i)] - zero.data[c]) * scale.data[c];
    }
    return out;
}

Requantize requantizeRange(const KernelContext& context, size_t zeroInput) {
    const DType t = zeroInput < context.inputTypes.size() ? context.inputTypes[zeroInput] : DType::Undefined;
    if (t == DType::Int8 || (t == DType::Undefined && !context.outputTypes.empty() &&
                             context.outputTypes[0] == DType::Int8))
        return {-128.f, 127.f};
    return {0.f, 255.f};
}

void quantizeInto(const NDArray& y, float scale, float zero, Requantize range, NDArray& out, int threads) {
    const float* src = y.data.data();
    float* dst = out.data.data();
    const int64_t n = y.numel();
#pragma omp parallel for num_threads(threads) if (worthParallel(n * 4))
    for (int64_t i = 0; i < n; ++i)
        dst[i] = std::min(std::max(std::nearbyint(src[i] / scale) + zero, range.low), range.high);
}

// Input indices of the two ops: x/a, its scale and zero point, w/b, its scale and zero point, y scale and zero point,
// and the bias (QLinearConv only).
constexpr size_t kX = 0, kXScale = 1, kXZero = 2, kW = 3, kWScale = 4, kWZero = 5, kYScale = 6, kYZero = 7, kBias = 8;

class QLinearKernel final : public Kernel {
public:
    QLinearKernel(std::unique_ptr<Kernel> inner, bool conv, bool constantWeight, bool constantBias, Requantize range)
        : m_inner(std::move(inner)), m_conv(conv), m_constantWeight(constantWeight), m_constantBias(constantBias),
          m_range(range) {}

    Status forward(KernelIo& io) const override {
        auto xScale = scalarOf(io.input(kXScale), "x_scale");
        if (!xScale) return xScale.error();
        auto xZero = scalarOf(io.input(kXZero), "x_zero_point");
        if (!xZero) return xZero.error();
        auto yScale = scalarOf(io.input(kYScale), "y_scale");
        if (!yScale) return yScale.error();
        auto yZero = scalarOf(io.input(kYZero), "y_zero_point");
        if (!yZero) return yZero.error();
        NDArray x = dequantizeTensor(io.input(kX), xScale.value(), xZero.value());
        std::optional<NDArray> w, b;
        if (!m_constantWeight) {
            auto dw = dequantizeWeight(io.input(kW), io.input(kWScale), io.input(kWZero), !m_conv);
            if (!dw) return dw.error();
            w = std::move(dw.value());
        }
        if (m_conv && !m_constantBias && io.hasInput(kBias)) {
            const NDArray& wScale = io.input(kWScale);
            b = NDArray(io.input(kBias).shape);
            for (size_t c = 0; c < b->data.size(); ++c)
                b->data[c] = io.input(kBias).data[c] * xScale.value() * wScale.data[wScale.numel() == 1 ? 0 : c];
        }
        const NDArray* inputs[3] = {&x, w ? &*w : nullptr, b ? &*b : nullptr};
        NDArray* stealable[3] = {&x, nullptr, nullptr};
        NDArray y;
        NDArray* outputs[1] = {&y};
        BufferPool pool;
        KernelIo inner(std::span<const NDArray* const>(inputs, m_conv ? 3 : 2),
                       std::span<NDArray* const>(stealable, m_conv ? 3 : 2), outputs, pool, io.workspace());
        if (auto status = m_inner->forward(inner); !status) return status;
        NDArray& out = io.output(0, y.shape);
        quantizeInto(y, yScale.value(), yZero.value(), m_range, out, io.threads());
        return Ok{};
    }

private:
    std::unique_ptr<Kernel> m_inner;  // the float Conv or MatMul kernel
    bool m_conv;
    bool m_constantWeight;  // dequantized (and packed) inside m_inner
    bool m_constantBias;
    Requantize m_range;
};

// Whether the codes of input `code` are signed: the declared type of its zero point, else of the codes.
bool signedCodes(const KernelContext& context, size_t code, size_t zero) {
    for (size_t i : {zero, code})
        if (i < context.inputTypes.size() && context.inputTypes[i] != DType::Undefined)
            return context.inputTypes[i] == DType::Int8;
    return false;
}

// The integer kernel when everything but x is constant and x, y are quantized per tensor; nullptr otherwise.
Result<std::unique_ptr<Kernel>> integerKernel(const KernelContext& context, bool conv) {
    for (size_t i = 1; i < kBias; ++i)
        if (i != kW && (!context.constant(i) || (i != kWScale && i != kWZero && context.constant(i)->numel() != 1)))
            return std::unique_ptr<Kernel>();
    if (!context.constant(kW) || (conv && context.hasInput(kBias) && !context.constant(kBias)))
        return std::unique_ptr<Kernel>();
    Int8LinearParams p;
    p.xScale = context.constant(kXScale)->data[0];
    p.xZero = context.constant(kXZero)->data[0];
    p.xSigned = signedCodes(context, kX, kXZero);
    p.weight = *context.constant(kW);
    p.wScale = values(*context.constant(kWScale));
    p.wZero = values(*context.constant(kWZero));
    p.wSigned = signedCodes(context, kW, kWZero);
    if (conv && context.hasInput(kBias)) p.biasCodes = values(*context.constant(kBias));
    p.yScale = context.constant(kYScale)->data[0];
    p.yZero = context.constant(kYZero)->data[0];
    p.ySigned = requantizeRange(context, kYZero).low < 0.f;
    return conv ? makeInt8ConvKernel(context.node, std::move(p)) : makeInt8MatMulKernel(std::move(p));
}

Result<std::unique_ptr<Kernel>> makeQLinearKernel(const KernelContext& context, bool conv) {
    const Node& node = context.node;
    for (size_t i = 0; i < kBias; ++i)
        if (!context.hasInput(i)) return invalidInput("needs 8 inputs (x, scale, zero point, w, scale, zero point, "
                                                      "y scale, y zero point)");
    auto integer = integerKernel(context, conv);
    if (!integer) return integer.error();
    if (integer.value()) return std::move(integer.value());
    Node floatNode = node;
    floatNode.opType = conv ? "Conv" : "MatMul";
    floatNode.inputs = {node.inputs[kX], node.inputs[kW]};
    if (conv && context.hasInput(kBias)) floatNode.inputs.push_back(node.inputs[kBias]);
    KernelContext floatContext{floatNode, context.opset, {nullptr, nullptr, nullptr}, {}, {}};
    floatContext.constants.resize(floatNode.inputs.size());
    const NDArray* w = context.constant(kW);
    const NDArray* wScale = context.constant(kWScale);
    const NDArray* wZero = context.constant(kWZero);
    const NDArray* xScale = context.constant(kXScale);
    std::optional<NDArray> weight, bias;
    const bool constantWeight = w && wScale && wZero;
    if (constantWeight) {
        auto dw = dequantizeWeight(*w, *wScale, *wZero, !conv);
        if (!dw) return dw.error();
        weight = std::move(dw.value());
        floatContext.constants[1] = &*weight;
    }
    const NDArray* b = conv ? context.constant(kBias) : nullptr;
    const bool constantBias = b && xScale && wScale && xScale->numel() == 1;
    if (constantBias) {
        if (wScale->numel() != 1 && wScale->numel() != b->numel())
            return invalidInput("bias " + shapeToString(b->shape) + " does not match w_scale " +
                                shapeToString(wScale->shape));
        bias = NDArray(b->shape);
        for (size_t c = 0; c < bias->data.size(); ++c)
            bias->data[c] = b->data[c] * xScale->data[0] * wScale->data[wScale->numel() == 1 ? 0 : c];
        floatContext.constants[2] = &*bias;
    }
    auto inner = conv ? makeConvKernel(floatContext) : makeMatMulKernel(floatContext);
    if (!inner) return inner.error();
    return std::unique_ptr<Kernel>(std::make_unique<QLinearKernel>(std::move(inner.value()), conv, constantWeight,
                                                                   constantBias, requantizeRange(context, kYZero)));
}

}  // namespace

Result<std::unique_ptr<Kernel>> makeQLinearConvKernel(const KernelContext& context) {
    return makeQLinearKernel(context, true);
}

Result<std::unique_ptr<Kernel>> makeQLinearMatMulKernel(const KernelContext& context) {
    return makeQLinearKernel(context, false);
}

}  // namespace lathe
