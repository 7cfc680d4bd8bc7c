#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/common/progress.h"
#include "core/common/result.h"
#include "core/eval/dataset.h"
#include "core/model/graph.h"
#include "core/runtime/ndarray.h"

namespace lathe {

struct IncrementalEvalOptions {
    int64_t limit = 1000;  // samples in the fixed subset (seeded random order); 0 or more than the set = all
    uint64_t seed = 0;
    int64_t chunk = 250;  // samples per run; activations are cached per chunk
    int threads = 0;      // executor threads; 0 = all cores
    int64_t cacheBytes = int64_t(1) << 30;  // activations kept beyond the inputs; least recently used go first
};

// Top-1 of one graph on the subset, and how much of the graph had to run for it.
struct SubsetAccuracy {
    int64_t n = 0;
    int64_t correct = 0;
    double top1 = 0;             // percent
    double meanLoss = 0;         // mean cross-entropy of the softmax of the output against the labels (nats)
    int64_t nodesRun = 0;        // nodes of the graph executed (the rest came from cached activations)
    int64_t nodesTotal = 0;      // nodes of the graph
    std::vector<int> predictions;  // argmax per subset sample
};

// The nodes of `variant` that must run when `base`'s activations are known: nodes whose op, attributes, inputs or
// constant inputs differ from the base node of the same name (or have none), and every node reading their outputs.
// `frontier` receives the values those nodes read that the unchanged part (or the graph input) produces.
std::vector<int> changedNodes(const Graph& base, const Graph& variant, std::vector<std::string>* frontier = nullptr);

// Accuracy of compressed copies of one model on a fixed subset of a data set, running only what a copy changed.
// The activations the unchanged part of the graph feeds into the changed part are computed once from the base
// model and cached (per chunk of samples), so a change to a late layer runs only the layers after it. Results equal
// a full run of the copy (same kernels, same batches). evaluate() may be called from any thread; calls run one at
// a time.
class IncrementalEvaluator {
public:
    // Loads the subset, runs the base model once and keeps its inputs. Errors: a model the data cannot feed (as
    // evaluate()), a label outside the outputs, an op without a built-in kernel.
    static Result<std::unique_ptr<IncrementalEvaluator>> create(const Graph& base, std::shared_ptr<const Dataset> data,
                                                                const IncrementalEvalOptions& options = {},
                                                                const ProgressFn& progress = {});

    const SubsetAccuracy& baseline() const { return m_baseline; }
    int64_t subsetSize() const { return int64_t(m_indices.size()); }
    uint64_t seed() const { return m_options.seed; }
    const std::vector<int64_t>& indices() const { return m_indices; }

    // Top-1 of `variant` (the base model after compression passes: same input, same output names). Cancellable.
    Result<SubsetAccuracy> evaluate(const Graph& variant, const ProgressFn& progress = {});
    // The variant's first output for every chunk, computed the same way (for tests and comparisons).
    Result<std::vector<NDArray>> outputs(const Graph& variant, const ProgressFn& progress = {});

    IncrementalEvaluator(const IncrementalEvaluator&) = delete;
    IncrementalEvaluator& operator=(const IncrementalEvaluator&) = delete;
    ~IncrementalEvaluator();

private:
    IncrementalEvaluator() = default;
    Status fillCache(const std::vector<std::string>& values, const ProgressFn& progress);
    Result<std::vector<NDArray>> runChanged(const Graph& variant, const ProgressFn& progress, int64_t* nodesRun);
    SubsetAccuracy score(const std::vector<NDArray>& logits, int64_t nodesRun, int64_t nodesTotal) const;

    std::mutex m_mutex;
    Graph m_base;
    IncrementalEvalOptions m_options;
    std::vector<int64_t> m_indices;
    std::vector<int> m_labels;
    std::vector<NDArray> m_inputChunks;  // the subset's preprocessed inputs, one array per chunk
    // Cached base activations by value name: one array per chunk. m_useTick orders them for eviction.
    std::map<std::string, std::vector<NDArray>> m_cache;
    std::map<std::string, uint64_t> m_useTick;
    uint64_t m_tick = 0;
    int64_t m_cachedBytes = 0;
    std::vector<NDArray> m_baseOutputs;
    SubsetAccuracy m_baseline;
};

}  // namespace lathe
