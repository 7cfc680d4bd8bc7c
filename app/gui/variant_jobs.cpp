#include "app/gui/variant_jobs.h"

#include <QObject>

#include "core/compress/apply_recipe.h"
#include "core/compress/calibrate/activation_quant.h"
#include "core/compress/calibrate/calibrate_activations.h"
#include "core/eval/evaluator.h"
#include "core/export/deep_compression_size.h"
#include "core/model/model_summary.h"
#include "core/model/onnx_reader.h"
#include "core/model/onnx_writer.h"
#include "core/train/training_library.h"

namespace lathe {

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

// A ProgressFn mapping [0, 1] onto [lo, hi] of `outer`.
ProgressFn scaled(const ProgressFn& outer, float lo, float hi) {
    return [outer, lo, hi](float f, std::string_view stage) { return outer(lo + (hi - lo) * f, stage); };
}

// Calibration data for the least-squares refit of pruned weights (the IDX train split, else the evaluation data); none when
// the recipe does not refit. `calibration` is the data set opened for these settings before (reused when set) and
// receives the one opened now.
Result<ApplyOptions> applyOptionsFor(const Recipe& recipe, const EvaluationSettings& settings,
                                     const std::shared_ptr<const Dataset>& evaluation, CalibrationData& calibration) {
    ApplyOptions options;
    const bool refit = recipeRefitsPruning(recipe);
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

// The variant's compressed model: `trained` when given, else applyRecipe, or trainRecipe when the recipe trains.
struct Compressed {
    std::shared_ptr<const CompressedModel> model;  // null with an empty error: cancelled
    QString error;
    std::vector<EpochRecord> history;
    bool trainingCancelled = false;
    QStringList notes;
};

Compressed compress(const Graph& graph, const Recipe& recipe, const EvaluationSettings& settings,
                    const QString& trainSpec, const TeacherSource& teacher,
                    const std::shared_ptr<const Dataset>& dataset, const ApplyOptions& options,
                    const std::shared_ptr<const CompressedModel>& trained, const ProgressFn& progress,
                    const TrainingHooks& hooks) {
    Compressed out;
    if (trained) {
        out.model = trained;
        return out;
    }
    if (!recipe.train) {
        auto compressed = applyRecipe(graph, recipe, options, progress);
        if (!compressed) {
            if (compressed.error().code != ErrorCode::Cancelled) out.error = qs(compressed.error().message);
            return out;
        }
        out.model = std::make_shared<const CompressedModel>(std::move(*compressed));
        return out;
    }
    if (!progress(0.f, "opening training data")) return out;
    auto data = openTrainData(settings, trainSpec, dataset);
    if (!data) {
        out.error = qs(data.error().message);
        return out;
    }
    if (recipe.train->mode == TrainObjective::Distill) {
        auto opened = openTeacher(teacher, graph, settings, dataset, progress);
        if (!opened) {
            if (opened.error().code != ErrorCode::Cancelled) out.error = qs(opened.error().message);
            return out;
        }
        data->teacher = std::move(*opened);
    }
    const ProgressFn training = [progress, stop = hooks.stopRequested](float f, std::string_view stage) {
        const bool go = progress(f, stage);
        return go && !(stop && stop());
    };
    if (!progress(0.f, "loading the training engine")) return out;
    auto library = loadTrainingLibrary();
    if (!library) {
        out.error = qs(library.error().message);
        return out;
    }
    auto result = (*library)->trainRecipe(graph, recipe, *data, options, training, hooks.onEpoch);
    if (!result) {
        if (result.error().code != ErrorCode::Cancelled) out.error = qs(result.error().message);
        return out;
    }
    out.history = result->history;
    out.trainingCancelled = result->cancelled;
    for (const auto& n : result->notes) out.notes << qs(n);
    out.notes << QObject::tr("trained %1 epoch(s) on %2").arg(result->history.size()).arg(qs(data->trainName));
    if (recipe.train->mode == TrainObjective::Distill) {
        const DistillSettings d = recipe.train->distill.value_or(DistillSettings{});
        const QString from = teacher.kind == TeacherSource::Kind::File      ? teacher.file
                             : teacher.kind == TeacherSource::Kind::Variant ? teacher.variantName
                                                                             : QObject::tr("the baseline");
        out.notes << QObject::tr("distilled from %1 (%2 targets, T %3, α %4)")
                         .arg(from, d.hard ? QObject::tr("hard") : QObject::tr("soft"))
                         .arg(d.temperature)
                         .arg(d.alpha);
    }
    out.model = std::make_shared<const CompressedModel>(std::move(result->model));
    return out;
}

}  // namespace

QString variantTeacherKey(const QString& variantId) { return QStringLiteral("variant:") + variantId; }

QString teacherVariantId(const std::string& teacher) {
    const QString text = qs(teacher);
    return text.startsWith(QStringLiteral("variant:")) ? text.mid(8) : QString();
}

Result<std::shared_ptr<const Graph>> openTeacher(const TeacherSource& source, const Graph& model,
                                                 const EvaluationSettings& settings,
                                                 const std::shared_ptr<const Dataset>& dataset,
                                                 const ProgressFn& progress) {
    if (!source.error.isEmpty()) return makeError(ErrorCode::InvalidArgument, source.error.toStdString());
    switch (source.kind) {
        case TeacherSource::Kind::Model:
            return std::shared_ptr<const Graph>();
        case TeacherSource::Kind::File: {
            if (!progress(0.f, "reading the teacher")) return makeError(ErrorCode::Cancelled, "cancelled");
            auto read = readOnnxModel(source.file.toStdString());
            if (!read) {
                if (read.error().code == ErrorCode::Cancelled) return read.error();
                return makeError(read.error().code,
                                 QObject::tr("The distillation teacher %1 cannot be read: %2")
                                     .arg(source.file, qs(read.error().message))
                                     .toStdString());
            }
            return std::make_shared<const Graph>(std::move(*read));
        }
        case TeacherSource::Kind::Variant: {
            if (source.trained) return std::shared_ptr<const Graph>(source.trained, &source.trained->graph);
            if (!progress(0.f, "compressing the teacher")) return makeError(ErrorCode::Cancelled, "cancelled");
            CalibrationData calibration;
            auto options = applyOptionsFor(source.recipe, settings, dataset, calibration);
            if (!options) return options.error();
            const ProgressFn stage = [progress](float, std::string_view) {
                return progress(0.f, "compressing the teacher");
            };
            auto compressed = applyRecipe(model, source.recipe, *options, stage);
            if (!compressed) {
                if (compressed.error().code == ErrorCode::Cancelled) return compressed.error();
                return makeError(compressed.error().code, QObject::tr("The distillation teacher %1: %2")
                                                              .arg(source.variantName, qs(compressed.error().message))
                                                              .toStdString());
            }
            auto kept = std::make_shared<const CompressedModel>(std::move(*compressed));
            return std::shared_ptr<const Graph>(kept, &kept->graph);
        }
    }
    return std::shared_ptr<const Graph>();
}

QString trainDataProblem(const EvaluationSettings& settings, const QString& trainSpec) {
    if (settings.specText.isEmpty()) return QObject::tr("Training needs a data set: choose one in the Data Set panel.");
    if (!trainSpec.trimmed().isEmpty()) {
        auto parsed = parseDatasetSpec(trainSpec.trimmed().toStdString());
        if (!parsed) return QObject::tr("Training data: %1").arg(qs(parsed.error().message));
        if (trainSpec.trimmed() == settings.specText && parsed->kind != DatasetKind::Idx)
            return QObject::tr("The training data is the evaluation data set: give other images, so that the accuracy "
                               "is measured on images the model did not train on.");
        return {};
    }
    if (settings.spec.kind != DatasetKind::Idx)
        return QObject::tr("%1 has no train split: give a second SPEC (folder:DIR or npy:IMAGES.npy,LABELS.npy) with "
                           "other images to train on; the evaluation images are never trained on.")
            .arg(settings.specText);
    if (settings.dataset.split.value_or(Split::Test) == Split::Train)
        return QObject::tr("The data set panel evaluates on the IDX train split, which training uses: evaluate on the "
                           "test split, or give a second SPEC to train on.");
    return {};
}

Result<TrainData> openTrainData(const EvaluationSettings& settings, const QString& trainSpec,
                                std::shared_ptr<const Dataset> evaluation) {
    if (const QString problem = trainDataProblem(settings, trainSpec); !problem.isEmpty())
        return makeError(ErrorCode::InvalidArgument, problem.toStdString());
    std::optional<DatasetSpec> spec;
    if (!trainSpec.trimmed().isEmpty()) spec = *parseDatasetSpec(trainSpec.trimmed().toStdString());
    auto opened = openTrainingData(settings.spec, settings.specText.toStdString(), settings.dataset, spec,
                                   trainSpec.trimmed().toStdString());
    if (!opened) return makeError(opened.error().code, "training data: " + opened.error().message);
    TrainData data;
    data.train = opened->dataset;
    data.trainName = opened->name;
    data.evaluation = std::move(evaluation);
    data.evalLimit = settings.eval.limit;
    data.threads = settings.eval.threads;
    return data;
}

namespace {

// The evaluation data set: the one already open, else opened now; null (no error) when cancelled first.
Result<std::shared_ptr<const Dataset>> evaluationData(const EvaluationSettings& settings, const OpenedData& cached,
                                                      const ProgressFn& progress) {
    if (cached.dataset) return cached.dataset;
    if (!progress(0.f, "opening data set")) return std::shared_ptr<const Dataset>{};
    auto opened = openDataset(settings.spec, settings.dataset);
    if (!opened) return opened.error();
    return std::shared_ptr<const Dataset>(*opened);
}

}  // namespace

VariantEvaluation evaluateVariant(const VariantEvaluationTask& task, const OpenedData& cached,
                                  const ProgressFn& progress, const TrainingHooks& hooks) {
    const EvaluationSettings& settings = task.settings;
    const Graph& graph = *task.graph;
    const Recipe recipe = task.baseline ? Recipe{} : task.recipe;
    VariantEvaluation out;
    out.id = task.id;
    out.opened.key = settings.datasetKey();
    auto opened = evaluationData(settings, cached, progress);
    if (!opened) {
        out.error = qs(opened.error().message);
        return out;
    }
    if (!*opened) return out;
    const std::shared_ptr<const Dataset> dataset = *opened;
    out.opened.dataset = dataset;
    out.classNames = classNamesOf(*dataset, settings);
    out.opened.calibration = cached.calibration;
    auto options = applyOptionsFor(recipe, settings, dataset, out.opened.calibration);
    if (!options) {
        out.error = qs(options.error().message);
        return out;
    }
    // Training takes most of the time when the recipe trains; the steps after it share the rest.
    const float c = recipe.train && !task.trained ? 0.8f : 0.15f;
    const auto after = [&](float a, float b) {
        return scaled(progress, c + (1.f - c) * (a - 0.15f) / 0.85f, c + (1.f - c) * (b - 0.15f) / 0.85f);
    };
    Compressed made = compress(graph, recipe, settings, task.trainSpec, task.teacher, dataset, *options,
                               task.trained, scaled(progress, 0.f, c), hooks);
    if (!made.model) {
        out.error = made.error;
        return out;
    }
    out.trained = recipe.train ? made.model : nullptr;
    out.history = made.history;
    out.trainingCancelled = made.trainingCancelled;
    const CompressedModel* compressed = made.model.get();
    VariantMetrics m;
    m.notes << made.notes;
    m.params = compressed->params;
    m.weightBytes = compressed->bytes;
    m.deepCompressionBytes = deepCompressionSize(*compressed).bytes();
    m.layers = compressed->layers;
    for (LayerReport& l : m.layers) l.singularValues.clear();
    for (const auto& w : compressed->warnings) m.notes << qs(w);
    if (compressed->correction.method == PruneCorrection::LeastSquares)
        m.notes << QObject::tr("pruned weights refit by least squares on %1 images of %2 (the zeros stay)")
                       .arg(compressed->correction.samples)
                       .arg(qs(compressed->correction.data));
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
        auto ranges = calibrateActivations(compressed->graph, dataset, activations, {}, after(0.15f, 0.3f));
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
        if (!after(0.3f, 0.3f)(0.f, "measuring size")) return out;
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
    const bool measured = task.baseline && task.measured;
    auto report = measured ? Result<EvalReport>(*task.measured)
                           : evaluate(evalGraph, *dataset, settings.eval, after(0.35f, 1.f));
    if (!report) {
        if (report.error().code != ErrorCode::Cancelled) out.error = qs(report.error().message);
        return out;
    }
    if (measured) m.notes << QObject::tr("accuracy measured by Model ▸ Evaluate on the same images, not run again");
    m.top1 = report->top1;
    m.top5 = report->top5;
    m.macroF1 = report->macroF1 / 100.0;  // the report gives percent
    m.foldStd = report->folds.stddev * 100.0;
    m.samples = report->n;
    m.latencyMs = report->latencyMs;
    m.backend = qs(report->backend);
    for (const auto& n : report->notes) m.notes << qs(n);
    // Model ▸ Evaluate's notes hold the scale warnings already.
    if (!measured)
        for (const auto& w : scaleWarnings(*dataset, settings.dataset.preprocessing)) m.notes << qs(w);
    m.confusion = report->confusion;
    out.metrics = std::move(m);
    return out;
}

VariantCrossValidation crossValidateVariant(const VariantEvaluationTask& task, const CrossValidationSettings& cv,
                                            const OpenedData& cached, const ProgressFn& progress) {
    const EvaluationSettings& settings = task.settings;
    VariantCrossValidation out;
    out.id = task.id;
    auto opened = evaluationData(settings, cached, progress);
    if (!opened) {
        out.error = qs(opened.error().message);
        return out;
    }
    if (!*opened) return out;
    const std::shared_ptr<const Dataset> dataset = *opened;
    CalibrationData calibration = cached.calibration;
    auto options = applyOptionsFor(task.recipe, settings, dataset, calibration);
    if (!options) {
        out.error = qs(options.error().message);
        return out;
    }
    if (!progress(0.f, "opening training data")) return out;
    auto data = openTrainData(settings, task.trainSpec, dataset);
    if (!data) {
        out.error = qs(data.error().message);
        return out;
    }
    if (task.recipe.train && task.recipe.train->mode == TrainObjective::Distill) {
        auto teacher = openTeacher(task.teacher, *task.graph, settings, dataset, progress);
        if (!teacher) {
            if (teacher.error().code != ErrorCode::Cancelled) out.error = qs(teacher.error().message);
            return out;
        }
        data->teacher = std::move(*teacher);
    }
    if (!progress(0.f, "loading the training engine")) return out;
    auto library = loadTrainingLibrary();
    if (!library) {
        out.error = qs(library.error().message);
        return out;
    }
    auto report = (*library)->crossValidate(*task.graph, task.recipe, cv, *data, *options, progress, {});
    if (!report) {
        if (report.error().code != ErrorCode::Cancelled) out.error = qs(report.error().message);
        return out;
    }
    out.report = std::move(*report);
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
    const float c = recipe.train && !task.trained ? 0.7f : 0.2f;
    const auto after = [&](float a, float b) {
        return scaled(progress, c + (1.f - c) * (a - 0.2f) / 0.8f, c + (1.f - c) * (b - 0.2f) / 0.8f);
    };
    Compressed made = compress(*task.graph, recipe, settings, task.trainSpec, task.teacher, dataset, *options,
                               task.trained, scaled(progress, 0.f, c), {});
    if (!made.model) {
        out.error = made.error;
        return out;
    }
    const CompressedModel* compressed = made.model.get();
    auto ranges = calibrateActivations(compressed->graph, dataset, activations, {}, after(0.2f, 0.4f));
    if (!ranges) {
        out.error = qs(ranges.error().message);
        return out;
    }
    if (!after(0.4f, 0.4f)(0.f, "writing")) return out;
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
    s.notes << made.notes;
    for (const auto& n : written->notes) s.notes << qs(n);
    for (const auto& w : ranges->warnings) s.notes << qs(w);
    if (auto original = measureFile(task.modelPath.toStdString())) s.originalSize = *original;
    if (dataset) {
        auto reloaded = readOnnxModel(written->path, after(0.4f, 0.5f));
        if (!reloaded) {
            out.error =
                QObject::tr("%1 was written but cannot be read back: %2").arg(s.path, qs(reloaded.error().message));
            return out;
        }
        EvalOptions options = settings.eval;
        options.latencySamples = 0;
        auto report = evaluate(*reloaded, *dataset, options, after(0.5f, 1.f));
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
