#pragma once
// Stratified k-fold assignment: each fold keeps the data set's class proportions (cross-validation, core/train).

#include <cstdint>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/eval/dataset.h"

namespace lathe {

struct StratifiedFolds {
    int k = 0;
    std::vector<std::vector<int64_t>> folds;  // sample indices of each fold, ascending
    // Classes with fewer samples than k (some folds hold none of them): "class 3 has 2 samples for 5 folds".
    std::vector<std::string> notes;

    // Every sample outside fold `held`, ascending: the training part of that fold's split.
    std::vector<int64_t> complement(int held) const;
};

// Splits `data` into k folds: each class's samples are shuffled (seeded) and dealt round-robin, continuing the deal
// where the previous class stopped, so every fold holds ⌊n_c/k⌋ or ⌈n_c/k⌉ samples of class c and the fold sizes differ
// by at most one. Fails unless 2 <= k <= the number of samples.
Result<StratifiedFolds> stratifiedFolds(const Dataset& data, int k, uint64_t seed);

}  // namespace lathe
