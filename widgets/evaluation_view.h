#pragma once

#include <QStringList>
#include <QWidget>
#include <map>

#include "core/eval/evaluator.h"

class QLabel;
class QSplitter;
class QStackedLayout;
class QTableWidget;

namespace lathe {

class ConfusionMatrixPlot;

// Results of one evaluation: headline metrics (top-1, top-5, macro-F1, k-fold mean ± std, n, throughput, latency,
// backend), a per-class precision/recall table and the confusion-matrix heat map; or a placeholder / an error.
class EvaluationView : public QWidget {
    Q_OBJECT

public:
    explicit EvaluationView(QWidget* parent = nullptr);

    // Shows `report`; class i is called classNames[i] (else its number). `heading` names model and data.
    void setReport(const EvalReport& report, const QStringList& classNames, const QString& heading,
                   const QString& details);
    // Drops the shown results and shows `message` instead.
    void clearReport(const QString& message);
    // Drops the shown results and shows `message` as an error.
    void showError(const QString& message);

    bool hasReport() const { return m_hasReport; }
    QString errorText() const;
    // Text of metric `key`: "top1", "top5", "f1", "folds", "n", "throughput", "latency", "backend".
    QString metricText(const QString& key) const;
    QTableWidget* classTable() const { return m_table; }
    ConfusionMatrixPlot* confusionPlot() const { return m_confusion; }

protected:
    // Narrow (a side dock): the confusion matrix goes below the numbers instead of beside them.
    void resizeEvent(QResizeEvent* event) override;

private:
    QLabel* addMetric(const QString& key, const QString& caption, const QString& toolTip, int row, int column);

    QStackedLayout* m_stack;
    QLabel* m_placeholder;
    QLabel* m_heading;
    QLabel* m_details;
    QTableWidget* m_table;
    ConfusionMatrixPlot* m_confusion;
    QSplitter* m_splitter;
    QWidget* m_metrics;
    std::map<QString, QLabel*> m_metricLabels;
    bool m_hasReport = false;
    bool m_showsError = false;
};

}  // namespace lathe
