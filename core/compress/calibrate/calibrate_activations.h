#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <span>
#include <utility>
#include <vector>

#include "core/common/progress.h"
#include "core/common/result.h"
#include "core/compress/calibrate/activation_quant.h"
#include "core/compress/recipe.h"
#include "core/eval/dataset.h"
#include "core/model/graph.h"

namespace lathe {

struct CalibrationOptions {
    int batchSize = 64;
    uint64_t seed = 0;  // of calibrationSubset
    int threads = 0;    // executor threads; 0 = all cores
};

// Counts of values in `bins` equal bins over [lo, hi] (values outside land in the end bins).
struct Histogram {
    float lo = 0.f;
    float hi = 0.f;
    std::vector<double> counts;

    Histogram(float low, float high, int bins) : lo(low), hi(high), counts(size_t(bins), 0.0) {}
    void add(std::span<const float> values);
    void addAbs(std::span<const float> values);  // |v|
    float binWidth() const { return (hi - lo) / float(counts.size()); }
};

// [lo, hi] leaving (100 - percentile)/2 % of the mass below lo and as much above hi (bin edges of `histogram`).
std::pair<float, float> percentileRange(const Histogram& histogram, double percentile);
// TensorRT's entropy calibration (as in NVIDIA's pytorch-quantization) on a histogram of |x| over [0, max|x|]: the
// threshold T (upper edge of the last kept bin, at least `levels` bins) minimising KL(P‖Q), P the kept bins with the
// outliers folded into the last one, Q them merged into `levels` groups and spread back over the non-empty bins.
// The zero bin is set to the first bin's count first (a spike of exact zeros would decide otherwise); on equal
// divergences the larger threshold wins.
float entropyThreshold(std::span<const double> absCounts, float binWidth, int levels = 128);

// [lo, hi] that every value of `tensor` that matters lies in: the output of Clip (constant bounds), Sigmoid,
// HardSigmoid ([0, 1]) or Tanh ([-1, 1]), or a tensor whose only reader is such a Clip (Relu6); nullopt otherwise.
std::optional<std::pair<float, float>> knownActivationBounds(const Graph& graph, const std::string& tensor);

// Static calibration: runs `graph` (as compressed: fake-quantized weights, float activations) on
// calibrationSubset(dataset, settings.samples, seed), batched, capturing every point of
// planActivationQuant(graph, Static), and sets each source point's range: minmax = observed [min, max]; percentile =
// percentileRange (settings.percentile, default 99.99) of a 4096-bin histogram; entropy = [max(min, -T), min(max, T)]
// with T = entropyThreshold of a 2048-bin |x| histogram, 128 levels (256 for tensors without negative values, whose
// uint8 grid spans only [0, T]). A tensor with knownActivationBounds has no outliers to cut: whatever the
// calibration, its range is the observed [min, max] clamped to the bounds (listed in `bounded`). Percentile and
// entropy are then checked against min-max: the fake-quantized model runs on the calibration samples with both sets
// of ranges, and a top-1 more than 1 point below min-max's is a warning naming the most clipped tensor. Shared
// points get their source's parameters. Dynamic or none: no run, no tensors.
// Errors: the model and data set do not fit (checkCompatibility), the graph cannot run, cancelled.
Result<ActivationRanges> calibrateActivations(const Graph& graph, std::shared_ptr<const Dataset> dataset,
                                              const ActivationSettings& settings,
                                              const CalibrationOptions& options = {}, const ProgressFn& progress = {});

}  // namespace lathe
