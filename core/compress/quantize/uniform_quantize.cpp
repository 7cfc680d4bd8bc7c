#include "core/compress/quantize/uniform_quantize.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/compress/compressible_layer.h"

namespace lathe {

namespace {

constexpr int64_t kParallelMin = 1 << 15;

uint64_t splitmix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Uniforms in [0, 1) for elements [begin, end) of the stream `key`: one 64-bit hash of (key, index / 2) gives the
// 24-bit draws of an even index (high bits) and of the odd index after it (low bits).
void uniforms(uint64_t key, int64_t begin, int64_t end, float* out) {
    constexpr float kUnit = 1.0f / float(1 << 24);
    uint64_t h = splitmix64(key + uint64_t(begin >> 1) * 0x9E3779B97F4A7C15ull);
    for (int64_t i = begin; i < end; ++i) {
        if (!(i & 1) && i != begin) h = splitmix64(key + uint64_t(i >> 1) * 0x9E3779B97F4A7C15ull);
        out[i - begin] = float(int32_t(i & 1 ? (h >> 16) & 0xFFFFFF : h >> 40)) * kUnit;
    }
}

struct ChannelParams {
    float scale = 1.f;
    int32_t zeroPoint = 0;
};

// Branch-free clamp (std::clamp returns a reference and keeps the loop from vectorizing).
inline float clampValue(float v, float lo, float hi) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

// Rounds half to even like nearbyint for |x| < 2^22, in plain float arithmetic that vectorizes.
inline float roundToEven(float x) {
    constexpr float kMagic = 12582912.f;  // 1.5 · 2^23
    return (x + kMagic) - kMagic;
}

// Fake-quantizes w[begin, end) of one channel; accumulates the squared error and the squared norm.
// Fake-quantizes w[begin, end): with PerElement, element begin + j uses scales[j] / zeros[j] (a row of channels);
// otherwise all use scales[0] / zeros[0]. Returns the squared error and the squared norm.
template <bool Stochastic, bool WithCodes, bool PerElement>
void quantizeBlock(float* w, int32_t* codes, int64_t begin, int64_t end, const float* scales, const float* zeros,
                   float qmin, float qmax, uint64_t key, double& sqError, double& sqNorm) {
    constexpr int64_t kChunk = 512;
    float u[Stochastic ? kChunk : 1];
    double err = 0, norm = 0;
    const float scale0 = scales[0], zero0 = zeros[0];
    for (int64_t chunk = begin; chunk < end; chunk += kChunk) {
        const int64_t stop = std::min(end, chunk + kChunk);
        if constexpr (Stochastic) uniforms(key, chunk, stop, u);
#pragma omp simd reduction(+ : err, norm)
        for (int64_t i = chunk; i < stop; ++i) {
            const float scale = PerElement ? scales[i - begin] : scale0;
            const float zero = PerElement ? zeros[i - begin] : zero0;
            const float v = w[i];
            const float x = clampValue(v / scale, -4096.f, 4096.f);
            float r = roundToEven(x);
            if constexpr (Stochastic) {
                r -= r > x ? 1.f : 0.f;  // floor (std::floor is a libm call without SSE4.1)
                r += u[i - chunk] < x - r ? 1.f : 0.f;
            }
            const float q = clampValue(r + zero, qmin, qmax);
            const float deq = (q - zero) * scale;
            if constexpr (WithCodes) codes[i] = int32_t(q);
            const double e = double(v) - double(deq);
            err += e * e;
            norm += double(v) * double(v);
            w[i] = deq;
        }
    }
    sqError = err;
    sqNorm = norm;
}

}  // namespace

uint64_t streamKeyOf(std::string_view name) {
    uint64_t h = 1469598103934665603ull;
    for (char c : name) {
        h ^= uint8_t(c);
        h *= 1099511628211ull;
    }
    return h;
}

std::vector<float> quantizationLevels(int bits, bool symmetric, float scale, int32_t zeroPoint) {
    std::vector<float> levels;
    if (symmetric) {
        const int qmax = (1 << (bits - 1)) - 1;
        for (int q = -qmax; q <= qmax; ++q) levels.push_back(float(q) * scale);
    } else {
        const int qmax = (1 << bits) - 1;
        for (int q = 0; q <= qmax; ++q) levels.push_back(float(q - zeroPoint) * scale);
    }
    return levels;
}

int64_t quantizedBytes(int64_t count, int bits, int64_t channels, bool symmetric) {
    return (count * bits + 7) / 8 + channels * (symmetric ? 4 : 5);
}

QuantStats fakeQuantize(std::span<float> w, std::span<const int64_t> shape, int axis,
                        const UniformQuantSettings& settings, uint64_t streamKey, QuantizedTensor* out) {
    QuantStats stats;
    const auto n = int64_t(w.size());
    stats.count = n;
    const bool perChannel = settings.perChannel && axis >= 0 && axis < int(shape.size());
    const int64_t channels = perChannel ? shape[size_t(axis)] : 1;
    const int64_t inner = perChannel ? std::max<int64_t>(innerSize(shape, axis), 1) : 4096;  // per tensor: chunks
    const int64_t blocks = (n + inner - 1) / inner;
    const bool lastAxis = perChannel && inner == 1 && channels > 1;

    // Per-channel ranges (per-thread partials, then merged).
    const int threads = omp_get_max_threads();
    std::vector<float> lo(size_t(threads * channels), std::numeric_limits<float>::infinity());
    std::vector<float> hi(size_t(threads * channels), -std::numeric_limits<float>::infinity());
#pragma omp parallel if (n > kParallelMin)
    {
        float* tlo = lo.data() + size_t(omp_get_thread_num() * channels);
        float* thi = hi.data() + size_t(omp_get_thread_num() * channels);
        const float* p = w.data();
        if (lastAxis) {
            // Channels along the last axis: one row holds every channel once.
#pragma omp for schedule(static)
            for (int64_t row = 0; row < n / channels; ++row) {
                const float* r = p + row * channels;
#pragma omp simd
                for (int64_t c = 0; c < channels; ++c) {
                    tlo[c] = std::min(tlo[c], r[c]);
                    thi[c] = std::max(thi[c], r[c]);
                }
            }
        } else {
#pragma omp for schedule(static)
            for (int64_t b = 0; b < blocks; ++b) {
                const int64_t c = b % channels;
                const int64_t end = std::min(n, (b + 1) * inner);
                float l = tlo[c], h = thi[c];
#pragma omp simd reduction(min : l) reduction(max : h)
                for (int64_t i = b * inner; i < end; ++i) {
                    l = std::min(l, p[i]);
                    h = std::max(h, p[i]);
                }
                tlo[c] = l;
                thi[c] = h;
            }
        }
    }
    const int qmin = settings.symmetric ? -((1 << (settings.bits - 1)) - 1) : 0;
    const int qmax = settings.symmetric ? (1 << (settings.bits - 1)) - 1 : (1 << settings.bits) - 1;
    std::vector<ChannelParams> params(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) {
        float l = 0.f, h = 0.f;  // ranges always include 0
        for (int t = 0; t < threads; ++t) {
            l = std::min(l, lo[size_t(t * channels + c)]);
            h = std::max(h, hi[size_t(t * channels + c)]);
        }
        ChannelParams& p = params[size_t(c)];
        if (settings.symmetric) {
            p.scale = std::max(-l, h) / float(qmax);
        } else {
            p.scale = (h - l) / float(qmax);
            if (p.scale > 0.f) p.zeroPoint = int32_t(std::clamp(std::nearbyint(-l / p.scale), 0.f, float(qmax)));
        }
        if (!(p.scale > 0.f) || !std::isfinite(p.scale)) {
            p.scale = 1.f;
            p.zeroPoint = 0;
        }
        stats.maxScale = std::max(stats.maxScale, double(p.scale));
        stats.scales.push_back(p.scale);
        stats.zeroPoints.push_back(p.zeroPoint);
    }

    if (out) {
        out->shape.assign(shape.begin(), shape.end());
        out->bits = settings.bits;
        out->symmetric = settings.symmetric;
        out->axis = perChannel ? axis : -1;
        out->scales = stats.scales;
        out->zeroPoints = stats.zeroPoints;
        out->codes.resize(size_t(n));
    }
    int32_t* codes = out ? out->codes.data() : nullptr;
    const uint64_t key = splitmix64(settings.seed) ^ streamKey;
    std::vector<float> scales(params.size()), zeros(params.size());
    for (size_t c = 0; c < params.size(); ++c) {
        scales[c] = params[c].scale;
        zeros[c] = float(params[c].zeroPoint);
    }
    using Kernel = void (*)(float*, int32_t*, int64_t, int64_t, const float*, const float*, float, float, uint64_t,
                            double&, double&);
    const Kernel kernels[2][2][2] = {{{quantizeBlock<false, false, false>, quantizeBlock<false, false, true>},
                                      {quantizeBlock<false, true, false>, quantizeBlock<false, true, true>}},
                                     {{quantizeBlock<true, false, false>, quantizeBlock<true, false, true>},
                                      {quantizeBlock<true, true, false>, quantizeBlock<true, true, true>}}};
    const Kernel kernel = kernels[settings.stochastic][codes != nullptr][lastAxis];
    // Per-element channels: a block is one row of `channels` elements; otherwise one channel's run of `inner`.
    const int64_t span = lastAxis ? channels : inner;
    const int64_t count = (n + span - 1) / span;
    double sqError = 0, sqNorm = 0;
#pragma omp parallel for reduction(+ : sqError, sqNorm) schedule(static) if (n > kParallelMin)
    for (int64_t b = 0; b < count; ++b) {
        const size_t c = lastAxis ? 0 : size_t(b % channels);
        double e = 0, s = 0;
        kernel(w.data(), codes, b * span, std::min(n, (b + 1) * span), scales.data() + c, zeros.data() + c, float(qmin),
               float(qmax), key, e, s);
        sqError += e;
        sqNorm += s;
    }
    stats.sqError = sqError;
    stats.sqNorm = sqNorm;
    return stats;
}

UniformQuantSettings toUniformQuantSettings(const LayerSettings& settings) {
    UniformQuantSettings u;
    u.bits = settings.bits;
    u.symmetric = settings.symmetric;
    u.perChannel = settings.granularity == Granularity::PerChannel;
    u.stochastic = settings.rounding == Rounding::Stochastic;
    u.seed = settings.seed;
    return u;
}

bool uniformQuantizeApplies(const Graph& graph, int nodeIndex) { return layerWeight(graph, nodeIndex).has_value(); }

QuantizedTensor uniformQuantize(Graph& graph, int nodeIndex, const UniformQuantSettings& settings, QuantStats* stats) {
    QuantizedTensor q;
    auto lw = layerWeight(graph, nodeIndex);
    if (!lw) return q;
    Tensor& w = graph.initializers.at(lw->weight);
    q.name = w.name;
    QuantStats s = fakeQuantize(w.data, w.shape, lw->channelAxis, settings, streamKeyOf(w.name), &q);
    if (stats) *stats = s;
    return q;
}

}  // namespace lathe
