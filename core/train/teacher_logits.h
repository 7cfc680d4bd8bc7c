#pragma once
// A distillation teacher's logits over a training set, computed once by Lathe's executor and cached (no torch here).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/common/progress.h"
#include "core/common/result.h"
#include "core/eval/dataset.h"
#include "core/model/graph.h"

namespace lathe {

// The value a classifier's loss reads: the input of a final Softmax or LogSoftmax, else graph output 0.
std::string logitsValue(const Graph& graph);

// Content hashes (64-bit FNV-1a): of a graph's nodes, attributes and initializer data (its ONNX serialization), and of
// a data set's labels and preprocessed samples.
Result<uint64_t> graphFingerprint(const Graph& graph);
Result<uint64_t> datasetFingerprint(const Dataset& data);

struct TeacherLogits {
    int64_t samples = 0;
    int64_t classes = 0;
    std::vector<float> values;  // [samples, classes], row i = sample i of the data set
    uint64_t teacherHash = 0;
    uint64_t dataHash = 0;

    const float* row(int64_t sample) const { return values.data() + size_t(sample * classes); }
};

struct TeacherCacheStats {
    int64_t hits = 0;
    int64_t computed = 0;
};

// The teacher's logits for every sample of `data`, from Lathe's executor (`threads` OpenMP threads; 0 = all). Cached by
// (teacher content, data content): a changed weight or other images compute them again. The cache keeps the four most
// recent sets. A subset (subsetDataset) of at least half its parent, such as a cross-validation fold's training folds,
// takes its rows from the parent's logits, so every fold shares one computation. Fails naming the teacher when its
// input does not fit the data or it has no kernel for an op.
Result<std::shared_ptr<const TeacherLogits>> teacherLogits(const Graph& teacher, const Dataset& data, int threads,
                                                           const ProgressFn& progress = {});
TeacherCacheStats teacherCacheStats();
void clearTeacherCache();

}  // namespace lathe
