#include "core/eval/stratified_folds.h"

#include <algorithm>
#include <map>

namespace lathe {

std::vector<int64_t> StratifiedFolds::complement(int held) const {
    std::vector<int64_t> out;
    for (int f = 0; f < k; ++f)
        if (f != held) out.insert(out.end(), folds[size_t(f)].begin(), folds[size_t(f)].end());
    std::sort(out.begin(), out.end());
    return out;
}

Result<StratifiedFolds> stratifiedFolds(const Dataset& data, int k, uint64_t seed) {
    const int64_t n = data.size();
    if (k < 2 || int64_t(k) > n)
        return makeError(ErrorCode::InvalidArgument, "cross-validation: " + std::to_string(k) +
                                                         " folds need 2 <= k <= the " + std::to_string(n) +
                                                         " training samples");
    std::map<int, std::vector<int64_t>> byClass;
    for (int64_t i : shuffledIndices(n, seed)) byClass[data.label(i)].push_back(i);
    StratifiedFolds out;
    out.k = k;
    out.folds.resize(size_t(k));
    size_t next = 0;  // the fold the deal continues with
    for (const auto& [label, samples] : byClass) {
        if (int64_t(samples.size()) < k)
            out.notes.push_back("class " + std::to_string(label) + " has " + std::to_string(samples.size()) +
                                " sample(s) for " + std::to_string(k) + " folds; some folds hold none of it");
        for (int64_t i : samples) {
            out.folds[next].push_back(i);
            next = (next + 1) % size_t(k);
        }
    }
    for (auto& fold : out.folds) std::sort(fold.begin(), fold.end());
    return out;
}

}  // namespace lathe
