// BatchNormalization in inference form: y = scale * (x - mean) / sqrt(var + epsilon) + bias, per channel (axis 1).
#include <cmath>
#include <memory>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/kernel_util.h"

namespace lathe {

namespace {

class BatchNormKernel final : public Kernel {
public:
    // `folded` holds per-channel multiplier and offset when all four parameters were constants.
    BatchNormKernel(float epsilon, std::vector<float> multiplier, std::vector<float> offset)
        : m_epsilon(epsilon), m_multiplier(std::move(multiplier)), m_offset(std::move(offset)) {}

    std::optional<Epilogue> asEpilogue() const override {
        if (m_multiplier.empty()) return std::nullopt;
        Epilogue affine;
        affine.scale = m_multiplier;
        affine.shift = m_offset;
        return affine;
    }

    Status forward(KernelIo& io) const override {
        const std::vector<int64_t> shape = io.input(0).shape;
        if (shape.size() < 2) return invalidInput("expects an input of shape [N, C, ...], got " + shapeToString(shape));
        const int64_t channels = shape[1];
        std::vector<float> multiplier = m_multiplier, offset = m_offset;
        if (multiplier.empty()) {
            for (size_t i = 1; i <= 4; ++i)
                if (io.input(i).numel() != channels)
                    return invalidInput("scale, B, mean and var must have " + std::to_string(channels) +
                                        " values (the channel count), input " + std::to_string(i) + " has shape " +
                                        shapeToString(io.input(i).shape));
            fold(values(io.input(1)), values(io.input(2)), values(io.input(3)), values(io.input(4)), m_epsilon, multiplier,
                 offset);
        } else if (int64_t(multiplier.size()) != channels) {
            return invalidInput("the input has " + std::to_string(channels) + " channels but the parameters " +
                                std::to_string(multiplier.size()));
        }
        const int64_t planes = shape[0] * channels;
        const int64_t size = dimProduct(shape, 2, shape.size());
        NDArray& y = io.outputFrom(0, 0, shape);
        float* data = y.data.data();
#pragma omp parallel for num_threads(io.threads()) if (worthParallel(y.numel()))
        for (int64_t p = 0; p < planes; ++p) {
            const float a = multiplier[size_t(p % channels)], b = offset[size_t(p % channels)];
            float* plane = data + p * size;
            for (int64_t i = 0; i < size; ++i) plane[i] = a * plane[i] + b;
        }
        return Ok{};
    }

    static void fold(const std::vector<float>& scale, const std::vector<float>& bias, const std::vector<float>& mean,
                     const std::vector<float>& var, float epsilon, std::vector<float>& multiplier,
                     std::vector<float>& offset) {
        multiplier.resize(scale.size());
        offset.resize(scale.size());
        for (size_t c = 0; c < scale.size(); ++c) {
            multiplier[c] = scale[c] / std::sqrt(var[c] + epsilon);
            offset[c] = bias[c] - mean[c] * multiplier[c];
        }
    }

private:
    float m_epsilon;
    std::vector<float> m_multiplier;
    std::vector<float> m_offset;
};

}  // namespace

Result<std::unique_ptr<Kernel>> makeBatchNormKernel(const KernelContext& context) {
    const Node& node = context.node;
    if (node.attrInt("training_mode", 0) != 0)
        return unsupportedAttribute("training_mode=1 is not implemented; the runtime evaluates inference graphs");
    for (size_t i = 1; i < node.outputs.size(); ++i)
        if (!node.outputs[i].empty())
            return unsupportedAttribute("the running-statistics outputs exist only in training mode");
    for (size_t i = 0; i < 5; ++i)
        if (!context.hasInput(i)) return invalidInput("needs five inputs: X, scale, B, input_mean, input_var");
    const float epsilon = node.attrFloat("epsilon", 1e-5f);
    std::vector<float> multiplier, offset;
    const NDArray *scale = context.constant(1), *bias = context.constant(2), *mean = context.constant(3),
                  *var = context.constant(4);
    if (scale && bias && mean && var) {
        const int64_t channels = scale->numel();
        if (bias->numel() != channels || mean->numel() != channels || var->numel() != channels)
            return invalidInput("scale, B, mean and var must have the same length");
        BatchNormKernel::fold(values(*scale), values(*bias), values(*mean), values(*var), epsilon, multiplier, offset);
    }
    return std::unique_ptr<Kernel>(
        std::make_unique<BatchNormKernel>(epsilon, std::move(multiplier), std::move(offset)));
}

}  // namespace lathe
