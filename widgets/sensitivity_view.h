#pragma once

#include <QPointF>
#include <QString>
#include <QStringList>
#include <QVector>
#include <QWidget>

class QComboBox;
class QCustomPlot;
class QLabel;
class QPushButton;
class QSlider;
class QSpinBox;

namespace lathe {

// One layer's measured curves: x = sparsity (fraction), bits, or rank; y = top-1 in percent.
struct SensitivityCurves {
    QString layer;
    qint64 params = 0;
    qint64 fullRank = 0;  // 0: no rank curve
    QVector<QPointF> sparsity;
    QVector<QPointF> bits;
    QVector<QPointF> rank;
    double score = 0;  // largest drop up to 50 % sparsity / down to 4 bits, in points
};

// A scan as the view shows it.
struct SensitivityFigure {
    double baselineTop1 = 0;
    qint64 samples = 0;
    QString dataName;  // "Fashion-MNIST test"
    QVector<SensitivityCurves> layers;
};

// What the budget section shows for the slider's position.
struct BudgetPreview {
    QString costText;  // "≤ 245,880 weight bits (4.0 bits per weight, 12.5 % of float)"
    double predictedTop1 = 0;
    QStringList settings;  // "conv1: 8 bits", … (the plan's non-float layers)
    QString error;         // why there is no plan
};

// The sensitivity scan (Distiller-style curves: accuracy against one layer's setting, one line per layer; sparsity,
// bits or rank fraction on the x axis) and allocation under a budget: a target, a slider from the least the curves
// reach to the float model, the plan's predicted top-1 and settings, and a button that adds the best plans as
// variants. The view only shows; the controller scans, allocates and evaluates. The plot's context menu saves it.
class SensitivityView : public QWidget {
    Q_OBJECT

public:
    enum class Axis { Sparsity, Bits, Rank };

    explicit SensitivityView(QWidget* parent = nullptr);

    void setFigure(const SensitivityFigure& figure);
    void clearFigure(const QString& why);
    bool hasFigure() const { return !m_figure.layers.isEmpty(); }
    const SensitivityFigure& figure() const { return m_figure; }
    // Thicker line and a note for the selected layer; empty: none.
    void setCurrentLayer(const QString& layer);
    void setAxis(Axis axis);
    Axis axis() const;
    // Scan in progress: the button becomes Cancel.
    void setScanning(bool scanning);
    int subsetSize() const;
    void setSubsetSize(int samples);

    // Budget section: the targets' names (combo items) and the cost range of the current target.
    QString target() const;
    // Selects the target whose key (the combo's data: "bits", "latency", …) is given; false if there is none.
    bool setTarget(const QString& key);
    QStringList targets() const;
    // Slider position as a fraction in [0, 1] of the range between the least reachable and the float cost.
    double budgetFraction() const;
    void setBudgetFraction(double fraction);
    void setBudgetPreview(const BudgetPreview& preview);
    QCustomPlot* plot() const { return m_plot; }
    QString statusText() const;

signals:
    void scanRequested(int samples);
    void cancelRequested();
    // The target or the slider moved (fraction in [0, 1]).
    void budgetChanged(const QString& target, double fraction);
    void addPlansRequested(const QString& target, double fraction);
    void layerClicked(const QString& layer);

private:
    void redraw();

    SensitivityFigure m_figure;
    QString m_current;
    bool m_scanning = false;
    QComboBox* m_axis;
    QSpinBox* m_subset;
    QPushButton* m_scan;
    QLabel* m_status;
    QCustomPlot* m_plot;
    QComboBox* m_target;
    QSlider* m_budget;
    QLabel* m_budgetText;
    QLabel* m_planText;
    QPushButton* m_addPlans;
};

}  // namespace lathe
