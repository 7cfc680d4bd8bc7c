#include "core/compress/calibrate/calibrate_activations.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>

#include "core/compress/calibrate/activation_quant.h"
#include "core/eval/evaluator.h"
#include "core/runtime/executor.h"

namespace lathe {

namespace {

constexpr int kPercentileBins = 4096;
constexpr int kEntropyBins = 2048;
constexpr int kEntropyLevels = 128;  // per sign: 256 uint8 levels over [-T, T]

constexpr double kClearlyWorsePoints = 1.0;  // top-1 points below min-max that make a calibration "clearly worse"

struct Observed {
    float min = std::numeric_limits<float>::infinity();
    float max = -std::numeric_limits<float>::infinity();
};

// Both bounds of a Clip, finite and ordered; nullopt otherwise.
std::optional<std::pair<float, float>> clipBounds(const Graph& graph, const Node& clip) {
    const auto range = clipRange(graph, clip);
    if (!range || !std::isfinite(range->first) || !std::isfinite(range->second) || !(range->first <= range->second))
        return std::nullopt;
    return range;
}

}  // namespace

std::optional<std::pair<float, float>> knownActivationBounds(const Graph& graph, const std::string& tensor) {
    // Ops whose output lies within the bounds of their first input (a max, an average, a move of the values).
    static const std::set<std::string> bounded = {"MaxPool",   "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
                                                  "Flatten",   "Reshape",     "Transpose",         "Squeeze",
                                                  "Unsqueeze", "Identity",    "Dropout"};
    std::string t = tensor;
    bool relu = false;
    for (int guard = 0; guard < int(graph.nodes.size()); ++guard) {
        const int producer = graph.producerOf(t);
        if (producer < 0) break;
        const Node& node = graph.nodes[size_t(producer)];
        std::optional<std::pair<float, float>> found;
        if (node.opType == "Clip") found = clipBounds(graph, node);
        else if (node.opType == "Sigmoid" || node.opType == "HardSigmoid") found = std::make_pair(0.f, 1.f);
        else if (node.opType == "Tanh") found = std::make_pair(-1.f, 1.f);
        if (found) {
            if (relu) found = std::make_pair(std::max(found->first, 0.f), std::max(found->second, 0.f));
            return found;
        }
        if (node.opType == "Relu") relu = true;
        else if (!bounded.count(node.opType)) break;
        if (node.inputs.empty()) break;
        t = node.inputs[0];
    }
    const bool isGraphOutput = std::find(graph.outputs.begin(), graph.outputs.end(), tensor) != graph.outputs.end();
    const std::vector<int> readers = graph.consumersOf(tensor);
    if (!isGraphOutput && readers.size() == 1 && graph.nodes[size_t(readers[0])].opType == "Clip")
        return clipBounds(graph, graph.nodes[size_t(readers[0])]);
    return std::nullopt;
}

void Histogram::add(std::span<const float> values) {
    const double bins = double(counts.size());
    const double scale = hi > lo ? bins / double(hi - lo) : 0.0;
    for (float v : values) {
        if (!std::isfinite(v)) continue;
        const double b = (double(v) - double(lo)) * scale;
        counts[size_t(std::clamp(b, 0.0, bins - 1))] += 1.0;
    }
}

void Histogram::addAbs(std::span<const float> values) {
    const double bins = double(counts.size());
    const double scale = hi > lo ? bins / double(hi - lo) : 0.0;
    for (float v : values) {
        if (!std::isfinite(v)) continue;
        const double b = (std::fabs(double(v)) - double(lo)) * scale;
        counts[size_t(std::clamp(b, 0.0, bins - 1))] += 1.0;
    }
}

std::pair<float, float> percentileRange(const Histogram& h, double percentile) {
    const double total = std::accumulate(h.counts.begin(), h.counts.end(), 0.0);
    if (total <= 0 || percentile >= 100.0) return {h.lo, h.hi};
    const double tail = total * (100.0 - percentile) / 200.0;
    const float width = h.binWidth();
    const size_t n = h.counts.size();
    size_t first = 0;
    for (double below = 0; first < n; ++first) {
        below += h.counts[first];
        if (below > tail) break;
    }
    size_t last = n - 1;
    for (double above = 0; last > 0; --last) {
        above += h.counts[last];
        if (above > tail) break;
    }
    last = std::max(last, first);
    return {h.lo + float(first) * width, h.lo + float(last + 1) * width};
}

float entropyThreshold(std::span<const double> counts, float binWidth, int levels) {
    const int n = int(counts.size());
    if (n <= levels) return float(n) * binWidth;
    std::vector<double> bins(counts.begin(), counts.end());
    bins[0] = bins[1];  // the spike of exact zeros (ReLU, padding) would otherwise decide the threshold
    std::vector<double> tail(size_t(n) + 1, 0.0);  // tail[i] = sum of bins[i..]
    for (int k = n - 1; k >= 0; --k) tail[size_t(k)] = tail[size_t(k) + 1] + bins[size_t(k)];
    if (tail[0] <= 0) return float(n) * binWidth;
    double bestKl = std::numeric_limits<double>::infinity();
    int best = n;
    std::vector<double> mass(static_cast<size_t>(levels)), used(static_cast<size_t>(levels));
    for (int i = levels; i <= n; ++i) {
        // Q: bins [0, i) merged into `levels` equal groups, each group's mass spread over its non-empty bins.
        std::fill(mass.begin(), mass.end(), 0.0);
        std::fill(used.begin(), used.end(), 0.0);
        for (int k = 0; k < i; ++k) {
            if (bins[size_t(k)] == 0.0) continue;
            const size_t g = size_t(int64_t(k) * levels / i);
            mass[g] += bins[size_t(k)];
            used[g] += 1.0;
        }
        // P: the same bins with the outliers beyond i folded into the last kept bin.
        const double sumP = tail[0], sumQ = tail[0] - tail[size_t(i)];
        double kl = 0;
        for (int k = 0; k < i; ++k) {
            const double p = (bins[size_t(k)] + (k == i - 1 ? tail[size_t(i)] : 0.0)) / sumP;
            if (p <= 0) continue;
            const size_t g = size_t(int64_t(k) * levels / i);
            const double q = bins[size_t(k)] > 0 ? mass[g] / used[g] / sumQ : 0.0;
            if (q <= 0) {
                kl = std::numeric_limits<double>::infinity();
                break;
            }
            kl += p * std::log(p / q);
        }
        if (kl <= bestKl) {  // the largest threshold among equal minima
            bestKl = kl;
            best = i;
        }
    }
    return float(best) * binWidth;
}

Result<ActivationRanges> calibrateActivations(const Graph& graph, std::shared_ptr<const Dataset> dataset,
                                              const ActivationSettings& settings, const CalibrationOptions& options,
                                              const ProgressFn& progress) {
    ActivationRanges ranges;
    ranges.mode = settings.mode;
    ranges.bits = settings.bits;
    ranges.calibration = settings.calibration;
    ranges.percentile = settings.percentile.value_or(99.99);
    if (settings.mode != ActivationMode::Static) return ranges;
    if (!dataset) return makeError(ErrorCode::InvalidArgument, "static activation calibration needs a data set");
    if (auto st = checkCompatibility(graph, *dataset); !st) return st.error();
    const ValueInfo* inputInfo = graph.value(graph.inputs.front());
    const bool flat = inputInfo && inputInfo->hasShape && inputInfo->shape.size() == 2;

    const ActivationPlan plan = planActivationQuant(graph, ActivationMode::Static);
    const std::vector<std::string> sources = plan.sources();
    const std::string& input = graph.inputs.front();
    std::vector<std::string> capture;
    for (const auto& s : sources)
        if (s != input) capture.push_back(s);

    ExecutorOptions executorOptions;
    executorOptions.threads = options.threads;
    auto executor = Executor::compile(graph, executorOptions);
    if (!executor) return executor.error();
    auto subset = calibrationSubset(dataset, settings.samples, options.seed);
    ranges.samples = subset->size();
    const int64_t n = subset->size();
    const int64_t batchSize = std::max(1, options.batchSize);
    const bool histogram = settings.calibration != Calibration::MinMax;
    const int passes = histogram ? 4 : 1;  // min/max, histograms, then the check of both range sets

    // Pass `index` over the subset: visit(indices, batch) for every batch, with progress and cancel.
    auto forEachBatch = [&](int index, std::string_view stage, const auto& visit) -> Status {
        for (int64_t begin = 0; begin < n; begin += batchSize) {
            const float fraction = (float(index) + float(begin) / float(n)) / float(passes);
            if (!reportProgress(progress, fraction, stage))
                return makeError(ErrorCode::Cancelled, "calibration cancelled");
            std::vector<int64_t> indices(size_t(std::min(batchSize, n - begin)));
            std::iota(indices.begin(), indices.end(), begin);
            auto batch = subset->batch(indices);
            if (!batch) return batch.error();
            if (flat) batch->shape = {batch->shape[0], batch->numel() / std::max<int64_t>(batch->shape[0], 1)};
            if (auto st = visit(indices, *batch); !st) return st.error();
        }
        return Ok{};
    };
    // One pass calling visit(tensor, values) for every source point of every batch.
    auto pass = [&](int index, const auto& visit) -> Status {
        return forEachBatch(index, "calibrating activations", [&](const auto&, const NDArray& batch) -> Status {
            auto outputs = executor->run({{input, batch}}, capture);
            if (!outputs) return outputs.error();
            for (const auto& s : sources) {
                const NDArray& values = s == input ? batch : outputs->at(s);
                visit(s, std::span<const float>(values.data));
            }
            return Ok{};
        });
    };

    // Top-1 in percent of `graph` fake-quantized with `candidate` on the calibration samples.
    auto fakeQuantTop1 = [&](int index, const ActivationRanges& candidate) -> Result<double> {
        auto quantized = withActivationFakeQuant(graph, candidate);
        if (!quantized) return quantized.error();
        auto runner = Executor::compile(*quantized, executorOptions);
        if (!runner) return runner.error();
        const std::string& output = quantized->outputs.front();
        int64_t hits = 0;
        auto st = forEachBatch(index, "checking the calibration against min-max",
                               [&](const std::vector<int64_t>& indices, const NDArray& batch) -> Status {
                                   auto outputs = runner->run({{input, batch}});
                                   if (!outputs) return outputs.error();
                                   const NDArray& logits = outputs->at(output);
                                   const int64_t count = int64_t(indices.size());
                                   if (count == 0 || logits.numel() % count != 0) return Ok{};
                                   const int64_t row = logits.numel() / count;
                                   for (int64_t b = 0; b < count; ++b) {
                                       const float* first = logits.data.data() + b * row;
                                       hits += int64_t(std::max_element(first, first + row) - first) ==
                                               subset->label(indices[size_t(b)]);
                                   }
                                   return Ok{};
                               });
        if (!st) return st.error();
        return 100.0 * double(hits) / double(std::max<int64_t>(n, 1));
    };

    std::map<std::string, Observed> observed;
    auto st = pass(0, [&](const std::string& s, std::span<const float> values) {
        Observed& o = observed[s];
        for (float v : values)
            if (std::isfinite(v)) {
                o.min = std::min(o.min, v);
                o.max = std::max(o.max, v);
            }
    });
    if (!st) return st.error();
    for (auto& [s, o] : observed)
        if (!(o.min <= o.max)) o.min = o.max = 0.f;  // nothing finite seen

    std::map<std::string, std::pair<float, float>> chosen;
    if (settings.calibration == Calibration::MinMax) {
        for (const auto& [s, o] : observed) chosen[s] = {o.min, o.max};
    } else {
        std::map<std::string, Histogram> histograms;
        const bool entropy = settings.calibration == Calibration::Entropy;
        for (const auto& [s, o] : observed) {
            if (entropy)
                histograms.emplace(s, Histogram(0.f, std::max(std::fabs(o.min), std::fabs(o.max)), kEntropyBins));
            else
                histograms.emplace(s, Histogram(o.min, o.max, kPercentileBins));
        }
        st = pass(1, [&](const std::string& s, std::span<const float> values) {
            if (entropy)
                histograms.at(s).addAbs(values);
            else
                histograms.at(s).add(values);
        });
        if (!st) return st.error();
        for (const auto& [s, h] : histograms) {
            const Observed& o = observed.at(s);
            if (entropy) {
                // A tensor without negative values has all 256 levels on [0, T].
                const int levels = o.min < 0.f ? kEntropyLevels : 2 * kEntropyLevels;
                const float t = h.hi > 0 ? entropyThreshold(h.counts, h.binWidth(), levels) : 0.f;
                chosen[s] = {std::max(o.min, -t), std::min(o.max, t)};
            } else {
                chosen[s] = percentileRange(h, ranges.percentile);
            }
        }
    }
    // A bounded activation has no outliers beyond its bounds: its range is what was observed inside them.
    auto setRanges = [&](ActivationRanges& target, const std::map<std::string, std::pair<float, float>>& picked) {
        for (const auto& s : sources) {
            auto [lo, hi] = picked.at(s);
            if (auto bounds = knownActivationBounds(graph, s)) {
                const Observed& o = observed.at(s);
                lo = std::clamp(o.min, bounds->first, bounds->second);
                hi = std::clamp(o.max, bounds->first, bounds->second);
            }
            target.tensors[s] = activationParams(lo, hi, settings.bits);
        }
        for (const auto& [point, source] : plan.shared) {
            ActivationRange r = target.tensors.at(source);
            r.source = source;
            target.tensors[point] = r;
        }
    };
    setRanges(ranges, chosen);
    for (const auto& s : sources)
        if (knownActivationBounds(graph, s)) ranges.bounded.push_back(s);

    if (histogram) {
        std::map<std::string, std::pair<float, float>> minMax;
        for (const auto& [s, o] : observed) minMax[s] = {o.min, o.max};
        ActivationRanges reference = ranges;
        reference.tensors.clear();
        setRanges(reference, minMax);
        auto calibrated = fakeQuantTop1(2, ranges);
        if (!calibrated) return calibrated.error();
        auto plain = fakeQuantTop1(3, reference);
        if (!plain) return plain.error();
        ranges.calibrationTop1 = *calibrated;
        ranges.minMaxTop1 = *plain;
        if (*calibrated < *plain - kClearlyWorsePoints) {
            // The tensor whose range lost the largest share of its min-max span.
            std::string worst;
            double worstKept = 1.0;
            for (const auto& s : sources) {
                const ActivationRange& a = ranges.tensors.at(s);
                const ActivationRange& b = reference.tensors.at(s);
                const double span = double(b.max) - double(b.min);
                const double kept = span > 0 ? (double(a.max) - double(a.min)) / span : 1.0;
                if (kept < worstKept) {
                    worstKept = kept;
                    worst = s;
                }
            }
            std::ostringstream text;
            text.setf(std::ios::fixed);
            text.precision(2);
            text << toString(settings.calibration) << " calibration gives " << *calibrated << " % top-1 on the " << n
                 << " calibration samples against " << *plain << " % with min-max ranges";
            if (!worst.empty())
                text << "; it clips '" << worst << "' to [" << ranges.tensors.at(worst).min << ", "
                     << ranges.tensors.at(worst).max << "] of the observed [" << reference.tensors.at(worst).min
                     << ", " << reference.tensors.at(worst).max << "]";
            text << (settings.calibration == Calibration::Entropy
                         ? ". Use min-max or percentile calibration for this model"
                         : ". Use min-max calibration or a higher percentile for this model");
            ranges.warnings.push_back(text.str());
        }
    }
    reportProgress(progress, 1.f, "calibrating activations");
    return ranges;
}

}  // namespace lathe
