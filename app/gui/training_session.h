#pragma once

#include <QMetaType>
#include <QObject>
#include <QString>
#include <memory>
#include <vector>

#include "app/gui/job.h"
#include "app/gui/variant_jobs.h"
#include "core/compress/recipe.h"
#include "core/train/fine_tune.h"
#include "widgets/train_panel.h"

namespace lathe {

// An epoch as the train panel plots it: losses, accuracy, sparsity (overall and per layer), weight histograms.
TrainEpochPoint toEpochPoint(const EpochRecord& record);

class WorkbenchDocument;

// One training run at a time, started from a variant of the WorkbenchDocument: its recipe plus a train section, as one
// Job off the UI thread (progress, Cancel). Every finished epoch reaches the UI thread as epochFinished(); the trained
// model is then evaluated exactly as the evaluation queue does (evaluateVariant) and added to the document as a new
// variant "<parent> fine-tuned" linked to its parent, with its training history. Cancel keeps the last finished epoch
// (the variant is still added, noted "cancelled after epoch N"); before the first epoch nothing is added.
class TrainingSession : public QObject {
    Q_OBJECT

public:
    explicit TrainingSession(WorkbenchDocument* document, QObject* parent = nullptr);
    ~TrainingSession() override;

    // "fine-tuned", "gradual" (prune_schedule), "Deep Compression" (centroid_epochs), "L1" or "distilled": the new
    // variant's name suffix.
    static QString suffixFor(const TrainSettings& settings);

    // Starts training variant `id` with `settings`; false with `error` saying why when it cannot (no model, no data
    // set, no training data, a run already going, a distillation teacher that is missing).
    bool start(const QString& id, const TrainSettings& settings, QString* error = nullptr);
    // Stops the run: after a finished epoch its weights are evaluated and added; before one, nothing is (cancelled()).
    void cancel();
    bool isRunning() const { return m_job.isRunning(); }
    // The variant being trained (empty when idle).
    QString parentId() const { return m_parentId; }
    // The epochs of the running (or last) run, as epochFinished() delivered them.
    const std::vector<EpochRecord>& history() const { return m_history; }
    Job* job() { return &m_job; }

signals:
    void started(const QString& parentId);
    void epochFinished(const lathe::EpochRecord& record);
    // The trained variant was added to the document under `variantId`.
    void finished(const QString& variantId);
    // Training could not run or failed; nothing was added.
    void failed(const QString& message);
    // Cancelled before the first epoch finished: nothing was added.
    void cancelled();

private:
    struct Shared;

    void onDone(const VariantEvaluation& result, const Recipe& recipe, const QString& suffix);

    WorkbenchDocument* m_doc;
    Job m_job;
    std::shared_ptr<Shared> m_shared;
    QString m_parentId;
    std::vector<EpochRecord> m_history;
};

}  // namespace lathe

Q_DECLARE_METATYPE(lathe::EpochRecord)
