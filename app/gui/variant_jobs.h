#pragma once

#include <QMetaType>
#include <QString>
#include <QStringList>
#include <cstdint>
#include <memory>
#include <optional>

#include "app/gui/project_file.h"
#include "core/common/progress.h"
#include "core/compress/recipe.h"
#include "core/eval/dataset.h"
#include "core/export/model_size.h"
#include "core/export/onnx_export.h"
#include "core/model/graph.h"
#include "core/train/cross_validation.h"
#include "core/train/fine_tune.h"
#include "widgets/dataset_panel.h"

namespace lathe {

// The work of the workbench's background jobs on a variant: what runs off the UI thread, on values captured on it.

// A data set opened for evaluation settings (their datasetKey()) and the calibration data global_prune's refit opened
// from it; kept by the evaluation queue for reuse.
struct OpenedData {
    QString key;
    std::shared_ptr<const Dataset> dataset;
    CalibrationData calibration;
};

// A distillation teacher that is another variant of the project: the train section's distill.teacher holds
// "variant:<id>" (the window's own form, saved with the recipe in the project; lathe-cli reads "baseline" or a path).
QString variantTeacherKey(const QString& variantId);
// The variant id in a distill.teacher "variant:<id>"; empty for "baseline" and file paths.
QString teacherVariantId(const std::string& teacher);

// Where a distilling recipe's teacher comes from, captured on the UI thread; the job opens it (openTeacher).
struct TeacherSource {
    enum class Kind { Model, File, Variant };
    Kind kind = Kind::Model;  // the model before compression ("baseline"), or nothing to distill from
    QString file;             // Kind::File: the ONNX file
    QString variantName;      // Kind::Variant
    Recipe recipe;            // Kind::Variant: its recipe, applied to the model when it has no trained weights
    std::shared_ptr<const CompressedModel> trained;  // Kind::Variant: its trained weights
    QString error;  // why there is no teacher (a variant no longer in the project, ...); empty: there is one
};

// What cross-validating a variant gave: the report, or an error (neither: cancelled).
struct VariantCrossValidation {
    QString id;
    std::optional<CrossValidationReport> report;
    QString error;
};

// What evaluating one variant needs, captured on the UI thread when its turn comes.
struct VariantEvaluationTask {
    QString id;
    QString name;
    std::shared_ptr<const Graph> graph;
    QString modelPath;  // the float baseline's sizes are its file's
    Recipe recipe;
    bool baseline = false;
    EvaluationSettings settings;
    QString trainSpec;  // training data of recipe.train for folder:/npy: data sets (idx: uses its train split)
    std::shared_ptr<const CompressedModel> trained;  // weights trained before: evaluated instead of training again
    TeacherSource teacher;                           // recipe.train in distill mode: its teacher
    // The baseline: what Model ▸ Evaluate measured on the same model and settings, taken instead of evaluating again.
    std::optional<EvalReport> measured;
};

// What evaluating it gave: metrics, or an error (neither: cancelled), and the data it opened.
struct VariantEvaluation {
    QString id;
    std::optional<VariantMetrics> metrics;
    QString error;
    OpenedData opened;  // dataset null when nothing was opened
    QStringList classNames;
    // With recipe.train: the trained model (kept so export does not train again) and its epochs.
    std::shared_ptr<const CompressedModel> trained;
    std::vector<EpochRecord> history;
    bool trainingCancelled = false;  // stopped early; the weights are those of the last finished epoch
};

// What a training run adds to evaluateVariant: a call per finished epoch (on the worker thread) and a stop request
// that ends training after keeping the last finished epoch (the trained model is still evaluated).
struct TrainingHooks {
    EpochFn onEpoch;
    std::function<bool()> stopRequested;
};

// Why recipe.train cannot get training data from these settings (empty: it can): no data set, an IDX set evaluated on
// its own train split, or a folder:/npy: set without a second SPEC. Never the evaluation images.
QString trainDataProblem(const EvaluationSettings& settings, const QString& trainSpec);
// Opens the training data: the IDX train split (same preprocessing), else `trainSpec`; evaluation after each epoch on
// `evaluation` (limited like the evaluation settings), threads from the evaluation settings.
Result<TrainData> openTrainData(const EvaluationSettings& settings, const QString& trainSpec,
                                std::shared_ptr<const Dataset> evaluation);
// The teacher as TrainData.teacher takes it: null for the model itself, the file read (an error naming the file when it
// cannot be), or the variant's compressed graph (its trained weights when it has them, else its recipe applied to
// `model`; weights as the variant keeps them, activations in float).
Result<std::shared_ptr<const Graph>> openTeacher(const TeacherSource& source, const Graph& model,
                                                 const EvaluationSettings& settings,
                                                 const std::shared_ptr<const Dataset>& dataset,
                                                 const ProgressFn& progress);

// Applies the recipe (global_prune refit on the calibration data), measures the ONNX file the variant exports to (QDQ
// when it quantizes, else float; the baseline: the model file) and evaluates it. `cached`: data opened for the same
// settings before, or empty.
// With recipe.train (and no task.trained) it trains instead (trainRecipe on openTrainData), then measures the trained
// model the same way.
VariantEvaluation evaluateVariant(const VariantEvaluationTask& task, const OpenedData& cached,
                                  const ProgressFn& progress, const TrainingHooks& hooks = {});

// Cross-validates the variant of `task` (its recipe's train section, or default fine-tuning): opens the training data
// as training does (openTrainData; the teacher when it distills) and runs crossValidate with `cv`; progress stages
// "fold F of K: …". `cached`: data opened for the same settings before, or empty.
VariantCrossValidation crossValidateVariant(const VariantEvaluationTask& task, const CrossValidationSettings& cv,
                                            const OpenedData& cached, const ProgressFn& progress);

// What exportVariant wrote and how the file it wrote performs when read back.
struct ExportSummary {
    QString variantId;
    QString path;
    ExportFormat format = ExportFormat::Float;
    FileSize size;
    FileSize originalSize;  // the float model file
    int64_t weightBytes = 0;
    QStringList notes;
    std::optional<double> reloadedTop1;  // percent, on the evaluation data; unset when no data set was given
    int64_t reloadedSamples = 0;
};

// What exporting one variant needs, captured on the UI thread.
struct VariantExportTask {
    QString variantId;
    std::shared_ptr<const Graph> graph;
    QString modelPath;
    Recipe recipe;  // empty for the baseline
    EvaluationSettings settings;
    ExportFormat format = ExportFormat::Float;
    QString path;  // checked against overwriting an input before
    QString trainSpec;                               // as in VariantEvaluationTask
    std::shared_ptr<const CompressedModel> trained;  // the variant's trained weights; null: trained again when needed
    TeacherSource teacher;                           // as in VariantEvaluationTask
};

// What exporting gave: the summary, or an error (neither: cancelled).
struct ExportedVariant {
    std::optional<ExportSummary> summary;
    QString error;
};

// Writes the variant as `task.format` to `task.path` (static activations calibrate on the data set), reads the file
// back and evaluates it on the data set when there is one. `cached`: data opened for the same settings before.
ExportedVariant exportVariantFile(const VariantExportTask& task, const OpenedData& cached, const ProgressFn& progress);

}  // namespace lathe

Q_DECLARE_METATYPE(lathe::ExportSummary)
