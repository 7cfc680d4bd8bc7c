// ScatterND: a copy of data with the slices addressed by the last axis of indices replaced by (or, from opset 16,
// combined by add/mul/max/min with) the updates. Indices may be negative (counted from the end).
#include <algorithm>
#include <cstring>
#include <memory>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/kernel_util.h"

namespace lathe {

namespace {

enum class Combine { None, Add, Mul, Max, Min };

class ScatterNDKernel final : public Kernel {
public:
    explicit ScatterNDKernel(Combine combine) : m_combine(combine) {}

    Status forward(KernelIo& io) const override {
        const NDArray& indices = io.input(1);
        const NDArray& updates = io.input(2);
        std::vector<int64_t> shape = io.input(0).shape;
        if (indices.rank() < 1) return invalidInput("indices must have rank >= 1");
        const size_t depth = size_t(indices.shape.back());
        if (depth > shape.size())
            return invalidInput("indices address " + std::to_string(depth) + " axes of data " + shapeToString(shape));
        // updates must be indices.shape[:-1] + data.shape[depth:].
        std::vector<int64_t> expected(indices.shape.begin(), indices.shape.end() - 1);
        expected.insert(expected.end(), shape.begin() + long(depth), shape.end());
        if (updates.shape != expected)
            return invalidInput("updates have shape " + shapeToString(updates.shape) + ", expected " +
                                shapeToString(expected));
        const std::vector<int64_t> strides = rowMajorStrides(shape);
        const int64_t slice = dimProduct(shape, depth, shape.size());
        const int64_t count = dimProduct(indices.shape, 0, indices.shape.size() - 1);
        const std::vector<int64_t> index = toIndices(indices);
        NDArray& y = io.outputFrom(0, 0, std::move(shape));
        for (int64_t i = 0; i < count; ++i) {
            int64_t offset = 0;
            for (size_t d = 0; d < depth; ++d) {
                int64_t k = index[size_t(i) * depth + d];
                const int64_t extent = y.shape[d];
                if (k < -extent || k >= extent)
                    return invalidInput("index " + std::to_string(k) + " is out of range for axis " +
                                        std::to_string(d) + " of size " + std::to_string(extent));
                if (k < 0) k += extent;
                offset += k * strides[d];
            }
            float* dst = y.data.data() + offset;
            const float* src = updates.data.data() + i * slice;
            for (int64_t j = 0; j < slice; ++j) {
                switch (m_combine) {
                    case Combine::None:
                        dst[j] = src[j];
                        break;
                    case Combine::Add:
                        dst[j] += src[j];
                        break;
                    case Combine::Mul:
                        dst[j] *= src[j];
                        break;
                    case Combine::Max:
                        dst[j] = std::max(dst[j], src[j]);
                        break;
                    case Combine::Min:
                        dst[j] = std::min(dst[j], src[j]);
                        break;
                }
            }
        }
        return Ok{};
    }

private:
    Combine m_combine;
};

}  // namespace

Result<std::unique_ptr<Kernel>> makeScatterNDKernel(const KernelContext& context) {
    for (size_t i = 0; i < 3; ++i)
        if (!context.hasInput(i)) return invalidInput("ScatterND needs the data, indices and updates inputs");
    const std::string reduction = context.node.attrString("reduction", "none");
    Combine combine = Combine::None;
    if (reduction == "add")
        combine = Combine::Add;
    else if (reduction == "mul")
        combine = Combine::Mul;
    else if (reduction == "max")
        combine = Combine::Max;
    else if (reduction == "min")
        combine = Combine::Min;
    else if (reduction != "none")
        return unsupportedAttribute("attribute 'reduction' is '" + reduction + "'");
    return std::unique_ptr<Kernel>(std::make_unique<ScatterNDKernel>(combine));
}

}  // namespace lathe
