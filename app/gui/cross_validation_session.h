#pragma once

#include <QObject>
#include <QString>

#include "app/gui/job.h"
#include "core/compress/recipe.h"
#include "widgets/cross_validation_figure.h"

namespace lathe {

class WorkbenchDocument;
struct CrossValidationReport;

// The figure the views show of a cross-validation report.
CrossValidationFigure toFigure(const CrossValidationReport& report);

// One cross-validation at a time of a variant of the WorkbenchDocument, as one Job off the UI thread (progress "fold F
// of K: …", Cancel): K stratified folds of the training data (the same data and blockers as training), the variant's
// recipe trained with its train section (or default fine-tuning) on the other folds and measured on each held-out one.
// The mean ± std is stored on the variant (WorkbenchDocument::setCrossValidation); Cancel stores nothing.
class CrossValidationSession : public QObject {
    Q_OBJECT

public:
    explicit CrossValidationSession(WorkbenchDocument* document, QObject* parent = nullptr);

    // Epochs per fold when none are given: the variant's train epochs, else 1.
    int defaultEpochs(const QString& id) const;
    // Starts cross-validating variant `id` with `folds` folds of `epochs` epochs each; false with `error` saying why
    // when it cannot (a run going on, or what trainBlocker() says).
    bool start(const QString& id, int folds, int epochs, QString* error = nullptr);
    void cancel();
    bool isRunning() const { return m_job.isRunning(); }
    QString variantId() const { return m_id; }
    Job* job() { return &m_job; }

signals:
    void started(const QString& id);
    // The figure was stored on variant `id`.
    void finished(const QString& id);
    void failed(const QString& message);
    // Cancelled: nothing was stored.
    void cancelled();

private:
    WorkbenchDocument* m_doc;
    Job m_job;
    QString m_id;
};

}  // namespace lathe
