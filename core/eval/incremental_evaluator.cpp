#include "core/eval/incremental_evaluator.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/eval/evaluator.h"
#include "core/runtime/executor.h"

namespace lathe {

namespace {

Error cancelled() { return makeError(ErrorCode::Cancelled, "evaluation cancelled"); }

bool sameTensor(const Tensor& a, const Tensor& b) {
    return a.dtype == b.dtype && a.shape == b.shape && a.data == b.data && a.ints == b.ints && a.strings == b.strings;
}

bool sameAttributes(const Node& a, const Node& b) {
    if (a.attributes.size() != b.attributes.size()) return false;
    for (const auto& [key, attr] : a.attributes) {
        const Attribute* other = b.attribute(key);
        if (!other || other->kind != attr.kind || other->f != attr.f || other->i != attr.i || other->s != attr.s ||
            other->floats != attr.floats || other->ints != attr.ints || other->strings != attr.strings)
            return false;
        if (bool(attr.tensor) != bool(other->tensor)) return false;
        if (attr.tensor && !sameTensor(*attr.tensor, *other->tensor)) return false;
    }
    return true;
}

// Whether the variant's node computes what the base node of the same name computes, given equal non-constant inputs.
bool sameNode(const Graph& base, const Graph& variant, const Node& node) {
    const int index = base.nodeIndex(node.name);
    if (index < 0) return false;
    const Node& old = base.nodes[size_t(index)];
    if (old.opType != node.opType || old.domain != node.domain || old.inputs != node.inputs ||
        old.outputs != node.outputs || !sameAttributes(old, node))
        return false;
    for (const std::string& in : node.inputs) {
        const Tensor* now = variant.initializer(in);
        const Tensor* before = base.initializer(in);
        if (bool(now) != bool(before)) return false;
        if (now && now != before && !sameTensor(*now, *before)) return false;
    }
    return true;
}

int64_t bytesOf(const std::vector<NDArray>& chunks) {
    int64_t bytes = 0;
    for (const NDArray& a : chunks) bytes += int64_t(a.data.size() * sizeof(float));
    return bytes;
}

}  // namespace

std::vector<int> changedNodes(const Graph& base, const Graph& variant, std::vector<std::string>* frontier) {
    std::set<std::string> dirty;
    std::vector<int> changed;
    for (size_t i = 0; i < variant.nodes.size(); ++i) {
        const Node& node = variant.nodes[i];
        const bool readsDirty =
            std::any_of(node.inputs.begin(), node.inputs.end(), [&](const std::string& in) { return dirty.count(in); });
        if (readsDirty || !sameNode(base, variant, node)) {
            changed.push_back(int(i));
            dirty.insert(node.outputs.begin(), node.outputs.end());
        }
    }
    if (frontier) {
        frontier->clear();
        std::set<std::string> seen;
        for (int i : changed)
            for (const std::string& in : variant.nodes[size_t(i)].inputs)
                if (!in.empty() && !dirty.count(in) && !variant.initializer(in) && seen.insert(in).second)
                    frontier->push_back(in);
        // A graph output the change does not reach is read from the base run.
        for (const std::string& out : variant.outputs)
            if (!dirty.count(out) && seen.insert(out).second) frontier->push_back(out);
    }
    return changed;
}

IncrementalEvaluator::~IncrementalEvaluator() = default;

Result<std::unique_ptr<IncrementalEvaluator>> IncrementalEvaluator::create(const Graph& base,
                                                                           std::shared_ptr<const Dataset> data,
                                                                           const IncrementalEvalOptions& options,
                                                                           const ProgressFn& progress) {
    if (!data) return makeError(ErrorCode::InvalidArgument, "no data set to evaluate on");
    if (options.chunk < 1 || options.limit < 0)
        return makeError(ErrorCode::InvalidArgument, "chunk must be at least 1 and limit not negative");
    EvalOptions check;
    check.backend = BackendKind::Builtin;
    check.latencySamples = 0;
    if (auto status = checkEvaluation(base, *data, check); !status) return status.error();
    auto flat = takesFlatSamples(base, *data);
    if (!flat) return flat.error();

    std::unique_ptr<IncrementalEvaluator> self(new IncrementalEvaluator());
    self->m_base = base;
    self->m_options = options;
    self->m_indices = shuffledIndices(data->size(), options.seed);
    if (options.limit > 0 && options.limit < int64_t(self->m_indices.size()))
        self->m_indices.resize(size_t(options.limit));
    if (self->m_indices.empty()) return makeError(ErrorCode::InvalidArgument, "the data set is empty");
    for (int64_t index : self->m_indices) self->m_labels.push_back(data->label(index));

    const int64_t n = int64_t(self->m_indices.size());
    for (int64_t begin = 0; begin < n; begin += options.chunk) {
        const int64_t count = std::min(options.chunk, n - begin);
        auto batch = data->batch(std::span(self->m_indices).subspan(size_t(begin), size_t(count)));
        if (!batch) return batch.error();
        if (*flat) batch->shape = {batch->shape[0], batch->numel() / std::max<int64_t>(batch->shape[0], 1)};
        self->m_inputChunks.push_back(std::move(*batch));
        if (!reportProgress(progress, 0.5f * float(begin + count) / float(n), "loading the evaluation subset"))
            return cancelled();
    }
    const std::string& output = base.outputs.front();
    if (auto status = self->fillCache({output}, scaleProgress(progress, 0.5f, 1.f)); !status) return status.error();
    self->m_baseOutputs = std::move(self->m_cache[output]);
    self->m_cache.erase(output);
    self->m_cachedBytes = 0;
    self->m_baseline = self->score(self->m_baseOutputs, int64_t(base.nodes.size()), int64_t(base.nodes.size()));
    return self;
}

Status IncrementalEvaluator::fillCache(const std::vector<std::string>& values, const ProgressFn& progress) {
    std::vector<std::string> missing;
    for (const std::string& v : values)
        if (v != m_base.inputs.front() && !m_cache.count(v)) missing.push_back(v);
    for (const std::string& v : values) m_useTick[v] = ++m_tick;
    if (missing.empty()) return Ok{};
    ExecutorOptions executorOptions;
    executorOptions.threads = m_options.threads;
    auto executor = Executor::compile(m_base, executorOptions);
    if (!executor) return executor.error();
    std::map<std::string, std::vector<NDArray>> fresh;
    for (size_t c = 0; c < m_inputChunks.size(); ++c) {
        auto out = executor->run({{m_base.inputs.front(), m_inputChunks[c]}}, missing);
        if (!out) return out.error();
        for (const std::string& v : missing) {
            auto it = out->find(v);
            if (it == out->end())
                return makeError(ErrorCode::Internal, "the base model did not produce value '" + v + "'");
            fresh[v].push_back(std::move(it->second));
        }
        if (!reportProgress(progress, float(c + 1) / float(m_inputChunks.size()), "caching activations"))
            return cancelled();
    }
    for (auto& [name, chunks] : fresh) {
        m_cachedBytes += bytesOf(chunks);
        m_cache[name] = std::move(chunks);
    }
    // Evict the least recently used values the current request does not need.
    const std::set<std::string> needed(values.begin(), values.end());
    while (m_cachedBytes > m_options.cacheBytes) {
        std::string oldest;
        uint64_t oldestTick = UINT64_MAX;
        for (const auto& [name, chunks] : m_cache)
            if (!needed.count(name) && m_useTick[name] < oldestTick) {
                oldestTick = m_useTick[name];
                oldest = name;
            }
        if (oldest.empty()) break;
        m_cachedBytes -= bytesOf(m_cache[oldest]);
        m_cache.erase(oldest);
    }
    return Ok{};
}

Result<std::vector<NDArray>> IncrementalEvaluator::runChanged(const Graph& variant, const ProgressFn& progress,
                                                              int64_t* nodesRun) {
    if (variant.inputs != m_base.inputs || variant.outputs.empty() || variant.outputs.front() != m_base.outputs.front())
        return makeError(ErrorCode::InvalidArgument,
                         "the variant's inputs and first output must be the base model's ('" +
                             m_base.inputs.front() + "' → '" + m_base.outputs.front() + "')");
    std::vector<std::string> frontier;
    const std::vector<int> changed = changedNodes(m_base, variant, &frontier);
    *nodesRun = int64_t(changed.size());
    const std::string& input = m_base.inputs.front();
    const std::string& output = variant.outputs.front();
    const bool outputChanged =
        std::find(frontier.begin(), frontier.end(), output) == frontier.end();
    if (!outputChanged) return m_baseOutputs;

    // The changed nodes as a graph of their own, fed by the frontier values.
    Graph suffix;
    suffix.sourcePath = variant.sourcePath;
    suffix.name = variant.name;
    suffix.irVersion = variant.irVersion;
    suffix.opset = variant.opset;
    suffix.opsetImports = variant.opsetImports;
    suffix.values = variant.values;
    suffix.outputs = {output};
    std::set<std::string> constants;
    for (int i : changed) {
        const Node& node = variant.nodes[size_t(i)];
        suffix.nodes.push_back(node);
        for (const std::string& in : node.inputs)
            if (const Tensor* t = variant.initializer(in); t && constants.insert(in).second)
                suffix.initializers[in] = *t;
    }
    suffix.inputs = frontier;
    const float fillShare = 0.3f;
    if (auto status = fillCache(frontier, scaleProgress(progress, 0.f, fillShare)); !status) return status.error();

    ExecutorOptions executorOptions;
    executorOptions.threads = m_options.threads;
    auto executor = Executor::compile(suffix, executorOptions);
    if (!executor) return executor.error();
    std::vector<NDArray> results;
    for (size_t c = 0; c < m_inputChunks.size(); ++c) {
        std::map<std::string, NDArray> feeds;
        for (const std::string& v : frontier) feeds[v] = v == input ? m_inputChunks[c] : m_cache.at(v)[c];
        auto out = executor->run(feeds);
        if (!out) return out.error();
        results.push_back(std::move(out->at(output)));
        if (!reportProgress(progress, fillShare + (1.f - fillShare) * float(c + 1) / float(m_inputChunks.size()),
                            "evaluating"))
            return cancelled();
    }
    return results;
}

SubsetAccuracy IncrementalEvaluator::score(const std::vector<NDArray>& logits, int64_t nodesRun,
                                           int64_t nodesTotal) const {
    SubsetAccuracy acc;
    acc.nodesRun = nodesRun;
    acc.nodesTotal = nodesTotal;
    for (const NDArray& chunk : logits) {
        const int64_t rows = chunk.shape.empty() ? 0 : chunk.shape[0];
        const int64_t cols = rows ? chunk.numel() / rows : 0;
        for (int64_t r = 0; r < rows; ++r) {
            const float* row = chunk.data.data() + r * cols;
            const int best = int(std::max_element(row, row + cols) - row);
            const int label = m_labels[size_t(acc.n)];
            double sum = 0;
            for (int64_t c = 0; c < cols; ++c) sum += std::exp(double(row[c]) - double(row[best]));
            if (label >= 0 && label < cols) acc.meanLoss += std::log(sum) - (double(row[label]) - double(row[best]));
            acc.predictions.push_back(best);
            acc.correct += best == m_labels[size_t(acc.n)];
            ++acc.n;
        }
    }
    acc.top1 = acc.n ? 100.0 * double(acc.correct) / double(acc.n) : 0;
    acc.meanLoss = acc.n ? acc.meanLoss / double(acc.n) : 0;
    return acc;
}

Result<SubsetAccuracy> IncrementalEvaluator::evaluate(const Graph& variant, const ProgressFn& progress) {
    std::lock_guard lock(m_mutex);
    int64_t nodesRun = 0;
    auto logits = runChanged(variant, progress, &nodesRun);
    if (!logits) return logits.error();
    return score(*logits, nodesRun, int64_t(variant.nodes.size()));
}

Result<std::vector<NDArray>> IncrementalEvaluator::outputs(const Graph& variant, const ProgressFn& progress) {
    std::lock_guard lock(m_mutex);
    int64_t nodesRun = 0;
    return runChanged(variant, progress, &nodesRun);
}

}  // namespace lathe
