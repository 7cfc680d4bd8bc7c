#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/compress/recipe.h"
#include "core/model/graph.h"

namespace lathe {

struct UniformQuantSettings {
    int bits = 8;  // 2..8
    bool symmetric = true;
    bool perChannel = false;
    bool stochastic = false;
    uint64_t seed = 0;
};

// What an exporter needs to write the weight as integers + DequantizeLinear: w ≈ (codes - zeroPoint) * scale.
struct QuantizedTensor {
    std::string name;
    std::vector<int64_t> shape;
    int bits = 8;
    bool symmetric = true;  // codes int8 in ±(2^(bits-1)-1), zero points 0; else uint8 in 0..2^bits-1
    int axis = -1;          // channel axis of scales/zeroPoints; -1 for one scale per tensor
    std::vector<float> scales;
    std::vector<int32_t> zeroPoints;
    std::vector<int32_t> codes;  // row-major, one per element
};

struct QuantStats {
    double sqError = 0;   // sum of (w - ŵ)^2
    double sqNorm = 0;    // sum of w^2
    double maxScale = 0;  // largest step size
    int64_t count = 0;
    std::vector<float> scales;        // one per channel (one for per-tensor)
    std::vector<int32_t> zeroPoints;  // likewise
};

// Fake-quantizes w (row-major `shape`) in place: each value becomes its dequantized code. Symmetric: range
// ±max|w|, zero point 0. Asymmetric: range [min(w,0), max(w,0)], zero point rounded to an integer so 0 stays exact.
// Per-channel ranges follow `axis`. Stochastic rounding is floor + Bernoulli(fraction) from a counter-based generator
// keyed by (seed, streamKey, index): reproducible and parallel. `out` (optional) receives codes, scales, zero points.
QuantStats fakeQuantize(std::span<float> w, std::span<const int64_t> shape, int axis,
                        const UniformQuantSettings& settings, uint64_t streamKey, QuantizedTensor* out = nullptr);
// The grid of dequantized values of one channel (or the tensor) with this scale and zero point, ascending.
std::vector<float> quantizationLevels(int bits, bool symmetric, float scale, int32_t zeroPoint);
// Storage bytes of a quantized tensor: ceil(n*bits/8) for the codes + 4 per scale (+1 per zero point when asymmetric).
int64_t quantizedBytes(int64_t count, int bits, int64_t channels, bool symmetric);
UniformQuantSettings toUniformQuantSettings(const LayerSettings& settings);
// Stable 64-bit key of a weight name (FNV-1a), to give every tensor its own random stream.
uint64_t streamKeyOf(std::string_view name);

// Pass: applicable to nodes with a compressible weight. Quantizes the weight in place (fake quantization) using
// the layer's channel axis when per-channel; a no-op returning an empty tensor when not applicable.
bool uniformQuantizeApplies(const Graph& graph, int nodeIndex);
QuantizedTensor uniformQuantize(Graph& graph, int nodeIndex, const UniformQuantSettings& settings,
                                QuantStats* stats = nullptr);

}  // namespace lathe
