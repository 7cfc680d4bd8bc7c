#include "app/gui/variant_evaluation_queue.h"

namespace lathe {

VariantEvaluationQueue::VariantEvaluationQueue(TaskFn taskOf, QObject* parent)
    : QObject(parent), m_taskOf(std::move(taskOf)) {
    connect(&m_job, &Job::progressChanged, this,
            [this](float fraction, const QString&) { emit progressed(m_running, fraction); });
    connect(&m_job, &Job::failed, this, [this](const QString&, const QString& message) {
        VariantEvaluation failed;
        failed.id = m_running;
        failed.error = message;
        finish(std::move(failed));
    });
}

void VariantEvaluationQueue::enqueue(const QString& id) { m_queue << id; }

OpenedData VariantEvaluationQueue::cached(const EvaluationSettings& settings) const {
    return settings.datasetKey() == m_opened.key ? m_opened : OpenedData{};
}

void VariantEvaluationQueue::startNext() {
    if (!m_running.isEmpty()) return;
    std::optional<VariantEvaluationTask> task;
    while (!task && !m_queue.isEmpty()) task = m_taskOf(m_queue.takeFirst());
    if (!task) return;
    m_running = task->id;
    const QString title = tr("Evaluating %1").arg(task->name);
    const OpenedData cache = cached(task->settings);
    m_job.start<VariantEvaluation>(
        title,
        [task = std::move(*task), cache](const ProgressFn& progress) { return evaluateVariant(task, cache, progress); },
        [this](VariantEvaluation result) { finish(std::move(result)); });
    emit started(m_running);
}

void VariantEvaluationQueue::finish(VariantEvaluation result) {
    if (result.opened.dataset) m_opened = result.opened;
    m_running.clear();
    emit finished(result);
}

QStringList VariantEvaluationQueue::cancel() {
    if (m_running.isEmpty() && m_queue.isEmpty()) return {};
    m_job.cancel();
    QStringList stopped = m_queue;
    if (!m_running.isEmpty()) stopped << m_running;
    m_queue.clear();
    m_running.clear();
    return stopped;
}

void VariantEvaluationQueue::remove(const QStringList& ids) {
    if (ids.contains(m_running)) {
        m_job.cancel();
        m_running.clear();
    }
    for (const QString& id : ids) m_queue.removeAll(id);
}

}  // namespace lathe
