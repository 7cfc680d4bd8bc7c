// Data-movement ops: Flatten, Reshape, Transpose, Concat, Squeeze, Unsqueeze, Identity/Dropout, Constant, Shape,
// Size, Gather, Slice, Pad. Shape and index tensors are read as float-carried integers (see toIndex).
#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/kernel_util.h"

namespace lathe {

namespace {

template <class K, class... Args>
Result<std::unique_ptr<Kernel>> makeKernel(Args&&... args) {
    return std::unique_ptr<Kernel>(std::make_unique<K>(std::forward<Args>(args)...));
}

// Axes from attribute `name` (opset < `inputSince`) or from input 1, normalised against `rank`.
Result<std::vector<int64_t>> readAxes(const KernelIo& io, const std::optional<std::vector<int64_t>>& attribute,
                                      int64_t rank) {
    std::vector<int64_t> axes;
    if (attribute)
        axes = *attribute;
    else if (io.hasInput(1))
        axes = toIndices(io.input(1));
    for (int64_t& axis : axes) {
        auto normalized = normalizeAxis(axis, rank);
        if (!normalized) return normalized.error();
        axis = normalized.value();
    }
    std::sort(axes.begin(), axes.end());
    if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
        return invalidInput("axes " + shapeToString(axes) + " repeat an axis");
    return axes;
}

class FlattenKernel final : public Kernel {
public:
    explicit FlattenKernel(int64_t axis) : m_axis(axis) {}
    Status forward(KernelIo& io) const override {
        const std::vector<int64_t>& shape = io.input(0).shape;
        const int64_t rank = int64_t(shape.size());
        if (m_axis < -rank || m_axis > rank)
            return invalidInput("axis " + std::to_string(m_axis) + " is out of range for rank " + std::to_string(rank));
        const size_t axis = size_t(m_axis < 0 ? m_axis + rank : m_axis);
        io.outputFrom(0, 0, {dimProduct(shape, 0, axis), dimProduct(shape, axis, shape.size())});
        return Ok{};
    }

private:
    int64_t m_axis;
};

class ReshapeKernel final : public Kernel {
public:
    ReshapeKernel(std::optional<std::vector<int64_t>> attributeShape, bool allowZero)
        : m_attributeShape(std::move(attributeShape)), m_allowZero(allowZero) {}
    Status forward(KernelIo& io) const override {
        const std::vector<int64_t>& in = io.input(0).shape;
        std::vector<int64_t> shape = m_attributeShape ? *m_attributeShape : toIndices(io.input(1));
        int64_t inferred = -1, known = 1;
        for (size_t i = 0; i < shape.size(); ++i) {
            if (shape[i] == 0 && !m_allowZero) {
                if (i >= in.size())
                    return invalidInput("shape " + shapeToString(shape) + " copies dimension " + std::to_string(i) +
                                        " (0) but the input " + shapeToString(in) + " has no such dimension");
                shape[i] = in[i];
            }
            if (shape[i] == -1) {
                if (inferred >= 0) return invalidInput("shape " + shapeToString(shape) + " has more than one -1");
                inferred = int64_t(i);
            } else if (shape[i] < 0) {
                return invalidInput("shape " + shapeToString(shape) + " has a negative dimension");
            } else {
                known *= shape[i];
            }
        }
        const int64_t total = shapeNumel(in);
        if (inferred >= 0) {
            if (known == 0 || total % known != 0)
                return invalidInput("cannot reshape " + shapeToString(in) + " into " + shapeToString(shape));
            shape[size_t(inferred)] = total / known;
        }
        if (shapeNumel(shape) != total)
            return invalidInput("cannot reshape " + shapeToString(in) + " (" + std::to_string(total) +
                                " values) into " + shapeToString(shape));
        io.outputFrom(0, 0, std::move(shape));
        return Ok{};
    }

private:
    std::optional<std::vector<int64_t>> m_attributeShape;  // opset < 5
    bool m_allowZero;
};

class TransposeKernel final : public Kernel {
public:
    explicit TransposeKernel(std::vector<int64_t> perm) : m_perm(std::move(perm)) {}
    Status forward(KernelIo& io) const override {
        const NDArray& x = io.input(0);
        std::vector<int64_t> perm = m_perm;
        if (perm.empty())
            for (int64_t d = x.rank(); d-- > 0;) perm.push_back(d);
        std::vector<int64_t> sorted = perm;
        std::sort(sorted.begin(), sorted.end());
        for (size_t i = 0; i < sorted.size(); ++i)
            if (sorted[i] != int64_t(i) || sorted.size() != size_t(x.rank()))
                return invalidInput("perm " + shapeToString(perm) + " is not a permutation of the axes of " +
                                    shapeToString(x.shape));
        const std::vector<int64_t> inStrides = rowMajorStrides(x.shape);
        std::vector<int64_t> shape, strides;
        for (int64_t axis : perm) {
            shape.push_back(x.shape[size_t(axis)]);
            strides.push_back(inStrides[size_t(axis)]);
        }
        NDArray& y = io.output(0, shape);
        if (y.numel() > 0) stridedCopy(x.data.data(), 0, strides, shape, y.data.data(), io.threads());
        return Ok{};
    }

private:
    std::vector<int64_t> m_perm;
};

class ConcatKernel final : public Kernel {
public:
    explicit ConcatKernel(int64_t axis) : m_axis(axis) {}
    Status forward(KernelIo& io) const override {
        const std::vector<int64_t>& first = io.input(0).shape;
        auto normalized = normalizeAxis(m_axis, int64_t(first.size()));
        if (!normalized) return normalized.error();
        const size_t axis = size_t(normalized.value());
        std::vector<int64_t> shape = first;
        shape[axis] = 0;
        for (size_t i = 0; i < io.inputCount(); ++i) {
            const std::vector<int64_t>& s = io.input(i).shape;
            bool compatible = s.size() == first.size();
            for (size_t d = 0; compatible && d < s.size(); ++d) compatible = d == axis || s[d] == first[d];
            if (!compatible)
                return invalidInput("input " + std::to_string(i) + " has shape " + shapeToString(s) +
                                    ", which differs from " + shapeToString(first) + " outside axis " +
                                    std::to_string(axis));
            shape[axis] += s[axis];
        }
        const int64_t outer = dimProduct(first, 0, axis);
        const int64_t inner = dimProduct(first, axis + 1, first.size());
        const int64_t outRow = shape[axis] * inner;
        NDArray& y = io.output(0, std::move(shape));
        int64_t offset = 0;
        for (size_t i = 0; i < io.inputCount(); ++i) {
            const NDArray& x = io.input(i);
            const int64_t chunk = x.shape[axis] * inner;
            const float* src = x.data.data();
            float* dst = y.data.data() + offset;
#pragma omp parallel for num_threads(io.threads()) if (worthParallel(outer * chunk))
            for (int64_t o = 0; o < outer; ++o)
                std::memcpy(dst + o * outRow, src + o * chunk, size_t(chunk) * sizeof(float));
            offset += chunk;
        }
        return Ok{};
    }

private:
    int64_t m_axis;
};

class SqueezeKernel final : public Kernel {
public:
    explicit SqueezeKernel(std::optional<std::vector<int64_t>> axes) : m_axes(std::move(axes)) {}
    Status forward(KernelIo& io) const override {
        const std::vector<int64_t>& in = io.input(0).shape;
        auto axes = readAxes(io, m_axes, int64_t(in.size()));
        if (!axes) return axes.error();
        std::vector<int64_t> shape;
        for (size_t d = 0; d < in.size(); ++d) {
            const bool listed = std::binary_search(axes->begin(), axes->end(), int64_t(d));
            if (listed && in[d] != 1)
                return invalidInput("cannot squeeze axis " + std::to_string(d) + " of " + shapeToString(in) +
                                    ": its size is not 1");
            if (!(listed || (axes->empty() && in[d] == 1))) shape.push_back(in[d]);
        }
        io.outputFrom(0, 0, std::move(shape));
        return Ok{};
    }

private:
    std::optional<std::vector<int64_t>> m_axes;  // opset < 13
};

class UnsqueezeKernel final : public Kernel {
public:
    explicit UnsqueezeKernel(std::optional<std::vector<int64_t>> axes) : m_axes(std::move(axes)) {}
    Status forward(KernelIo& io) const override {
        const std::vector<int64_t>& in = io.input(0).shape;
        const size_t count = m_axes ? m_axes->size() : size_t(io.input(1).numel());
        auto axes = readAxes(io, m_axes, int64_t(in.size() + count));
        if (!axes) return axes.error();
        std::vector<int64_t> shape;
        auto next = in.begin();
        for (size_t d = 0; d < in.size() + count; ++d)
            shape.push_back(std::binary_search(axes->begin(), axes->end(), int64_t(d)) ? 1 : *next++);
        io.outputFrom(0, 0, std::move(shape));
        return Ok{};
    }

private:
    std::optional<std::vector<int64_t>> m_axes;  // opset < 13
};

// Identity, and Dropout in inference mode or with ratio 0 (the optional mask output is all ones).
class IdentityKernel final : public Kernel {
public:
    Status forward(KernelIo& io) const override {
        const bool training = io.inputCount() > 2 && io.hasInput(2) && io.input(2).numel() == 1 &&
                              io.input(2).data[0] != 0.f;
        const bool zeroRatio = io.hasInput(1) && io.input(1).numel() == 1 && io.input(1).data[0] == 0.f;
        if (training && !zeroRatio)
            return unsupportedAttribute(
                "training_mode=true with a non-zero ratio is not implemented; the runtime evaluates inference "
                "graphs");
        std::vector<int64_t> shape = io.input(0).shape;
        if (io.outputCount() > 1) std::fill_n(io.output(1, shape).data.begin(), shapeNumel(shape), 1.f);
        io.outputFrom(0, 0, std::move(shape));
        return Ok{};
    }
};

class ConstantKernel final : public Kernel {
public:
    explicit ConstantKernel(NDArray value) : m_value(std::move(value)) {}
    Status forward(KernelIo& io) const override {
        NDArray& y = io.output(0, m_value.shape);
        std::copy(m_value.data.begin(), m_value.data.end(), y.data.begin());
        return Ok{};
    }

private:
    NDArray m_value;
};

class ShapeKernel final : public Kernel {
public:
    ShapeKernel(int64_t start, std::optional<int64_t> end) : m_start(start), m_end(end) {}
    Status forward(KernelIo& io) const override {
        const std::vector<int64_t>& in = io.input(0).shape;
        const int64_t rank = int64_t(in.size());
        auto clampIndex = [rank](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t(0), rank); };
        const int64_t start = clampIndex(m_start), end = std::max(start, clampIndex(m_end.value_or(rank)));
        NDArray& y = io.output(0, {end - start});
        for (int64_t d = start; d < end; ++d) y.data[size_t(d - start)] = float(in[size_t(d)]);
        return Ok{};
    }

private:
    int64_t m_start;
    std::optional<int64_t> m_end;
};

// Size: the element count of the input, as a scalar.
class SizeKernel final : public Kernel {
public:
    Status forward(KernelIo& io) const override {
        const int64_t count = io.input(0).numel();
        io.output(0, {}).data[0] = float(count);
        return Ok{};
    }
};

class GatherKernel final : public Kernel {
public:
    explicit GatherKernel(int64_t axis) : m_axis(axis) {}
    Status forward(KernelIo& io) const override {
        const NDArray& data = io.input(0);
        const NDArray& indices = io.input(1);
        auto normalized = normalizeAxis(m_axis, data.rank());
        if (!normalized) return normalized.error();
        const size_t axis = size_t(normalized.value());
        const int64_t extent = data.shape[axis];
        std::vector<int64_t> index = toIndices(indices);
        for (int64_t& i : index) {
            if (i < -extent || i >= extent)
                return invalidInput("index " + std::to_string(i) + " is out of range for axis " + std::to_string(axis) +
                                    " of size " + std::to_string(extent));
            if (i < 0) i += extent;
        }
        std::vector<int64_t> shape(data.shape.begin(), data.shape.begin() + long(axis));
        shape.insert(shape.end(), indices.shape.begin(), indices.shape.end());
        shape.insert(shape.end(), data.shape.begin() + long(axis) + 1, data.shape.end());
        const int64_t outer = dimProduct(data.shape, 0, axis);
        const int64_t inner = dimProduct(data.shape, axis + 1, data.shape.size());
        NDArray& y = io.output(0, std::move(shape));
        const int64_t count = int64_t(index.size());
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t i = 0; i < count; ++i)
                std::memcpy(y.data.data() + (o * count + i) * inner,
                            data.data.data() + (o * extent + index[size_t(i)]) * inner, size_t(inner) * sizeof(float));
        return Ok{};
    }

private:
    int64_t m_axis;
};

// Slice parameters from attributes (opset < 10) or inputs 1-4 (starts, ends, axes, steps).
struct SliceAttributes {
    std::vector<int64_t> starts, ends, axes;
};

class SliceKernel final : public Kernel {
public:
    explicit SliceKernel(std::optional<SliceAttributes> attributes) : m_attributes(std::move(attributes)) {}
    Status forward(KernelIo& io) const override {
        const NDArray& x = io.input(0);
        std::vector<int64_t> starts, ends, axes, steps;
        if (m_attributes) {
            starts = m_attributes->starts;
            ends = m_attributes->ends;
            axes = m_attributes->axes;
        } else {
            starts = toIndices(io.input(1));
            ends = toIndices(io.input(2));
            if (io.hasInput(3)) axes = toIndices(io.input(3));
            if (io.hasInput(4)) steps = toIndices(io.input(4));
        }
        if (axes.empty())
            for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
        if (steps.empty()) steps.assign(starts.size(), 1);
        if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
            return invalidInput("starts, ends, axes and steps must have the same length");
        std::vector<int64_t> shape = x.shape, begin(x.shape.size(), 0), step(x.shape.size(), 1);
        for (size_t i = 0; i < starts.size(); ++i) {
            auto normalized = normalizeAxis(axes[i], x.rank());
            if (!normalized) return normalized.error();
            const size_t a = size_t(normalized.value());
            const int64_t dim = x.shape[a], s = steps[i];
            if (s == 0) return invalidInput("steps must not be 0");
            int64_t first = starts[i] < 0 ? starts[i] + dim : starts[i];
            int64_t last = ends[i] < 0 ? ends[i] + dim : ends[i];
            if (s > 0) {
                first = std::clamp<int64_t>(first, 0, dim);
                last = std::clamp<int64_t>(last, 0, dim);
            } else {
                first = std::clamp<int64_t>(first, 0, dim - 1);
                last = std::clamp<int64_t>(last, -1, dim - 1);
            }
            begin[a] = first;
            step[a] = s;
            shape[a] = std::max<int64_t>(0, s > 0 ? (last - first + s - 1) / s : (first - last - s - 1) / -s);
        }
        const std::vector<int64_t> inStrides = rowMajorStrides(x.shape);
        int64_t offset = 0;
        std::vector<int64_t> strides(x.shape.size());
        for (size_t d = 0; d < x.shape.size(); ++d) {
            offset += begin[d] * inStrides[d];
            strides[d] = step[d] * inStrides[d];
        }
        NDArray& y = io.output(0, shape);
        if (y.numel() > 0) stridedCopy(x.data.data(), offset, strides, shape, y.data.data(), io.threads());
        return Ok{};
    }

private:
    std::optional<SliceAttributes> m_attributes;
};

enum class PadMode { Constant, Reflect, Edge };

class PadKernel final : public Kernel {
public:
    PadKernel(PadMode mode, std::optional<std::vector<int64_t>> pads, float value)
        : m_mode(mode), m_pads(std::move(pads)), m_value(value) {}

    Status forward(KernelIo& io) const override {
        const NDArray& x = io.input(0);
        const size_t rank = x.shape.size();
        std::vector<int64_t> pads = m_pads ? *m_pads : toIndices(io.input(1));
        float value = m_value;
        if (!m_pads && io.hasInput(2) && io.input(2).numel() > 0) value = io.input(2).data[0];
        if (!m_pads && io.hasInput(3)) {
            auto axes = readAxes(io, std::optional(toIndices(io.input(3))), int64_t(rank));
            if (!axes) return axes.error();
            if (pads.size() != 2 * axes->size())
                return invalidInput("pads has " + std::to_string(pads.size()) + " values for " +
                                    std::to_string(axes->size()) + " axes");
            std::vector<int64_t> full(2 * rank, 0);
            for (size_t i = 0; i < axes->size(); ++i) {
                full[size_t((*axes)[i])] = pads[i];
                full[rank + size_t((*axes)[i])] = pads[axes->size() + i];
            }
            pads = std::move(full);
        }
        if (pads.size() != 2 * rank)
            return invalidInput("pads has " + std::to_string(pads.size()) + " values, expected " +
                                std::to_string(2 * rank) + " for an input of shape " + shapeToString(x.shape));
        std::vector<int64_t> shape(rank);
        for (size_t d = 0; d < rank; ++d) {
            shape[d] = x.shape[d] + pads[d] + pads[rank + d];
            if (shape[d] < 0) return invalidInput("pads " + shapeToString(pads) + " remove more than the input has");
            if (m_mode != PadMode::Constant && shape[d] > 0 && x.shape[d] == 0)
                return invalidInput("cannot reflect or extend an empty axis");
            if (m_mode == PadMode::Reflect && (pads[d] >= x.shape[d] || pads[rank + d] >= x.shape[d]) &&
                (pads[d] > 0 || pads[rank + d] > 0))
                return invalidInput("reflect pads must be smaller than the padded dimension");
        }
        NDArray& y = io.output(0, shape);
        if (y.numel() == 0) return Ok{};
        if (rank == 0) {
            y.data[0] = x.data[0];
            return Ok{};
        }
        // Source index per output index along each axis, or -1 where the constant value goes.
        std::vector<std::vector<int64_t>> source(rank);
        for (size_t d = 0; d < rank; ++d) {
            source[d].resize(size_t(shape[d]));
            for (int64_t o = 0; o < shape[d]; ++o) source[d][size_t(o)] = mapIndex(o - pads[d], x.shape[d]);
        }
        const std::vector<int64_t> inStrides = rowMajorStrides(x.shape);
        const size_t inner = rank - 1;
        const int64_t length = shape[inner];
        const int64_t rows = dimProduct(shape, 0, inner);
        const std::vector<int64_t>& innerSource = source[inner];
#pragma omp parallel for num_threads(io.threads()) if (worthParallel(y.numel()))
        for (int64_t row = 0; row < rows; ++row) {
            int64_t offset = 0, rest = row;
            bool inside = true;
            for (size_t d = inner; d-- > 0;) {
                const int64_t s = source[d][size_t(rest % shape[d])];
                rest /= shape[d];
                inside = inside && s >= 0;
                offset += s * inStrides[d];
            }
            float* dst = y.data.data() + row * length;
            if (!inside) {
                std::fill(dst, dst + length, value);
                continue;
            }
            const float* src = x.data.data() + offset;
            for (int64_t i = 0; i < length; ++i) {
                const int64_t s = innerSource[size_t(i)];
                dst[i] = s >= 0 ? src[s] : value;
            }
        }
        return Ok{};
    }

private:
    int64_t mapIndex(int64_t i, int64_t size) const {
        if (i >= 0 && i < size) return i;
        switch (m_mode) {
            case PadMode::Constant:
                return -1;
            case PadMode::Edge:
                return std::clamp<int64_t>(i, 0, size - 1);
            case PadMode::Reflect:
                if (size == 1) return 0;
                while (i < 0 || i >= size) i = i < 0 ? -i : 2 * (size - 1) - i;
                return i;
        }
        return -1;
    }

    PadMode m_mode;
    std::optional<std::vector<int64_t>> m_pads;  // opset < 11
    float m_value;
};

}  // namespace

Result<std::unique_ptr<Kernel>> makeFlattenKernel(const KernelContext& context) {
    return makeKernel<FlattenKernel>(context.node.attrInt("axis", 1));
}

Result<std::unique_ptr<Kernel>> makeReshapeKernel(const KernelContext& context) {
    std::optional<std::vector<int64_t>> shape;
    if (context.opset < 5)
        shape = context.node.attrInts("shape");
    else if (!context.hasInput(1))
        return invalidInput("needs the shape input");
    return makeKernel<ReshapeKernel>(std::move(shape), context.node.attrInt("allowzero", 0) != 0);
}

Result<std::unique_ptr<Kernel>> makeTransposeKernel(const KernelContext& context) {
    return makeKernel<TransposeKernel>(context.node.attrInts("perm"));
}

Result<std::unique_ptr<Kernel>> makeConcatKernel(const KernelContext& context) {
    if (!context.node.attribute("axis")) return invalidInput("the axis attribute is required");
    for (size_t i = 0; i < context.node.inputs.size(); ++i)
        if (!context.hasInput(i)) return invalidInput("input " + std::to_string(i) + " is empty");
    return makeKernel<ConcatKernel>(context.node.attrInt("axis", 0));
}

Result<std::unique_ptr<Kernel>> makeSqueezeKernel(const KernelContext& context) {
    std::optional<std::vector<int64_t>> axes;
    if (context.opset < 13) axes = context.node.attrInts("axes");
    return makeKernel<SqueezeKernel>(std::move(axes));
}

Result<std::unique_ptr<Kernel>> makeUnsqueezeKernel(const KernelContext& context) {
    std::optional<std::vector<int64_t>> axes;
    if (context.opset < 13)
        axes = context.node.attrInts("axes");
    else if (!context.hasInput(1))
        return invalidInput("needs the axes input");
    return makeKernel<UnsqueezeKernel>(std::move(axes));
}

Result<std::unique_ptr<Kernel>> makeIdentityKernel(const KernelContext& context) {
    const Node& node = context.node;
    if (node.opType == "Dropout") {
        const NDArray* training = context.constant(2);
        const NDArray* ratio = context.constant(1);
        const bool zeroRatio = ratio && ratio->numel() == 1 && ratio->data[0] == 0.f;
        if (training && training->numel() == 1 && training->data[0] != 0.f && !zeroRatio)
            return unsupportedAttribute(
                "training_mode=true with a non-zero ratio is not implemented; the runtime evaluates inference "
                "graphs");
    } else if (node.outputs.size() != 1) {
        return invalidInput("Identity has exactly one output");
    }
    return makeKernel<IdentityKernel>();
}

Result<std::unique_ptr<Kernel>> makeConstantKernel(const KernelContext& context) {
    const Node& node = context.node;
    if (const Attribute* a = node.attribute("value"); a && a->tensor) {
        if (a->tensor->dtype == DType::String) return unsupportedAttribute("string constants are not supported");
        return makeKernel<ConstantKernel>(NDArray(a->tensor->shape, a->tensor->data));
    }
    if (const Attribute* a = node.attribute("value_float")) return makeKernel<ConstantKernel>(NDArray({}, FloatBuffer{a->f}));
    if (const Attribute* a = node.attribute("value_int")) return makeKernel<ConstantKernel>(NDArray({}, FloatBuffer{float(a->i)}));
    if (const Attribute* a = node.attribute("value_floats"))
        return makeKernel<ConstantKernel>(NDArray({int64_t(a->floats.size())}, a->floats));
    if (const Attribute* a = node.attribute("value_ints"))
        return makeKernel<ConstantKernel>(
            NDArray({int64_t(a->ints.size())}, std::vector<float>(a->ints.begin(), a->ints.end())));
    return unsupportedAttribute("only value, value_float(s) and value_int(s) constants are supported");
}

Result<std::unique_ptr<Kernel>> makeShapeKernel(const KernelContext& context) {
    std::optional<int64_t> end;
    if (context.node.attribute("end")) end = context.node.attrInt("end", 0);
    return makeKernel<ShapeKernel>(context.node.attrInt("start", 0), end);
}

Result<std::unique_ptr<Kernel>> makeSizeKernel(const KernelContext& context) {
    (void)context;
    return makeKernel<SizeKernel>();
}

Result<std::unique_ptr<Kernel>> makeGatherKernel(const KernelContext& context) {
    return makeKernel<GatherKernel>(context.node.attrInt("axis", 0));
}

Result<std::unique_ptr<Kernel>> makeSliceKernel(const KernelContext& context) {
    std::optional<SliceAttributes> attributes;
    if (context.opset < 10) {
        const Node& node = context.node;
        attributes = SliceAttributes{node.attrInts("starts"), node.attrInts("ends"), node.attrInts("axes")};
    } else if (!context.hasInput(1) || !context.hasInput(2)) {
        return invalidInput("needs the starts and ends inputs");
    }
    return makeKernel<SliceKernel>(std::move(attributes));
}

Result<std::unique_ptr<Kernel>> makePadKernel(const KernelContext& context) {
    const Node& node = context.node;
    const std::string mode = node.attrString("mode", "constant");
    PadMode padMode = PadMode::Constant;
    if (mode == "reflect")
        padMode = PadMode::Reflect;
    else if (mode == "edge")
        padMode = PadMode::Edge;
    else if (mode != "constant")
        return unsupportedAttribute("pad mode '" + mode + "' is not supported");
    std::optional<std::vector<int64_t>> pads;
    float value = 0.f;
    if (context.opset < 11) {
        pads = node.attrInts(context.opset < 2 ? "paddings" : "pads");
        value = node.attrFloat("value", 0.f);
    } else if (!context.hasInput(1)) {
        return invalidInput("needs the pads input");
    }
    return makeKernel<PadKernel>(padMode, std::move(pads), value);
}

}  // namespace lathe
