#pragma once

#include <QObject>
#include <QString>
#include <QStringList>
#include <map>
#include <optional>

#include "app/gui/job.h"
#include "core/compress/budget_allocation.h"
#include "core/compress/recipe.h"
#include "core/compress/sensitivity_scan.h"
#include "widgets/sensitivity_view.h"

namespace lathe {

class WorkbenchDocument;

// The sensitivity scan of the WorkbenchDocument's model on its evaluation data (a seeded subset), as one Job off the
// UI thread with progress and Cancel, and what the window derives from it: the curves, a per-layer score, warnings for
// settings the scan says hurt, and allocation under a budget (the Pareto front per target, and plans added as
// variants that the evaluation queue measures on the evaluation data). The result belongs to a model, data set and
// subset; it is kept with the project.
class SensitivitySession : public QObject {
    Q_OBJECT

public:
    explicit SensitivitySession(WorkbenchDocument* document, QObject* parent = nullptr);

    // Starts scanning on `samples` images; false with `error` saying why (no model, no data set, a scan running).
    bool start(int samples, QString* error = nullptr);
    void cancel();
    bool isRunning() const { return m_job.isRunning(); }
    Job* job() { return &m_job; }

    // The scan of the current model and data set, if there is one.
    const SensitivityResult* result() const;
    SensitivityFigure figure() const;
    // Replaces the result (a project being opened); ignored when it does not belong to the current model and data.
    void restore(const SensitivityResult& result, const QString& key);
    // Takes the document's saved scan (an opened project) when it belongs to the current model and data set.
    void restoreFromProject();
    // What identifies the model + data set + subset a result belongs to.
    QString currentKey(int64_t samples) const;
    QString resultKey() const { return m_key; }

    // The plan the budget slider shows: target by name ("bits", …), fraction of the way from the least reachable cost
    // to the float model's.
    BudgetPreview preview(const QString& target, double fraction);
    // Adds the best `count` plans within that budget as variants and queues their evaluation; returns their ids.
    QStringList addPlans(const QString& target, double fraction, int count = 3);
    // Drop in top-1 points the scan measured for `layer` at these settings (the worse of its sparsity and bits points,
    // interpolated); nullopt without a scan of the layer.
    std::optional<double> predictedDrop(const QString& layer, const LayerSettings& settings) const;
    // "conv1 at 2 bits: −23.4 points in the scan; …" for the recipe's layers the scan says lose more than
    // `threshold` points; empty when none do.
    QString warnings(const Recipe& recipe, double threshold = 2.0) const;

signals:
    void started();
    void finished();
    void failed(const QString& message);
    void cancelled();
    // The result was replaced or dropped (a new scan, another model or data set).
    void resultChanged();

private:
    Result<Allocation> allocationFor(const QString& target, std::optional<double> budget);
    double budgetAt(const Allocation& whole, double fraction) const;
    void invalidate();

    WorkbenchDocument* m_doc;
    Job m_job;
    std::optional<SensitivityResult> m_result;
    QString m_key;
    QString m_runningKey;
    std::map<QString, Allocation> m_fronts;  // per target: the allocation at the float cost (its Pareto front)
};

}  // namespace lathe
