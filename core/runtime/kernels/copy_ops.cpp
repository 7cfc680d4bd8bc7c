// Ops that replicate or partition a tensor: Expand (numpy broadcast to a shape), Tile (repeats per axis) and Split
// (sizes from the attribute before opset 13, from the optional input after, else equal parts).
#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/kernel_util.h"

namespace lathe {

namespace {

class ExpandKernel final : public Kernel {
public:
    Status forward(KernelIo& io) const override {
        const NDArray& x = io.input(0);
        const std::vector<int64_t> target = toIndices(io.input(1));
        if (io.input(1).rank() > 1)
            return invalidInput("the shape input must be 1-D, got " + shapeToString(io.input(1).shape));
        for (int64_t d : target)
            if (d < 0) return invalidInput("shape " + shapeToString(target) + " has a negative dimension");
        auto shape = broadcastShapes(x.shape, target);
        if (!shape) return shape.error();
        NDArray& y = io.output(0, shape.value());
        if (y.numel() > 0)
            stridedCopy(x.data.data(), 0, broadcastStrides(x.shape, y.shape), y.shape, y.data.data(), io.threads());
        return Ok{};
    }
};

class TileKernel final : public Kernel {
public:
    Status forward(KernelIo& io) const override {
        const NDArray& x = io.input(0);
        const std::vector<int64_t> repeats = toIndices(io.input(1));
        if (repeats.size() != x.shape.size())
            return invalidInput("repeats " + shapeToString(repeats) + " must have one value per axis of " +
                                shapeToString(x.shape));
        std::vector<int64_t> shape(x.shape.size());
        for (size_t d = 0; d < shape.size(); ++d) {
            if (repeats[d] < 0) return invalidInput("repeats " + shapeToString(repeats) + " has a negative value");
            shape[d] = x.shape[d] * repeats[d];
        }
        NDArray& y = io.output(0, shape);
        if (y.numel() == 0) return Ok{};
        if (shape.empty()) {
            y.data[0] = x.data[0];
            return Ok{};
        }
        const std::vector<int64_t> inStrides = rowMajorStrides(x.shape);
        const size_t inner = shape.size() - 1;
        const int64_t length = shape[inner], inLength = x.shape[inner], rows = dimProduct(shape, 0, inner);
        const float* src = x.data.data();
        float* dst = y.data.data();
#pragma omp parallel for num_threads(io.threads()) if (worthParallel(y.numel()))
        for (int64_t row = 0; row < rows; ++row) {
            int64_t source = 0, rest = row;
            for (size_t d = inner; d-- > 0;) {
                source += (rest % shape[d]) % x.shape[d] * inStrides[d];
                rest /= shape[d];
            }
            float* out = dst + row * length;
            for (int64_t r = 0; r < length; r += inLength)
                std::memcpy(out + r, src + source, size_t(inLength) * sizeof(float));
        }
        return Ok{};
    }
};

class SplitKernel final : public Kernel {
public:
    SplitKernel(int64_t axis, std::optional<std::vector<int64_t>> sizes) : m_axis(axis), m_sizes(std::move(sizes)) {}

    Status forward(KernelIo& io) const override {
        const NDArray& x = io.input(0);
        auto normalized = normalizeAxis(m_axis, x.rank());
        if (!normalized) return normalized.error();
        const size_t axis = size_t(normalized.value());
        const int64_t extent = x.rank() == 0 ? 1 : x.shape[axis];
        const int64_t parts = int64_t(io.outputCount());
        std::vector<int64_t> sizes;
        if (m_sizes && !m_sizes->empty())
            sizes = *m_sizes;
        else if (!m_sizes && io.hasInput(1))
            sizes = toIndices(io.input(1));
        if (sizes.empty()) {
            if (extent % parts != 0)
                return invalidInput("axis " + std::to_string(axis) + " of " + shapeToString(x.shape) +
                                    " does not split into " + std::to_string(parts) + " equal parts");
            sizes.assign(size_t(parts), extent / parts);
        }
        int64_t total = 0;
        for (int64_t s : sizes) total += s;
        if (int64_t(sizes.size()) != parts || total != extent ||
            std::any_of(sizes.begin(), sizes.end(), [](int64_t s) { return s < 0; }))
            return invalidInput("split " + shapeToString(sizes) + " does not partition axis " + std::to_string(axis) +
                                " of " + shapeToString(x.shape) + " into " + std::to_string(parts) + " outputs");
        const int64_t outer = dimProduct(x.shape, 0, axis);
        const int64_t inner = dimProduct(x.shape, axis + 1, x.shape.size());
        int64_t offset = 0;
        for (size_t p = 0; p < sizes.size(); ++p) {
            std::vector<int64_t> shape = x.shape;
            shape[axis] = sizes[p];
            NDArray& y = io.output(p, shape);
            const int64_t chunk = sizes[p] * inner;
            for (int64_t o = 0; o < outer; ++o)
                std::memcpy(y.data.data() + o * chunk, x.data.data() + o * extent * inner + offset,
                            size_t(chunk) * sizeof(float));
            offset += chunk;
        }
        return Ok{};
    }

private:
    int64_t m_axis;
    std::optional<std::vector<int64_t>> m_sizes;  // from the attribute (opset < 13)
};

}  // namespace

Result<std::unique_ptr<Kernel>> makeExpandKernel(const KernelContext& context) {
    if (!context.hasInput(1)) return invalidInput("needs the shape input");
    return std::unique_ptr<Kernel>(std::make_unique<ExpandKernel>());
}

Result<std::unique_ptr<Kernel>> makeTileKernel(const KernelContext& context) {
    if (!context.hasInput(1)) return invalidInput("needs the repeats input");
    return std::unique_ptr<Kernel>(std::make_unique<TileKernel>());
}

Result<std::unique_ptr<Kernel>> makeSplitKernel(const KernelContext& context) {
    std::optional<std::vector<int64_t>> sizes;
    if (context.opset < 13) sizes = context.node.attrInts("split");
    if (context.node.outputs.empty()) return invalidInput("Split needs at least one output");
    return std::unique_ptr<Kernel>(std::make_unique<SplitKernel>(context.node.attrInt("axis", 0), std::move(sizes)));
}

}  // namespace lathe
