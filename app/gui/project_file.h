#pragma once

#include <QDateTime>
#include <QString>
#include <QStringList>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/common/result.h"
#include "core/compress/apply_recipe.h"
#include "core/compress/recipe.h"
#include "core/compress/sensitivity_scan.h"
#include "core/eval/dataset.h"
#include "core/eval/evaluator.h"
#include "core/eval/metrics.h"
#include "core/train/fine_tune.h"
#include "widgets/cross_validation_figure.h"

namespace lathe {

// What evaluating one variant measured. Accuracies in percent, F1 a fraction; sizes of the file the variant exports
// to (QDQ when it quantizes weights or activations, else float).
struct VariantMetrics {
    double top1 = 0;
    double top5 = 0;
    double macroF1 = 0;
    double foldStd = 0;  // split spread: std of the accuracy over K parts of the test images (nothing retrained), %
    int64_t samples = 0;
    double latencyMs = 0;
    QString backend;
    ConfusionMatrix confusion;
    int64_t params = 0;       // stored weight elements
    int64_t weightBytes = 0;  // weight storage at the chosen bit-widths (CompressedModel::bytes)
    int64_t onnxBytes = 0;
    int64_t zlibBytes = 0;
    int64_t deepCompressionBytes = 0;  // Deep Compression's count (core/export/deep_compression_size.h); 0: unknown
    int64_t macs = 0;  // per sample
    QString format;    // "float" or "qdq": what the sizes were measured on
    std::vector<LayerReport> layers;  // what happened to each layer (singular values dropped)
    QStringList notes;                // settings skipped, what the export format could not keep
};

// The data set settings a project keeps (EvaluationSettings without the panel).
struct ProjectDataset {
    QString specText;  // "idx:/usr/share/datasets/fashion-mnist"; empty: none chosen
    DatasetSpec spec;  // parsed from specText when it parses
    DatasetOptions dataset;
    EvalOptions eval;
    QString trainSpecText;  // training data for folder:/npy: sets ("train_spec"); empty: the IDX train split
};

struct ProjectVariant {
    QString id;
    QString name;
    QString note;
    bool baseline = false;
    QDateTime created;
    QString error;
    bool failed = false;  // stored state "failed" (a variant with metrics is done whatever its state)
    Recipe recipe;
    std::optional<VariantMetrics> metrics;
    QString parentId;                   // "parent": the variant it was trained from; empty: none
    std::vector<EpochRecord> history;  // "train_history": its training epochs
    std::optional<CrossValidationFigure> crossValidation;  // "cross_validation": its cross-validated accuracy
};

// The float model's last Model ▸ Evaluate: what the Evaluation panel shows (again after reopening the project), and
// the baseline variant's measurement while the data set settings stay the same.
struct BaselineEvaluation {
    ProjectDataset dataset;  // the settings it ran with (trainSpecText unused)
    QStringList classNames;
    EvalReport report;  // indices and predictions are not kept; perClass follows from the confusion matrix
};

// The last sensitivity scan ("sensitivity"): its result and the model + data set + subset it belongs to.
struct ProjectSensitivity {
    QString key;
    SensitivityResult result;
};

// The trade-off plot's size axis, as a project stores it ("size_axis").
enum class PlotSizeAxis { Onnx, Zlib };

// The contents of a .latheproj file.
struct ProjectFile {
    static constexpr int kVersion = 1;

    int version = kVersion;
    QString modelPath;  // as stored, or DIR/relative_path when only that exists
    QString modelSha256;
    ProjectDataset dataset;
    QStringList classNames;
    Recipe recipe;
    std::vector<ProjectVariant> variants;
    int nextVariant = 1;  // the stored value, else variants + 1
    std::optional<BaselineEvaluation> evaluation;  // "evaluation"
    PlotSizeAxis sizeAxis = PlotSizeAxis::Onnx;    // "view": {"size_axis": "onnx" | "zlib"}
    std::optional<ProjectSensitivity> sensitivity;  // "sensitivity": {"key", "result"}
};

// Parses .latheproj bytes; `projectDir` resolves the model's relative path. Never throws: every field is type- and
// range-checked and an error names the field path ("variants[2].recipe.layers.fc1.quant.bits: ...").
Result<ProjectFile> parseProjectFile(std::string_view bytes, const QString& projectDir);

// The JSON of `metrics` and back (as parseProjectFile reads it).
nlohmann::json variantMetricsToJson(const VariantMetrics& metrics);
// The JSON of the data set settings, as parseProjectFile reads them.
nlohmann::json projectDatasetToJson(const ProjectDataset& dataset);
// {"folds", "epochs", "top1": {"mean", "std"}, "macro_f1": {"mean", "std"}} (percent), as parseProjectFile reads it.
nlohmann::json crossValidationFigureToJson(const CrossValidationFigure& figure);
// {"dataset", "class_names", "report": {...}}, as parseProjectFile reads it.
nlohmann::json baselineEvaluationToJson(const BaselineEvaluation& evaluation);

}  // namespace lathe
