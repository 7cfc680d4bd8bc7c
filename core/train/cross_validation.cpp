#include "core/train/cross_validation.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/eval/evaluator.h"
#include "core/eval/stratified_folds.h"

namespace lathe {

std::pair<double, double> meanAndStd(const std::vector<double>& values) {
    if (values.empty()) return {0.0, 0.0};
    double sum = 0;
    for (double v : values) sum += v;
    const double mean = sum / double(values.size());
    if (values.size() < 2) return {mean, 0.0};
    double squares = 0;
    for (double v : values) squares += (v - mean) * (v - mean);
    return {mean, std::sqrt(squares / double(values.size() - 1))};
}

Result<CrossValidationReport> crossValidate(const Graph& graph, const Recipe& recipe, const CrossValidationSettings& cv,
                                            const TrainData& data, const ApplyOptions& options,
                                            const ProgressFn& progress,
                                            const std::function<void(const FoldResult&)>& onFold) {
    if (!data.train || data.train->size() == 0)
        return makeError(ErrorCode::InvalidArgument, "cross-validation needs training data to split into folds");
    auto folds = stratifiedFolds(*data.train, cv.folds, cv.seed);
    if (!folds) return folds.error();
    Recipe foldRecipe = recipe;
    if (!foldRecipe.train) foldRecipe.train = TrainSettings{};
    if (cv.epochs) foldRecipe.train->epochs = *cv.epochs;
    if (foldRecipe.train->pruneSchedule)
        foldRecipe.train->pruneSchedule->epochs = std::min(foldRecipe.train->pruneSchedule->epochs, foldRecipe.train->epochs);
    if (foldRecipe.train->l1 && foldRecipe.train->l1->finalEpochs >= foldRecipe.train->epochs)
        foldRecipe.train->l1->finalEpochs = foldRecipe.train->epochs - 1;

    CrossValidationReport report;
    report.k = folds->k;
    report.epochs = foldRecipe.train->epochs;
    report.notes = folds->notes;
    std::vector<double> top1, f1;
    for (int f = 0; f < folds->k; ++f) {
        const auto start = std::chrono::steady_clock::now();
        const std::string prefix = "fold " + std::to_string(f + 1) + " of " + std::to_string(folds->k) + ": ";
        const float from = float(f) / float(folds->k), span = 1.0f / float(folds->k);
        bool stopped = false;
        const ProgressFn foldProgress = [&](float fraction, std::string_view stage) {
            const bool go = reportProgress(progress, from + 0.9f * span * fraction, prefix + std::string(stage));
            stopped = stopped || !go;
            return go;
        };
        TrainData foldData = data;
        foldData.train = subsetDataset(data.train, folds->complement(f));
        foldData.trainName = data.trainName + ", " + prefix + "the other folds";
        foldData.evaluation.reset();
        const auto heldOut = subsetDataset(data.train, folds->folds[size_t(f)]);
        auto trained = trainRecipe(graph, foldRecipe, foldData, options, foldProgress);
        if (!trained) return makeError(trained.error().code, prefix + trained.error().message);
        if (trained->cancelled || stopped)
            return makeError(ErrorCode::Cancelled, "cross-validation cancelled in fold " + std::to_string(f + 1) +
                                                       " of " + std::to_string(folds->k));
        if (f == 0)
            for (const std::string& note : trained->notes) report.notes.push_back(note);
        EvalOptions eval;
        eval.backend = BackendKind::Builtin;
        eval.folds = 1;
        eval.latencySamples = 0;
        eval.threads = data.threads;
        const ProgressFn evalProgress = [&](float fraction, std::string_view) {
            return reportProgress(progress, from + span * (0.9f + 0.1f * fraction), prefix + "held-out evaluation");
        };
        auto measured = evaluate(trained->model.graph, *heldOut, eval, evalProgress);
        if (!measured) return makeError(measured.error().code, prefix + measured.error().message);
        FoldResult r;
        r.fold = f + 1;
        r.trainSamples = foldData.train->size();
        r.heldOut = heldOut->size();
        r.top1 = measured->top1;
        r.macroF1 = measured->macroF1;
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        top1.push_back(r.top1);
        f1.push_back(r.macroF1);
        report.folds.push_back(r);
        if (onFold) onFold(r);
    }
    std::tie(report.meanTop1, report.stdTop1) = meanAndStd(top1);
    std::tie(report.meanF1, report.stdF1) = meanAndStd(f1);
    return report;
}

nlohmann::json crossValidationToJson(const CrossValidationReport& report) {
    nlohmann::json perFold = nlohmann::json::array();
    for (const FoldResult& r : report.folds)
        perFold.push_back({{"fold", r.fold},
                           {"train_samples", r.trainSamples},
                           {"held_out", r.heldOut},
                           {"top1", r.top1},
                           {"macro_f1", r.macroF1},
                           {"seconds", r.seconds}});
    nlohmann::json j = {{"folds", report.k},
                        {"epochs", report.epochs},
                        {"top1", {{"mean", report.meanTop1}, {"std", report.stdTop1}}},
                        {"macro_f1", {{"mean", report.meanF1}, {"std", report.stdF1}}},
                        {"per_fold", perFold}};
    if (!report.notes.empty()) j["notes"] = report.notes;
    return j;
}

}  // namespace lathe
