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

// What evaluating one variant needs, captured on the UI thread when its turn comes.
struct VariantEvaluationTask {
    QString id;
    QString name;
    std::shared_ptr<const Graph> graph;
    QString modelPath;  // the float baseline's sizes are its file's
    Recipe recipe;
    bool baseline = false;
    EvaluationSettings settings;
};

// What evaluating it gave: metrics, or an error (neither: cancelled), and the data it opened.
struct VariantEvaluation {
    QString id;
    std::optional<VariantMetrics> metrics;
    QString error;
    OpenedData opened;  // dataset null when nothing was opened
    QStringList classNames;
};

// Applies the recipe (global_prune refit on the calibration data), measures the ONNX file the variant exports to (QDQ
// when it quantizes, else float; the baseline: the model file) and evaluates it. `cached`: data opened for the same
// settings before, or empty.
VariantEvaluation evaluateVariant(const VariantEvaluationTask& task, const OpenedData& cached,
                                  const ProgressFn& progress);

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
