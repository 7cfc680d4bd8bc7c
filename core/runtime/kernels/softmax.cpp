// Softmax and LogSoftmax. Opset < 13 flattens the input to 2-D at `axis` (default 1) and normalises each row;
// opset >= 13 normalises along the single axis `axis` (default -1).
#include <algorithm>
#include <cmath>
#include <memory>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/kernel_util.h"
#include "core/runtime/kernels/vector_math.h"

namespace lathe {

namespace {

// The largest of n contiguous values (NaN if any is NaN), in 16 independent lanes.
float rowMaximum(const float* x, int64_t n) {
    constexpr int64_t kLanes = 16;
    float lanes[kLanes];
    std::fill(lanes, lanes + kLanes, -INFINITY);
    auto larger = [](float a, float b) { return std::isnan(b) || b > a ? b : a; };
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int64_t lane = 0; lane < kLanes; ++lane) lanes[lane] = larger(lanes[lane], x[i + lane]);
    float m = -INFINITY;
    for (; i < n; ++i) m = larger(m, x[i]);
    for (float v : lanes) m = larger(m, v);
    return m;
}

class SoftmaxKernel final : public Kernel {
public:
    SoftmaxKernel(int64_t axis, bool coerce2d, bool logarithm) : m_axis(axis), m_coerce2d(coerce2d), m_log(logarithm) {}

    Status forward(KernelIo& io) const override {
        std::vector<int64_t> shape = io.input(0).shape;
        auto axis = normalizeAxis(m_axis, int64_t(shape.size()));
        if (!axis) return axis.error();
        const size_t a = size_t(axis.value());
        const int64_t outer = dimProduct(shape, 0, a);
        const int64_t length = m_coerce2d ? dimProduct(shape, a, shape.size()) : (shape.empty() ? 1 : shape[a]);
        const int64_t inner = m_coerce2d ? 1 : dimProduct(shape, a + 1, shape.size());
        NDArray& out = io.outputFrom(0, 0, std::move(shape));
        float* data = out.data.data();
        const bool logarithm = m_log;
#pragma omp parallel for num_threads(io.threads()) if (worthParallel(out.numel() * 8))
        for (int64_t slice = 0; slice < outer * inner; ++slice) {
            float* x = data + (slice / inner) * length * inner + slice % inner;
            if (inner == 1 && !logarithm) {  // the usual last-axis Softmax (attention): vectorised exp
                const float scale = 1.f / expShiftedSum(x, length, rowMaximum(x, length));
                for (int64_t i = 0; i < length; ++i) x[i] *= scale;
                continue;
            }
            float maximum = -INFINITY;
            for (int64_t i = 0; i < length; ++i) maximum = std::max(maximum, x[i * inner]);
            float sum = 0.f;
            for (int64_t i = 0; i < length; ++i) {
                const float e = std::exp(x[i * inner] - maximum);
                sum += e;
                if (!logarithm) x[i * inner] = e;
            }
            if (logarithm) {
                const float offset = maximum + std::log(sum);
                for (int64_t i = 0; i < length; ++i) x[i * inner] -= offset;
            } else {
                const float scale = 1.f / sum;
                for (int64_t i = 0; i < length; ++i) x[i * inner] *= scale;
            }
        }
        return Ok{};
    }

private:
    int64_t m_axis;
    bool m_coerce2d;
    bool m_log;
};

}  // namespace

Result<std::unique_ptr<Kernel>> makeSoftmaxKernel(const KernelContext& context) {
    const bool coerce2d = context.opset < 13;
    const int64_t axis = context.node.attrInt("axis", coerce2d ? 1 : -1);
    return std::unique_ptr<Kernel>(
        std::make_unique<SoftmaxKernel>(axis, coerce2d, context.node.opType == "LogSoftmax"));
}

}  // namespace lathe
