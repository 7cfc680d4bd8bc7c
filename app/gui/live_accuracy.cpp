#include "app/gui/live_accuracy.h"

#include <chrono>
#include <mutex>

#include "app/gui/workbench_document.h"
#include "core/compress/apply_recipe.h"
#include "core/eval/incremental_evaluator.h"

namespace lathe {

// The evaluator of one model + data set + subset, shared by successive live evaluations (each worker locks it while it
// creates or swaps it; IncrementalEvaluator::evaluate serialises the rest).
struct EvaluatorSlot {
    std::mutex mutex;
    QString key;
    std::shared_ptr<IncrementalEvaluator> evaluator;
};

namespace {

struct LiveOutcome {
    std::optional<LiveAccuracyFigure> figure;
    QString reason;  // why there is none (empty with no figure: superseded or cancelled)
};

}  // namespace

LiveAccuracy::LiveAccuracy(WorkbenchDocument* document, QObject* parent)
    : QObject(parent), m_doc(document), m_slot(std::make_shared<EvaluatorSlot>()) {
    connect(m_doc, &WorkbenchDocument::recipeChanged, this, &LiveAccuracy::refresh);
    connect(m_doc, &WorkbenchDocument::modelChanged, this, &LiveAccuracy::refresh);
    connect(&m_job, &Job::failed, this, [this](const QString&, const QString& message) { emit unavailable(message); });
}

LiveAccuracy::~LiveAccuracy() = default;

void LiveAccuracy::setEnabled(bool enabled) {
    if (m_enabled == enabled) return;
    m_enabled = enabled;
    if (!enabled) {
        m_job.cancel();
        emit unavailable(tr("Live accuracy is off."));
    } else {
        refresh();
    }
}

void LiveAccuracy::setSamples(int samples) {
    if (samples == m_samples) return;
    m_samples = samples;
    refresh();
}

void LiveAccuracy::refresh() {
    if (!m_enabled) return;
    const std::shared_ptr<const Graph> graph = m_doc->graph();
    const EvaluationSettings settings = m_doc->evaluationSettings();
    if (!graph) {
        m_job.cancel();
        emit unavailable(tr("Open a model."));
        return;
    }
    if (settings.specText.isEmpty()) {
        m_job.cancel();
        emit unavailable(tr("Choose a data set to see accuracy while editing."));
        return;
    }
    const QString key = QStringLiteral("%1|%2|%3").arg(quintptr(graph.get())).arg(settings.datasetKey()).arg(m_samples);
    const Recipe recipe = m_doc->recipe();
    const OpenedData cached = m_doc->openedData();
    const int samples = m_samples;
    std::shared_ptr<EvaluatorSlot> slot = m_slot;
    m_sinceEdit.start();
    emit evaluating();
    m_job.start<LiveOutcome>(
        tr("Live accuracy"),
        [graph, settings, recipe, cached, samples, key, slot](const ProgressFn& progress) {
            LiveOutcome out;
            std::shared_ptr<IncrementalEvaluator> evaluator;
            {
                std::lock_guard lock(slot->mutex);
                if (slot->key != key || !slot->evaluator) {
                    std::shared_ptr<const Dataset> data = cached.dataset;
                    if (!data || cached.key != settings.datasetKey()) {
                        auto opened = openDataset(settings.spec, settings.dataset);
                        if (!opened) {
                            out.reason = QString::fromStdString(opened.error().message);
                            return out;
                        }
                        data = *opened;
                    }
                    IncrementalEvalOptions options;
                    options.limit = samples;
                    options.threads = settings.eval.threads;
                    auto created = IncrementalEvaluator::create(*graph, data, options, progress);
                    if (!created) {
                        if (created.error().code != ErrorCode::Cancelled)
                            out.reason = QString::fromStdString(created.error().message);
                        return out;
                    }
                    slot->evaluator = std::move(*created);
                    slot->key = key;
                }
                evaluator = slot->evaluator;
            }
            auto compressed = applyRecipe(*graph, recipe, progress);
            if (!compressed) {
                if (compressed.error().code != ErrorCode::Cancelled)
                    out.reason = QString::fromStdString(compressed.error().message);
                return out;
            }
            auto acc = evaluator->evaluate(compressed->graph, progress);
            if (!acc) {
                if (acc.error().code != ErrorCode::Cancelled) out.reason = QString::fromStdString(acc.error().message);
                return out;
            }
            LiveAccuracyFigure f;
            f.top1 = acc->top1;
            f.baselineTop1 = evaluator->baseline().top1;
            f.samples = acc->n;
            f.nodesRun = acc->nodesRun;
            f.nodesTotal = acc->nodesTotal;
            out.figure = f;
            return out;
        },
        [this](LiveOutcome outcome) {
            if (outcome.figure) {
                outcome.figure->milliseconds = double(m_sinceEdit.nsecsElapsed()) / 1e6;
                emit measured(*outcome.figure);
            } else if (!outcome.reason.isEmpty()) {
                emit unavailable(outcome.reason);
            }
        });
}

}  // namespace lathe
