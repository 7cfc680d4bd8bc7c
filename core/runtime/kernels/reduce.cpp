// ReduceMean over the listed axes (all when none), with keepdims. Axes come from the attribute (opset < 18) or from
// the optional second input.
#include <algorithm>
#include <memory>
#include <optional>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/kernel_util.h"

namespace lathe {

namespace {

class ReduceMeanKernel final : public Kernel {
public:
    ReduceMeanKernel(std::optional<std::vector<int64_t>> axes, bool keepDims, bool emptyAxesIsNoop)
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
        std::vector<char> reduced(rank, axes.empty() ? 1 : 0);
        for (int64_t axis : axes) {
            auto normalized = normalizeAxis(axis, int64_t(rank));
            if (!normalized) return normalized.error();
            reduced[size_t(normalized.value())] = 1;
        }
        std::vector<int64_t> outShape, keptShape(rank);
        int64_t count = 1;
        for (size_t d = 0; d < rank; ++d) {
            keptShape[d] = reduced[d] ? 1 : x.shape[d];
            if (reduced[d]) count *= x.shape[d];
            if (!reduced[d] || m_keepDims) outShape.push_back(keptShape[d]);
        }
        const auto first = std::find(reduced.begin(), reduced.end(), 1);
        const auto last = std::find(first, reduced.end(), 0);
        const bool contiguous = std::find(last, reduced.end(), 1) == reduced.end();
        NDArray& y = io.output(0, std::move(outShape));
        const float scale = 1.f / float(std::max<int64_t>(count, 1));
        if (contiguous) {
            // Reduced axes form one block: x viewed as [outer, count, inner].
            const size_t a = size_t(first - reduced.begin()), b = size_t(last - reduced.begin());
            const int64_t outer = dimProduct(x.shape, 0, a), inner = dimProduct(x.shape, b, rank);
            const float* src = x.data.data();
            float* dst = y.data.data();
#pragma omp parallel for num_threads(io.threads()) if (worthParallel(x.numel()))
            for (int64_t o = 0; o < outer; ++o) {
                float* out = dst + o * inner;
                std::fill(out, out + inner, 0.f);
                for (int64_t r = 0; r < count; ++r) {
                    const float* row = src + (o * count + r) * inner;
                    for (int64_t i = 0; i < inner; ++i) out[i] += row[i];
                }
                for (int64_t i = 0; i < inner; ++i) out[i] *= scale;
            }
            return Ok{};
        }
        // General case: walk the input once, adding each element to its output slot.
        const std::vector<int64_t> keptStrides = rowMajorStrides(keptShape);
        std::fill(y.data.begin(), y.data.end(), 0.f);
        std::vector<int64_t> index(rank, 0);
        for (int64_t i = 0; i < x.numel(); ++i) {
            int64_t slot = 0;
            for (size_t d = 0; d < rank; ++d) slot += reduced[d] ? 0 : index[d] * keptStrides[d];
            y.data[size_t(slot)] += x.data[size_t(i)];
            for (size_t d = rank; d-- > 0;) {
                if (++index[d] < x.shape[d]) break;
                index[d] = 0;
            }
        }
        for (float& v : y.data) v *= scale;
        return Ok{};
    }

private:
    std::optional<std::vector<int64_t>> m_axes;  // opset < 18
    bool m_keepDims;
    bool m_emptyAxesIsNoop;
};

}  // namespace

Result<std::unique_ptr<Kernel>> makeReduceMeanKernel(const KernelContext& context) {
    const Node& node = context.node;
    std::optional<std::vector<int64_t>> axes;
    if (context.opset < 18) axes = node.attrInts("axes");
    return std::unique_ptr<Kernel>(std::make_unique<ReduceMeanKernel>(std::move(axes), node.attrInt("keepdims", 1) != 0,
                                                                      node.attrInt("noop_with_empty_axes", 0) != 0));
}

}  // namespace lathe
