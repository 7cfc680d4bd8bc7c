#include "app/gui/workbench_document.h"

#include "core/common/output_path.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>
#include <QUndoCommand>
#include <QUndoStack>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/compress/calibrate/activation_quant.h"
#include "core/compress/calibrate/calibrate_activations.h"
#include "core/compress/compressible_layer.h"
#include "core/compress/layer_preview.h"
#include "core/compress/lowrank/svd_decompose.h"
#include "core/compress/prune/magnitude_filter_prune.h"
#include "core/eval/evaluator.h"
#include "core/model/model_summary.h"
#include "core/model/onnx_reader.h"
#include "core/model/onnx_writer.h"

namespace lathe {

namespace {

using json = nlohmann::json;

QString qs(const std::string& s) { return QString::fromStdString(s); }

QString percentText(double fraction, int decimals = 1) {
    return QStringLiteral("%1 %").arg(fraction * 100.0, 0, 'f', decimals);
}

bool sameRecipe(const Recipe& a, const Recipe& b) { return recipeToJson(a) == recipeToJson(b); }

// A ProgressFn mapping [0, 1] onto [lo, hi] of `outer`.
ProgressFn scaled(const ProgressFn& outer, float lo, float hi) {
    return [outer, lo, hi](float f, std::string_view stage) { return outer(lo + (hi - lo) * f, stage); };
}

QString absolute(const QString& path) { return path.isEmpty() ? path : QFileInfo(path).absoluteFilePath(); }

QString sha256Of(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) return {};
    QCryptographicHash hash(QCryptographicHash::Sha256);
    if (!hash.addData(&file)) return {};
    return QString::fromLatin1(hash.result().toHex());
}

QString quantText(int bits, Rounding rounding, Granularity granularity, bool symmetric) {
    if (bits == 32) return QObject::tr("float32");
    if (rounding == Rounding::KMeans) return QObject::tr("%1-bit k-means").arg(bits);
    return QObject::tr("int%1 %2 %3%4")
        .arg(bits)
        .arg(symmetric ? QObject::tr("sym") : QObject::tr("asym"))
        .arg(granularity == Granularity::PerChannel ? QObject::tr("per-channel") : QObject::tr("per-tensor"))
        .arg(rounding == Rounding::Stochastic ? QObject::tr(" stochastic") : QString());
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

// --- JSON of the project's parts --------------------------------------------------------------------------------

json datasetToJson(const EvaluationSettings& s) {
    return projectDatasetToJson(ProjectDataset{s.specText, s.spec, s.dataset, s.eval});
}

std::string stateName(Variant::State s) {
    switch (s) {
        case Variant::State::Done: return "done";
        case Variant::State::Failed: return "failed";
        default: return "not_evaluated";
    }
}

}  // namespace

// One settings change: the recipe before and after. Consecutive changes with the same merge key and edit sequence
// (no sealEdit() between) merge into one step.
class RecipeCommand : public QUndoCommand {
public:
    RecipeCommand(WorkbenchDocument* doc, Recipe before, Recipe after, const QString& text, QString mergeKey,
                  int sequence)
        : QUndoCommand(text),
          m_doc(doc),
          m_before(std::move(before)),
          m_after(std::move(after)),
          m_key(std::move(mergeKey)),
          m_sequence(sequence) {}

    int id() const override { return m_key.isEmpty() ? -1 : 0x1a7e; }
    bool mergeWith(const QUndoCommand* other) override {
        const auto* o = static_cast<const RecipeCommand*>(other);
        if (o->m_key != m_key || o->m_sequence != m_sequence) return false;
        m_after = o->m_after;
        setText(o->text());
        setObsolete(sameRecipe(m_before, m_after));
        return true;
    }
    void undo() override { m_doc->setRecipeState(m_before); }
    void redo() override { m_doc->setRecipeState(m_after); }

private:
    WorkbenchDocument* m_doc;
    Recipe m_before;
    Recipe m_after;
    QString m_key;
    int m_sequence;
};

struct WorkbenchDocument::Evaluated {
    QString id;
    std::optional<VariantMetrics> metrics;
    QString error;
    std::shared_ptr<const Dataset> dataset;
    CalibrationData calibration;  // opened for global_prune's refit, or the cached one passed in
    QString datasetKey;
    QStringList classNames;
};

struct WorkbenchDocument::Exported {
    std::optional<ExportSummary> summary;
    QString error;
};

WorkbenchDocument::WorkbenchDocument(QObject* parent) : QObject(parent), m_undo(new QUndoStack(this)) {
    qRegisterMetaType<lathe::ExportSummary>();
    m_evalSettings.specText = QString::fromLatin1(DatasetPanel::kDefaultSpec);
    if (auto spec = parseDatasetSpec(m_evalSettings.specText.toStdString())) m_evalSettings.spec = *spec;
    connect(&m_evalJob, &Job::progressChanged, this, [this](float fraction, const QString&) {
        if (Variant* v = find(m_running)) {
            v->progress = fraction;
            emit variantProgress(v->id, fraction);
            emit variantsChanged();
        }
    });
    connect(&m_evalJob, &Job::failed, this, [this](const QString&, const QString& message) {
        Evaluated failed;
        failed.id = m_running;
        failed.error = message;
        onEvaluated(std::move(failed));
    });
    connect(&m_hashWatcher, &QFutureWatcher<QString>::finished, this, [this] {
        m_sha = m_hashWatcher.result();
        if (!m_expectedSha.isEmpty() && !m_sha.isEmpty() && m_sha != m_expectedSha)
            emit modelMismatch(tr("%1 is not the file this project was made with (its SHA-256 differs): the "
                                  "variants' metrics may not match what it gives now. Re-evaluate them to be sure.")
                                   .arg(m_modelPath));
    });
    m_autosaveTimer.setInterval(kDefaultAutosaveMs);
    connect(&m_autosaveTimer, &QTimer::timeout, this, [this] {
        if (m_dirty) autosave();
    });
    m_autosaveTimer.start();
}

WorkbenchDocument::~WorkbenchDocument() {
    m_evalJob.cancel();
    m_exportJob.cancel();
    m_hashWatcher.waitForFinished();
}

// ---------------------------------------------------------------------------------------------------------------------
// Model

void WorkbenchDocument::setModel(std::shared_ptr<const Graph> graph, const QString& path) {
    const QString abs = absolute(path);
    const bool sameModel = !abs.isEmpty() && abs == m_modelPath;
    if (!sameModel) resetProject();
    m_graph = std::move(graph);
    m_modelPath = m_graph ? abs : (sameModel ? abs : QString());
    if (m_graph && sameModel && !QFileInfo::exists(abs))
        emit modelMismatch(tr("%1 no longer exists on disk").arg(abs));
    hashModel();
    updateGlobalThreshold();
    emit modelChanged();
    emit recipeChanged();
    emit variantsChanged();
}

void WorkbenchDocument::hashModel() {
    m_sha.clear();
    if (m_modelPath.isEmpty() || !m_graph) return;
    const QString path = m_modelPath;
    m_hashWatcher.setFuture(QtConcurrent::run([path] { return sha256Of(path); }));
}

QString WorkbenchDocument::modelSha256() const {
    if (m_hashWatcher.isRunning()) {
        m_hashWatcher.waitForFinished();
        return m_hashWatcher.result();
    }
    return m_sha;
}

QStringList WorkbenchDocument::layerNames() const {
    QStringList names;
    if (!m_graph) return names;
    for (const LayerWeight& l : compressibleLayers(*m_graph)) names << qs(l.nodeName);
    return names;
}

QString WorkbenchDocument::layerOfNode(int nodeIndex) const {
    if (!m_graph) return {};
    auto lw = layerWeight(*m_graph, nodeIndex);
    return lw ? qs(lw->nodeName) : QString();
}

int WorkbenchDocument::nodeOfLayer(const QString& layer) const {
    return m_graph ? findLayerNode(*m_graph, layer.toStdString()) : -1;
}

InspectorLayer WorkbenchDocument::inspectorLayer(const QString& layer) const {
    InspectorLayer out;
    const int node = nodeOfLayer(layer);
    if (node < 0) return out;
    auto lw = layerWeight(*m_graph, node);
    const Tensor* w = lw ? m_graph->initializer(lw->weight) : nullptr;
    if (!w) return out;
    out.name = qs(lw->nodeName);
    out.opType = qs(lw->opType);
    out.weight = std::shared_ptr<const Tensor>(m_graph, w);  // aliases the graph: lives as long as the inspector needs
    out.channelAxis = lw->channelAxis;
    out.channels = size_t(lw->channelAxis) < w->shape.size() ? w->shape[size_t(lw->channelAxis)] : 0;
    out.structuredApplies = filterPruneApplies(*m_graph, node) && checkFilterPrune(*m_graph, node).ok();
    out.fullRank = svdDecomposeApplies(*m_graph, node) ? decompositionFullRank(*m_graph, node) : 0;
    out.preview = [](const Tensor& weight, const LayerSettings& settings, const PreviewOptions& options) {
        return previewLayer(weight, settings, options);
    };
    out.spectrum = [](const Tensor& weight) { return weightSingularValues(weight); };
    return out;
}

void WorkbenchDocument::setEvaluationSettings(const EvaluationSettings& settings) {
    const bool changed = datasetToJson(settings) != datasetToJson(m_evalSettings);
    m_evalSettings = settings;
    if (changed) markDirty();
}

// ---------------------------------------------------------------------------------------------------------------------
// Recipe

LayerSettings WorkbenchDocument::settingsOf(const QString& layer) const {
    const int node = nodeOfLayer(layer);
    if (node < 0) return resolveLayerSettings(m_recipe, layer.toStdString(), std::string());
    return resolveLayerSettings(m_recipe, *m_graph, node);
}

void WorkbenchDocument::setRecipeState(const Recipe& recipe) {
    m_recipe = recipe;
    updateGlobalThreshold();
    markDirty();
    emit recipeChanged();
}

void WorkbenchDocument::pushRecipe(Recipe after, const QString& description, const QString& mergeKey) {
    normalizeRecipe(after);
    if (sameRecipe(after, m_recipe)) return;
    m_undo->push(new RecipeCommand(this, m_recipe, std::move(after), description, mergeKey, m_editSequence));
}

void WorkbenchDocument::setRecipe(const Recipe& recipe, const QString& description) {
    sealEdit();
    pushRecipe(recipe, description, {});
}

void WorkbenchDocument::editLayers(const QStringList& layers, const LayerEdit& edit) {
    if (!edit.apply) return;
    Recipe after = m_recipe;
    for (const QString& layer : layers) {
        QString weight;
        if (const int node = nodeOfLayer(layer); node >= 0)
            if (auto lw = layerWeight(*m_graph, node)) weight = qs(lw->weight);
        edit.apply(recipeEntry(after, layer, weight));
    }
    pushRecipe(std::move(after), edit.description, edit.mergeKey);
}

void WorkbenchDocument::sealEdit() { ++m_editSequence; }

void WorkbenchDocument::resetLayers(const QStringList& layers) {
    Recipe after = m_recipe;
    for (const QString& layer : layers) {
        after.layers.erase(layer.toStdString());
        if (const int node = nodeOfLayer(layer); node >= 0)
            if (auto lw = layerWeight(*m_graph, node)) after.layers.erase(lw->weight);
    }
    sealEdit();
    pushRecipe(std::move(after),
               layers.size() == 1 ? tr("%1: reset").arg(layers.front()) : tr("reset %1 layers").arg(layers.size()), {});
}

void WorkbenchDocument::setGlobalSparsity(std::optional<double> sparsity) {
    Recipe after = m_recipe;
    after.globalPruneSparsity = sparsity;
    pushRecipe(std::move(after),
               sparsity ? tr("global sparsity %1").arg(percentText(*sparsity)) : tr("global sparsity off"),
               QStringLiteral("global"));
}

void WorkbenchDocument::applyPreset(RecipePreset preset) {
    static const char* names[] = {"float", "int8", "4-bit weights", "Deep Compression"};
    sealEdit();
    pushRecipe(presetRecipe(preset), tr("preset: %1").arg(QLatin1String(names[int(preset)])), {});
}

Recipe WorkbenchDocument::presetRecipe(RecipePreset preset) const {
    Recipe r;
    switch (preset) {
        case RecipePreset::Float: break;
        case RecipePreset::Int8:
        case RecipePreset::Int4Weights: {
            QuantEntry q;
            q.bits = preset == RecipePreset::Int8 ? 8 : 4;
            q.granularity = Granularity::PerChannel;
            q.symmetric = true;
            q.rounding = Rounding::Nearest;
            r.defaults.quant = q;
            break;
        }
        case RecipePreset::DeepCompression: {
            // Deep Compression's shape without its retraining: big layers pruned hard, small ones and the classifier
            // gently; then k-means weight sharing, 8 bits for convolutions and 5 for fully connected layers.
            if (!m_graph) break;
            for (const LayerWeight& l : compressibleLayers(*m_graph)) {
                const bool conv = l.opType == "Conv" || l.opType == "ConvTranspose";
                const Tensor* w = m_graph->initializer(l.weight);
                const Node& node = m_graph->nodes[size_t(l.node)];
                const bool classifier = std::any_of(node.outputs.begin(), node.outputs.end(), [&](const std::string& o) {
                    return std::find(m_graph->outputs.begin(), m_graph->outputs.end(), o) != m_graph->outputs.end();
                });
                LayerEntry e;
                e.prune.emplace();
                e.prune->sparsity = w && w->numel() < 2000 ? 0.2 : classifier ? 0.5 : conv ? 0.6 : 0.8;
                e.quant.emplace();
                e.quant->bits = conv ? 8 : 5;
                e.quant->rounding = Rounding::KMeans;
                r.layers[l.nodeName] = e;
            }
            break;
        }
    }
    return r;
}

std::optional<double> WorkbenchDocument::globalThresholdFor(const Recipe& recipe) const {
    if (!m_graph || !recipe.globalPruneSparsity) return std::nullopt;
    std::vector<std::span<const float>> weights;
    for (const LayerWeight& l : compressibleLayers(*m_graph)) {
        if (!resolveLayerSettings(recipe, l.nodeName, l.weight).globalPrune) continue;
        if (const Tensor* t = m_graph->initializer(l.weight)) weights.emplace_back(t->data);
    }
    if (weights.empty()) return std::nullopt;
    return globalPruneThreshold(weights, *recipe.globalPruneSparsity);
}

void WorkbenchDocument::updateGlobalThreshold() { m_globalThreshold = globalThresholdFor(m_recipe); }

QString WorkbenchDocument::layerSummary(const Recipe& recipe, const QString& layer) const {
    if (!m_graph) return {};
    for (const LayerWeight& l : compressibleLayers(*m_graph)) {
        if (qs(l.nodeName) != layer) continue;
        const LayerSettings s = resolveLayerSettings(recipe, l.nodeName, l.weight);
        QStringList parts;
        if (s.globalPrune)
            parts << tr("global %1").arg(percentText(recipe.globalPruneSparsity.value_or(0), 0));
        else if (s.sparsity && *s.sparsity > 0)
            parts << tr("%1 zeros").arg(percentText(*s.sparsity, 0));
        else if (s.threshold && *s.threshold > 0)
            parts << tr("|w| < %1").arg(*s.threshold, 0, 'g', 3);
        if (s.keep) parts << tr("%1 channels").arg(*s.keep);
        if (s.keepFraction) parts << tr("%1 of channels").arg(percentText(*s.keepFraction, 0));
        if (s.rank) parts << tr("rank %1").arg(*s.rank);
        if (s.energy) parts << tr("energy %1").arg(percentText(*s.energy, 0));
        if (s.quantized()) parts << quantText(s.bits, s.rounding, s.granularity, s.symmetric);
        return parts.join(QStringLiteral(" · "));
    }
    return {};
}

QString WorkbenchDocument::recipeSummary(const Recipe& recipe) const {
    QStringList lines;
    if (recipe.globalPruneSparsity) lines << tr("global sparsity %1").arg(percentText(*recipe.globalPruneSparsity));
    for (const QString& layer : layerNames()) {
        const QString text = layerSummary(recipe, layer);
        if (!text.isEmpty()) lines << QStringLiteral("%1  %2").arg(layer, -8).arg(text);
    }
    if (lines.isEmpty()) lines << tr("no compression (float weights)");
    return lines.join(QLatin1Char('\n'));
}

// ---------------------------------------------------------------------------------------------------------------------
// Variants

Variant* WorkbenchDocument::find(const QString& id) {
    for (Variant& v : m_variants)
        if (v.id == id) return &v;
    return nullptr;
}

const Variant* WorkbenchDocument::variant(const QString& id) const {
    return const_cast<WorkbenchDocument*>(this)->find(id);
}

QString WorkbenchDocument::baselineId() const {
    for (const Variant& v : m_variants)
        if (v.baseline) return v.id;
    return {};
}

QString WorkbenchDocument::newId() { return QStringLiteral("v%1").arg(m_nextId++); }

QString WorkbenchDocument::evaluateCurrent(const QString& name) {
    if (!m_graph) {
        emit errorOccurred(tr("Open a model before evaluating a variant."));
        return {};
    }
    if (baselineId().isEmpty()) {
        Variant base;
        base.id = newId();
        base.name = tr("Float baseline");
        base.baseline = true;
        base.created = QDateTime::currentDateTime();
        base.state = Variant::State::Queued;
        m_queue << base.id;
        m_variants.insert(m_variants.begin(), std::move(base));
    }
    Variant v;
    v.id = newId();
    int count = 0;
    for (const Variant& x : m_variants) count += x.baseline ? 0 : 1;
    v.name = name.isEmpty() ? tr("Variant %1").arg(count + 1) : name;
    v.recipe = m_recipe;
    v.state = Variant::State::Queued;
    v.created = QDateTime::currentDateTime();
    m_variants.push_back(v);
    m_queue << v.id;
    markDirty();
    emit variantsChanged();
    startNext();
    return v.id;
}

void WorkbenchDocument::reevaluate(const QString& id) {
    Variant* v = find(id);
    if (!v || v->state == Variant::State::Queued || v->state == Variant::State::Running) return;
    if (!m_graph) {
        emit errorOccurred(tr("Open the model before evaluating a variant."));
        return;
    }
    v->state = Variant::State::Queued;
    v->error.clear();
    m_queue << id;
    emit variantsChanged();
    startNext();
}

void WorkbenchDocument::cancelEvaluation() {
    if (m_running.isEmpty() && m_queue.isEmpty()) return;
    m_evalJob.cancel();
    QStringList stopped = m_queue;
    stopped << m_running;
    for (const QString& id : stopped)
        if (Variant* v = find(id)) {
            v->state = v->metrics ? Variant::State::Done : Variant::State::NotEvaluated;
            v->progress = 0;
        }
    m_queue.clear();
    m_running.clear();
    emit variantsChanged();
}

void WorkbenchDocument::startNext() {
    if (!m_running.isEmpty() || m_queue.isEmpty() || !m_graph) return;
    m_running = m_queue.takeFirst();
    Variant* v = find(m_running);
    if (!v) {
        m_running.clear();
        startNext();
        return;
    }
    v->state = Variant::State::Running;
    v->progress = 0;
    const std::shared_ptr<const Graph> graph = m_graph;
    const Recipe recipe = v->recipe;
    const bool baseline = v->baseline;
    const EvaluationSettings settings = m_evalSettings;
    const QString key = settings.datasetKey();
    const std::shared_ptr<const Dataset> cached = key == m_datasetKey ? m_dataset : nullptr;
    const CalibrationData cachedCalibration = key == m_datasetKey ? m_calibration : CalibrationData{};
    const QString modelPath = m_modelPath;
    const QString id = v->id;
    m_evalJob.start<Evaluated>(
        tr("Evaluating %1").arg(v->name),
        [=](const ProgressFn& progress) {
            Evaluated out;
            out.id = id;
            out.datasetKey = key;
            std::shared_ptr<const Dataset> dataset = cached;
            if (!dataset) {
                if (!progress(0.f, "opening data set")) return out;
                auto opened = openDataset(settings.spec, settings.dataset);
                if (!opened) {
                    out.error = qs(opened.error().message);
                    return out;
                }
                dataset = *opened;
            }
            out.dataset = dataset;
            out.classNames = classNamesOf(*dataset, settings);
            out.calibration = cachedCalibration;
            auto options = applyOptionsFor(baseline ? Recipe{} : recipe, settings, dataset, out.calibration);
            if (!options) {
                out.error = qs(options.error().message);
                return out;
            }
            auto compressed =
                applyRecipe(*graph, baseline ? Recipe{} : recipe, *options, scaled(progress, 0.f, 0.15f));
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
            if (baseline) {
                auto size = measureFile(modelPath.toStdString());
                if (!size) {
                    auto bytes = serializeOnnxModel(*graph);
                    if (bytes) size = measureBytes(*bytes);
                }
                if (size) {
                    m.onnxBytes = size->onnxBytes;
                    m.zlibBytes = size->zlibBytes;
                }
                m.format = QStringLiteral("float");
                evalGraph = *graph;
            } else {
                const ActivationSettings activations = recipe.activations.value_or(ActivationSettings{});
                auto ranges = calibrateActivations(compressed->graph, dataset, activations, {},
                                                   scaled(progress, 0.15f, 0.3f));
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
        },
        [this](Evaluated out) { onEvaluated(std::move(out)); });
    emit variantsChanged();
}

void WorkbenchDocument::onEvaluated(Evaluated out) {
    if (out.dataset) {
        m_dataset = out.dataset;
        m_datasetKey = out.datasetKey;
        m_calibration = out.calibration;
    }
    if (!out.classNames.isEmpty()) m_classNames = out.classNames;
    m_running.clear();
    if (Variant* v = find(out.id)) {
        v->progress = out.metrics ? 1.f : 0.f;
        if (out.metrics) {
            v->metrics = std::move(out.metrics);
            v->state = Variant::State::Done;
            v->error.clear();
            markDirty();
            emit variantsChanged();
            emit variantEvaluated(v->id);
        } else {
            v->state = out.error.isEmpty() ? (v->metrics ? Variant::State::Done : Variant::State::NotEvaluated)
                                           : Variant::State::Failed;
            v->error = out.error;
            emit variantsChanged();
            if (!out.error.isEmpty()) emit variantFailed(v->id, out.error);
        }
    }
    startNext();
}

void WorkbenchDocument::renameVariant(const QString& id, const QString& name) {
    Variant* v = find(id);
    if (!v || name.trimmed().isEmpty() || v->name == name.trimmed()) return;
    v->name = name.trimmed();
    markDirty();
    emit variantsChanged();
}

void WorkbenchDocument::setVariantNote(const QString& id, const QString& note) {
    Variant* v = find(id);
    if (!v || v->note == note) return;
    v->note = note;
    markDirty();
    emit variantsChanged();
}

QString WorkbenchDocument::duplicateVariant(const QString& id) {
    const Variant* v = find(id);
    if (!v) return {};
    Variant copy = *v;
    copy.id = newId();
    copy.name = tr("%1 copy").arg(v->name);
    copy.baseline = false;
    copy.created = QDateTime::currentDateTime();
    if (copy.state == Variant::State::Queued || copy.state == Variant::State::Running)
        copy.state = Variant::State::NotEvaluated;
    const auto at = std::find_if(m_variants.begin(), m_variants.end(), [&](const Variant& x) { return x.id == id; });
    m_variants.insert(at + 1, copy);
    markDirty();
    emit variantsChanged();
    return copy.id;
}

void WorkbenchDocument::removeVariants(const QStringList& ids) {
    if (ids.contains(m_running)) {
        m_evalJob.cancel();
        m_running.clear();
    }
    for (const QString& id : ids) m_queue.removeAll(id);
    const auto removed = std::erase_if(m_variants, [&](const Variant& v) { return ids.contains(v.id); });
    if (removed == 0) return;
    markDirty();
    emit variantsChanged();
    startNext();
}

void WorkbenchDocument::loadVariant(const QString& id) {
    const Variant* v = find(id);
    if (!v) return;
    setRecipe(v->recipe, tr("load settings of %1").arg(v->name));
}

// ---------------------------------------------------------------------------------------------------------------------
// Views

std::vector<TradeoffPoint> WorkbenchDocument::tradeoffPoints() const {
    std::vector<TradeoffPoint> points;
    for (const Variant& v : m_variants) {
        if (!v.metrics || v.state == Variant::State::Failed) continue;
        TradeoffPoint p;
        p.id = v.id;
        p.name = v.name;
        p.accuracy = v.metrics->top1;
        p.onnxBytes = v.metrics->onnxBytes;
        p.zlibBytes = v.metrics->zlibBytes;
        p.baseline = v.baseline;
        p.summary = v.baseline ? tr("the model as read, float32") : recipeSummary(v.recipe);
        points.push_back(std::move(p));
    }
    return points;
}

std::vector<VariantRow> WorkbenchDocument::variantRows() const {
    int64_t baseBytes = 0;
    for (const Variant& v : m_variants)
        if (v.baseline && v.metrics) baseBytes = v.metrics->onnxBytes;
    std::vector<VariantRow> rows;
    for (const Variant& v : m_variants) {
        VariantRow r;
        r.id = v.id;
        r.name = v.name;
        r.note = v.note;
        r.baseline = v.baseline;
        r.state = v.state;
        r.progress = v.progress;
        r.error = v.error;
        if (v.metrics) {
            r.top1 = v.metrics->top1;
            r.macroF1 = v.metrics->macroF1;
            r.onnxBytes = v.metrics->onnxBytes;
            r.zlibBytes = v.metrics->zlibBytes;
            if (baseBytes > 0 && r.onnxBytes > 0) r.ratio = double(baseBytes) / double(r.onnxBytes);
        }
        r.summary = v.baseline ? tr("the model as read, float32") : recipeSummary(v.recipe);
        rows.push_back(std::move(r));
    }
    return rows;
}

std::vector<CompareColumn> WorkbenchDocument::compareColumns(const QStringList& ids) const {
    std::vector<CompareColumn> columns;
    for (const QString& id : ids) {
        const Variant* v = variant(id);
        if (!v || !v->metrics) continue;
        const VariantMetrics& m = *v->metrics;
        CompareColumn c;
        c.id = v->id;
        c.name = v->name;
        c.baseline = v->baseline;
        c.top1 = m.top1;
        c.top5 = m.top5;
        c.macroF1 = m.macroF1;
        c.latencyMs = m.latencyMs;
        c.samples = m.samples;
        c.onnxBytes = m.onnxBytes;
        c.zlibBytes = m.zlibBytes;
        c.params = m.params;
        c.macs = m.macs;
        c.confusion = m.confusion;
        for (const LayerReport& r : m.layers) {
            CompareLayer l;
            l.name = qs(r.name);
            l.opType = qs(r.opType);
            const LayerSettings s = resolveLayerSettings(v->recipe, r.name, r.weights.empty() ? "" : r.weights.front());
            if (s.globalPrune)
                l.pruning = tr("global, |w| < %1").arg(r.threshold, 0, 'g', 3);
            else if (s.sparsity && *s.sparsity > 0)
                l.pruning = tr("%1 by sparsity").arg(percentText(*s.sparsity));
            else if (s.threshold && *s.threshold > 0)
                l.pruning = tr("|w| < %1").arg(*s.threshold, 0, 'g', 3);
            else
                l.pruning = QStringLiteral("–");
            l.channels = r.channels > 0 && r.keptChannels < r.channels
                             ? QStringLiteral("%1 / %2").arg(r.keptChannels).arg(r.channels)
                             : QStringLiteral("–");
            l.rank = r.rank > 0 ? QStringLiteral("%1 / %2").arg(r.rank).arg(r.fullRank) : QStringLiteral("–");
            l.quant = quantText(r.bits, r.rounding, r.granularity, r.symmetric);
            l.sparsity = r.sparsity;
            l.relError = r.relError;
            l.bytes = r.bytes;
            c.layers.push_back(std::move(l));
        }
        columns.push_back(std::move(c));
    }
    return columns;
}

std::vector<std::shared_ptr<const std::vector<float>>> WorkbenchDocument::layerValues(const QStringList& ids,
                                                                                      const QString& layer) const {
    std::vector<std::shared_ptr<const std::vector<float>>> out;
    const int node = nodeOfLayer(layer);
    auto lw = node >= 0 ? layerWeight(*m_graph, node) : std::nullopt;
    const Tensor* w = lw ? m_graph->initializer(lw->weight) : nullptr;
    for (const QString& id : ids) {
        const Variant* v = variant(id);
        if (!v || !v->metrics) continue;
        if (!w) {
            out.push_back(nullptr);
            continue;
        }
        const LayerSettings s = resolveLayerSettings(v->recipe, lw->nodeName, lw->weight);
        PreviewOptions options;
        options.channelAxis = lw->channelAxis;
        options.structured = filterPruneApplies(*m_graph, node);
        if (s.globalPrune) options.globalThreshold = globalThresholdFor(v->recipe);
        options.keepValues = true;
        LayerPreview p = previewLayer(*w, v->baseline ? LayerSettings{} : s, options);
        if (p.values.empty()) p.values = w->data;
        out.push_back(std::make_shared<const std::vector<float>>(std::move(p.values)));
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Export

void WorkbenchDocument::exportVariant(const QString& id, ExportFormat format, const QString& path) {
    const Variant* v = variant(id);
    if (!v || !m_graph) {
        emit exportFailed(tr("Nothing to export: choose an evaluated variant of the open model."));
        return;
    }
    const std::shared_ptr<const Graph> graph = m_graph;
    const Recipe recipe = v->baseline ? Recipe{} : v->recipe;
    const EvaluationSettings settings = m_evalSettings;
    // Nothing the user opened may be replaced: the model, its external data, the data set, the project.
    std::vector<InputPath> inputs = {{m_modelPath.toStdString(), "the model", false},
                                     {m_projectPath.toStdString(), "the project file", false}};
    for (const std::string& file : graph->externalDataFiles) inputs.push_back({file, "an external-data file of the model", false});
    if (!settings.specText.isEmpty())
        for (InputPath& input : datasetInputPaths(settings.spec)) inputs.push_back(std::move(input));
    if (auto allowed = checkOutputPath(path.toStdString(), inputs); !allowed) {
        emit exportFailed(qs(allowed.error().message));
        return;
    }
    const QString key = settings.datasetKey();
    const std::shared_ptr<const Dataset> cached = key == m_datasetKey ? m_dataset : nullptr;
    const CalibrationData cachedCalibration = key == m_datasetKey ? m_calibration : CalibrationData{};
    const QString modelPath = m_modelPath;
    m_exportJob.start<Exported>(
        tr("Exporting %1").arg(v->name),
        [=](const ProgressFn& progress) {
            Exported out;
            std::shared_ptr<const Dataset> dataset = cached;
            if (!dataset && !settings.specText.isEmpty()) {
                auto opened = openDataset(settings.spec, settings.dataset);
                if (opened) dataset = *opened;
            }
            const ActivationSettings activations = recipe.activations.value_or(ActivationSettings{});
            if (format == ExportFormat::QOperator && activations.mode != ActivationMode::Static) {
                out.error = tr("The QOperator format needs static activation quantization; this variant has none. "
                               "Export it as QDQ or float.");
                return out;
            }
            if (activations.mode == ActivationMode::Static && !dataset) {
                out.error = tr("Static activation quantization calibrates on data: set a data set first.");
                return out;
            }
            CalibrationData calibration = cachedCalibration;
            auto options = applyOptionsFor(recipe, settings, dataset, calibration);
            if (!options) {
                out.error = qs(options.error().message);
                return out;
            }
            auto compressed = applyRecipe(*graph, recipe, *options, scaled(progress, 0.f, 0.2f));
            if (!compressed) {
                out.error = qs(compressed.error().message);
                return out;
            }
            auto ranges =
                calibrateActivations(compressed->graph, dataset, activations, {}, scaled(progress, 0.2f, 0.4f));
            if (!ranges) {
                out.error = qs(ranges.error().message);
                return out;
            }
            if (!progress(0.4f, "writing")) return out;
            auto written = exportModel(*compressed, *ranges, format, path.toStdString());
            if (!written) {
                out.error = qs(written.error().message);
                return out;
            }
            ExportSummary s;
            s.path = qs(written->path);
            s.format = format;
            s.size = written->size;
            s.weightBytes = written->weightBytes;
            for (const auto& n : written->notes) s.notes << qs(n);
            for (const auto& w : ranges->warnings) s.notes << qs(w);
            if (auto original = measureFile(modelPath.toStdString())) s.originalSize = *original;
            if (dataset) {
                auto reloaded = readOnnxModel(written->path, scaled(progress, 0.4f, 0.5f));
                if (!reloaded) {
                    out.error = tr("%1 was written but cannot be read back: %2")
                                    .arg(s.path, qs(reloaded.error().message));
                    return out;
                }
                EvalOptions options = settings.eval;
                options.latencySamples = 0;
                auto report = evaluate(*reloaded, *dataset, options, scaled(progress, 0.5f, 1.f));
                if (!report) {
                    if (report.error().code == ErrorCode::Cancelled) return out;
                    s.notes << tr("the written file was not evaluated: %1").arg(qs(report.error().message));
                } else {
                    s.reloadedTop1 = report->top1;
                    s.reloadedSamples = report->n;
                }
            }
            out.summary = std::move(s);
            return out;
        },
        [this, id](Exported out) {
            if (!out.summary) {
                if (!out.error.isEmpty()) emit exportFailed(out.error);
                return;
            }
            out.summary->variantId = id;
            emit exportFinished(*out.summary);
        });
}

void WorkbenchDocument::cancelExport() { m_exportJob.cancel(); }

// ---------------------------------------------------------------------------------------------------------------------
// Project

void WorkbenchDocument::markDirty() {
    if (m_dirty) return;
    m_dirty = true;
    emit dirtyChanged(true);
}

void WorkbenchDocument::setClean() {
    if (!m_dirty) return;
    m_dirty = false;
    emit dirtyChanged(false);
}

void WorkbenchDocument::resetProject() {
    m_evalJob.cancel();
    m_queue.clear();
    m_running.clear();
    m_variants.clear();
    m_nextId = 1;
    m_recipe = Recipe{};
    m_undo->clear();
    m_expectedSha.clear();
    m_classNames.clear();
    const bool hadPath = !m_projectPath.isEmpty();
    m_projectPath.clear();
    if (hadPath) emit projectPathChanged({});
    setClean();
}

void WorkbenchDocument::newProject() {
    const std::shared_ptr<const Graph> graph = m_graph;
    const QString path = m_modelPath;
    resetProject();
    m_graph = graph;
    m_modelPath = path;
    updateGlobalThreshold();
    emit recipeChanged();
    emit variantsChanged();
}

json WorkbenchDocument::toJson(const QString& projectDir) const {
    json variants = json::array();
    for (const Variant& v : m_variants) {
        json j = {{"id", v.id.toStdString()},
                  {"name", v.name.toStdString()},
                  {"note", v.note.toStdString()},
                  {"baseline", v.baseline},
                  {"created", v.created.toString(Qt::ISODate).toStdString()},
                  {"state", stateName(v.metrics ? Variant::State::Done : v.state)},
                  {"recipe", recipeToJson(v.recipe)}};
        if (!v.error.isEmpty()) j["error"] = v.error.toStdString();
        if (v.metrics) j["metrics"] = variantMetricsToJson(*v.metrics);
        variants.push_back(std::move(j));
    }
    json classNames = json::array();
    for (const QString& c : m_classNames) classNames.push_back(c.toStdString());
    const QString relative = projectDir.isEmpty() || m_modelPath.isEmpty() ? m_modelPath
                                                                             : QDir(projectDir).relativeFilePath(m_modelPath);
    return {{"lathe_project", kProjectVersion},
            {"model", {{"path", m_modelPath.toStdString()},
                       {"relative_path", relative.toStdString()},
                       {"sha256", modelSha256().toStdString()}}},
            {"dataset", datasetToJson(m_evalSettings)},
            {"class_names", classNames},
            {"recipe", recipeToJson(m_recipe)},
            {"next_variant", m_nextId},
            {"variants", variants}};
}

bool WorkbenchDocument::saveProject(const QString& path, QString* error) {
    const QString abs = absolute(path);
    const std::string text = toJson(QFileInfo(abs).absolutePath()).dump(2) + "\n";
    if (auto st = writeFileAtomically(abs.toStdString(), text); !st) {
        if (error) *error = qs(st.error().message);
        return false;
    }
    QFile::remove(autosavePathFor(abs));
    if (m_projectPath.isEmpty()) QFile::remove(autosavePathFor({}));
    if (abs != m_projectPath) {
        m_projectPath = abs;
        emit projectPathChanged(abs);
    }
    setClean();
    return true;
}

void WorkbenchDocument::applyProject(ProjectFile project) {
    std::vector<Variant> variants;
    for (ProjectVariant& v : project.variants) {
        Variant x;
        x.id = v.id;
        x.name = v.name;
        x.note = v.note;
        x.baseline = v.baseline;
        x.created = v.created;
        x.error = v.error;
        x.recipe = std::move(v.recipe);
        x.metrics = std::move(v.metrics);
        x.state = x.metrics ? Variant::State::Done : v.failed ? Variant::State::Failed : Variant::State::NotEvaluated;
        variants.push_back(std::move(x));
    }
    const std::shared_ptr<const Graph> graph = m_graph;
    const QString previousModel = m_modelPath;
    resetProject();
    m_modelPath = absolute(project.modelPath);
    // The project's model may be open already; otherwise setModel() brings it once the window has read it.
    m_graph = m_modelPath == previousModel ? graph : nullptr;
    m_expectedSha = project.modelSha256;
    m_evalSettings = EvaluationSettings{};
    m_evalSettings.specText = project.dataset.specText;
    m_evalSettings.spec = project.dataset.spec;
    m_evalSettings.dataset = project.dataset.dataset;
    m_evalSettings.eval = project.dataset.eval;
    m_classNames = project.classNames;
    m_recipe = std::move(project.recipe);
    m_variants = std::move(variants);
    m_nextId = project.nextVariant;
}

bool WorkbenchDocument::openProject(const QString& path, QString* error) {
    const QString abs = absolute(path);
    QFile file(abs);
    if (!file.open(QIODevice::ReadOnly)) {
        if (error) *error = tr("%1: cannot open the project file (%2)").arg(abs, file.errorString());
        return false;
    }
    const QByteArray bytes = file.readAll();
    auto project = parseProjectFile(std::string_view(bytes.constData(), size_t(bytes.size())),
                                    QFileInfo(abs).absolutePath());
    if (!project) {
        if (error) *error = tr("%1: %2").arg(abs, qs(project.error().message));
        return false;
    }
    applyProject(std::move(*project));
    m_projectPath = abs;
    setClean();
    if (m_graph) hashModel();
    updateGlobalThreshold();
    emit projectPathChanged(abs);
    emit recipeChanged();
    emit variantsChanged();
    emit projectOpened(m_modelPath);
    return true;
}

void WorkbenchDocument::setAutosaveInterval(int ms) {
    if (ms <= 0) {
        m_autosaveTimer.stop();
        return;
    }
    m_autosaveTimer.start(ms);
}

QString WorkbenchDocument::autosavePathFor(const QString& projectPath) {
    if (!projectPath.isEmpty()) return absolute(projectPath) + QStringLiteral(".autosave");
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation);
    return QDir(dir).filePath(QStringLiteral("untitled.latheproj.autosave"));
}

QString WorkbenchDocument::autosavePath() const { return autosavePathFor(m_projectPath); }

bool WorkbenchDocument::autosave() {
    const QString path = autosavePath();
    QDir().mkpath(QFileInfo(path).absolutePath());
    json j = toJson(QFileInfo(m_projectPath.isEmpty() ? path : m_projectPath).absolutePath());
    j["autosave_of"] = m_projectPath.toStdString();
    if (!writeFileAtomically(path.toStdString(), j.dump(2) + "\n").ok()) return false;
    emit autosaved(path);
    return true;
}

bool WorkbenchDocument::hasRecoverableAutosave(const QString& projectPath) {
    const QFileInfo autosaveFile(autosavePathFor(projectPath));
    if (!autosaveFile.exists()) return false;
    if (projectPath.isEmpty()) return true;
    const QFileInfo project(projectPath);
    return !project.exists() || autosaveFile.lastModified() >= project.lastModified();
}

bool WorkbenchDocument::recoverAutosave(const QString& projectPath, QString* error) {
    const QString autosaveFile = autosavePathFor(projectPath);
    if (!openProject(autosaveFile, error)) return false;
    m_projectPath = projectPath.isEmpty() ? QString() : absolute(projectPath);
    emit projectPathChanged(m_projectPath);
    markDirty();
    return true;
}

void WorkbenchDocument::discardAutosave() { QFile::remove(autosavePath()); }

}  // namespace lathe
