// ConvTranspose over 1-3 spatial dimensions with groups, strides, dilations, pads, output_padding, output_shape and
// auto_pad. Per image and group, one GEMM makes every (filter, tap) row for every input position (Wᵀ · X), and a
// col2im pass adds each row into the output positions it reaches.
#include <omp.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <tuple>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/kernel_util.h"
#include "core/runtime/kernels/sgemm.h"

namespace lathe {

namespace {

struct ConvTransposeAttributes {
    std::string autoPad;
    std::vector<int64_t> kernel, strides, dilations, pads, outputPadding, outputShape;
    int64_t group = 1;
};

class ConvTransposeKernel final : public Kernel {
public:
    explicit ConvTransposeKernel(ConvTransposeAttributes a) : m_a(std::move(a)) {}

    Status forward(KernelIo& io) const override {
        const NDArray& x = io.input(0);
        const NDArray& w = io.input(1);
        if (x.rank() < 3 || x.rank() > 5 || w.rank() != x.rank())
            return invalidInput("X " + shapeToString(x.shape) + " and W " + shapeToString(w.shape) +
                                " must both have 1-3 spatial dimensions");
        const size_t spatial = size_t(x.rank() - 2);
        const int64_t batch = x.shape[0], channels = x.shape[1], group = m_a.group;
        if (w.shape[0] != channels || channels % group != 0)
            return invalidInput("W " + shapeToString(w.shape) + " does not fit " + std::to_string(channels) +
                                " input channels in " + std::to_string(group) + " groups");
        for (auto [name, values, factor] :
             {std::tuple{"strides", &m_a.strides, size_t(1)}, std::tuple{"dilations", &m_a.dilations, size_t(1)},
              std::tuple{"pads", &m_a.pads, size_t(2)}, std::tuple{"output_padding", &m_a.outputPadding, size_t(1)},
              std::tuple{"kernel_shape", &m_a.kernel, size_t(1)}})
            if (!values->empty() && values->size() != spatial * factor)
                return invalidInput(std::string("attribute '") + name + "' is " + shapeToString(*values) + " for " +
                                    std::to_string(spatial) + " spatial dimensions");
        if (!m_a.outputShape.empty() && m_a.outputShape.size() < spatial)
            return invalidInput("attribute 'output_shape' is " + shapeToString(m_a.outputShape) + " for " +
                                std::to_string(spatial) + " spatial dimensions");
        const int64_t groupChannels = channels / group, groupFilters = w.shape[1], filters = groupFilters * group;
        // Geometry padded to three spatial dimensions.
        std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1}, pb{0, 0, 0};
        const size_t shift = 3 - spatial;
        for (size_t i = 0; i < spatial; ++i) {
            const size_t j = shift + i;
            in[j] = x.shape[2 + i];
            k[j] = w.shape[2 + i];
            if (!m_a.kernel.empty() && m_a.kernel[i] != k[j])
                return invalidInput("kernel_shape " + shapeToString(m_a.kernel) + " differs from W " +
                                    shapeToString(w.shape));
            s[j] = m_a.strides.empty() ? 1 : m_a.strides[i];
            d[j] = m_a.dilations.empty() ? 1 : m_a.dilations[i];
            const int64_t outPad = m_a.outputPadding.empty() ? 0 : m_a.outputPadding[i];
            const int64_t full = s[j] * (in[j] - 1) + outPad + (k[j] - 1) * d[j] + 1;
            int64_t begin = m_a.pads.empty() ? 0 : m_a.pads[i];
            int64_t end = m_a.pads.empty() ? 0 : m_a.pads[spatial + i];
            const bool same = m_a.autoPad == "SAME_UPPER" || m_a.autoPad == "SAME_LOWER";
            if (!m_a.outputShape.empty() || same) {
                const int64_t target =
                    !m_a.outputShape.empty() ? m_a.outputShape[m_a.outputShape.size() - spatial + i] : in[j] * s[j];
                // Negative when the target is larger than the full output: the extra positions get only the bias.
                const int64_t total = full - target;
                begin = m_a.autoPad == "SAME_LOWER" ? total - total / 2 : total / 2;
                end = total - begin;
            } else if (m_a.autoPad == "VALID") {
                begin = end = 0;
            }
            pb[j] = begin;
            out[j] = full - begin - end;
            if (out[j] <= 0) return invalidInput("the output would be empty along spatial axis " + std::to_string(i));
        }
        std::vector<int64_t> outShape{batch, filters};
        for (size_t i = 0; i < spatial; ++i) outShape.push_back(out[shift + i]);
        const NDArray* bias = io.hasInput(2) ? &io.input(2) : nullptr;
        if (bias && bias->numel() != filters)
            return invalidInput("B has " + std::to_string(bias->numel()) + " values for " + std::to_string(filters) +
                                " output channels");
        NDArray& y = io.output(0, outShape);
        if (io.shapesOnly()) {
            std::fill(y.data.begin(), y.data.end(), 0.f);
            return Ok{};
        }
        const int64_t inSize = in[0] * in[1] * in[2], outSize = out[0] * out[1] * out[2];
        const int64_t taps = k[0] * k[1] * k[2], rows = groupFilters * taps;
        float* cols = io.workspace().shared(size_t(rows * inSize));
        for (int64_t n = 0; n < batch; ++n)
            for (int64_t g = 0; g < group; ++g) {
                // cols [filters of the group × taps, input positions] = W_gᵀ · X_g.
                const MatrixRef wg{w.data.data() + g * groupChannels * rows, groupChannels, rows, rows, 1};
                const MatrixRef xg{x.data.data() + (n * channels + g * groupChannels) * inSize, groupChannels, inSize,
                                   inSize, 1};
                std::fill(cols, cols + rows * inSize, 0.f);
                const GemmOperand left(wg.transposed()), right(xg);
                std::vector<float> scratch(size_t(gemmScratchSize(left, right)));
                gemmAccumulateParallel(left, right, cols, inSize, scratch.data(), io.threads());
                float* outGroup = y.data.data() + (n * filters + g * groupFilters) * outSize;
#pragma omp parallel for num_threads(io.threads()) if (worthParallel(rows * inSize))
                for (int64_t m = 0; m < groupFilters; ++m) {
                    float* dst = outGroup + m * outSize;
                    std::fill(dst, dst + outSize, bias ? bias->data[size_t(g * groupFilters + m)] : 0.f);
                    for (int64_t t = 0; t < taps; ++t) {
                        const int64_t t0 = t / (k[1] * k[2]), t1 = t / k[2] % k[1], t2 = t % k[2];
                        const float* row = cols + (m * taps + t) * inSize;
                        for (int64_t i0 = 0; i0 < in[0]; ++i0) {
                            const int64_t o0 = i0 * s[0] - pb[0] + t0 * d[0];
                            if (o0 < 0 || o0 >= out[0]) continue;
                            for (int64_t i1 = 0; i1 < in[1]; ++i1) {
                                const int64_t o1 = i1 * s[1] - pb[1] + t1 * d[1];
                                if (o1 < 0 || o1 >= out[1]) continue;
                                const float* src = row + (i0 * in[1] + i1) * in[2];
                                float* line = dst + (o0 * out[1] + o1) * out[2];
                                for (int64_t i2 = 0; i2 < in[2]; ++i2) {
                                    const int64_t o2 = i2 * s[2] - pb[2] + t2 * d[2];
                                    if (o2 >= 0 && o2 < out[2]) line[o2] += src[i2];
                                }
                            }
                        }
                    }
                }
            }
        return Ok{};
    }

private:
    ConvTransposeAttributes m_a;
};

}  // namespace

Result<std::unique_ptr<Kernel>> makeConvTransposeKernel(const KernelContext& context) {
    const Node& node = context.node;
    if (!context.hasInput(0) || !context.hasInput(1)) return invalidInput("needs the X and W inputs");
    ConvTransposeAttributes a;
    a.autoPad = node.attrString("auto_pad", "NOTSET");
    if (a.autoPad != "NOTSET" && a.autoPad != "SAME_UPPER" && a.autoPad != "SAME_LOWER" && a.autoPad != "VALID")
        return invalidInput("attribute 'auto_pad' is '" + a.autoPad + "'");
    a.kernel = node.attrInts("kernel_shape");
    a.strides = node.attrInts("strides");
    a.dilations = node.attrInts("dilations");
    a.pads = node.attrInts("pads");
    a.outputPadding = node.attrInts("output_padding");
    a.outputShape = node.attrInts("output_shape");
    a.group = node.attrInt("group", 1);
    if (a.group < 1) return invalidInput("attribute 'group' is " + std::to_string(a.group));
    size_t spatial = 0;
    if (const NDArray* w = context.constant(1)) spatial = size_t(std::max(0, w->rank() - 2));
    for (auto [name, values, factor] :
         {std::tuple{"strides", &a.strides, 1}, std::tuple{"dilations", &a.dilations, 1},
          std::tuple{"pads", &a.pads, 2}, std::tuple{"output_padding", &a.outputPadding, 1}}) {
        for (int64_t v : *values)
            if (v < 0 || (v == 0 && factor == 1 && std::string(name) != "output_padding"))
                return invalidInput(std::string("attribute '") + name + "' is " + shapeToString(*values));
        if (spatial > 0 && !values->empty() && values->size() != spatial * size_t(factor))
            return invalidInput(std::string("attribute '") + name + "' is " + shapeToString(*values) + " for " +
                                std::to_string(spatial) + " spatial dimensions");
    }
    if (spatial > 0 && !a.outputShape.empty() && a.outputShape.size() < spatial)
        return invalidInput("attribute 'output_shape' is " + shapeToString(a.outputShape) + " for " +
                            std::to_string(spatial) + " spatial dimensions");
    return std::unique_ptr<Kernel>(std::make_unique<ConvTransposeKernel>(std::move(a)));
}

}  // namespace lathe
