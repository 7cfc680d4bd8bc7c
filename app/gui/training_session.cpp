#include "app/gui/training_session.h"

#include <QFileInfo>
#include <atomic>
#include <mutex>

#include "app/gui/variant_jobs.h"
#include "app/gui/workbench_document.h"

namespace lathe {

TrainEpochPoint toEpochPoint(const EpochRecord& e) {
    TrainEpochPoint p;
    p.epoch = e.epoch;
    p.phase = QString::fromStdString(e.phase);
    p.loss = e.loss;
    p.top1 = e.top1;
    p.sparsity = e.sparsity;
    p.seconds = e.seconds;
    p.imagesPerSecond = e.imagesPerSecond;
    p.distillation = e.distillation;
    p.penalty = e.penalty;
    for (const auto& [layer, sparsity] : e.layerSparsity)
        p.layerSparsity.emplace_back(QString::fromStdString(layer), sparsity);
    for (const WeightHistogram& h : e.histograms)
        p.histograms.push_back({QString::fromStdString(h.layer), QString::fromStdString(h.tensor), h.lo, h.hi,
                                h.before, h.now});
    return p;
}

// What the worker and the UI thread share: the stop request, and whether the session still exists to receive epochs.
struct TrainingSession::Shared {
    std::mutex mutex;
    bool alive = true;
    std::atomic<bool> stop{false};
};

TrainingSession::TrainingSession(WorkbenchDocument* document, QObject* parent)
    : QObject(parent), m_doc(document), m_shared(std::make_shared<Shared>()) {
    qRegisterMetaType<lathe::EpochRecord>();
    connect(&m_job, &Job::failed, this, [this](const QString&, const QString& message) {
        m_parentId.clear();
        emit failed(message);
    });
}

TrainingSession::~TrainingSession() {
    const std::lock_guard lock(m_shared->mutex);
    m_shared->alive = false;
    m_shared->stop = true;
}

QString TrainingSession::suffixFor(const TrainSettings& settings) {
    if (settings.mode == TrainObjective::L1) return tr("L1");
    if (settings.mode == TrainObjective::Distill) return tr("distilled");
    if (settings.pruneSchedule) return tr("gradual");
    if (settings.centroidEpochs > 0) return tr("Deep Compression");
    return tr("fine-tuned");
}

bool TrainingSession::start(const QString& id, const TrainSettings& settings, QString* error) {
    QString why;
    if (isRunning())
        why = tr("A training run is going on: cancel it or wait for it to finish.");
    else
        why = m_doc->trainBlocker(id);
    std::optional<VariantEvaluationTask> task = why.isEmpty() ? m_doc->trainingTask(id, settings) : std::nullopt;
    // A teacher that cannot be had fails now, not after the training data is opened.
    if (task && !task->teacher.error.isEmpty()) {
        why = task->teacher.error;
        task.reset();
    } else if (task && task->teacher.kind == TeacherSource::Kind::File && !QFileInfo(task->teacher.file).isFile()) {
        why = tr("The distillation teacher %1 does not exist: choose the teacher's ONNX file again.")
                  .arg(task->teacher.file);
        task.reset();
    }
    if (!task) {
        if (error) *error = why.isEmpty() ? tr("Nothing to train.") : why;
        return false;
    }
    // A fresh shared state per run: a stop request of the last run must not reach this one.
    {
        const std::lock_guard lock(m_shared->mutex);
        m_shared->alive = false;
    }
    m_shared = std::make_shared<Shared>();
    m_parentId = id;
    m_history.clear();
    const std::shared_ptr<Shared> shared = m_shared;
    TrainingHooks hooks;
    hooks.stopRequested = [shared] { return shared->stop.load(); };
    hooks.onEpoch = [this, shared](const EpochRecord& record) {
        const std::lock_guard lock(shared->mutex);
        if (!shared->alive) return;
        QMetaObject::invokeMethod(
            this,
            [this, record] {
                m_history.push_back(record);
                emit epochFinished(record);
            },
            Qt::QueuedConnection);
    };
    const Recipe recipe = task->recipe;
    const QString suffix = suffixFor(settings);
    const OpenedData cached = m_doc->openedData();
    m_job.start<VariantEvaluation>(
        tr("Training %1").arg(task->name),
        [task = std::move(*task), cached, hooks](const ProgressFn& progress) {
            return evaluateVariant(task, cached, progress, hooks);
        },
        [this, recipe, suffix](VariantEvaluation result) { onDone(result, recipe, suffix); });
    emit started(id);
    return true;
}

void TrainingSession::cancel() {
    if (!isRunning()) return;
    m_shared->stop = true;
}

void TrainingSession::onDone(const VariantEvaluation& result, const Recipe& recipe, const QString& suffix) {
    const QString parentId = m_parentId;
    m_parentId.clear();
    if (!result.metrics) {
        if (!result.error.isEmpty())
            emit failed(result.error);
        else
            emit cancelled();
        return;
    }
    const Variant* parent = m_doc->variant(parentId);
    Variant v;
    v.name = QStringLiteral("%1 %2").arg(parent ? parent->name : tr("Variant"), suffix);
    v.recipe = recipe;
    v.metrics = result.metrics;
    v.state = Variant::State::Done;
    v.parentId = parentId;
    v.history = result.history;
    v.trained = result.trained;
    if (result.trainingCancelled && !result.history.empty())
        v.note = tr("cancelled after epoch %1").arg(result.history.back().epoch);
    const QString id = m_doc->addVariant(std::move(v), parentId);
    emit finished(id);
}

}  // namespace lathe
