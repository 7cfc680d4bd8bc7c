#include "core/train/teacher_logits.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <list>
#include <mutex>
#include <numeric>

#include "core/eval/evaluator.h"
#include "core/model/onnx_writer.h"
#include "core/runtime/executor.h"

namespace lathe {

namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

void hashBytes(uint64_t& h, const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= kFnvPrime;
    }
}

std::string teacherName(const Graph& g) { return g.sourcePath.empty() ? std::string("the teacher") : "teacher " + g.sourcePath; }

struct Cache {
    std::mutex mutex;
    std::list<std::shared_ptr<const TeacherLogits>> entries;  // most recent first
    TeacherCacheStats stats;
};

Cache& cache() {
    static Cache c;
    return c;
}

constexpr size_t kCacheEntries = 4;

}  // namespace

std::string logitsValue(const Graph& graph) {
    if (graph.outputs.empty()) return {};
    const int producer = graph.producerOf(graph.outputs[0]);
    if (producer >= 0) {
        const Node& n = graph.nodes[size_t(producer)];
        if ((n.opType == "Softmax" || n.opType == "LogSoftmax") && !n.inputs.empty()) return n.inputs[0];
    }
    return graph.outputs[0];
}

Result<uint64_t> graphFingerprint(const Graph& graph) {
    OnnxWriteOptions options;
    options.runChecker = false;
    auto bytes = serializeOnnxModel(graph, options);
    if (!bytes) return bytes.error();
    uint64_t h = kFnvOffset;
    hashBytes(h, bytes->data(), bytes->size());
    return h;
}

Result<uint64_t> datasetFingerprint(const Dataset& data) {
    uint64_t h = kFnvOffset;
    const int64_t n = data.size();
    hashBytes(h, &n, sizeof n);
    constexpr int64_t kChunk = 1024;
    std::vector<int64_t> indices;
    for (int64_t first = 0; first < n; first += kChunk) {
        indices.resize(size_t(std::min(kChunk, n - first)));
        std::iota(indices.begin(), indices.end(), first);
        auto batch = data.batch(indices);
        if (!batch) return batch.error();
        hashBytes(h, batch->data.data(), batch->data.size() * sizeof(float));
        for (int64_t i : indices) {
            const int label = data.label(i);
            hashBytes(h, &label, sizeof label);
        }
    }
    return h;
}

namespace {

std::shared_ptr<const TeacherLogits> findCached(uint64_t teacherHash, uint64_t dataHash) {
    Cache& c = cache();
    std::lock_guard lock(c.mutex);
    for (auto it = c.entries.begin(); it != c.entries.end(); ++it) {
        if ((*it)->teacherHash != teacherHash || (*it)->dataHash != dataHash) continue;
        auto found = *it;
        c.entries.erase(it);
        c.entries.push_front(found);
        ++c.stats.hits;
        return found;
    }
    return nullptr;
}

Result<std::shared_ptr<const TeacherLogits>> computeLogits(const Graph& teacher, const Dataset& data, int threads,
                                                           const ProgressFn& progress, uint64_t teacherHash,
                                                           uint64_t dataHash) {
    if (auto st = checkCompatibility(teacher, data); !st)
        return makeError(st.error().code, teacherName(teacher) + ": " + st.error().message);
    const std::string logits = logitsValue(teacher);
    auto executor = Executor::compile(teacher);
    if (!executor) return makeError(executor.error().code, teacherName(teacher) + ": " + executor.error().message);
    const std::string& input = teacher.inputs.front();
    std::vector<int64_t> declared;
    if (const ValueInfo* v = teacher.value(input); v && v->hasShape) declared = v->shape;
    const bool isOutput = std::find(teacher.outputs.begin(), teacher.outputs.end(), logits) != teacher.outputs.end();
    const std::vector<std::string> capture = isOutput ? std::vector<std::string>{} : std::vector<std::string>{logits};
    if (threads > 0) omp_set_num_threads(threads);

    auto out = std::make_shared<TeacherLogits>();
    out->samples = data.size();
    out->teacherHash = teacherHash;
    out->dataHash = dataHash;
    constexpr int64_t kBatch = 256;
    std::vector<int64_t> indices;
    for (int64_t first = 0; first < out->samples; first += kBatch) {
        if (!reportProgress(progress, float(first) / float(out->samples), "teacher logits"))
            return makeError(ErrorCode::Cancelled, "cancelled while computing the teacher's logits");
        indices.resize(size_t(std::min(kBatch, out->samples - first)));
        std::iota(indices.begin(), indices.end(), first);
        auto batch = data.batch(indices);
        if (!batch) return batch.error();
        const int64_t count = int64_t(indices.size());
        if (declared.size() == 2) batch->shape = {count, batch->numel() / std::max<int64_t>(count, 1)};
        auto values = executor->run({{input, std::move(*batch)}}, capture);
        if (!values) return makeError(values.error().code, teacherName(teacher) + ": " + values.error().message);
        auto it = values->find(logits);
        if (it == values->end())
            return makeError(ErrorCode::Internal, teacherName(teacher) + ": the executor returned no '" + logits + "'");
        const NDArray& y = it->second;
        const int64_t classes = y.shape.empty() ? 0 : y.numel() / std::max<int64_t>(y.shape[0], 1);
        if (y.shape.empty() || y.shape[0] != count || classes < 1)
            return makeError(ErrorCode::InvalidModel, teacherName(teacher) + ": logits '" + logits + "' have shape " +
                                                          shapeToString(y.shape) + ", expected [batch, classes]");
        if (out->classes == 0) {
            out->classes = classes;
            out->values.reserve(size_t(out->samples * classes));
        }
        out->values.insert(out->values.end(), y.data.begin(), y.data.end());
    }
    Cache& c = cache();
    std::lock_guard lock(c.mutex);
    ++c.stats.computed;
    c.entries.push_front(out);
    if (c.entries.size() > kCacheEntries) c.entries.pop_back();
    return std::shared_ptr<const TeacherLogits>(out);
}

// The rows of the parent's logits a subset holds: a cross-validation fold's training folds (or any subset of at least
// half its parent) reuse the logits of the whole set, computed once for every fold.
std::shared_ptr<const TeacherLogits> gatherRows(const TeacherLogits& parent, const std::vector<int64_t>& indices) {
    auto out = std::make_shared<TeacherLogits>();
    out->samples = int64_t(indices.size());
    out->classes = parent.classes;
    out->teacherHash = parent.teacherHash;
    out->dataHash = parent.dataHash;
    hashBytes(out->dataHash, indices.data(), indices.size() * sizeof(int64_t));
    out->values.reserve(size_t(out->samples * out->classes));
    for (int64_t i : indices) out->values.insert(out->values.end(), parent.row(i), parent.row(i) + parent.classes);
    return out;
}

Result<std::shared_ptr<const TeacherLogits>> logitsOf(const Graph& teacher, uint64_t teacherHash, const Dataset& data,
                                                      int threads, const ProgressFn& progress) {
    if (auto subset = subsetOf(data); subset && 2 * data.size() >= subset->parent->size()) {
        auto parent = logitsOf(teacher, teacherHash, *subset->parent, threads, progress);
        if (!parent) return parent.error();
        return gatherRows(**parent, *subset->indices);
    }
    auto dataHash = datasetFingerprint(data);
    if (!dataHash) return dataHash.error();
    if (auto found = findCached(teacherHash, *dataHash)) return found;
    return computeLogits(teacher, data, threads, progress, teacherHash, *dataHash);
}

}  // namespace

Result<std::shared_ptr<const TeacherLogits>> teacherLogits(const Graph& teacher, const Dataset& data, int threads,
                                                           const ProgressFn& progress) {
    if (!reportProgress(progress, 0.0f, "teacher logits: fingerprints"))
        return makeError(ErrorCode::Cancelled, "cancelled while computing the teacher's logits");
    auto teacherHash = graphFingerprint(teacher);
    if (!teacherHash) return teacherHash.error();
    return logitsOf(teacher, *teacherHash, data, threads, progress);
}

TeacherCacheStats teacherCacheStats() {
    Cache& c = cache();
    std::lock_guard lock(c.mutex);
    return c.stats;
}

void clearTeacherCache() {
    Cache& c = cache();
    std::lock_guard lock(c.mutex);
    c.entries.clear();
    c.stats = {};
}

}  // namespace lathe
