#pragma once
// Shared by the export and calibration tests: the demo model, the Fashion-MNIST test split, recipes, evaluation.

#include <QtTest>

#include <memory>
#include <string>

#include "core/compress/apply_recipe.h"
#include "core/compress/calibrate/activation_quant.h"
#include "core/compress/calibrate/calibrate_activations.h"
#include "core/eval/dataset.h"
#include "core/eval/evaluator.h"
#include "core/model/onnx_reader.h"

namespace lathe::testing {

inline const std::string kFashionDir = "/usr/share/datasets/fashion-mnist";

inline Graph demoModel() {
    auto graph = readOnnxModel(LATHE_DEMO_MODEL);
    if (!graph) qFatal("cannot read the demo model: %s", graph.error().message.c_str());
    return std::move(graph.value());
}

inline std::shared_ptr<const Dataset> fashionTest() {
    auto test = openDataset({DatasetKind::Idx, kFashionDir, ""}, {});
    if (!test) qFatal("cannot open %s: %s", kFashionDir.c_str(), test.error().message.c_str());
    return *test;
}

inline Recipe recipe(const std::string& json) {
    auto r = parseRecipe(json);
    if (!r) qFatal("bad test recipe %s: %s", json.c_str(), r.error().message.c_str());
    return *r;
}

inline CompressedModel compress(const Graph& graph, const std::string& json) {
    auto m = applyRecipe(graph, recipe(json));
    if (!m) qFatal("applyRecipe(%s): %s", json.c_str(), m.error().message.c_str());
    return std::move(m.value());
}

inline ActivationRanges calibrate(const CompressedModel& model, const std::shared_ptr<const Dataset>& data,
                                  const ActivationSettings& settings) {
    auto r = calibrateActivations(model.graph, data, settings);
    if (!r) qFatal("calibration: %s", r.error().message.c_str());
    return std::move(r.value());
}

// Accuracy run without latency or fold work; `limit` 0 = the whole set.
inline EvalReport evaluateOn(const Graph& graph, const Dataset& data, BackendKind backend = BackendKind::Builtin,
                             int64_t limit = 0) {
    EvalOptions options;
    options.backend = backend;
    options.latencySamples = 0;
    options.folds = 1;
    options.limit = limit;
    auto r = evaluate(graph, data, options);
    if (!r) qFatal("evaluate %s: %s", graph.sourcePath.c_str(), r.error().message.c_str());
    return std::move(r.value());
}

// Fraction of samples whose predictions agree.
inline double agreement(const EvalReport& a, const EvalReport& b) {
    if (a.predictions.size() != b.predictions.size() || a.predictions.empty()) return 0;
    size_t same = 0;
    for (size_t i = 0; i < a.predictions.size(); ++i) same += a.predictions[i] == b.predictions[i];
    return double(same) / double(a.predictions.size());
}

inline QString message(const Error& e) { return QString::fromStdString(e.message); }

}  // namespace lathe::testing
