#pragma once
// Stratified k-fold cross-validation of a variant: for each fold, the compressed model is trained on the other folds
// of the training data and measured on the held-out one (no torch types here).

#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/common/progress.h"
#include "core/common/result.h"
#include "core/compress/apply_recipe.h"
#include "core/compress/recipe.h"
#include "core/model/graph.h"
#include "core/train/fine_tune.h"

namespace lathe {

struct FoldResult {
    int fold = 0;               // 1-based
    int64_t trainSamples = 0;   // images of the other folds
    int64_t heldOut = 0;        // images of this fold
    double top1 = 0;            // percent, on the held-out fold, weights on their grid
    double macroF1 = 0;         // percent
    double seconds = 0;         // training and evaluation
};

struct CrossValidationReport {
    int k = 0;
    int epochs = 0;  // per fold
    std::vector<FoldResult> folds;
    double meanTop1 = 0, stdTop1 = 0;  // percent; sample standard deviation (n−1) over folds
    double meanF1 = 0, stdF1 = 0;
    std::vector<std::string> notes;  // classes with fewer samples than folds, training notes of the first fold
};

// Splits data.train into cv.folds stratified folds (core/eval/stratified_folds.h, cv.seed) and, for each fold, runs
// trainRecipe on the other folds with the recipe's train section (or fine-tuning with default settings) for cv.epochs
// (default: the train section's epochs, else 1), then evaluates the trained model on the held-out fold with Lathe's
// executor. data.evaluation is not used (nothing is measured per epoch). Progress stage "fold F of K: …"; Cancel
// stops with ErrorCode::Cancelled. `onFold` sees each finished fold.
Result<CrossValidationReport> crossValidate(const Graph& graph, const Recipe& recipe, const CrossValidationSettings& cv,
                                            const TrainData& data, const ApplyOptions& options,
                                            const ProgressFn& progress = {},
                                            const std::function<void(const FoldResult&)>& onFold = {});

// Sample mean and standard deviation (n−1; 0 for fewer than two values).
std::pair<double, double> meanAndStd(const std::vector<double>& values);

// {"folds": k, "epochs", "top1": {"mean", "std"}, "macro_f1": {"mean", "std"}, "per_fold": [{"fold", "train_samples",
// "held_out", "top1", "macro_f1", "seconds"}], "notes"}
nlohmann::json crossValidationToJson(const CrossValidationReport& report);

}  // namespace lathe
