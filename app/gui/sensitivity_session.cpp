#include "app/gui/sensitivity_session.h"

#include <QLocale>
#include <cmath>

#include "app/gui/workbench_document.h"
#include "core/compress/compressible_layer.h"
#include "core/eval/incremental_evaluator.h"

namespace lathe {

namespace {

// What a scan job gives: the result, or an error (neither: cancelled).
struct ScanOutcome {
    std::optional<SensitivityResult> result;
    QString error;
};

// Linear interpolation of top-1 along a curve sorted by x in either direction; nullopt outside it.
std::optional<double> interpolate(const std::vector<std::pair<double, double>>& curve, double x) {
    for (size_t i = 0; i < curve.size(); ++i) {
        if (std::abs(curve[i].first - x) < 1e-9) return curve[i].second;
        if (i + 1 < curve.size()) {
            const auto [x0, y0] = curve[i];
            const auto [x1, y1] = curve[i + 1];
            if ((x - x0) * (x - x1) < 0) return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
        }
    }
    return std::nullopt;
}

QString costText(BudgetTarget target, double cost, double floatCost, int64_t weights) {
    const QLocale locale;
    const QString percent = QStringLiteral("%1 % of float").arg(floatCost > 0 ? 100.0 * cost / floatCost : 0.0, 0, 'f', 1);
    switch (target) {
        case BudgetTarget::Bits:
            return QObject::tr("≤ %1 weight bits (%2 bits per weight, %3)")
                .arg(locale.toString(qint64(cost)))
                .arg(cost / double(std::max<int64_t>(weights, 1)), 0, 'f', 2)
                .arg(percent);
        case BudgetTarget::Bytes:
            return QObject::tr("≤ %1 bytes of weights and constants in the ONNX file (%2)")
                .arg(locale.toString(qint64(cost)))
                .arg(percent);
        case BudgetTarget::Zlib:
            return QObject::tr("≤ %1 zlib bytes of weights and constants, estimated (%2)")
                .arg(locale.toString(qint64(cost)))
                .arg(percent);
        case BudgetTarget::Nonzeros:
            return QObject::tr(
                       "≤ %1 non-zero weights (%2 sparsity overall; ONNX stores pruned weights dense: the zlib "
                       "size and the sparse count show the saving, the file size does not)")
                .arg(locale.toString(qint64(cost)))
                .arg(QStringLiteral("%1 %").arg(100.0 * (1.0 - cost / std::max(floatCost, 1.0)), 0, 'f', 1));
        case BudgetTarget::Macs:
            return QObject::tr("≤ %1 MACs per image (%2)").arg(locale.toString(qint64(cost))).arg(percent);
        case BudgetTarget::Latency:
            return QObject::tr("≤ %1 ms per image at batch 1 in Lathe's executor, as the scan timed the layers (%2)")
                .arg(cost, 0, 'f', 3)
                .arg(percent);
    }
    return {};
}

QStringList planSettings(const AllocationPlan& plan) {
    QStringList out;
    for (const LayerChoice& c : plan.layers) {
        QStringList parts;
        if (c.sparsity > 0) parts << QStringLiteral("%1 % pruned").arg(100.0 * c.sparsity, 0, 'f', 0);
        if (c.rank > 0) parts << QStringLiteral("rank %1").arg(c.rank);
        if (c.bits < 32) parts << QStringLiteral("%1 bits").arg(c.bits);
        if (!parts.isEmpty()) out << QStringLiteral("%1 %2").arg(QString::fromStdString(c.name), parts.join(' '));
    }
    return out;
}

}  // namespace

SensitivitySession::SensitivitySession(WorkbenchDocument* document, QObject* parent)
    : QObject(parent), m_doc(document) {
    connect(&m_job, &Job::failed, this, [this](const QString&, const QString& message) { emit failed(message); });
    connect(&m_job, &Job::cancelled, this, [this] { emit cancelled(); });
    connect(m_doc, &WorkbenchDocument::modelChanged, this, [this] {
        if (m_result && m_key != currentKey(m_result->samples)) invalidate();
        restoreFromProject();
    });
    connect(m_doc, &WorkbenchDocument::projectOpened, this, [this] { restoreFromProject(); });
}

QString SensitivitySession::currentKey(int64_t samples) const {
    return QStringLiteral("%1|%2|%3|seed 0")
        .arg(m_doc->modelSha256(), m_doc->evaluationSettings().datasetKey())
        .arg(samples);
}

const SensitivityResult* SensitivitySession::result() const {
    if (!m_result || m_key != currentKey(m_result->samples)) return nullptr;
    return &*m_result;
}

void SensitivitySession::invalidate() {
    m_result.reset();
    m_key.clear();
    m_fronts.clear();
    emit resultChanged();
}

void SensitivitySession::restoreFromProject() {
    const std::optional<ProjectSensitivity>& saved = m_doc->sensitivity();
    if (saved && !result() && m_doc->graph()) restore(saved->result, saved->key);
}

void SensitivitySession::restore(const SensitivityResult& result, const QString& key) {
    if (key != currentKey(result.samples)) return;
    m_result = result;
    m_key = key;
    m_fronts.clear();
    emit resultChanged();
}

bool SensitivitySession::start(int samples, QString* error) {
    QString why;
    if (isRunning())
        why = tr("A sensitivity scan is going on: cancel it or wait for it to finish.");
    else if (!m_doc->graph())
        why = tr("Open a model before scanning.");
    else if (m_doc->evaluationSettings().specText.isEmpty())
        why = tr("Choose a data set (Data Set panel) before scanning: each setting is measured on it.");
    if (!why.isEmpty()) {
        if (error) *error = why;
        return false;
    }
    const std::shared_ptr<const Graph> graph = m_doc->graph();
    const EvaluationSettings settings = m_doc->evaluationSettings();
    const OpenedData cached = m_doc->openedData();
    m_runningKey = currentKey(samples);
    m_job.start<ScanOutcome>(
        tr("Sensitivity scan on %1 images").arg(samples),
        [graph, settings, cached, samples](const ProgressFn& progress) {
            ScanOutcome out;
            std::shared_ptr<const Dataset> data = cached.dataset;
            if (!data || cached.key != settings.datasetKey()) {
                auto opened = openDataset(settings.spec, settings.dataset);
                if (!opened) {
                    out.error = QString::fromStdString(opened.error().message);
                    return out;
                }
                data = *opened;
            }
            IncrementalEvalOptions options;
            options.limit = samples;
            options.threads = settings.eval.threads;
            auto evaluator = IncrementalEvaluator::create(*graph, data, options, scaleProgress(progress, 0, 0.05f));
            if (!evaluator) {
                if (evaluator.error().code != ErrorCode::Cancelled)
                    out.error = QString::fromStdString(evaluator.error().message);
                return out;
            }
            auto result = scanSensitivity(*graph, **evaluator, {}, scaleProgress(progress, 0.05f, 1.f));
            if (!result) {
                if (result.error().code != ErrorCode::Cancelled)
                    out.error = QString::fromStdString(result.error().message);
                return out;
            }
            out.result = std::move(*result);
            return out;
        },
        [this](ScanOutcome outcome) {
            if (!outcome.result) {
                if (outcome.error.isEmpty())
                    emit cancelled();
                else
                    emit failed(outcome.error);
                return;
            }
            if (m_runningKey != currentKey(outcome.result->samples)) {
                emit failed(tr("The model or data set changed during the scan; scan again."));
                return;
            }
            m_result = std::move(outcome.result);
            m_key = m_runningKey;
            m_fronts.clear();
            m_doc->setSensitivity({m_key, *m_result});
            emit resultChanged();
            emit finished();
        });
    emit started();
    return true;
}

void SensitivitySession::cancel() { m_job.cancel(); }

SensitivityFigure SensitivitySession::figure() const {
    SensitivityFigure f;
    const SensitivityResult* r = result();
    if (!r) return f;
    f.baselineTop1 = r->baselineTop1;
    f.samples = r->samples;
    f.dataName = m_doc->evaluationSettings().displayName();
    for (const LayerSensitivity& l : r->layers) {
        SensitivityCurves c;
        c.layer = QString::fromStdString(l.name);
        c.params = l.params;
        c.fullRank = l.fullRank;
        for (const auto& [x, y] : l.sparsity) c.sparsity.push_back({x, y});
        for (const auto& [x, y] : l.bits) c.bits.push_back({x, y});
        for (const auto& [x, y] : l.rank) c.rank.push_back({x, y});
        c.score = l.score(r->baselineTop1);
        f.layers.push_back(c);
    }
    return f;
}

Result<Allocation> SensitivitySession::allocationFor(const QString& target, std::optional<double> budget) {
    const SensitivityResult* r = result();
    if (!r) return makeError(ErrorCode::InvalidArgument, tr("Scan first.").toStdString());
    auto t = budgetTargetFromString(target.toStdString());
    if (!t) return makeError(ErrorCode::InvalidArgument, "unknown target " + target.toStdString());
    AllocationOptions options;
    options.target = *t;
    options.refitPruned = true;  // variants that prune refit their kept weights on calibration data when evaluated
    options.budget = budget.value_or(modelCost(*m_doc->graph(), *t, r->latency ? &*r->latency : nullptr));
    return allocateBudget(*m_doc->graph(), *r, options);
}

double SensitivitySession::budgetAt(const Allocation& whole, double fraction) const {
    return whole.minimumCost + std::clamp(fraction, 0.0, 1.0) * (whole.floatCost - whole.minimumCost);
}

BudgetPreview SensitivitySession::preview(const QString& target, double fraction) {
    BudgetPreview p;
    if (!result()) {
        p.error = tr("Scan first: the budget is shared out by the layers' measured curves.");
        return p;
    }
    auto it = m_fronts.find(target);
    if (it == m_fronts.end()) {
        auto whole = allocationFor(target, std::nullopt);
        if (!whole) {
            p.error = QString::fromStdString(whole.error().message);
            return p;
        }
        it = m_fronts.emplace(target, std::move(*whole)).first;
    }
    const Allocation& whole = it->second;
    const double budget = budgetAt(whole, fraction);
    const AllocationPlan* best = nullptr;
    for (const AllocationPlan& plan : whole.pareto)
        if (plan.cost <= budget + 1e-6) best = &plan;
    if (!best) {
        p.error = tr("No plan fits this budget.");
        return p;
    }
    p.costText = costText(whole.target, budget, whole.floatCost, compressibleWeights(*m_doc->graph()));
    p.predictedTop1 = best->predictedTop1;
    p.settings = planSettings(*best);
    return p;
}

QStringList SensitivitySession::addPlans(const QString& target, double fraction, int count) {
    auto it = m_fronts.find(target);
    if (it == m_fronts.end() || !result()) return {};
    const double budget = budgetAt(it->second, fraction);
    auto t = budgetTargetFromString(target.toStdString());
    AllocationOptions options;
    options.target = *t;
    options.budget = budget;
    options.candidates = count;
    options.refitPruned = true;
    auto allocation = allocateBudget(*m_doc->graph(), *result(), options);
    if (!allocation) {
        emit failed(QString::fromStdString(allocation.error().message));
        return {};
    }
    QStringList ids;
    const QString budgetName = costText(*t, budget, allocation->floatCost, compressibleWeights(*m_doc->graph()));
    for (size_t i = 0; i < allocation->candidates.size(); ++i) {
        const AllocationPlan& plan = allocation->candidates[i];
        Variant v;
        v.name = tr("Budget %1 #%2").arg(target).arg(i + 1);
        v.note = tr("Allocated from the sensitivity scan: %1; predicted top-1 %2 %")
                     .arg(budgetName)
                     .arg(plan.predictedTop1, 0, 'f', 2);
        v.recipe = plan.recipe();
        v.recipe.activations = m_doc->recipe().activations;
        const QString id = m_doc->addVariant(std::move(v));
        m_doc->reevaluate(id);
        ids << id;
    }
    return ids;
}

std::optional<double> SensitivitySession::predictedDrop(const QString& layer, const LayerSettings& s) const {
    const SensitivityResult* r = result();
    if (!r) return std::nullopt;
    const std::string name = layer.toStdString();
    auto it =
        std::find_if(r->layers.begin(), r->layers.end(), [&](const LayerSensitivity& l) { return l.name == name; });
    if (it == r->layers.end()) return std::nullopt;
    double drop = 0;
    bool known = false;
    if (s.sparsity && *s.sparsity > 0)
        if (auto top1 = interpolate(it->sparsity, *s.sparsity)) {
            drop = std::max(drop, r->baselineTop1 - *top1);
            known = true;
        }
    if (s.quantized() && s.rounding != Rounding::KMeans)
        if (auto top1 = interpolate(it->bits, double(s.bits))) {
            drop = std::max(drop, r->baselineTop1 - *top1);
            known = true;
        }
    if (s.rank)
        if (auto top1 = interpolate(it->rank, double(*s.rank))) {
            drop = std::max(drop, r->baselineTop1 - *top1);
            known = true;
        }
    if (!known) return std::nullopt;
    return drop;
}

QString SensitivitySession::warnings(const Recipe& recipe, double threshold) const {
    const SensitivityResult* r = result();
    if (!r || !m_doc->graph()) return {};
    QStringList out;
    for (const LayerSensitivity& l : r->layers) {
        const LayerSettings s = resolveLayerSettings(recipe, *m_doc->graph(), findLayerNode(*m_doc->graph(), l.name));
        auto drop = predictedDrop(QString::fromStdString(l.name), s);
        if (!drop || *drop <= threshold) continue;
        QStringList what;
        if (s.sparsity && *s.sparsity > 0) what << tr("%1 % pruned").arg(100.0 * *s.sparsity, 0, 'f', 0);
        if (s.quantized()) what << tr("%1 bits").arg(s.bits);
        if (s.rank) what << tr("rank %1").arg(*s.rank);
        out << tr("%1 at %2: −%3 points in the scan")
                   .arg(QString::fromStdString(l.name), what.join(", "))
                   .arg(*drop, 0, 'f', 1);
    }
    return out.join(QStringLiteral("; "));
}

}  // namespace lathe
