#pragma once

#include <QPointF>
#include <QString>
#include <QWidget>
#include <cstdint>
#include <optional>
#include <vector>

#include "widgets/cross_validation_figure.h"

class QButtonGroup;
class QCustomPlot;
class QCPErrorBars;
class QCPGraph;
class QCPItemStraightLine;
class QCPItemText;
class QLabel;

namespace lathe {

// One evaluated variant on the plot.
struct TradeoffPoint {
    QString id;
    QString name;
    double accuracy = 0;  // top-1, percent
    int64_t onnxBytes = 0;
    int64_t zlibBytes = 0;
    bool baseline = false;  // the float model: marked, and the reference line
    QString summary;        // the recipe's summary, shown in the tooltip (multi-line)
    std::optional<CrossValidationFigure> crossValidation;  // drawn as its mean with ±std error bars at the same size
};

// Indices of the points no other point beats on both axes (size smaller or equal, accuracy higher or equal, one of
// them strictly), ordered by size ascending. `points`: x = size, y = accuracy.
std::vector<int> paretoFront(const std::vector<QPointF>& points);

// Accuracy against size (QCustomPlot): size on a log axis in ONNX or zlib bytes (toggle), the float baseline marked
// with its accuracy as a reference line, the Pareto front drawn as a staircase, point labels, a tooltip with the
// recipe summary; clicking a point emits pointClicked.
// Cross-validated variants also show their CV mean (a dash) with ±std error bars at the same size. The context menu saves the plot as PNG/PDF/SVG.
class TradeoffPlot : public QWidget {
    Q_OBJECT

public:
    enum class SizeMetric { Onnx, Zlib };

    explicit TradeoffPlot(QWidget* parent = nullptr);

    // Replaces the points (variants without an evaluation are left out by the caller).
    void setPoints(std::vector<TradeoffPoint> points);
    const std::vector<TradeoffPoint>& points() const { return m_points; }
    // Highlights the variant `id` (ring around its point); empty clears.
    void setCurrent(const QString& id);
    QString current() const { return m_current; }

    SizeMetric sizeMetric() const { return m_metric; }
    void setSizeMetric(SizeMetric metric);

    // Ids on the Pareto front, by size ascending.
    QStringList frontIds() const;
    // Screen position (plot widget coordinates) of the point `id`; (-1, -1) when it is not shown.
    QPoint pointPosition(const QString& id) const;
    // The id of the point within `radius` pixels of `pos` (plot widget coordinates), or empty.
    QString pointAt(const QPoint& pos, double radius = 9) const;
    // Tooltip text of point `id`.
    QString toolTipFor(const QString& id) const;
    QCustomPlot* plot() const { return m_plot; }
    // Error bars drawn: (mean, std) of top-1 per cross-validated point, in point order.
    std::vector<std::pair<double, double>> errorBars() const;

signals:
    void pointClicked(const QString& id);
    void sizeMetricChanged(lathe::TradeoffPlot::SizeMetric metric);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    double sizeOf(const TradeoffPoint& p) const;
    void rebuild();
    void placeLabels();

    std::vector<TradeoffPoint> m_points;
    std::vector<int> m_front;
    QString m_current;
    SizeMetric m_metric = SizeMetric::Onnx;

    QButtonGroup* m_metricGroup;
    QLabel* m_summary;
    QCustomPlot* m_plot;
    QCPGraph* m_frontLine;
    QCPGraph* m_dominated;
    QCPGraph* m_onFront;
    QCPGraph* m_baseline;
    QCPGraph* m_currentRing;
    QCPGraph* m_cvMeans;
    QCPErrorBars* m_cvBars;
    QCPItemStraightLine* m_baselineLine;
    std::vector<QCPItemText*> m_labels;
    std::vector<int> m_labelsToPlace;
    QLabel* m_empty;
};

}  // namespace lathe
