// The op families the training engine translates: one function per family, one table line per ONNX op.
#include <stdexcept>

#include "core/train/torch_graph.h"

namespace lathe::train {

namespace {

using torch::Tensor;
using Tensors = std::vector<Tensor>;

[[noreturn]] void fail(const OpContext& c, const std::string& message) {
    throw std::runtime_error("node " + c.node.name + " (" + c.node.opType + "): " + message);
}

const Tensor& input(const Tensors& in, size_t i, const OpContext& c) {
    if (i >= in.size() || !in[i].defined()) fail(c, "input " + std::to_string(i) + " is missing");
    return in[i];
}

bool has(const Tensors& in, size_t i) { return i < in.size() && in[i].defined(); }

std::vector<int64_t> intsOf(const Tensor& t) {
    const Tensor flat = t.to(torch::kLong).contiguous().flatten();
    return {flat.data_ptr<int64_t>(), flat.data_ptr<int64_t>() + flat.numel()};
}

int64_t normAxis(int64_t axis, int64_t rank, const OpContext& c) {
    if (axis < -rank || axis >= rank)
        fail(c, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
    return axis < 0 ? axis + rank : axis;
}

// Explicit pads (ONNX order: all begins, then all ends) or auto_pad for `spatial` dims of input x.
std::vector<int64_t> spatialPads(const Tensor& x, const std::vector<int64_t>& kernel, const std::vector<int64_t>& strides,
                                 const std::vector<int64_t>& dilations, const OpContext& c) {
    const size_t n = kernel.size();
    const std::string autoPad = c.node.attrString("auto_pad", "NOTSET");
    std::vector<int64_t> pads(2 * n, 0);
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
        for (size_t i = 0; i < n; ++i) {
            const int64_t in = x.size(int64_t(i) + 2);
            const int64_t out = (in + strides[i] - 1) / strides[i];
            const int64_t total = std::max<int64_t>(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - in);
            const int64_t small = total / 2;
            pads[i] = autoPad == "SAME_UPPER" ? small : total - small;
            pads[i + n] = total - pads[i];
        }
    } else if (autoPad == "NOTSET") {
        pads = c.node.attrInts("pads", pads);
        if (pads.size() != 2 * n) fail(c, "pads has " + std::to_string(pads.size()) + " values, expected " +
                                              std::to_string(2 * n));
    }
    return pads;
}

// Pads x explicitly where begin != end; returns the symmetric padding left for the op itself.
std::vector<int64_t> applyPads(Tensor& x, const std::vector<int64_t>& pads, double value) {
    const size_t n = pads.size() / 2;
    bool symmetric = true;
    for (size_t i = 0; i < n; ++i) symmetric &= pads[i] == pads[i + n];
    if (symmetric) return {pads.begin(), pads.begin() + int64_t(n)};
    std::vector<int64_t> torchPads;  // last dim first
    for (size_t i = n; i-- > 0;) {
        torchPads.push_back(pads[i]);
        torchPads.push_back(pads[i + n]);
    }
    x = torch::constant_pad_nd(x, torchPads, value);
    return std::vector<int64_t>(n, 0);
}

Tensors conv(const Tensors& in, const OpContext& c) {
    Tensor x = input(in, 0, c);
    const Tensor& w = input(in, 1, c);
    const int64_t spatial = w.dim() - 2;
    if (spatial < 1 || x.dim() != w.dim())
        fail(c, "input rank " + std::to_string(x.dim()) + " does not fit weight rank " + std::to_string(w.dim()));
    const std::vector<int64_t> kernel(w.sizes().begin() + 2, w.sizes().end());
    const auto strides = c.node.attrInts("strides", std::vector<int64_t>(size_t(spatial), 1));
    const auto dilations = c.node.attrInts("dilations", std::vector<int64_t>(size_t(spatial), 1));
    const auto padding = applyPads(x, spatialPads(x, kernel, strides, dilations, c), 0.0);
    const int64_t groups = c.node.attrInt("group", 1);
    if (x.size(1) != w.size(1) * groups)
        fail(c, "input has " + std::to_string(x.size(1)) + " channels, the weight expects " +
                    std::to_string(w.size(1) * groups));
    return {torch::convolution(x, w, has(in, 2) ? in[2] : Tensor(), strides, padding, dilations, false,
                               std::vector<int64_t>(size_t(spatial), 0), groups)};
}

Tensors gemm(const Tensors& in, const OpContext& c) {
    Tensor a = input(in, 0, c), b = input(in, 1, c);
    if (a.dim() != 2 || b.dim() != 2) fail(c, "Gemm needs 2-D inputs");
    if (c.node.attrInt("transA", 0)) a = a.t();
    if (c.node.attrInt("transB", 0)) b = b.t();
    const double alpha = c.node.attrFloat("alpha", 1.f), beta = c.node.attrFloat("beta", 1.f);
    if (has(in, 2)) return {torch::addmm(in[2], a, b, beta, alpha)};  // one fused op, as torch's Linear
    Tensor y = torch::mm(a, b);
    return {alpha != 1.0 ? y * alpha : y};
}

Tensors matmul(const Tensors& in, const OpContext& c) { return {torch::matmul(input(in, 0, c), input(in, 1, c))}; }

Tensors batchNorm(const Tensors& in, const OpContext& c) {
    const bool batchStats = c.training && c.batchNorm == BatchNormTraining::Train;
    // ONNX: running = running·momentum + batch·(1 − momentum); torch's momentum is the batch's weight.
    const double momentum = 1.0 - c.node.attrFloat("momentum", 0.9f);
    return {torch::batch_norm(input(in, 0, c), input(in, 1, c), input(in, 2, c), input(in, 3, c), input(in, 4, c),
                              batchStats, momentum, c.node.attrFloat("epsilon", 1e-5f), false)};
}

Tensors relu(const Tensors& in, const OpContext& c) { return {torch::relu(input(in, 0, c))}; }
Tensors sigmoid(const Tensors& in, const OpContext& c) { return {torch::sigmoid(input(in, 0, c))}; }
Tensors tanhOp(const Tensors& in, const OpContext& c) { return {torch::tanh(input(in, 0, c))}; }
Tensors hardSwish(const Tensors& in, const OpContext& c) { return {torch::hardswish(input(in, 0, c))}; }
Tensors identity(const Tensors& in, const OpContext& c) { return {input(in, 0, c)}; }

Tensors leakyRelu(const Tensors& in, const OpContext& c) {
    return {torch::leaky_relu(input(in, 0, c), c.node.attrFloat("alpha", 0.01f))};
}

Tensors elu(const Tensors& in, const OpContext& c) { return {torch::elu(input(in, 0, c), c.node.attrFloat("alpha", 1.f))}; }

Tensors hardSigmoid(const Tensors& in, const OpContext& c) {
    const double alpha = c.node.attrFloat("alpha", 0.2f), beta = c.node.attrFloat("beta", 0.5f);
    return {torch::clamp(input(in, 0, c) * alpha + beta, 0.0, 1.0)};
}

Tensors clip(const Tensors& in, const OpContext& c) {
    std::optional<double> lo, hi;
    if (c.opset < 11) {
        if (c.node.attribute("min")) lo = c.node.attrFloat("min", 0);
        if (c.node.attribute("max")) hi = c.node.attrFloat("max", 0);
    } else {
        if (has(in, 1)) lo = in[1].item<double>();
        if (has(in, 2)) hi = in[2].item<double>();
    }
    const auto scalar = [](const std::optional<double>& v) { return v ? c10::optional<c10::Scalar>(*v) : c10::nullopt; };
    return {torch::clamp(input(in, 0, c), scalar(lo), scalar(hi))};
}

// Softmax/LogSoftmax: opset 13 normalises along one axis (default -1); earlier opsets over the flattened
// dims from `axis` on (default 1).
template <bool Log>
Tensors softmax(const Tensors& in, const OpContext& c) {
    const Tensor& x = input(in, 0, c);
    const int64_t axis = normAxis(c.node.attrInt("axis", c.opset >= 13 ? -1 : 1), x.dim(), c);
    auto apply = [](const Tensor& t, int64_t dim) { return Log ? torch::log_softmax(t, dim) : torch::softmax(t, dim); };
    if (c.opset >= 13 || axis == x.dim() - 1) return {apply(x, axis)};
    const auto sizes = x.sizes().vec();
    return {apply(x.flatten(axis), axis).reshape(sizes)};
}

// Max/average pooling over 1–3 spatial dims.
template <bool Max>
Tensors pool(const Tensors& in, const OpContext& c) {
    Tensor x = input(in, 0, c);
    const auto kernel = c.node.attrInts("kernel_shape");
    const size_t n = kernel.size();
    if (n < 1 || n > 3 || x.dim() != int64_t(n) + 2) fail(c, "pooling needs 1–3 spatial dims matching kernel_shape");
    const auto strides = c.node.attrInts("strides", std::vector<int64_t>(n, 1));
    const auto dilations = c.node.attrInts("dilations", std::vector<int64_t>(n, 1));
    const bool ceil = c.node.attrInt("ceil_mode", 0) != 0;
    const auto pads = spatialPads(x, kernel, strides, dilations, c);
    if constexpr (Max) {
        const auto padding = applyPads(x, pads, -std::numeric_limits<double>::infinity());
        if (n == 1) return {torch::max_pool1d(x, kernel, strides, padding, dilations, ceil)};
        if (n == 2) return {torch::max_pool2d(x, kernel, strides, padding, dilations, ceil)};
        return {torch::max_pool3d(x, kernel, strides, padding, dilations, ceil)};
    } else {
        const bool includePad = c.node.attrInt("count_include_pad", 0) != 0;
        bool symmetric = true;
        for (size_t i = 0; i < n; ++i) symmetric &= pads[i] == pads[i + n];
        if (!symmetric && !includePad) fail(c, "asymmetric pads without count_include_pad are not trainable");
        const auto padding = applyPads(x, pads, 0.0);
        if (n == 1) return {torch::avg_pool1d(x, kernel, strides, padding, ceil, includePad)};
        if (n == 2) return {torch::avg_pool2d(x, kernel, strides, padding, ceil, includePad)};
        return {torch::avg_pool3d(x, kernel, strides, padding, ceil, includePad)};
    }
}

std::vector<int64_t> spatialDims(const Tensor& x) {
    std::vector<int64_t> dims;
    for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
    return dims;
}

Tensors globalAveragePool(const Tensors& in, const OpContext& c) {
    const Tensor& x = input(in, 0, c);
    return {x.mean(spatialDims(x), true)};
}

Tensors globalMaxPool(const Tensors& in, const OpContext& c) {
    const Tensor& x = input(in, 0, c);
    return {x.amax(spatialDims(x), true)};
}

Tensors add(const Tensors& in, const OpContext& c) { return {input(in, 0, c) + input(in, 1, c)}; }
Tensors sub(const Tensors& in, const OpContext& c) { return {input(in, 0, c) - input(in, 1, c)}; }
Tensors mul(const Tensors& in, const OpContext& c) { return {input(in, 0, c) * input(in, 1, c)}; }

Tensors div(const Tensors& in, const OpContext& c) {
    const Tensor& a = input(in, 0, c);
    const Tensor& b = input(in, 1, c);
    if (!a.is_floating_point() && !b.is_floating_point()) return {torch::div(a, b, "trunc")};
    return {a / b};
}

Tensors flatten(const Tensors& in, const OpContext& c) {
    const Tensor& x = input(in, 0, c);
    const int64_t axis = c.node.attrInt("axis", 1);
    const int64_t a = axis < 0 ? axis + x.dim() : axis;
    if (a < 0 || a > x.dim()) fail(c, "axis " + std::to_string(axis) + " is out of range");
    int64_t outer = 1;
    for (int64_t d = 0; d < a; ++d) outer *= x.size(d);
    return {x.reshape({outer, -1})};
}

Tensors reshape(const Tensors& in, const OpContext& c) {
    const Tensor& x = input(in, 0, c);
    std::vector<int64_t> shape = c.opset < 5 ? c.node.attrInts("shape") : intsOf(input(in, 1, c));
    const bool allowZero = c.node.attrInt("allowzero", 0) != 0;
    for (size_t i = 0; i < shape.size(); ++i)
        if (shape[i] == 0 && !allowZero) {
            if (int64_t(i) >= x.dim()) fail(c, "shape copies dim " + std::to_string(i) + " the input does not have");
            shape[i] = x.size(int64_t(i));
        }
    return {x.reshape(shape)};
}

Tensors concat(const Tensors& in, const OpContext& c) {
    std::vector<Tensor> parts;
    for (const Tensor& t : in)
        if (t.defined()) parts.push_back(t);
    if (parts.empty()) fail(c, "no inputs");
    return {torch::cat(parts, normAxis(c.node.attrInt("axis", 0), parts[0].dim(), c))};
}

Tensors transpose(const Tensors& in, const OpContext& c) {
    const Tensor& x = input(in, 0, c);
    std::vector<int64_t> perm = c.node.attrInts("perm");
    if (perm.empty())
        for (int64_t d = x.dim(); d-- > 0;) perm.push_back(d);
    return {x.permute(perm)};
}

std::vector<int64_t> axesOf(const Tensors& in, const OpContext& c) {
    if (c.opset >= 13) return has(in, 1) ? intsOf(in[1]) : std::vector<int64_t>{};
    return c.node.attrInts("axes");
}

Tensors squeeze(const Tensors& in, const OpContext& c) {
    Tensor x = input(in, 0, c);
    auto axes = axesOf(in, c);
    if (axes.empty()) return {x.squeeze()};
    for (auto& a : axes) a = normAxis(a, x.dim(), c);
    std::sort(axes.rbegin(), axes.rend());
    for (int64_t a : axes) x = x.squeeze(a);
    return {x};
}

Tensors unsqueeze(const Tensors& in, const OpContext& c) {
    Tensor x = input(in, 0, c);
    auto axes = axesOf(in, c);
    const int64_t rank = x.dim() + int64_t(axes.size());
    for (auto& a : axes) a = normAxis(a, rank, c);
    std::sort(axes.begin(), axes.end());
    for (int64_t a : axes) x = x.unsqueeze(a);
    return {x};
}

Tensors shape(const Tensors& in, const OpContext& c) {
    const auto sizes = input(in, 0, c).sizes().vec();
    return {torch::tensor(sizes, torch::kLong)};
}

Tensors gather(const Tensors& in, const OpContext& c) {
    const Tensor& x = input(in, 0, c);
    Tensor idx = input(in, 1, c).to(torch::kLong);
    const int64_t axis = normAxis(c.node.attrInt("axis", 0), x.dim(), c);
    idx = torch::where(idx < 0, idx + x.size(axis), idx);
    if (idx.dim() == 0) return {x.select(axis, idx.item<int64_t>())};
    auto outShape = x.sizes().vec();
    outShape.erase(outShape.begin() + axis);
    outShape.insert(outShape.begin() + axis, idx.sizes().begin(), idx.sizes().end());
    return {x.index_select(axis, idx.flatten()).reshape(outShape)};
}

Tensors constant(const Tensors&, const OpContext& c) {
    const Attribute* value = c.node.attribute("value");
    if (!value || !value->tensor) fail(c, "only the 'value' form of Constant is trainable");
    const lathe::Tensor& t = *value->tensor;
    if (isIntegerType(t.dtype)) return {torch::tensor(t.ints, torch::kLong).reshape(t.shape)};
    return {torch::from_blob(const_cast<float*>(t.data.data()), {int64_t(t.data.size())}, torch::kFloat)
                .clone()
                .reshape(t.shape)};
}

Tensors pad(const Tensors& in, const OpContext& c) {
    const Tensor& x = input(in, 0, c);
    if (c.node.attrString("mode", "constant") != "constant") fail(c, "only constant padding is trainable");
    const std::vector<int64_t> pads = c.opset >= 11 ? intsOf(input(in, 1, c)) : c.node.attrInts("pads");
    const double value = c.opset >= 11 ? (has(in, 2) ? in[2].item<double>() : 0.0) : c.node.attrFloat("value", 0);
    const int64_t n = x.dim();
    if (int64_t(pads.size()) != 2 * n) fail(c, "pads must have 2 × rank values");
    std::vector<int64_t> torchPads;
    for (int64_t d = n; d-- > 0;) {
        torchPads.push_back(pads[size_t(d)]);
        torchPads.push_back(pads[size_t(d + n)]);
    }
    return {torch::constant_pad_nd(x, torchPads, value)};
}

Tensors reduceMean(const Tensors& in, const OpContext& c) {
    const Tensor& x = input(in, 0, c);
    auto axes = c.opset >= 18 ? (has(in, 1) ? intsOf(in[1]) : std::vector<int64_t>{}) : c.node.attrInts("axes");
    if (axes.empty())
        for (int64_t d = 0; d < x.dim(); ++d) axes.push_back(d);
    return {x.mean(axes, c.node.attrInt("keepdims", 1) != 0)};
}

}  // namespace

const std::map<std::string, TorchOp>& torchOps() {
    static const std::map<std::string, TorchOp> ops = {
        {"Add", add},
        {"AveragePool", pool<false>},
        {"BatchNormalization", batchNorm},
        {"Clip", clip},
        {"Concat", concat},
        {"Constant", constant},
        {"Conv", conv},
        {"Div", div},
        {"Dropout", identity},
        {"Elu", elu},
        {"Flatten", flatten},
        {"Gather", gather},
        {"Gemm", gemm},
        {"GlobalAveragePool", globalAveragePool},
        {"GlobalMaxPool", globalMaxPool},
        {"HardSigmoid", hardSigmoid},
        {"HardSwish", hardSwish},
        {"Identity", identity},
        {"LeakyRelu", leakyRelu},
        {"LogSoftmax", softmax<true>},
        {"MatMul", matmul},
        {"MaxPool", pool<true>},
        {"Mul", mul},
        {"Pad", pad},
        {"ReduceMean", reduceMean},
        {"Relu", relu},
        {"Reshape", reshape},
        {"Shape", shape},
        {"Sigmoid", sigmoid},
        {"Softmax", softmax<false>},
        {"Squeeze", squeeze},
        {"Sub", sub},
        {"Tanh", tanhOp},
        {"Transpose", transpose},
        {"Unsqueeze", unsqueeze},
    };
    return ops;
}

}  // namespace lathe::train
