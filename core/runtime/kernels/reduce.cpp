// Reductions over the listed axes (all when none), with keepdims: ReduceMean, ReduceSum, ReduceMax, ReduceMin,
// ReduceProd, ReduceSumSquare, ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp. Axes come from the attribute, or
// from the optional second input (ReduceSum from opset 13, the others from opset 18). ArgMax/ArgMin along one axis
// (keepdims, select_last_index) give indices carried as float.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/kernel_util.h"

namespace lathe {

namespace {

enum class Reduction { Mean, Sum, Max, Min, Prod, SumSquare, L1, L2, LogSum, LogSumExp };

float initial(Reduction r) {
    switch (r) {
        case Reduction::Max:
            return -std::numeric_limits<float>::infinity();
        case Reduction::Min:
            return std::numeric_limits<float>::infinity();
        case Reduction::Prod:
            return 1.f;
        default:
            return 0.f;
    }
}

template <Reduction r>
inline float accumulate(float acc, float v) {
    if constexpr (r == Reduction::Max) return std::isnan(v) || v > acc ? v : acc;
    if constexpr (r == Reduction::Min) return std::isnan(v) || v < acc ? v : acc;
    if constexpr (r == Reduction::Prod) return acc * v;
    if constexpr (r == Reduction::SumSquare || r == Reduction::L2) return acc + v * v;
    if constexpr (r == Reduction::L1) return acc + std::abs(v);
    if constexpr (r == Reduction::LogSumExp) return acc + std::exp(v);
    return acc + v;
}

// Merges two partial results of the same reduction.
template <Reduction r>
inline float combine(float a, float b) {
    if constexpr (r == Reduction::Max || r == Reduction::Min) return accumulate<r>(a, b);
    if constexpr (r == Reduction::Prod) return a * b;
    return a + b;
}

// The reduction of `count` contiguous values: 32 interleaved partial results (vectorisable, and free of the one
// long dependency chain a single accumulator makes), merged in a fixed order, so the result depends only on the
// values and `count`.
template <Reduction r>
float reduceContiguous(const float* row, int64_t count) {
    constexpr int64_t kLanes = 32;
    float partial[kLanes];
    std::fill(partial, partial + kLanes, initial(r));
    int64_t k = 0;
    for (; k + kLanes <= count; k += kLanes)
        for (int64_t lane = 0; lane < kLanes; ++lane) partial[lane] = accumulate<r>(partial[lane], row[k + lane]);
    float acc = initial(r);
    for (; k < count; ++k) acc = accumulate<r>(acc, row[k]);
    for (int64_t lane = 0; lane < kLanes; ++lane) acc = combine<r>(acc, partial[lane]);
    return acc;
}

float finish(Reduction r, float acc, int64_t count) {
    switch (r) {
        case Reduction::Mean:
            return acc / float(std::max<int64_t>(count, 1));
        case Reduction::L2:
            return std::sqrt(acc);
        case Reduction::LogSum:
        case Reduction::LogSumExp:
            return std::log(acc);
        default:
            return acc;
    }
}

// Which axes of `x` a reduction covers, after normalising and validating `axes` (empty: all).
Result<std::vector<char>> reducedAxes(const std::vector<int64_t>& axes, size_t rank) {
    std::vector<char> reduced(rank, axes.empty() ? 1 : 0);
    for (int64_t axis : axes) {
        auto normalized = normalizeAxis(axis, int64_t(rank));
        if (!normalized) return normalized.error();
        reduced[size_t(normalized.value())] = 1;
    }
    return reduced;
}

template <Reduction r>
void reduceBlock(const NDArray& x, const std::vector<char>& reduced, float* dst, int threads) {
    const size_t rank = x.shape.size();
    const auto first = std::find(reduced.begin(), reduced.end(), 1);
    const auto last = std::find(first, reduced.end(), 0);
    const bool contiguous = std::find(last, reduced.end(), 1) == reduced.end();
    int64_t count = 1;
    for (size_t d = 0; d < rank; ++d)
        if (reduced[d]) count *= x.shape[d];
    const float* src = x.data.data();
    if (contiguous) {
        // Reduced axes form one block: x viewed as [outer, count, inner].
        const size_t a = size_t(first - reduced.begin()), b = size_t(last - reduced.begin());
        const int64_t outer = dimProduct(x.shape, 0, a), inner = dimProduct(x.shape, b, rank);
#pragma omp parallel for num_threads(threads) if (worthParallel(x.numel()))
        for (int64_t o = 0; o < outer; ++o) {
            float* out = dst + o * inner;
            if (inner == 1) {  // the last axes (LayerNorm's means, attention's sums): one contiguous run per output
                *out = finish(r, reduceContiguous<r>(src + o * count, count), count);
                continue;
            }
            std::fill(out, out + inner, initial(r));
            for (int64_t k = 0; k < count; ++k) {
                const float* row = src + (o * count + k) * inner;
                for (int64_t i = 0; i < inner; ++i) out[i] = accumulate<r>(out[i], row[i]);
            }
            for (int64_t i = 0; i < inner; ++i) out[i] = finish(r, out[i], count);
        }
        return;
    }
    // General case: walk the input once, accumulating each element into its output slot.
    std::vector<int64_t> keptShape(rank);
    for (size_t d = 0; d < rank; ++d) keptShape[d] = reduced[d] ? 1 : x.shape[d];
    const std::vector<int64_t> keptStrides = rowMajorStrides(keptShape);
    const int64_t outCount = shapeNumel(keptShape);
    std::fill(dst, dst + outCount, initial(r));
    std::vector<int64_t> index(rank, 0);
    for (int64_t i = 0; i < x.numel(); ++i) {
        int64_t slot = 0;
        for (size_t d = 0; d < rank; ++d) slot += reduced[d] ? 0 : index[d] * keptStrides[d];
        dst[slot] = accumulate<r>(dst[slot], src[i]);
        for (size_t d = rank; d-- > 0;) {
            if (++index[d] < x.shape[d]) break;
            index[d] = 0;
        }
    }
    for (int64_t i = 0; i < outCount; ++i) dst[i] = finish(r, dst[i], count);
}

template <Reduction r>
class ReduceKernel final : public Kernel {
public:
    ReduceKernel(std::optional<std::vector<int64_t>> axes, bool keepDims, bool emptyAxesIsNoop)
        : m_axes(std::move(axes)), m_keepDims(keepDims), m_emptyAxesIsNoop(emptyAxesIsNoop) {}

    Status forward(KernelIo& io) const override {
        const NDArray& x = io.input(0);
        const size_t rank = x.shape.size();
        std::vector<int64_t> axes =
            m_axes ? *m_axes : (io.hasInput(1) ? toIndices(io.input(1)) : std::vector<int64_t>{});
        if (axes.empty() && m_emptyAxesIsNoop) {
            std::vector<int64_t> shape = x.shape;
            io.outputFrom(0, 0, std::move(shape));
            return Ok{};
        }
        auto reduced = reducedAxes(axes, rank);
        if (!reduced) return reduced.error();
        std::vector<int64_t> outShape;
        for (size_t d = 0; d < rank; ++d)
            if (!(*reduced)[d] || m_keepDims) outShape.push_back((*reduced)[d] ? 1 : x.shape[d]);
        NDArray& y = io.output(0, std::move(outShape));
        if (rank == 0) {
            y.data[0] = finish(r, accumulate<r>(initial(r), x.data[0]), 1);
            return Ok{};
        }
        reduceBlock<r>(x, *reduced, y.data.data(), io.threads());
        return Ok{};
    }

private:
    std::optional<std::vector<int64_t>> m_axes;  // from the attribute
    bool m_keepDims;
    bool m_emptyAxesIsNoop;
};

class ArgKernel final : public Kernel {
public:
    ArgKernel(bool max, int64_t axis, bool keepDims, bool selectLast)
        : m_max(max), m_axis(axis), m_keepDims(keepDims), m_selectLast(selectLast) {}

    Status forward(KernelIo& io) const override {
        const NDArray& x = io.input(0);
        auto normalized = normalizeAxis(m_axis, x.rank());
        if (!normalized) return normalized.error();
        const size_t axis = size_t(normalized.value());
        if (x.rank() == 0) return invalidInput("ArgMax/ArgMin need a tensor of rank >= 1");
        const int64_t outer = dimProduct(x.shape, 0, axis), length = x.shape[axis];
        const int64_t inner = dimProduct(x.shape, axis + 1, x.shape.size());
        if (length == 0)
            return invalidInput("axis " + std::to_string(axis) + " of " + shapeToString(x.shape) + " is empty");
        std::vector<int64_t> shape;
        for (size_t d = 0; d < x.shape.size(); ++d)
            if (d != axis || m_keepDims) shape.push_back(d == axis ? 1 : x.shape[d]);
        NDArray& y = io.output(0, std::move(shape));
        const float* src = x.data.data();
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t i = 0; i < inner; ++i) {
                const float* p = src + o * length * inner + i;
                int64_t best = 0;
                for (int64_t k = 1; k < length; ++k) {
                    const float v = p[k * inner], b = p[best * inner];
                    const bool better =
                        m_max ? (v > b || (m_selectLast && v == b)) : (v < b || (m_selectLast && v == b));
                    if (better) best = k;
                }
                y.data[size_t(o * inner + i)] = float(best);
            }
        return Ok{};
    }

private:
    bool m_max;
    int64_t m_axis;
    bool m_keepDims, m_selectLast;
};

template <Reduction r>
Result<std::unique_ptr<Kernel>> makeReduce(const KernelContext& context, int64_t axesInputSince) {
    const Node& node = context.node;
    std::optional<std::vector<int64_t>> axes;
    if (context.opset < axesInputSince) axes = node.attrInts("axes");
    return std::unique_ptr<Kernel>(std::make_unique<ReduceKernel<r>>(std::move(axes), node.attrInt("keepdims", 1) != 0,
                                                                     node.attrInt("noop_with_empty_axes", 0) != 0));
}

}  // namespace

Result<std::unique_ptr<Kernel>> makeReduceKernel(const KernelContext& context) {
    const std::string& op = context.node.opType;
    if (op == "ReduceMean") return makeReduce<Reduction::Mean>(context, 18);
    if (op == "ReduceSum") return makeReduce<Reduction::Sum>(context, 13);
    if (op == "ReduceMax") return makeReduce<Reduction::Max>(context, 18);
    if (op == "ReduceMin") return makeReduce<Reduction::Min>(context, 18);
    if (op == "ReduceProd") return makeReduce<Reduction::Prod>(context, 18);
    if (op == "ReduceSumSquare") return makeReduce<Reduction::SumSquare>(context, 18);
    if (op == "ReduceL1") return makeReduce<Reduction::L1>(context, 18);
    if (op == "ReduceL2") return makeReduce<Reduction::L2>(context, 18);
    if (op == "ReduceLogSum") return makeReduce<Reduction::LogSum>(context, 18);
    if (op == "ReduceLogSumExp") return makeReduce<Reduction::LogSumExp>(context, 18);
    return unsupportedAttribute("no reduction kernel for " + op);
}

Result<std::unique_ptr<Kernel>> makeArgKernel(const KernelContext& context) {
    const Node& node = context.node;
    return std::unique_ptr<Kernel>(std::make_unique<ArgKernel>(node.opType == "ArgMax", node.attrInt("axis", 0),
                                                               node.attrInt("keepdims", 1) != 0,
                                                               node.attrInt("select_last_index", 0) != 0));
}

}  // namespace lathe
