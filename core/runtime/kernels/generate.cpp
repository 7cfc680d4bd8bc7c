// Ops that make a tensor from scalars or a shape: ConstantOfShape (value attribute, default 0) and Range.
#include <algorithm>
#include <cmath>
#include <memory>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/kernel_util.h"

namespace lathe {

namespace {

class ConstantOfShapeKernel final : public Kernel {
public:
    explicit ConstantOfShapeKernel(float value) : m_value(value) {}

    Status forward(KernelIo& io) const override {
        const NDArray& shapeInput = io.input(0);
        if (shapeInput.rank() > 1)
            return invalidInput("the shape input must be 1-D, got " + shapeToString(shapeInput.shape));
        const std::vector<int64_t> shape = toIndices(shapeInput);
        if (!checkedNumel(shape)) return invalidInput("shape " + shapeToString(shape) + " is negative or too large");
        NDArray& y = io.output(0, shape);
        std::fill(y.data.begin(), y.data.end(), m_value);
        return Ok{};
    }

private:
    float m_value;
};

class RangeKernel final : public Kernel {
public:
    explicit RangeKernel(bool integer) : m_integer(integer) {}

    Status forward(KernelIo& io) const override {
        for (size_t i = 0; i < 3; ++i)
            if (io.input(i).numel() != 1)
                return invalidInput("start, limit and delta must be scalars; input " + std::to_string(i) +
                                    " has shape " + shapeToString(io.input(i).shape));
        const double start = io.input(0).data[0], limit = io.input(1).data[0], delta = io.input(2).data[0];
        if (delta == 0) return invalidInput("delta must not be 0");
        const double steps = std::ceil((limit - start) / delta);
        if (!(steps < double(int64_t(1) << 40))) return invalidInput("the range has too many elements");
        const int64_t count = std::max<int64_t>(0, int64_t(steps));
        NDArray& y = io.output(0, {count});
        for (int64_t i = 0; i < count; ++i) {
            const double v = start + double(i) * delta;
            y.data[size_t(i)] = float(m_integer ? std::trunc(v) : v);
        }
        return Ok{};
    }

private:
    bool m_integer;
};

}  // namespace

Result<std::unique_ptr<Kernel>> makeConstantOfShapeKernel(const KernelContext& context) {
    float value = 0.f;
    if (const Attribute* a = context.node.attribute("value"); a && a->tensor) {
        if (a->tensor->data.size() != 1)
            return invalidInput("attribute 'value' must hold one element, got shape " +
                                shapeToString(a->tensor->shape));
        value = a->tensor->data[0];
    }
    return std::unique_ptr<Kernel>(std::make_unique<ConstantOfShapeKernel>(value));
}

Result<std::unique_ptr<Kernel>> makeRangeKernel(const KernelContext& context) {
    for (size_t i = 0; i < 3; ++i)
        if (!context.hasInput(i)) return invalidInput("Range needs the start, limit and delta inputs");
    const bool integer = !context.outputTypes.empty() && isIntegerType(context.outputTypes[0]);
    return std::unique_ptr<Kernel>(std::make_unique<RangeKernel>(integer));
}

}  // namespace lathe
