#include "core/eval/evaluator.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <numeric>

namespace lathe {

namespace {
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string modelName(const Graph& graph) {
    return graph.sourcePath.empty() ? graph.name : std::filesystem::path(graph.sourcePath).filename().string();
}

Error cancelled() { return makeError(ErrorCode::Cancelled, "evaluation cancelled"); }

}  // namespace

Result<bool> takesFlatSamples(const Graph& graph, const Dataset& dataset) {
    if (graph.inputs.size() != 1) {
        std::string names;
        for (const auto& name : graph.inputs) names += (names.empty() ? "" : ", ") + name;
        return makeError(ErrorCode::Unsupported, modelName(graph) + " has " + std::to_string(graph.inputs.size()) +
                                                     " inputs (" + names + "); evaluation feeds one image tensor");
    }
    if (graph.outputs.empty()) return makeError(ErrorCode::InvalidModel, modelName(graph) + " has no output");
    const std::string& input = graph.inputs.front();
    const ValueInfo* info = graph.value(input);
    if (!info || !info->hasShape) return false;
    const SampleShape s = dataset.sampleShape();
    const std::vector<int64_t>& shape = info->shape;
    auto fits = [](int64_t modelDim, int64_t dataDim) { return modelDim < 0 || modelDim == dataDim; };
    bool ok = shape.size() == 4   ? fits(shape[1], s.channels) && fits(shape[2], s.height) && fits(shape[3], s.width)
              : shape.size() == 2 ? fits(shape[1], s.channels * s.height * s.width)
                                  : false;
    if (!ok)
        return makeError(ErrorCode::InvalidArgument,
                         "data set samples are " + s.toString() + " (CxHxW) but input '" + input + "' of " +
                             modelName(graph) + " expects " + info->shapeString() +
                             (dataset.classNames().empty() ? "" : "; resize, crop and gray adapt folder images"));
    return shape.size() == 2;
}

namespace {

// First evaluated sample whose label is not a model output.
Status checkLabels(const Dataset& dataset, const std::vector<int64_t>& indices, int outputs) {
    for (int64_t index : indices) {
        int label = dataset.label(index);
        if (label < 0 || label >= outputs)
            return makeError(ErrorCode::InvalidArgument,
                             "label " + std::to_string(label) + " of sample " + dataset.describeSample(index) +
                                 " (index " + std::to_string(index) + ") is outside the model's " +
                                 std::to_string(outputs) + " outputs (classes 0.." + std::to_string(outputs - 1) + ")");
    }
    return Ok{};
}

Result<NDArray> loadBatch(const Dataset& dataset, std::span<const int64_t> indices, bool flat) {
    auto batch = dataset.batch(indices);
    if (batch && flat) batch->shape = {batch->shape[0], batch->numel() / std::max<int64_t>(batch->shape[0], 1)};
    return batch;
}

// The samples an evaluation takes and the fold count it uses.
struct EvalPlan {
    bool flat = false;
    std::vector<int64_t> indices;
    int folds = 1;
    std::vector<std::string> notes;
};

Result<EvalPlan> planEvaluation(const Graph& graph, const Dataset& dataset, const EvalOptions& options) {
    auto flat = takesFlatSamples(graph, dataset);
    if (!flat) return flat.error();
    if (options.batchSize < 1)
        return makeError(ErrorCode::InvalidArgument,
                         "batch size " + std::to_string(options.batchSize) + " must be at least 1");
    if (options.limit < 0 || options.latencySamples < 0)
        return makeError(ErrorCode::InvalidArgument, "limit and latency samples must not be negative");
    if (options.folds < 1)
        return makeError(ErrorCode::InvalidArgument,
                         "folds: k = " + std::to_string(options.folds) + " must be at least 1");
    EvalPlan plan;
    plan.flat = *flat;
    plan.indices.resize(size_t(dataset.size()));
    std::iota(plan.indices.begin(), plan.indices.end(), int64_t(0));
    if (options.shuffle) plan.indices = shuffledIndices(dataset.size(), options.seed);
    if (options.limit > 0 && options.limit < int64_t(plan.indices.size())) plan.indices.resize(size_t(options.limit));
    const int64_t n = int64_t(plan.indices.size());
    if (n == 0) return makeError(ErrorCode::InvalidArgument, "the data set is empty");
    plan.folds = options.folds;
    if (plan.folds > n) {
        plan.folds = int(n);
        plan.notes.push_back("the split spread over " + std::to_string(options.folds) + " parts needs at least " +
                             std::to_string(options.folds) + " samples; " + std::to_string(n) +
                             " were evaluated, so it uses " + std::to_string(n) + " parts");
    }
    return plan;
}

Result<double> measureLatencyMs(InferenceBackend& backend, const Dataset& dataset, const std::vector<int64_t>& indices,
                                bool flat, int runs, const ProgressFn& progress, float progressFrom) {
    constexpr int kWarmup = 2;
    std::vector<NDArray> images;
    for (int i = 0; i < std::min<int>(runs, int(indices.size())); ++i) {
        auto image = loadBatch(dataset, std::span(indices).subspan(size_t(i), 1), flat);
        if (!image) return image.error();
        images.push_back(std::move(*image));
    }
    std::vector<double> times;
    for (int r = 0; r < kWarmup + runs; ++r) {
        const NDArray& image = images[size_t(r) % images.size()];
        Clock::time_point start = Clock::now();
        auto out = backend.run(image);
        double ms = 1000.0 * secondsSince(start);
        if (!out) return out.error();
        if (r >= kWarmup) times.push_back(ms);
        if (!reportProgress(progress, progressFrom + (1.f - progressFrom) * float(r + 1) / float(kWarmup + runs),
                            "measuring latency"))
            return cancelled();
    }
    return median(times);
}
}  // namespace

Status checkCompatibility(const Graph& graph, const Dataset& dataset) {
    auto flat = takesFlatSamples(graph, dataset);
    if (!flat) return flat.error();
    return Ok{};
}

Status checkEvaluation(const Graph& graph, const Dataset& dataset, const EvalOptions& options) {
    auto plan = planEvaluation(graph, dataset, options);
    if (!plan) return plan.error();
    auto backend = makeInferenceBackend(graph, options.backend, options.threads);
    if (!backend) return backend.error();
    auto sample = loadBatch(dataset, std::span(plan->indices).first(1), plan->flat);
    if (!sample) return sample.error();
    auto logits = (*backend)->run(*sample);
    if (!logits) return logits.error();
    if (logits->rank() < 1 || logits->numel() == 0)
        return makeError(ErrorCode::InvalidModel, "output '" + graph.outputs.front() + "' of " + modelName(graph) +
                                                      " has shape " + shapeToString(logits->shape) +
                                                      " for one sample; expected [1, classes]");
    return checkLabels(dataset, plan->indices, int(logits->numel()));
}

Result<EvalReport> evaluate(const Graph& graph, const Dataset& dataset, const EvalOptions& options,
                            const ProgressFn& progress) {
    auto plan = planEvaluation(graph, dataset, options);
    if (!plan) return plan.error();
    const std::vector<int64_t>& indices = plan->indices;
    const bool flat = plan->flat;
    const int64_t n = int64_t(indices.size());

    if (!reportProgress(progress, 0.f, "loading model")) return cancelled();
    auto backend = makeInferenceBackend(graph, options.backend, options.threads);
    if (!backend) return backend.error();

    const float evalEnd = options.latencySamples > 0 ? 0.9f : 1.f;
    EvalReport report;
    report.backend = std::string(backendName((*backend)->kind()));
    report.n = n;
    report.indices = indices;
    report.notes = plan->notes;
    std::vector<uint8_t> correct;
    int64_t top1 = 0, top5 = 0;
    int outputs = 0;
    double inferenceSeconds = 0;
    const Clock::time_point start = Clock::now();
    for (int64_t begin = 0; begin < n; begin += options.batchSize) {
        const int64_t count = std::min<int64_t>(options.batchSize, n - begin);
        auto batch = loadBatch(dataset, std::span(indices).subspan(size_t(begin), size_t(count)), flat);
        if (!batch) return batch.error();
        const Clock::time_point inferenceStart = Clock::now();
        auto logits = (*backend)->run(*batch);
        inferenceSeconds += secondsSince(inferenceStart);
        if (!logits) return logits.error();
        if (logits->rank() < 1 || logits->shape[0] != count || logits->numel() % count != 0 || logits->numel() == 0)
            return makeError(ErrorCode::InvalidModel, "output '" + graph.outputs.front() + "' of " + modelName(graph) +
                                                          " has shape " + shapeToString(logits->shape) +
                                                          " for a batch of " + std::to_string(count) + "; expected [" +
                                                          std::to_string(count) + ", classes]");
        const int rowSize = int(logits->numel() / count);
        if (begin == 0) {
            outputs = rowSize;
            if (auto labels = checkLabels(dataset, indices, outputs); !labels) return labels.error();
            report.confusion = ConfusionMatrix(outputs);
        } else if (rowSize != outputs) {
            return makeError(ErrorCode::InvalidModel, "output '" + graph.outputs.front() + "' of " + modelName(graph) +
                                                          " changed from " + std::to_string(outputs) + " to " +
                                                          std::to_string(rowSize) + " classes between batches");
        }
        for (int64_t b = 0; b < count; ++b) {
            std::span<const float> row(logits->data.data() + b * rowSize, size_t(rowSize));
            const int truth = dataset.label(indices[size_t(begin + b)]);
            const int predicted = argmax(row);
            report.confusion.add(truth, predicted);
            report.predictions.push_back(predicted);
            correct.push_back(predicted == truth ? 1 : 0);
            top1 += predicted == truth ? 1 : 0;
            top5 += inTopK(row, truth, 5) ? 1 : 0;
        }
        if (!reportProgress(progress, evalEnd * float(begin + count) / float(n), "evaluating")) return cancelled();
    }
    report.seconds = secondsSince(start);
    report.imagesPerSecond = inferenceSeconds > 0 ? double(n) / inferenceSeconds : 0.0;
    report.top1 = 100.0 * double(top1) / double(n);
    report.top5 = 100.0 * double(top5) / double(n);
    report.macroF1 = 100.0 * macroF1(report.confusion);
    report.perClass = perClassMetrics(report.confusion);

    auto folds = kFoldAccuracy(correct, plan->folds, options.seed);
    if (!folds) return folds.error();
    report.folds = *folds;
    report.folds.mean *= 100.0;
    report.folds.stddev *= 100.0;
    for (double& a : report.folds.accuracies) a *= 100.0;

    if (options.latencySamples > 0) {
        auto latency = measureLatencyMs(**backend, dataset, indices, flat, options.latencySamples, progress, evalEnd);
        if (!latency) return latency.error();
        report.latencyMs = *latency;
    }
    return report;
}

}  // namespace lathe
