#pragma once

#include <QElapsedTimer>
#include <QMetaType>
#include <QObject>
#include <QString>
#include <memory>

#include "app/gui/job.h"

namespace lathe {

class WorkbenchDocument;
struct EvaluatorSlot;

// What one live evaluation measured.
struct LiveAccuracyFigure {
    double top1 = 0;          // percent, weights compressed as edited (activations float, before any training)
    double baselineTop1 = 0;  // the float model on the same images
    qint64 samples = 0;
    qint64 nodesRun = 0;  // layers re-run (the rest came from cached activations)
    qint64 nodesTotal = 0;
    double milliseconds = 0;  // from the edit to the result
};

// Accuracy while editing: every change of the document's recipe (and of the model or evaluation data) re-evaluates
// the current settings on a fixed seeded subset of the evaluation data, off the UI thread; only the layers from the
// first changed one onward run (IncrementalEvaluator). A newer edit supersedes the running evaluation.
class LiveAccuracy : public QObject {
    Q_OBJECT

public:
    static constexpr int kDefaultSamples = 1000;

    explicit LiveAccuracy(WorkbenchDocument* document, QObject* parent = nullptr);
    ~LiveAccuracy() override;

    void setEnabled(bool enabled);
    bool isEnabled() const { return m_enabled; }
    void setSamples(int samples);
    int samples() const { return m_samples; }
    bool isRunning() const { return m_job.isRunning(); }
    Job* job() { return &m_job; }
    // Starts evaluating the current settings now (the document's signals call it).
    void refresh();

signals:
    void evaluating();
    void measured(const lathe::LiveAccuracyFigure& figure);
    // Nothing to show and why: no data set, settings that cannot be applied, a model the executor cannot run.
    void unavailable(const QString& reason);

private:
    WorkbenchDocument* m_doc;
    Job m_job;
    std::shared_ptr<EvaluatorSlot> m_slot;
    bool m_enabled = true;
    int m_samples = kDefaultSamples;
    QElapsedTimer m_sinceEdit;
};

}  // namespace lathe

Q_DECLARE_METATYPE(lathe::LiveAccuracyFigure)
