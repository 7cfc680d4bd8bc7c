#include "app/gui/workbench_document.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/common/output_path.h"
#include "core/compress/compressible_layer.h"
#include "core/compress/layer_preview.h"
#include "core/compress/lowrank/svd_decompose.h"
#include "core/compress/lowrank/decompose_layer.h"
#include "core/compress/prune/channel_groups.h"
#include "core/model/model_summary.h"

namespace lathe {

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

QString absolute(const QString& path) { return path.isEmpty() ? path : QFileInfo(path).absoluteFilePath(); }

QString sha256Of(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) return {};
    QCryptographicHash hash(QCryptographicHash::Sha256);
    if (!hash.addData(&file)) return {};
    return QString::fromLatin1(hash.result().toHex());
}

ProjectDataset projectDataset(const EvaluationSettings& s, const QString& trainSpec) {
    return {s.specText, s.spec, s.dataset, s.eval, trainSpec};
}

// "2 epochs · loss 0.31 · cancelled" of a training history.
QString historyText(const std::vector<EpochRecord>& history) {
    if (history.empty()) return {};
    const EpochRecord& last = history.back();
    QString text = QObject::tr("%n epoch(s), last loss %1", nullptr, int(history.size())).arg(last.loss, 0, 'f', 3);
    if (last.distillation) text += QObject::tr(" + distillation term %1").arg(*last.distillation, 0, 'f', 3);
    if (last.top1 >= 0) text += QObject::tr(", top-1 after training %1 %").arg(last.top1, 0, 'f', 2);
    return text;
}

}  // namespace

WorkbenchDocument::WorkbenchDocument(QObject* parent)
    : QObject(parent),
      m_evaluations([this](const QString& id) { return evaluationTask(id); }),
      m_project([this] { return projectFile(); }) {
    qRegisterMetaType<lathe::ExportSummary>();
    m_hashPool.setMaxThreadCount(1);
    m_evalSettings.specText = QString::fromLatin1(DatasetPanel::kDefaultSpec);
    if (auto spec = parseDatasetSpec(m_evalSettings.specText.toStdString())) m_evalSettings.spec = *spec;
    connect(&m_editor, &RecipeEditor::changed, this, [this] {
        m_project.markDirty();
        emit recipeChanged();
    });
    connect(&m_evaluations, &VariantEvaluationQueue::started, this, &WorkbenchDocument::variantsChanged);
    connect(&m_evaluations, &VariantEvaluationQueue::progressed, this, [this](const QString& id, float fraction) {
        if (Variant* v = find(id)) {
            v->progress = fraction;
            emit variantProgress(v->id, fraction);
            emit variantsChanged();
        }
    });
    connect(&m_evaluations, &VariantEvaluationQueue::finished, this, &WorkbenchDocument::onEvaluated);
    connect(&m_hashWatcher, &QFutureWatcher<QString>::finished, this, [this] {
        m_sha = m_hashWatcher.result();
        if (!m_expectedSha.isEmpty() && !m_sha.isEmpty() && m_sha != m_expectedSha)
            emit modelMismatch(tr("%1 is not the file this project was made with (its SHA-256 differs): the "
                                  "variants' metrics may not match what it gives now. Re-evaluate them to be sure.")
                                   .arg(m_modelPath));
    });
    connect(&m_project, &WorkbenchProject::dirtyChanged, this, &WorkbenchDocument::dirtyChanged);
    connect(&m_project, &WorkbenchProject::pathChanged, this, &WorkbenchDocument::projectPathChanged);
    connect(&m_project, &WorkbenchProject::autosaved, this, &WorkbenchDocument::autosaved);
}

WorkbenchDocument::~WorkbenchDocument() {
    m_evaluations.cancel();
    m_exportJob.cancel();
    m_hashWatcher.waitForFinished();
}

// ---------------------------------------------------------------------------------------------------------------------
// Model

void WorkbenchDocument::setModel(std::shared_ptr<const Graph> model, const QString& path,
                                 std::shared_ptr<const ChannelGroups> channelGroups) {
    const QString abs = absolute(path);
    const bool sameModel = !abs.isEmpty() && abs == m_modelPath;
    if (!sameModel) resetProject();
    if (model && !channelGroups) channelGroups = std::make_shared<const ChannelGroups>(findChannelGroups(*model));
    m_channelGroups = model ? std::move(channelGroups) : nullptr;
    const ModelSummary totals = model ? summarizeModel(*model) : ModelSummary{};
    m_modelMacs = totals.totalMacs;
    m_modelParams = totals.totalParams;
    m_editor.setGraph(std::move(model));
    m_modelPath = graph() || sameModel ? abs : QString();
    if (graph() && sameModel && !QFileInfo::exists(abs)) emit modelMismatch(tr("%1 no longer exists on disk").arg(abs));
    hashModel();
    emit modelChanged();
    emit recipeChanged();
    emit variantsChanged();
}

void WorkbenchDocument::hashModel() {
    m_sha.clear();
    if (m_modelPath.isEmpty() || !graph()) return;
    const QString path = m_modelPath;
    m_hashWatcher.setFuture(QtConcurrent::run(&m_hashPool, [path] { return sha256Of(path); }));
}

QString WorkbenchDocument::modelSha256() const {
    if (m_hashWatcher.isRunning()) {
        m_hashWatcher.waitForFinished();
        return m_hashWatcher.result();
    }
    return m_sha;
}

QString WorkbenchDocument::layerOfNode(int nodeIndex) const {
    if (!graph()) return {};
    auto lw = layerWeight(*graph(), nodeIndex);
    return lw ? qs(lw->nodeName) : QString();
}

InspectorLayer WorkbenchDocument::inspectorLayer(const QString& layer) const {
    InspectorLayer out;
    const std::shared_ptr<const Graph>& model = m_editor.graph();
    const int node = nodeOfLayer(layer);
    if (node < 0) return out;
    auto lw = layerWeight(*model, node);
    const Tensor* w = lw ? model->initializer(lw->weight) : nullptr;
    if (!w) return out;
    out.name = qs(lw->nodeName);
    out.opType = qs(lw->opType);
    out.weight = std::shared_ptr<const Tensor>(model, w);  // aliases the graph: lives as long as the inspector needs
    out.channelAxis = lw->channelAxis;
    out.channels = size_t(lw->channelAxis) < w->shape.size() ? w->shape[size_t(lw->channelAxis)] : 0;
    const LayerChannels channels = channelsOfLayer(*model, *m_channelGroups, lw->nodeName);
    out.structuredApplies = channels.refusal.empty();
    for (const auto& l : channels.layers) out.channelGroup << qs(l);
    out.structuredRefusal = qs(channels.refusal);
    if (out.structuredApplies) {
        out.channels = channels.channels;
        out.structuredSaving = [model, groups = m_channelGroups, group = channels.group,
                                total = channels.channels](int64_t keep) {
            return channelSaving(*model, groups->groups[size_t(group)], total - keep);
        };
        out.modelMacs = m_modelMacs;
        out.modelParams = m_modelParams;
    }
    out.fullRank = svdDecomposeApplies(*model, node) ? decompositionFullRank(*model, node) : 0;
    std::tie(out.tucker2FullOut, out.tucker2FullIn) = decompositionFullRanks(*model, node, LowRankMethod::Tucker2);
    out.spatialFullRank = decompositionFullRanks(*model, node, LowRankMethod::Spatial).first;
    const LayerGeometry geometry = layerGeometry(*model, node);
    out.macs = geometry.macs;
    out.inputSpatial = geometry.inputSpatial;
    out.outputSpatial = geometry.outputSpatial;
    out.preview = [](const Tensor& weight, const LayerSettings& settings, const PreviewOptions& options) {
        return previewLayer(weight, settings, options);
    };
    out.spectrum = [](const Tensor& weight) { return weightSingularValues(weight); };
    return out;
}

void WorkbenchDocument::setEvaluationSettings(const EvaluationSettings& settings) {
    const bool changed = projectDatasetToJson(projectDataset(settings, m_trainSpec)) !=
                         projectDatasetToJson(projectDataset(m_evalSettings, m_trainSpec));
    m_evalSettings = settings;
    if (changed) m_project.markDirty();
}

void WorkbenchDocument::setBaselineEvaluation(const EvaluationSettings& settings, const QStringList& classNames,
                                              const EvalReport& report) {
    BaselineEvaluation e{projectDataset(settings, {}), classNames, report};
    e.report.indices.clear();
    e.report.predictions.clear();
    m_baselineEvaluation = std::move(e);
    m_project.markDirty();
}

EvaluationSettings WorkbenchDocument::settingsOf(const BaselineEvaluation& evaluation) {
    EvaluationSettings s;
    s.specText = evaluation.dataset.specText;
    s.spec = evaluation.dataset.spec;
    s.dataset = evaluation.dataset.dataset;
    s.eval = evaluation.dataset.eval;
    return s;
}

bool WorkbenchDocument::sameEvaluation(const EvaluationSettings& a, const EvaluationSettings& b) {
    return projectDatasetToJson(projectDataset(a, {})) == projectDatasetToJson(projectDataset(b, {}));
}

void WorkbenchDocument::setTrainDataSpec(const QString& spec) {
    if (spec.trimmed() == m_trainSpec) return;
    m_trainSpec = spec.trimmed();
    m_project.markDirty();
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

QString WorkbenchDocument::addVariant(Variant variant, const QString& after) {
    variant.id = newId();
    variant.created = QDateTime::currentDateTime();
    if (variant.state == Variant::State::Queued || variant.state == Variant::State::Running)
        variant.state = Variant::State::NotEvaluated;
    auto at = std::find_if(m_variants.begin(), m_variants.end(), [&](const Variant& x) { return x.id == after; });
    if (at != m_variants.end()) ++at;
    const QString id = variant.id;
    m_variants.insert(at, std::move(variant));
    m_project.markDirty();
    emit variantsChanged();
    return id;
}

QString WorkbenchDocument::duplicateVariant(const QString& id) {
    const Variant* v = find(id);
    if (!v) return {};
    Variant copy = *v;
    copy.name = tr("%1 copy").arg(v->name);
    copy.baseline = false;
    return addVariant(std::move(copy), id);
}

void WorkbenchDocument::renameVariant(const QString& id, const QString& name) {
    Variant* v = find(id);
    if (!v || name.trimmed().isEmpty() || v->name == name.trimmed()) return;
    v->name = name.trimmed();
    m_project.markDirty();
    emit variantsChanged();
}

void WorkbenchDocument::setVariantNote(const QString& id, const QString& note) {
    Variant* v = find(id);
    if (!v || v->note == note) return;
    v->note = note;
    m_project.markDirty();
    emit variantsChanged();
}

void WorkbenchDocument::setCrossValidation(const QString& id, const CrossValidationFigure& figure) {
    Variant* v = find(id);
    if (!v) return;
    v->crossValidation = figure;
    m_project.markDirty();
    emit variantsChanged();
}

void WorkbenchDocument::removeVariants(const QStringList& ids) {
    m_evaluations.remove(ids);
    const auto removed = std::erase_if(m_variants, [&](const Variant& v) { return ids.contains(v.id); });
    if (removed == 0) return;
    m_project.markDirty();
    emit variantsChanged();
    startNextEvaluation();
}

void WorkbenchDocument::loadVariant(const QString& id) {
    const Variant* v = find(id);
    if (!v) return;
    setRecipe(v->recipe, tr("load settings of %1").arg(v->name));
}

// ---------------------------------------------------------------------------------------------------------------------
// Evaluation

QString WorkbenchDocument::evaluateCurrent(const QString& name) {
    if (!graph()) {
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
        m_evaluations.enqueue(base.id);
        m_variants.insert(m_variants.begin(), std::move(base));
    }
    Variant v;
    v.id = newId();
    int count = 0;
    for (const Variant& x : m_variants) count += x.baseline ? 0 : 1;
    v.name = name.isEmpty() ? tr("Variant %1").arg(count + 1) : name;
    v.recipe = recipe();
    v.state = Variant::State::Queued;
    v.created = QDateTime::currentDateTime();
    m_variants.push_back(v);
    m_evaluations.enqueue(v.id);
    m_project.markDirty();
    emit variantsChanged();
    startNextEvaluation();
    return v.id;
}

void WorkbenchDocument::reevaluate(const QString& id) {
    Variant* v = find(id);
    if (!v || v->state == Variant::State::Queued || v->state == Variant::State::Running) return;
    if (!graph()) {
        emit errorOccurred(tr("Open the model before evaluating a variant."));
        return;
    }
    v->state = Variant::State::Queued;
    v->error.clear();
    m_evaluations.enqueue(id);
    emit variantsChanged();
    startNextEvaluation();
}

void WorkbenchDocument::cancelEvaluation() {
    const QStringList stopped = m_evaluations.cancel();
    if (stopped.isEmpty()) return;
    for (const QString& id : stopped)
        if (Variant* v = find(id)) {
            v->state = v->metrics ? Variant::State::Done : Variant::State::NotEvaluated;
            v->progress = 0;
        }
    emit variantsChanged();
}

void WorkbenchDocument::startNextEvaluation() {
    if (graph()) m_evaluations.startNext();
}

std::optional<VariantEvaluationTask> WorkbenchDocument::evaluationTask(const QString& id) {
    Variant* v = find(id);
    if (!v) return std::nullopt;
    v->state = Variant::State::Running;
    v->progress = 0;
    VariantEvaluationTask task{v->id,       v->name,        graph(),         m_modelPath, v->recipe,
                               v->baseline, m_evalSettings, trainDataSpec(), v->trained, teacherSource(v->recipe),
                               std::nullopt};
    // Model ▸ Evaluate measured the float model on the same settings already: its report is the baseline's.
    if (v->baseline && m_baselineEvaluation && sameEvaluation(settingsOf(*m_baselineEvaluation), m_evalSettings))
        task.measured = m_baselineEvaluation->report;
    return task;
}

QString WorkbenchDocument::trainBlocker(const QString& id) const {
    if (!graph()) return tr("Open a model first: training starts from a variant of it.");
    const Variant* v = variant(id);
    if (!v) return tr("Select a variant to train (Evaluate Variant makes one from the current settings): training starts "
                         "from its settings.");
    return trainDataProblem(m_evalSettings, trainDataSpec());
}

std::optional<VariantEvaluationTask> WorkbenchDocument::trainingTask(const QString& id,
                                                                     const TrainSettings& settings) const {
    if (!trainBlocker(id).isEmpty()) return std::nullopt;
    const Variant* v = variant(id);
    Recipe recipe = v->baseline ? Recipe{} : v->recipe;
    recipe.train = settings;
    TeacherSource teacher = teacherSource(recipe);
    return VariantEvaluationTask{v->id,          v->name, graph(),           m_modelPath, std::move(recipe), false,
                                 m_evalSettings, trainDataSpec(), nullptr, std::move(teacher), std::nullopt};
}

TeacherSource WorkbenchDocument::teacherSource(const Recipe& recipe) const {
    TeacherSource out;
    if (!recipe.train || recipe.train->mode != TrainObjective::Distill) return out;
    const std::string teacher = recipe.train->distill.value_or(DistillSettings{}).teacher;
    if (teacher == "baseline") return out;
    if (const QString id = teacherVariantId(teacher); !id.isEmpty()) {
        const Variant* v = variant(id);
        if (!v) {
            out.error = tr("The distillation teacher, variant %1, is no longer in the project: choose another teacher.")
                            .arg(id);
            return out;
        }
        if (v->baseline) return out;
        out.kind = TeacherSource::Kind::Variant;
        out.variantName = v->name;
        out.recipe = v->recipe;
        out.trained = v->trained;
        if (v->recipe.train && !v->trained)
            out.error = tr("The distillation teacher %1 was trained, and its trained weights are not in memory (a "
                           "project keeps recipes, not weights): evaluate %1 again first, then train.")
                            .arg(v->name);
        return out;
    }
    out.kind = TeacherSource::Kind::File;
    out.file = qs(teacher);
    if (QFileInfo(out.file).isRelative() && !projectPath().isEmpty())
        out.file = QFileInfo(projectPath()).dir().filePath(out.file);
    return out;
}

QString WorkbenchDocument::lineage(const QString& id) const {
    const Variant* v = variant(id);
    if (!v || (v->parentId.isEmpty() && !v->recipe.train)) return {};
    QString text;
    if (!v->parentId.isEmpty()) {
        const Variant* parent = variant(v->parentId);
        text = tr("fine-tuned from %1").arg(parent ? parent->name : tr("a deleted variant"));
    } else {
        text = tr("trained by its recipe's train section");
    }
    if (v->recipe.train && v->recipe.train->mode == TrainObjective::Distill) {
        const std::string teacher = v->recipe.train->distill.value_or(DistillSettings{}).teacher;
        const QString id = teacherVariantId(teacher);
        const Variant* t = id.isEmpty() ? nullptr : variant(id);
        text += tr(", distilled from %1")
                    .arg(teacher == "baseline" ? tr("the baseline")
                         : !id.isEmpty()       ? (t ? t->name : tr("a deleted variant"))
                                               : QFileInfo(qs(teacher)).fileName());
    }
    if (!v->history.empty()) text += QStringLiteral(" (%1)").arg(historyText(v->history));
    return text;
}

void WorkbenchDocument::onEvaluated(const VariantEvaluation& out) {
    if (!out.classNames.isEmpty()) m_classNames = out.classNames;
    if (Variant* v = find(out.id)) {
        v->progress = out.metrics ? 1.f : 0.f;
        if (out.trained) v->trained = out.trained;
        if (!out.history.empty()) v->history = out.history;
        if (out.metrics) {
            v->metrics = out.metrics;
            v->state = Variant::State::Done;
            v->error.clear();
            m_project.markDirty();
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
    startNextEvaluation();
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
        p.crossValidation = v.crossValidation;
        p.summary = v.baseline ? tr("the model as read, float32") : recipeSummary(v.recipe);
        if (const QString from = lineage(v.id); !from.isEmpty()) p.summary = from + QLatin1Char('\n') + p.summary;
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
        r.crossValidation = v.crossValidation;
        if (v.metrics) {
            r.top1 = v.metrics->top1;
            r.macroF1 = v.metrics->macroF1;
            r.onnxBytes = v.metrics->onnxBytes;
            r.zlibBytes = v.metrics->zlibBytes;
            if (baseBytes > 0 && r.onnxBytes > 0) r.ratio = double(baseBytes) / double(r.onnxBytes);
        }
        r.summary = v.baseline ? tr("the model as read, float32") : recipeSummary(v.recipe);
        if (const QString from = lineage(v.id); !from.isEmpty()) {
            r.summary = from + QLatin1Char('\n') + r.summary;
            r.summary += QLatin1Char('\n') +
                         (v.trained ? tr("Trained weights are in memory: export writes them without training again.")
                                    : tr("Trained weights are not kept in the project: evaluating or exporting trains "
                                         "again (seeded: the same weights on the same machine)."));
        }
        // What the evaluation noted: settings skipped, the refit of pruned weights, what the format could not keep.
        if (v.metrics)
            for (const QString& note : v.metrics->notes) r.summary += QStringLiteral("\n• ") + note;
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
        c.weightBytes = m.weightBytes;
        c.deepCompressionBytes = m.deepCompressionBytes;
        c.params = m.params;
        c.macs = m.macs;
        c.confusion = m.confusion;
        c.lineage = lineage(v->id);
        c.crossValidation = v->crossValidation;
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
            if (r.rank <= 0)
                l.rank = QStringLiteral("–");
            else if (r.lowRankMethod == LowRankMethod::Tucker2)
                l.rank = tr("Tucker-2 %1 × %2 / %3 × %4").arg(r.rank).arg(r.rankIn).arg(r.fullRank).arg(r.fullRankIn);
            else
                l.rank = (r.lowRankMethod == LowRankMethod::Spatial ? tr("spatial %1 / %2") : QStringLiteral("%1 / %2"))
                             .arg(r.rank)
                             .arg(r.fullRank);
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
    const std::shared_ptr<const Graph>& model = m_editor.graph();
    const int node = nodeOfLayer(layer);
    auto lw = node >= 0 ? layerWeight(*model, node) : std::nullopt;
    const Tensor* w = lw ? model->initializer(lw->weight) : nullptr;
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
        options.structured = channelsOfLayer(*model, *m_channelGroups, lw->nodeName).refusal.empty();
        if (s.globalPrune) options.globalThreshold = m_editor.globalThresholdFor(v->recipe);
        options.keepValues = true;
        LayerPreview p = previewLayer(*w, v->baseline ? LayerSettings{} : s, options);
        if (p.values.empty()) p.values.assign(w->data.begin(), w->data.end());
        out.push_back(std::make_shared<const std::vector<float>>(std::move(p.values)));
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Export

void WorkbenchDocument::exportVariant(const QString& id, ExportFormat format, const QString& path) {
    const Variant* v = variant(id);
    if (!v || !graph()) {
        emit exportFailed(tr("Nothing to export: choose an evaluated variant of the open model."));
        return;
    }
    VariantExportTask task{id,   graph(),         m_modelPath, v->baseline ? Recipe{} : v->recipe,
                           m_evalSettings, format, path, trainDataSpec(), v->trained, {}};
    task.teacher = teacherSource(task.recipe);
    // Nothing the user opened may be replaced: the model, its external data, the data set, the project.
    std::vector<InputPath> inputs = {{m_modelPath.toStdString(), "the model", false},
                                     {projectPath().toStdString(), "the project file", false}};
    for (const std::string& file : task.graph->externalDataFiles)
        inputs.push_back({file, "an external-data file of the model", false});
    if (task.teacher.kind == TeacherSource::Kind::File)
        inputs.push_back({task.teacher.file.toStdString(), "the distillation teacher", false});
    if (!task.settings.specText.isEmpty())
        for (InputPath& input : datasetInputPaths(task.settings.spec)) inputs.push_back(std::move(input));
    if (auto allowed = checkOutputPath(path.toStdString(), inputs); !allowed) {
        emit exportFailed(qs(allowed.error().message));
        return;
    }
    const OpenedData cached = m_evaluations.cached(task.settings);
    m_exportJob.start<ExportedVariant>(
        tr("Exporting %1").arg(v->name),
        [task = std::move(task), cached](const ProgressFn& progress) {
            return exportVariantFile(task, cached, progress);
        },
        [this](ExportedVariant out) {
            if (out.summary)
                emit exportFinished(*out.summary);
            else if (!out.error.isEmpty())
                emit exportFailed(out.error);
        });
}

// ---------------------------------------------------------------------------------------------------------------------
// Project

void WorkbenchDocument::resetProject() {
    m_evaluations.cancel();
    m_variants.clear();
    m_nextId = 1;
    m_editor.reset();
    m_expectedSha.clear();
    m_classNames.clear();
    m_baselineEvaluation.reset();
    m_sensitivity.reset();
    m_project.reset();
}

void WorkbenchDocument::setSensitivity(const ProjectSensitivity& sensitivity) {
    m_sensitivity = sensitivity;
    m_project.markDirty();
}

void WorkbenchDocument::newProject() {
    resetProject();
    emit recipeChanged();
    emit variantsChanged();
}

ProjectFile WorkbenchDocument::projectFile() const {
    ProjectFile project;
    project.modelPath = m_modelPath;
    project.modelSha256 = modelSha256();
    project.dataset = projectDataset(m_evalSettings, m_trainSpec);
    project.classNames = m_classNames;
    project.recipe = recipe();
    project.nextVariant = m_nextId;
    project.evaluation = m_baselineEvaluation;
    project.sizeAxis = m_sizeAxis;
    project.sensitivity = m_sensitivity;
    for (const Variant& v : m_variants)
        project.variants.push_back({v.id, v.name, v.note, v.baseline, v.created, v.error,
                                    v.state == Variant::State::Failed, v.recipe, v.metrics, v.parentId, v.history,
                                    v.crossValidation});
    return project;
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
        x.parentId = v.parentId;
        x.history = std::move(v.history);
        x.crossValidation = v.crossValidation;
        x.state = x.metrics ? Variant::State::Done : v.failed ? Variant::State::Failed : Variant::State::NotEvaluated;
        variants.push_back(std::move(x));
    }
    const std::shared_ptr<const Graph> model = graph();
    const QString previousModel = m_modelPath;
    resetProject();
    m_modelPath = absolute(project.modelPath);
    // The project's model may be open already; otherwise setModel() brings it once the window has read it.
    m_editor.setGraph(m_modelPath == previousModel ? model : nullptr);
    if (!graph()) m_channelGroups.reset();  // the same model keeps its groups
    m_editor.reset(std::move(project.recipe));
    m_expectedSha = project.modelSha256;
    m_evalSettings = EvaluationSettings{};
    m_evalSettings.specText = project.dataset.specText;
    m_evalSettings.spec = project.dataset.spec;
    m_evalSettings.dataset = project.dataset.dataset;
    m_evalSettings.eval = project.dataset.eval;
    m_trainSpec = project.dataset.trainSpecText;
    m_classNames = project.classNames;
    m_variants = std::move(variants);
    m_nextId = project.nextVariant;
    m_baselineEvaluation = std::move(project.evaluation);
    m_sizeAxis = project.sizeAxis;
    m_sensitivity = std::move(project.sensitivity);
}

bool WorkbenchDocument::openProject(const QString& path, QString* error) {
    std::optional<ProjectFile> project = WorkbenchProject::read(path, error);
    if (!project) return false;
    applyProject(std::move(*project));
    m_project.setPath(path);
    if (graph()) hashModel();
    emit recipeChanged();
    emit variantsChanged();
    emit projectOpened(m_modelPath);
    return true;
}

bool WorkbenchDocument::recoverAutosave(const QString& projectPath, QString* error) {
    if (!openProject(autosavePathFor(projectPath), error)) return false;
    m_project.setPath(projectPath);
    m_project.markDirty();
    return true;
}

}  // namespace lathe
