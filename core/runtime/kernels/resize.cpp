// Resize (opset 10-17) and Upsample (opset 7-9): nearest (round_prefer_floor/ceil, floor, ceil), linear and cubic
// interpolation over any axes, with every coordinate_transformation_mode of opset 11-17 (half_pixel,
// pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn, tf_crop_and_resize with roi and
// extrapolation_value) and cubic_coeff_a / exclude_outside. Each interpolation is separable, so the kernel resamples
// one resized axis at a time, innermost first, as ONNX's reference implementation does.
#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <optional>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/kernel_util.h"

namespace lathe {

namespace {

enum class Mode { Nearest, Linear, Cubic };
enum class Transform { HalfPixel, PytorchHalfPixel, AlignCorners, Asymmetric, TfHalfPixelForNn, TfCropAndResize };
// Simple is opset 10's rule (ONNX Runtime's): floor when upsampling, ceil when downsampling.
enum class Nearest { RoundPreferFloor, RoundPreferCeil, Floor, Ceil, Simple };

struct ResizeAttributes {
    Mode mode = Mode::Nearest;
    Transform transform = Transform::HalfPixel;
    Nearest nearest = Nearest::RoundPreferFloor;
    float cubicA = -0.75f;
    bool excludeOutside = false;
    float extrapolation = 0.f;
    std::optional<std::vector<float>> scales;  // Upsample-7's attribute
    size_t scalesInput = 1, sizesInput = 0;    // 0: no such input
};

// The source taps of one output position along one axis; `outside` marks tf_crop_and_resize extrapolation.
struct Taps {
    int64_t index[4] = {0, 0, 0, 0};
    float weight[4] = {0, 0, 0, 0};
    int count = 0;
    bool outside = false;
};

std::array<float, 4> cubicCoefficients(float t, float a) {
    const float t1 = t + 1, t2 = 1 - t, t3 = 2 - t;
    return {((a * t1 - 5 * a) * t1 + 8 * a) * t1 - 4 * a, ((a + 2) * t - (a + 3)) * t * t + 1,
            ((a + 2) * t2 - (a + 3)) * t2 * t2 + 1, ((a * t3 - 5 * a) * t3 + 8 * a) * t3 - 4 * a};
}

std::vector<Taps> axisTaps(const ResizeAttributes& p, int64_t inLen, int64_t outLen, float scale, float roiStart,
                           float roiEnd) {
    std::vector<Taps> taps(static_cast<size_t>(outLen));
    // The resized length the coordinate formulas use is input × scale, unrounded, as in ONNX's reference (with sizes
    // given, the scale is sizes / input, so it is the output length).
    const double resized = double(inLen) * double(scale);
    for (int64_t j = 0; j < outLen; ++j) {
        const double x = double(j);
        double source = 0;
        switch (p.transform) {
            case Transform::HalfPixel:
                source = (x + 0.5) / scale - 0.5;
                break;
            case Transform::PytorchHalfPixel:
                source = resized > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
                break;
            case Transform::AlignCorners:
                source = resized == 1 ? 0.0 : x * double(inLen - 1) / (resized - 1);
                break;
            case Transform::Asymmetric:
                source = x / scale;
                break;
            case Transform::TfHalfPixelForNn:
                source = (x + 0.5) / scale;
                break;
            case Transform::TfCropAndResize:
                source = resized > 1 ? roiStart * double(inLen - 1) +
                                           x * double(roiEnd - roiStart) * double(inLen - 1) / (resized - 1)
                                     : 0.5 * double(roiStart + roiEnd) * double(inLen - 1);
                break;
        }
        Taps& t = taps[size_t(j)];
        if (p.transform == Transform::TfCropAndResize && (source < 0 || source > double(inLen - 1))) {
            t.outside = true;
            continue;
        }
        auto clampIndex = [inLen](int64_t i) { return std::clamp<int64_t>(i, 0, inLen - 1); };
        const double base = std::floor(source);
        const float ratio = float(source - base);
        if (p.mode == Mode::Nearest) {
            double pick = base;
            const bool integral = ratio == 0.f;
            switch (p.nearest) {
                case Nearest::RoundPreferFloor:
                    pick = integral || ratio <= 0.5f ? base : base + 1;
                    break;
                case Nearest::RoundPreferCeil:
                    pick = !integral && ratio >= 0.5f ? base + 1 : base;
                    break;
                case Nearest::Floor:
                    pick = base;
                    break;
                case Nearest::Ceil:
                    pick = std::ceil(source);
                    break;
                case Nearest::Simple:
                    pick = scale < 1.f ? std::ceil(source) : base;
                    break;
            }
            t.index[0] = clampIndex(int64_t(pick));
            t.weight[0] = 1.f;
            t.count = 1;
        } else if (p.mode == Mode::Linear) {
            t.index[0] = clampIndex(int64_t(base));
            t.index[1] = clampIndex(int64_t(base) + 1);
            t.weight[0] = 1.f - ratio;
            t.weight[1] = ratio;
            t.count = 2;
        } else {
            const std::array<float, 4> c = cubicCoefficients(ratio, p.cubicA);
            float sum = 0;
            for (int k = 0; k < 4; ++k) {
                const int64_t i = int64_t(base) - 1 + k;
                const bool inside = i >= 0 && i < inLen;
                t.index[k] = clampIndex(i);
                t.weight[k] = p.excludeOutside && !inside ? 0.f : c[size_t(k)];
                sum += t.weight[k];
            }
            if (p.excludeOutside && sum != 0.f)
                for (float& w : t.weight) w /= sum;
            t.count = 4;
        }
    }
    return taps;
}

// x viewed as [outer, inLen, inner] resampled along its middle axis into y [outer, taps.size(), inner].
void resampleAxis(const float* x, int64_t outer, int64_t inLen, int64_t inner, const std::vector<Taps>& taps,
                  float extrapolation, float* y, int threads) {
    const int64_t outLen = int64_t(taps.size());
#pragma omp parallel for num_threads(threads) if (worthParallel(outer * outLen * inner * 2))
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < outLen; ++j) {
            const Taps& t = taps[size_t(j)];
            float* dst = y + (o * outLen + j) * inner;
            if (t.outside) {
                std::fill(dst, dst + inner, extrapolation);
                continue;
            }
            const float* src = x + o * inLen * inner;
            const float* r0 = src + t.index[0] * inner;
            for (int64_t i = 0; i < inner; ++i) dst[i] = t.weight[0] * r0[i];
            for (int k = 1; k < t.count; ++k) {
                const float* rk = src + t.index[k] * inner;
                const float w = t.weight[k];
                for (int64_t i = 0; i < inner; ++i) dst[i] += w * rk[i];
            }
        }
}

class ResizeKernel final : public Kernel {
public:
    explicit ResizeKernel(ResizeAttributes attributes) : m_p(std::move(attributes)) {}

    Status forward(KernelIo& io) const override {
        const NDArray& x = io.input(0);
        const size_t rank = x.shape.size();
        std::vector<float> scales;
        std::vector<int64_t> sizes;
        if (m_p.scales)
            scales = *m_p.scales;
        else if (io.hasInput(m_p.scalesInput) && io.input(m_p.scalesInput).numel() > 0)
            scales = values(io.input(m_p.scalesInput));
        if (m_p.sizesInput > 0 && io.hasInput(m_p.sizesInput) && io.input(m_p.sizesInput).numel() > 0)
            sizes = toIndices(io.input(m_p.sizesInput));
        if (scales.empty() == sizes.empty()) return invalidInput("exactly one of 'scales' and 'sizes' must be given");
        if ((!scales.empty() && scales.size() != rank) || (!sizes.empty() && sizes.size() != rank))
            return invalidInput("scales/sizes need one value per axis of " + shapeToString(x.shape));
        std::vector<float> roi;
        if (m_p.transform == Transform::TfCropAndResize) {
            if (!io.hasInput(1) || io.input(1).numel() != int64_t(2 * rank))
                return invalidInput("tf_crop_and_resize needs an roi input of " + std::to_string(2 * rank) + " values");
            roi = values(io.input(1));
        }
        std::vector<int64_t> outShape(rank);
        std::vector<float> axisScale(rank);
        for (size_t d = 0; d < rank; ++d) {
            if (!sizes.empty()) {
                if (sizes[d] < 0) return invalidInput("sizes " + shapeToString(sizes) + " has a negative value");
                outShape[d] = sizes[d];
                axisScale[d] = x.shape[d] > 0 ? float(sizes[d]) / float(x.shape[d]) : 1.f;
            } else {
                if (!(scales[d] > 0.f)) return invalidInput("scales must be positive");
                const float extent = roi.empty() ? 1.f : roi[rank + d] - roi[d];
                outShape[d] = int64_t(std::floor(double(x.shape[d]) * extent * scales[d]));
                axisScale[d] = scales[d];
            }
        }
        NDArray& y = io.output(0, outShape);
        if (y.numel() == 0) return Ok{};
        if (x.numel() == 0) return invalidInput("cannot resize an empty input to a non-empty output");
        // Axes to resample, innermost first; the others are copied through.
        std::vector<size_t> axes;
        for (size_t d = rank; d-- > 0;)
            if (outShape[d] != x.shape[d] || axisScale[d] != 1.f || !roi.empty()) axes.push_back(d);
        std::vector<int64_t> current = x.shape;
        std::vector<float> buffers[2];
        const float* src = x.data.data();
        for (size_t step = 0; step < axes.size(); ++step) {
            const size_t d = axes[step];
            const std::vector<Taps> taps = axisTaps(m_p, current[d], outShape[d], axisScale[d],
                                                    roi.empty() ? 0.f : roi[d], roi.empty() ? 1.f : roi[rank + d]);
            const int64_t outer = dimProduct(current, 0, d), inner = dimProduct(current, d + 1, rank);
            const int64_t inLen = current[d];
            current[d] = outShape[d];
            const bool last = step + 1 == axes.size();
            float* dst = y.data.data();
            if (!last) {
                buffers[step % 2].resize(size_t(shapeNumel(current)));
                dst = buffers[step % 2].data();
            }
            resampleAxis(src, outer, inLen, inner, taps, m_p.extrapolation, dst, io.threads());
            src = dst;
        }
        if (axes.empty()) std::copy(x.data.begin(), x.data.end(), y.data.begin());
        return Ok{};
    }

private:
    ResizeAttributes m_p;
};

}  // namespace

Result<std::unique_ptr<Kernel>> makeResizeKernel(const KernelContext& context) {
    const Node& node = context.node;
    ResizeAttributes p;
    const std::string mode = node.attrString("mode", "nearest");
    if (mode == "nearest")
        p.mode = Mode::Nearest;
    else if (mode == "linear" || mode == "bilinear" || mode == "trilinear")
        p.mode = Mode::Linear;
    else if (mode == "cubic")
        p.mode = Mode::Cubic;
    else
        return unsupportedAttribute("attribute 'mode' is '" + mode + "'; expected nearest, linear or cubic");
    const bool upsample = node.opType == "Upsample";
    if (upsample || context.opset < 11) {
        p.transform = Transform::Asymmetric;
        p.nearest = upsample ? Nearest::Floor : Nearest::Simple;
        if (p.mode == Mode::Cubic) return unsupportedAttribute("cubic mode needs Resize from opset 11");
        if (upsample && context.opset < 9) {
            p.scales = node.attribute("scales") ? node.attribute("scales")->floats : std::vector<float>{};
            if (p.scales->empty()) return invalidInput("attribute 'scales' is required");
        } else if (!context.hasInput(1)) {
            return invalidInput("needs the scales input");
        }
        return std::unique_ptr<Kernel>(std::make_unique<ResizeKernel>(std::move(p)));
    }
    const std::string transform = node.attrString("coordinate_transformation_mode", "half_pixel");
    static const std::pair<const char*, Transform> transforms[] = {
        {"half_pixel", Transform::HalfPixel},
        {"pytorch_half_pixel", Transform::PytorchHalfPixel},
        {"align_corners", Transform::AlignCorners},
        {"asymmetric", Transform::Asymmetric},
        {"tf_half_pixel_for_nn", Transform::TfHalfPixelForNn},
        {"tf_crop_and_resize", Transform::TfCropAndResize}};
    bool found = false;
    for (const auto& [name, value] : transforms)
        if (transform == name) p.transform = value, found = true;
    if (!found) return unsupportedAttribute("attribute 'coordinate_transformation_mode' is '" + transform + "'");
    const std::string nearest = node.attrString("nearest_mode", "round_prefer_floor");
    static const std::pair<const char*, Nearest> nearestModes[] = {{"round_prefer_floor", Nearest::RoundPreferFloor},
                                                                   {"round_prefer_ceil", Nearest::RoundPreferCeil},
                                                                   {"floor", Nearest::Floor},
                                                                   {"ceil", Nearest::Ceil}};
    found = false;
    for (const auto& [name, value] : nearestModes)
        if (nearest == name) p.nearest = value, found = true;
    if (!found) return unsupportedAttribute("attribute 'nearest_mode' is '" + nearest + "'");
    p.cubicA = node.attrFloat("cubic_coeff_a", -0.75f);
    p.excludeOutside = node.attrInt("exclude_outside", 0) != 0;
    p.extrapolation = node.attrFloat("extrapolation_value", 0.f);
    if (node.attrInt("antialias", 0) != 0) return unsupportedAttribute("attribute 'antialias' = 1 is not supported");
    if (node.attribute("axes")) return unsupportedAttribute("attribute 'axes' is not supported");
    p.scalesInput = 2;
    p.sizesInput = 3;
    return std::unique_ptr<Kernel>(std::make_unique<ResizeKernel>(std::move(p)));
}

}  // namespace lathe
