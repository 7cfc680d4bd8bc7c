// Elementwise ops with numpy broadcasting: Add, Sub, Mul, Div, Pow, Mod, PRelu, the comparisons (Equal, Less, Greater,
// LessOrEqual, GreaterOrEqual) and logic (And, Or, Xor) giving 0/1, the variadic Min, Max, Sum and Mean, and Where.
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

enum class BinaryOp {
    Add, Sub, Mul, Div, IntDiv, Pow, IntPow, PRelu, Equal, Less, Greater, LessOrEqual, GreaterOrEqual, And, Or, Xor,
    Min, Max, Mod, FMod
};

template <BinaryOp op>
inline float apply(float a, float b) {
    if constexpr (op == BinaryOp::Add) return a + b;
    if constexpr (op == BinaryOp::Sub) return a - b;
    if constexpr (op == BinaryOp::Mul) return a * b;
    if constexpr (op == BinaryOp::Div) return a / b;
    if constexpr (op == BinaryOp::IntDiv) return std::trunc(a / b);
    if constexpr (op == BinaryOp::Pow) return b == 2.f ? a * a : std::pow(a, b);
    if constexpr (op == BinaryOp::IntPow) return std::trunc(float(std::pow(double(a), double(b))));
    if constexpr (op == BinaryOp::PRelu) return a < 0.f ? a * b : a;
    if constexpr (op == BinaryOp::Equal) return a == b ? 1.f : 0.f;
    if constexpr (op == BinaryOp::Less) return a < b ? 1.f : 0.f;
    if constexpr (op == BinaryOp::Greater) return a > b ? 1.f : 0.f;
    if constexpr (op == BinaryOp::LessOrEqual) return a <= b ? 1.f : 0.f;
    if constexpr (op == BinaryOp::GreaterOrEqual) return a >= b ? 1.f : 0.f;
    if constexpr (op == BinaryOp::And) return (a != 0.f && b != 0.f) ? 1.f : 0.f;
    if constexpr (op == BinaryOp::Or) return (a != 0.f || b != 0.f) ? 1.f : 0.f;
    if constexpr (op == BinaryOp::Xor) return ((a != 0.f) != (b != 0.f)) ? 1.f : 0.f;
    if constexpr (op == BinaryOp::Min) return std::isnan(a) || a < b ? a : b;
    if constexpr (op == BinaryOp::Max) return std::isnan(a) || a > b ? a : b;
    if constexpr (op == BinaryOp::Mod) {  // integer modulo with the divisor's sign, as Python's %
        const float r = std::fmod(a, b);
        return r != 0.f && ((r < 0.f) != (b < 0.f)) ? r + b : r;
    }
    if constexpr (op == BinaryOp::FMod) return std::fmod(a, b);
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
    // Rows are cut into pieces of kParallelPiece, so that operands of one shape (one merged row) still spread over the
    // team. At least 1: an empty tensor has rows of length 0 (and then no pieces).
    const int64_t piece = std::max<int64_t>(1, std::min(rowLength, kParallelPiece));
    const int64_t pieces = (rowLength + piece - 1) / piece;
    const int64_t sa = layout.strideA[inner], sb = layout.strideB[inner];
#pragma omp parallel for num_threads(threads) schedule(static) if (worthParallel(out.numel()))
    for (int64_t task = 0; task < rows * pieces; ++task) {
        const int64_t row = task / pieces, begin = task % pieces * piece;
        int64_t offsetA = 0, offsetB = 0, rest = row;
        for (size_t d = inner; d-- > 0;) {
            const int64_t index = rest % layout.dims[d];
            rest /= layout.dims[d];
            offsetA += index * layout.strideA[d];
            offsetB += index * layout.strideB[d];
        }
        applyRow<op>(pa + offsetA + begin * sa, sa, pb + offsetB + begin * sb, sb, po + row * rowLength + begin,
                     std::min(piece, rowLength - begin));
    }
}

template <BinaryOp op>
class BinaryKernel final : public Kernel {
public:
    // `channelSlope`: PRelu before opset 7, whose 1-D slope holds one value per channel (axis 1).
    explicit BinaryKernel(bool channelSlope = false) : m_channelSlope(channelSlope) {}

    Status forward(KernelIo& io) const override {
        const NDArray& a = io.input(0);
        const NDArray* b = &io.input(1);
        NDArray perChannel;
        if (m_channelSlope && b->rank() == 1 && a.rank() > 2 && b->shape[0] == a.shape[1]) {
            std::vector<int64_t> shape(size_t(a.rank() - 1), 1);
            shape[0] = b->shape[0];
            perChannel = NDArray(std::move(shape), b->data);
            b = &perChannel;
        }
        auto shape = broadcastShapes(a.shape, b->shape);
        if (!shape) return shape.error();
        NDArray& out = io.output(0, std::move(shape.value()));
        broadcastApply<op>(a, *b, out, io.threads());
        return Ok{};
    }

private:
    bool m_channelSlope;
};

// Min, Max, Sum and Mean over any number of inputs, broadcast together, folded left to right.
template <BinaryOp op>
class VariadicKernel final : public Kernel {
public:
    explicit VariadicKernel(bool mean) : m_mean(mean) {}

    Status forward(KernelIo& io) const override {
        std::vector<int64_t> shape = io.input(0).shape;
        for (size_t i = 1; i < io.inputCount(); ++i) {
            auto next = broadcastShapes(shape, io.input(i).shape);
            if (!next) return next.error();
            shape = std::move(next.value());
        }
        if (io.inputCount() == 1) {
            NDArray& out = io.outputFrom(0, 0, std::move(shape));
            (void)out;
            return Ok{};
        }
        NDArray partial;
        const NDArray* left = &io.input(0);
        for (size_t i = 1; i < io.inputCount(); ++i) {
            const bool last = i + 1 == io.inputCount();
            auto step = broadcastShapes(left->shape, io.input(i).shape);
            if (!step) return step.error();
            NDArray result(std::move(step.value()));
            broadcastApply<op>(*left, io.input(i), result, io.threads());
            if (last) {
                NDArray& out = io.output(0, result.shape);
                const float scale = m_mean ? 1.f / float(io.inputCount()) : 1.f;
                std::transform(result.data.begin(), result.data.end(), out.data.begin(),
                               [scale](float v) { return v * scale; });
            } else {
                partial = std::move(result);
                left = &partial;
            }
        }
        return Ok{};
    }

private:
    bool m_mean;
};

// Where(condition, X, Y): X where the condition is non-zero, else Y, the three broadcast together.
class WhereKernel final : public Kernel {
public:
    Status forward(KernelIo& io) const override {
        const NDArray& c = io.input(0);
        const NDArray& x = io.input(1);
        const NDArray& y = io.input(2);
        auto partial = broadcastShapes(c.shape, x.shape);
        if (!partial) return partial.error();
        auto shape = broadcastShapes(partial.value(), y.shape);
        if (!shape) return shape.error();
        const std::vector<int64_t> sc = broadcastStrides(c.shape, shape.value());
        const std::vector<int64_t> sx = broadcastStrides(x.shape, shape.value());
        const std::vector<int64_t> sy = broadcastStrides(y.shape, shape.value());
        NDArray& out = io.output(0, shape.value());
        const std::vector<int64_t>& dims = out.shape;
        if (dims.empty()) {
            out.data[0] = c.data[0] != 0.f ? x.data[0] : y.data[0];
            return Ok{};
        }
        const size_t inner = dims.size() - 1;
        const int64_t length = dims[inner], rows = dimProduct(dims, 0, inner);
        const float *pc = c.data.data(), *px = x.data.data(), *py = y.data.data();
        float* po = out.data.data();
#pragma omp parallel for num_threads(io.threads()) if (worthParallel(out.numel()))
        for (int64_t row = 0; row < rows; ++row) {
            int64_t oc = 0, ox = 0, oy = 0, rest = row;
            for (size_t d = inner; d-- > 0;) {
                const int64_t index = rest % dims[d];
                rest /= dims[d];
                oc += index * sc[d];
                ox += index * sx[d];
                oy += index * sy[d];
            }
            float* dst = po + row * length;
            for (int64_t i = 0; i < length; ++i)
                dst[i] = pc[oc + i * sc[inner]] != 0.f ? px[ox + i * sx[inner]] : py[oy + i * sy[inner]];
        }
        return Ok{};
    }
};

template <BinaryOp op>
Result<std::unique_ptr<Kernel>> binary() {
    return std::unique_ptr<Kernel>(std::make_unique<BinaryKernel<op>>());
}

template <BinaryOp op>
Result<std::unique_ptr<Kernel>> variadic(bool mean = false) {
    return std::unique_ptr<Kernel>(std::make_unique<VariadicKernel<op>>(mean));
}

}  // namespace

Result<std::unique_ptr<Kernel>> makeBinaryKernel(const KernelContext& context) {
    const std::string& op = context.node.opType;
    if (context.node.inputs.size() != 2 || !context.hasInput(0) || !context.hasInput(1))
        return invalidInput(op + " needs exactly two inputs");
    const bool integer = !context.outputTypes.empty() && isIntegerType(context.outputTypes[0]);
    if (op == "Add") return binary<BinaryOp::Add>();
    if (op == "Sub") return binary<BinaryOp::Sub>();
    if (op == "Mul") return binary<BinaryOp::Mul>();
    if (op == "Div") return integer ? binary<BinaryOp::IntDiv>() : binary<BinaryOp::Div>();
    if (op == "Pow") return integer ? binary<BinaryOp::IntPow>() : binary<BinaryOp::Pow>();
    if (op == "PRelu")
        return std::unique_ptr<Kernel>(std::make_unique<BinaryKernel<BinaryOp::PRelu>>(context.opset < 7));
    if (op == "Equal") return binary<BinaryOp::Equal>();
    if (op == "Less") return binary<BinaryOp::Less>();
    if (op == "Greater") return binary<BinaryOp::Greater>();
    if (op == "LessOrEqual") return binary<BinaryOp::LessOrEqual>();
    if (op == "GreaterOrEqual") return binary<BinaryOp::GreaterOrEqual>();
    if (op == "And") return binary<BinaryOp::And>();
    if (op == "Or") return binary<BinaryOp::Or>();
    if (op == "Xor") return binary<BinaryOp::Xor>();
    if (op == "Mod") return context.node.attrInt("fmod", 0) != 0 ? binary<BinaryOp::FMod>() : binary<BinaryOp::Mod>();
    return unsupportedAttribute("no binary kernel for " + op);
}

Result<std::unique_ptr<Kernel>> makeVariadicKernel(const KernelContext& context) {
    const std::string& op = context.node.opType;
    if (context.node.inputs.empty()) return invalidInput(op + " needs at least one input");
    for (size_t i = 0; i < context.node.inputs.size(); ++i)
        if (!context.hasInput(i)) return invalidInput("input " + std::to_string(i) + " is empty");
    if (op == "Min") return variadic<BinaryOp::Min>();
    if (op == "Max") return variadic<BinaryOp::Max>();
    if (op == "Sum") return variadic<BinaryOp::Add>();
    if (op == "Mean") return variadic<BinaryOp::Add>(true);
    return unsupportedAttribute("no variadic kernel for " + op);
}

Result<std::unique_ptr<Kernel>> makeWhereKernel(const KernelContext& context) {
    for (size_t i = 0; i < 3; ++i)
        if (!context.hasInput(i)) return invalidInput("Where needs the condition, X and Y inputs");
    return std::unique_ptr<Kernel>(std::make_unique<WhereKernel>());
}

}  // namespace lathe
