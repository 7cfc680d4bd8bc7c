#include "widgets/train_curves.h"

#include <algorithm>
#include <cmath>

#include "widgets/plot_export.h"
#include "widgets/workbench_style.h"

namespace lathe {

TrainCurves::TrainCurves(QWidget* parent) : QCustomPlot(parent) {
    style::stylePlot(this);
    setMinimumHeight(180);
    xAxis->setLabel(tr("epoch"));
    yAxis->setLabel(tr("training loss"));
    yAxis2->setVisible(true);
    yAxis2->setLabel(tr("top-1 / sparsity (%)"));
    style::styleAxis(yAxis2, font());
    yAxis2->setRange(0, 100);
    QSharedPointer<QCPAxisTickerFixed> epochTicker(new QCPAxisTickerFixed);
    epochTicker->setTickStep(1);
    epochTicker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    xAxis->setTicker(epochTicker);
    auto curve = [&](QCPAxis* value, const QColor& color, const QString& name, Qt::PenStyle pen) {
        QCPGraph* g = QCustomPlot::addGraph(xAxis, value);
        g->setName(name);
        g->setPen(QPen(color, 2, pen));
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, color, Qt::white, 6));
        return g;
    };
    curve(yAxis, style::kBlue, tr("training loss"), Qt::SolidLine);
    curve(yAxis2, style::kGreen, tr("top-1 (evaluation)"), Qt::SolidLine);
    curve(yAxis2, style::kOrange, tr("sparsity"), Qt::DashLine);
    curve(yAxis, style::seriesColor(5), tr("distillation term"), Qt::SolidLine);
    legend->setVisible(true);
    QFont legendFont = font();
    legendFont.setPointSizeF(8);
    legend->setFont(legendFont);
    // The legend in a row above the axes: inside, it would hide the curves in the dock's small plot.
    plotLayout()->insertRow(0);
    plotLayout()->addElement(0, 0, legend);
    plotLayout()->setRowStretchFactor(0, 0.001);
    legend->setFillOrder(QCPLegend::foColumnsFirst);
    legend->setBorderPen(Qt::NoPen);
    legend->setMargins(QMargins(4, 2, 4, 0));
    legend->setIconSize(20, 10);
    setToolTip(tr("Per epoch: the mean training loss (left axis; distillation shows its two terms, the labels' "
                  "cross-entropy and the distillation term), the top-1 accuracy on the evaluation data and the "
                  "sparsity (right axis). Right-click to save it as PNG."));
    installPlotContextMenu(this, [] { return QStringLiteral("training_curves"); });
    setPoints({}, 1, false);
}

void TrainCurves::setPoints(const std::vector<TrainEpochPoint>& points, int plannedEpochs, bool distillation) {
    QVector<double> x, loss, tx, top1, sparsity, dx, distill;
    double maxLoss = 0;
    double lowPercent = 100;
    for (const TrainEpochPoint& p : points) {
        lowPercent = std::min(lowPercent, p.sparsity * 100.0);
        if (p.top1 >= 0) lowPercent = std::min(lowPercent, p.top1);
        x << p.epoch;
        loss << p.loss;
        sparsity << p.sparsity * 100.0;
        maxLoss = std::max(maxLoss, p.loss);
        if (p.top1 >= 0) {
            tx << p.epoch;
            top1 << p.top1;
        }
        if (p.distillation) {
            dx << p.epoch;
            distill << *p.distillation;
            maxLoss = std::max(maxLoss, *p.distillation);
        }
    }
    graph(0)->setData(x, loss, true);
    graph(1)->setData(tx, top1, true);
    graph(2)->setData(x, sparsity, true);
    graph(3)->setData(dx, distill, true);
    // Distillation has two loss terms: the labels' cross-entropy and the teacher's term, each its own curve.
    const bool distilling = !dx.isEmpty() || (points.empty() && distillation);
    graph(0)->setName(distilling ? tr("cross-entropy (labels)") : tr("training loss"));
    graph(3)->setVisible(distilling);
    if (distilling)
        graph(3)->addToLegend();
    else
        graph(3)->removeFromLegend();
    yAxis->setLabel(distilling ? tr("loss terms") : tr("training loss"));
    const int last = points.empty() ? 1 : points.back().epoch;
    xAxis->setRange(0.5, std::max(last, plannedEpochs) + 0.5);
    yAxis->setRange(0, maxLoss > 0 ? maxLoss * 1.15 : 1.0);
    // The right axis spans the percentages shown (top-1 moves by tenths of a point; 0..100 would flatten it).
    yAxis2->setRange(points.empty() ? 0 : std::max(0.0, std::floor(lowPercent / 5.0) * 5.0 - 5.0), 100);
    replot(rpQueuedReplot);
}

}  // namespace lathe
