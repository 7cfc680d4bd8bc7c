#pragma once

#include <QObject>
#include <QString>
#include <QStringList>
#include <memory>
#include <optional>
#include <vector>

#include "app/gui/job.h"
#include "core/eval/dataset.h"
#include "core/eval/evaluator.h"
#include "core/runtime/executor.h"
#include "widgets/dataset_panel.h"

namespace lathe {

class ModelDocument;

// Runs the document's model on a data set off the UI thread: whole evaluations (core/eval) and activation captures
// (the built-in Executor with `capture`). Keeps the last opened data set and the compiled executor for reuse; a new
// model cancels both jobs and drops the results.
class EvaluationSession : public QObject {
    Q_OBJECT

public:
    // Values collected at most by one activation capture (later batches are skipped).
    static constexpr int64_t kMaxActivationValues = int64_t(1) << 25;

    explicit EvaluationSession(ModelDocument* document, QObject* parent = nullptr);

    // Starts evaluating the current model; ends with evaluationFinished(), evaluationFailed() or, after
    // cancelEvaluation(), evaluationCancelled().
    void evaluate(const EvaluationSettings& settings);
    void cancelEvaluation();
    bool isEvaluating() const { return m_evalJob.isRunning(); }
    // The last finished evaluation of the current model.
    const std::optional<EvalReport>& report() const { return m_report; }
    const EvaluationSettings& reportSettings() const { return m_reportSettings; }
    // Class names of the last evaluation: the data set's folder names, Fashion-MNIST's names, or empty (numbers).
    const QStringList& classNames() const { return m_classNames; }

    // Runs the model on `samples` images (seeded random sample) and collects node `nodeIndex`'s first output; ends
    // with activationsCaptured() or activationsFailed().
    void captureActivations(int nodeIndex, const EvaluationSettings& settings, int samples);
    void cancelCapture();
    bool isCapturing() const { return m_captureJob.isRunning(); }

    Job* evaluationJob() { return &m_evalJob; }
    Job* captureJob() { return &m_captureJob; }

signals:
    void evaluationStarted();
    void evaluationFinished();
    void evaluationFailed(const QString& message);
    void evaluationCancelled();
    // `shape` is the captured tensor's shape with the batch dimension set to the images used.
    void activationsCaptured(int nodeIndex, std::shared_ptr<const std::vector<float>> values,
                             const std::vector<int64_t>& shape);
    void activationsFailed(int nodeIndex, const QString& message);

private:
    struct Evaluated;
    struct Captured;

    void onModelChanged();
    void rememberDataset(const QString& key, std::shared_ptr<const Dataset> dataset);

    ModelDocument* m_document;
    Job m_evalJob;
    Job m_captureJob;
    std::optional<EvalReport> m_report;
    EvaluationSettings m_reportSettings;
    QStringList m_classNames;
    QString m_datasetKey;
    std::shared_ptr<const Dataset> m_dataset;
    std::shared_ptr<const Graph> m_executorGraph;
    std::shared_ptr<const Executor> m_executor;
};

}  // namespace lathe
