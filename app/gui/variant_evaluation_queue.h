#pragma once

#include <QObject>
#include <QString>
#include <QStringList>
#include <functional>
#include <optional>

#include "app/gui/job.h"
#include "app/gui/variant_jobs.h"

namespace lathe {

// Evaluates variants one at a time, in the order queued, through one Job off the UI thread (evaluateVariant). Knows
// variants only by id: their settings come from the task function when their turn comes, and the results go out as
// finished(). Keeps the data set (and global_prune's calibration data) last opened, for the next evaluation and export.
class VariantEvaluationQueue : public QObject {
    Q_OBJECT

public:
    // Called when `id`'s turn comes: what to evaluate, or nullopt to skip it (the variant is gone).
    using TaskFn = std::function<std::optional<VariantEvaluationTask>(const QString& id)>;

    explicit VariantEvaluationQueue(TaskFn taskOf, QObject* parent = nullptr);

    // Appends `id` to the queue; it starts with startNext().
    void enqueue(const QString& id);
    // Starts the first queued variant whose task the task function gives, unless one is running. Nothing starts by
    // itself: call it again after finished().
    void startNext();
    // Stops the running evaluation and drops the queue; returns what was queued, then the running id (empty when none
    // ran). Empty when the queue was idle.
    QStringList cancel();
    // Drops `ids` from the queue and stops the running evaluation when it is one of them.
    void remove(const QStringList& ids);

    bool isRunning() const { return m_job.isRunning(); }
    QString running() const { return m_running; }
    // The job evaluating variants (title, progress, cancel) for a TaskProgress strip.
    Job* job() { return &m_job; }
    // The data opened for `settings` by an earlier evaluation, or empty.
    OpenedData cached(const EvaluationSettings& settings) const;

signals:
    void started(const QString& id);
    void progressed(const QString& id, float fraction);
    // The running evaluation ended (the job's exception becomes the error); the queue is idle until startNext().
    void finished(const lathe::VariantEvaluation& result);

private:
    void finish(VariantEvaluation result);

    TaskFn m_taskOf;
    QStringList m_queue;
    QString m_running;
    Job m_job;
    OpenedData m_opened;
};

}  // namespace lathe
