#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/common/progress.h"
#include "core/common/result.h"
#include "core/eval/dataset.h"
#include "core/eval/inference_backend.h"
#include "core/eval/metrics.h"
#include "core/model/graph.h"

namespace lathe {

struct EvalOptions {
    BackendKind backend = BackendKind::Auto;
    int batchSize = 100;
    int64_t limit = 0;        // evaluate only the first `limit` samples (after the shuffle, if any); 0 = all
    bool shuffle = false;     // seeded random order first, so a limit takes a random sample
    int folds = 5;            // k of the k-fold accuracy estimate (1..n)
    uint64_t seed = 0;        // drives the shuffle and the fold assignment
    int latencySamples = 50;  // batch-1 runs whose median is the latency; 0 skips the measurement
    int threads = 0;          // backend threads (see makeInferenceBackend); 0 keeps the default
};

// Accuracies are in percent; perClass holds fractions in [0,1], one entry per model output.
struct EvalReport {
    std::string backend;  // "builtin" or "opencv": the backend that ran
    int64_t n = 0;
    double top1 = 0;
    double top5 = 0;
    double macroF1 = 0;
    ConfusionMatrix confusion;  // model outputs x model outputs
    std::vector<ClassMetrics> perClass;
    FoldStats folds;               // mean, stddev and per-fold accuracies in percent
    double seconds = 0;            // wall time of the batched pass: loading, preprocessing and inference
    double imagesPerSecond = 0;    // n / inference time of the batched pass (data loading excluded)
    double latencyMs = 0;          // median single-image inference time; 0 when not measured
    std::vector<int64_t> indices;  // the data set index of each evaluated sample, in evaluation order
    std::vector<int> predictions;  // the predicted class (argmax) of each evaluated sample
    std::vector<std::string> notes;  // what was adjusted to fit the data (e.g. fewer folds than asked for)
};

// The model has exactly one input, NCHW [N,C,H,W] or flat [N,C*H*W], whose known dims match the data set's samples;
// errors name the input and both shapes.
Status checkCompatibility(const Graph& graph, const Dataset& dataset);

// Whether the model takes flat [N, C*H*W] samples (else NCHW), after checking that its one input fits the data set's
// samples; errors name the input and both shapes.
Result<bool> takesFlatSamples(const Graph& graph, const Dataset& dataset);

// Everything evaluate() would refuse, found without evaluating: shapes, options, a backend that can run the model,
// and every evaluated label against the model's outputs (counted by running one sample). Lets a command check its
// inputs before it writes anything.
Status checkEvaluation(const Graph& graph, const Dataset& dataset, const EvalOptions& options);

// Runs the model over the data set (batched), then measures batch-1 latency. Progress stages are "loading model",
// "evaluating" and "measuring latency"; a progress call returning false stops the work with ErrorCode::Cancelled.
// Asking for more folds than samples uses one fold per sample, with a note. Errors: incompatible shapes, a label outside the model's outputs (naming the sample and label), a backend that
// cannot run the model, undecodable data. Safe to call from a worker thread; the graph and data set are only read.
Result<EvalReport> evaluate(const Graph& graph, const Dataset& dataset, const EvalOptions& options,
                            const ProgressFn& progress = {});

}  // namespace lathe
