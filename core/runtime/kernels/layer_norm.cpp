// LayerNormalization (opset 17): each block X[i, axis:] normalised to zero mean and unit variance (population
// variance + epsilon), then scaled and shifted by Scale and B broadcast to the block. The optional Mean and
// InvStdDev outputs have X's shape with the normalised axes set to 1. Statistics are accumulated in double.
#include <cmath>
#include <memory>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/kernel_util.h"

namespace lathe {

namespace {

class LayerNormKernel final : public Kernel {
public:
    LayerNormKernel(int64_t axis, float epsilon) : m_axis(axis), m_epsilon(epsilon) {}

    Status forward(KernelIo& io) const override {
        const NDArray& x = io.input(0);
        auto normalized = normalizeAxis(m_axis, x.rank());
        if (!normalized) return normalized.error();
        const size_t axis = size_t(normalized.value());
        const std::vector<int64_t> block(x.shape.begin() + long(axis), x.shape.end());
        const int64_t outer = dimProduct(x.shape, 0, axis), length = shapeNumel(block);
        auto operand = [&](size_t index, const char* name) -> Result<std::vector<float>> {
            if (!io.hasInput(index)) return std::vector<float>{};
            const NDArray& p = io.input(index);
            auto shape = broadcastShapes(p.shape, block);
            if (!shape || shape.value() != block)
                return invalidInput(std::string("input '") + name + "' of shape " + shapeToString(p.shape) +
                                    " does not broadcast to the normalised shape " + shapeToString(block));
            std::vector<float> full(static_cast<size_t>(length));
            if (length > 0) stridedCopy(p.data.data(), 0, broadcastStrides(p.shape, block), block, full.data(), 1);
            return full;
        };
        auto scale = operand(1, "Scale");
        if (!scale) return scale.error();
        auto bias = operand(2, "B");
        if (!bias) return bias.error();
        std::vector<int64_t> statShape = x.shape;
        for (size_t d = axis; d < statShape.size(); ++d) statShape[d] = 1;
        NDArray& y = io.output(0, x.shape);
        NDArray* mean = io.outputCount() > 1 ? &io.output(1, statShape) : nullptr;
        NDArray* invStd = io.outputCount() > 2 ? &io.output(2, statShape) : nullptr;
        const float* src = x.data.data();
        float* dst = y.data.data();
        const float* s = scale->empty() ? nullptr : scale->data();
        const float* b = bias->empty() ? nullptr : bias->data();
        const double epsilon = m_epsilon;
#pragma omp parallel for num_threads(io.threads()) if (worthParallel(x.numel()))
        for (int64_t o = 0; o < outer; ++o) {
            const float* in = src + o * length;
            float* out = dst + o * length;
            double sum = 0;
            for (int64_t i = 0; i < length; ++i) sum += in[i];
            const double mu = length > 0 ? sum / double(length) : 0.0;
            double squares = 0;
            for (int64_t i = 0; i < length; ++i) squares += (in[i] - mu) * (in[i] - mu);
            const double variance = length > 0 ? squares / double(length) : 0.0;
            const float inv = float(1.0 / std::sqrt(variance + epsilon)), m = float(mu);
            for (int64_t i = 0; i < length; ++i) {
                const float v = (in[i] - m) * inv;
                out[i] = (s ? v * s[i] : v) + (b ? b[i] : 0.f);
            }
            if (mean) mean->data[size_t(o)] = m;
            if (invStd) invStd->data[size_t(o)] = inv;
        }
        return Ok{};
    }

private:
    int64_t m_axis;
    float m_epsilon;
};

}  // namespace

Result<std::unique_ptr<Kernel>> makeLayerNormKernel(const KernelContext& context) {
    const Node& node = context.node;
    if (!context.hasInput(0) || !context.hasInput(1)) return invalidInput("needs the X and Scale inputs");
    return std::unique_ptr<Kernel>(
        std::make_unique<LayerNormKernel>(node.attrInt("axis", -1), node.attrFloat("epsilon", 1e-5f)));
}

}  // namespace lathe
