#include "app/gui/variant_jobs.h"

#include <QObject>

#include "core/compress/apply_recipe.h"
#include "core/compress/calibrate/activation_quant.h"
#include "core/compress/calibrate/calibrate_activations.h"
#include "core/eval/evaluator.h"
#include "core/model/model_summary.h"
#include "core/model/onnx_reader.h"
#include "core/model/onnx_writer.h"

namespace lathe {

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

// A ProgressFn mapping [0, 1] onto [lo, hi] of `outer`.
ProgressFn scaled(const ProgressFn& outer, float lo, float hi) {
    return [outer, lo, hi](float f, std::string_view stage) { return outer(lo + (hi - lo) * f, stage); };
}

// Calibration data for global_prune's least-squares refit (the IDX train split, else the evaluation data); none when
// the recipe does not refit. `calibration` is the data set opened for these settings before (reused when set) and
// receives the one opened now.
Result<ApplyOptions> applyOptionsFor(const Recipe& recipe, const EvaluationSettings& settings,
                                     const std::shared_ptr<const Dataset>& evaluation, CalibrationData& calibration) {
    ApplyOptions options;
    const bool refit = recipe.globalPruneSparsity && *recipe.globalPruneSparsity > 0 &&
                       recipe.globalPruneCorrection.value_or(PruneCorrection::LeastSquares) != PruneCorrection::None;
    if (!refit || settings.specText.isEmpty()) return options;
    if (!calibration.dataset) {
        auto opened = openCalibrationData(settings.spec, settings.dataset, evaluation);
        if (!opened) return opened.error();
        calibration = std::move(opened).value();
    }
    options.calibration = calibration.dataset;
    options.calibrationName = calibration.name;
    return options;
}

}  // namespace

VariantEvaluation evaluateVariant(const VariantEvaluationTask& task, const OpenedData& cached,
                                  const ProgressFn& progress) {
    const EvaluationSettings& settings = task.settings;
    const Graph& graph = *task.graph;
    const Recipe recipe = task.baseline ? Recipe{} : task.recipe;
    VariantEvaluation out;
    out.id = task.id;
    out.opened.key = settings.datasetKey();
    std::shared_ptr<const Dataset> dataset = cached.dataset;
    if (!dataset) {
        if (!progress(0.f, "opening data set")) return out;
        auto opened = openDataset(settings.spec, settings.dataset);
        if (!opened) {
            out.error = qs(opened.error().message);
            return out;
        }
        dataset = *opened;
    }
    out.opened.dataset = dataset;
    out.classNames = classNamesOf(*dataset, settings);
    out.opened.calibration = cached.calibration;
    auto options = applyOptionsFor(recipe, settings, dataset, out.opened.calibration);
    if (!options) {
        out.error = qs(options.error().message);
        return out;
    }
    auto compressed = applyRecipe(graph, recipe, *options, scaled(progress, 0.f, 0.15f));
    if (!compressed) {
        out.error = qs(compressed.error().message);
        return out;
    }
    VariantMetrics m;
    m.params = compressed->params;
    m.weightBytes = compressed->bytes;
    m.layers = compressed->layers;
    for (LayerReport& l : m.layers) l.singularValues.clear();
    for (const auto& w : compressed->warnings) m.notes << qs(w);
    m.macs = summarizeModel(compressed->graph).totalMacs;
    Graph evalGraph;
    if (task.baseline) {
        auto size = measureFile(task.modelPath.toStdString());
        if (!size) {
            auto bytes = serializeOnnxModel(graph);
            if (bytes) size = measureBytes(*bytes);
        }
        if (size) {
            m.onnxBytes = size->onnxBytes;
            m.zlibBytes = size->zlibBytes;
        }
        m.format = QStringLiteral("float");
        evalGraph = graph;
    } else {
        const ActivationSettings activations = recipe.activations.value_or(ActivationSettings{});
        auto ranges = calibrateActivations(compressed->graph, dataset, activations, {}, scaled(progress, 0.15f, 0.3f));
        if (!ranges) {
            out.error = qs(ranges.error().message);
            return out;
        }
        for (const auto& w : ranges->warnings) m.notes << qs(w);
        const bool quantized = !compressed->quantized.empty() || activations.mode != ActivationMode::None;
        const ExportFormat format = quantized ? ExportFormat::Qdq : ExportFormat::Float;
        auto built = buildExportGraph(*compressed, *ranges, format);
        if (!built) {
            out.error = qs(built.error().message);
            return out;
        }
        if (!progress(0.3f, "measuring size")) return out;
        auto bytes = serializeOnnxModel(built->graph);
        if (!bytes) {
            out.error = qs(bytes.error().message);
            return out;
        }
        const FileSize size = measureBytes(*bytes);
        m.onnxBytes = size.onnxBytes;
        m.zlibBytes = size.zlibBytes;
        m.format = qs(std::string(toString(format)));
        for (const auto& n : built->notes) m.notes << qs(n);
        evalGraph = std::move(built->graph);
    }
    auto report = evaluate(evalGraph, *dataset, settings.eval, scaled(progress, 0.35f, 1.f));
    if (!report) {
        if (report.error().code != ErrorCode::Cancelled) out.error = qs(report.error().message);
        return out;
    }
    m.top1 = report->top1;
    m.top5 = report->top5;
    m.macroF1 = report->macroF1 / 100.0;  // the report gives percent
    m.foldStd = report->folds.stddev * 100.0;
    m.samples = report->n;
    m.latencyMs = report->latencyMs;
    m.backend = qs(report->backend);
    for (const auto& n : report->notes) m.notes << qs(n);
    for (const auto& w : scaleWarnings(*dataset, settings.dataset.preprocessing)) m.notes << qs(w);
    m.confusion = report->confusion;
    out.metrics = std::move(m);
    return out;
}

ExportedVariant exportVariantFile(const VariantExportTask& task, const OpenedData& cached, const ProgressFn& progress) {
    const EvaluationSettings& settings = task.settings;
    const Recipe& recipe = task.recipe;
    ExportedVariant out;
    std::shared_ptr<const Dataset> dataset = cached.dataset;
    if (!dataset && !settings.specText.isEmpty()) {
        auto opened = openDataset(settings.spec, settings.dataset);
        if (opened) dataset = *opened;
    }
    const ActivationSettings activations = recipe.activations.value_or(ActivationSettings{});
    if (task.format == ExportFormat::QOperator && activations.mode != ActivationMode::Static) {
        out.error = QObject::tr(
            "The QOperator format needs static activation quantization; this variant has none. "
            "Export it as QDQ or float.");
        return out;
    }
    if (activations.mode == ActivationMode::Static && !dataset) {
        out.error = QObject::tr("Static activation quantization calibrates on data: set a data set first.");
        return out;
    }
    CalibrationData calibration = cached.calibration;
    auto options = applyOptionsFor(recipe, settings, dataset, calibration);
    if (!options) {
        out.error = qs(options.error().message);
        return out;
    }
    auto compressed = applyRecipe(*task.graph, recipe, *options, scaled(progress, 0.f, 0.2f));
    if (!compressed) {
        out.error = qs(compressed.error().message);
        return out;
    }
    auto ranges = calibrateActivations(compressed->graph, dataset, activations, {}, scaled(progress, 0.2f, 0.4f));
    if (!ranges) {
        out.error = qs(ranges.error().message);
        return out;
    }
    if (!progress(0.4f, "writing")) return out;
    auto written = exportModel(*compressed, *ranges, task.format, task.path.toStdString());
    if (!written) {
        out.error = qs(written.error().message);
        return out;
    }
    ExportSummary s;
    s.variantId = task.variantId;
    s.path = qs(written->path);
    s.format = task.format;
    s.size = written->size;
    s.weightBytes = written->weightBytes;
    for (const auto& n : written->notes) s.notes << qs(n);
    for (const auto& w : ranges->warnings) s.notes << qs(w);
    if (auto original = measureFile(task.modelPath.toStdString())) s.originalSize = *original;
    if (dataset) {
        auto reloaded = readOnnxModel(written->path, scaled(progress, 0.4f, 0.5f));
        if (!reloaded) {
            out.error =
                QObject::tr("%1 was written but cannot be read back: %2").arg(s.path, qs(reloaded.error().message));
            return out;
        }
        EvalOptions options = settings.eval;
        options.latencySamples = 0;
        auto report = evaluate(*reloaded, *dataset, options, scaled(progress, 0.5f, 1.f));
        if (!report) {
            if (report.error().code == ErrorCode::Cancelled) return out;
            s.notes << QObject::tr("the written file was not evaluated: %1").arg(qs(report.error().message));
        } else {
            s.reloadedTop1 = report->top1;
            s.reloadedSamples = report->n;
        }
    }
    out.summary = std::move(s);
    return out;
}

}  // namespace lathe
