#include "widgets/sensitivity_view.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>

#include "widgets/plot_export.h"
#include "widgets/workbench_style.h"

namespace lathe {

namespace {
constexpr int kSliderSteps = 1000;
}

SensitivityView::SensitivityView(QWidget* parent)
    : QWidget(parent),
      m_axis(new QComboBox(this)),
      m_subset(new QSpinBox(this)),
      m_scan(new QPushButton(tr("Scan"), this)),
      m_status(new QLabel(this)),
      m_plot(new QCustomPlot(this)),
      m_target(new QComboBox(this)),
      m_budget(new QSlider(Qt::Horizontal, this)),
      m_budgetText(new QLabel(this)),
      m_planText(new QLabel(this)),
      m_addPlans(new QPushButton(tr("Add Best Plans as Variants"), this)) {
    m_axis->addItem(tr("Sparsity"));
    m_axis->addItem(tr("Bits"));
    m_axis->addItem(tr("Rank"));
    m_axis->setToolTip(tr("The setting on the x axis: each curve changes one layer alone, the others stay float"));
    m_subset->setRange(100, 60000);
    m_subset->setSingleStep(500);
    m_subset->setValue(1000);
    m_subset->setSuffix(tr(" images"));
    m_subset->setToolTip(tr("Seeded random subset of the evaluation data each setting is measured on"));
    m_scan->setToolTip(
        tr("Sweep every compressible layer's sparsity (10–95 %), bits (8→2) and rank, one layer at a "
           "time; only the layers after the changed one run"));
    m_status->setStyleSheet(QStringLiteral("color:#5f6368;"));
    m_status->setWordWrap(true);

    auto* top = new QHBoxLayout;
    top->addWidget(m_scan);
    top->addWidget(m_subset);
    top->addWidget(new QLabel(tr("x axis:"), this));
    top->addWidget(m_axis);
    top->addWidget(m_status, 1);

    style::stylePlot(m_plot);
    m_plot->yAxis->setLabel(tr("top-1 (%)"));
    m_plot->legend->setVisible(true);
    QFont legendFont = m_plot->font();
    legendFont.setPointSizeF(7.5);
    m_plot->legend->setFont(legendFont);
    m_plot->legend->setBrush(QBrush(QColor(255, 255, 255, 215)));
    m_plot->legend->setBorderPen(QPen(style::kPanelBorder));
    // Beside the axes, never over the curves.
    // Beside the axes at the top, its rows packed (an empty element below takes the rest of the height).
    m_plot->axisRect()->insetLayout()->take(m_plot->legend);
    auto* side = new QCPLayoutGrid;
    m_plot->plotLayout()->addElement(0, 1, side);
    side->addElement(0, 0, m_plot->legend);
    side->addElement(1, 0, new QCPLayoutElement(m_plot));
    side->setRowStretchFactor(0, 0.001);
    side->setRowSpacing(0);
    m_plot->plotLayout()->setColumnStretchFactor(1, 0.001);
    m_plot->legend->setMargins(QMargins(4, 2, 4, 2));
    m_plot->setMinimumHeight(180);
    installPlotContextMenu(m_plot,
                           [this] { return QStringLiteral("sensitivity_%1").arg(m_axis->currentText().toLower()); });
    connect(m_plot, &QCustomPlot::legendClick, this, [this](QCPLegend*, QCPAbstractLegendItem* item, QMouseEvent*) {
        if (auto* plItem = qobject_cast<QCPPlottableLegendItem*>(item)) emit layerClicked(plItem->plottable()->name());
    });

    m_target->addItem(tr("bits × weights"), QStringLiteral("bits"));
    m_target->addItem(tr("ONNX file (weight bytes)"), QStringLiteral("bytes"));
    m_target->addItem(tr("zlib of the ONNX file (estimated)"), QStringLiteral("zlib"));
    m_target->addItem(tr("non-zero weights"), QStringLiteral("nonzeros"));
    m_target->addItem(tr("MACs"), QStringLiteral("macs"));
    m_target->addItem(tr("latency (batch 1, Lathe's executor)"), QStringLiteral("latency"));
    m_target->setToolTip(
        tr("What the budget limits: bits × stored weights; the ONNX file's weight bytes; their zlib "
           "size; weights left after pruning; multiply-accumulates per image; milliseconds per image at batch 1 "
           "in Lathe's executor, from the scan's timing of every layer at every rank (pruned and quantized "
           "weights run dense in float there, so only low rank saves time)"));
    m_budget->setRange(0, kSliderSteps);
    m_budget->setValue(kSliderSteps / 2);
    m_budget->setToolTip(tr("From the least the scanned settings reach (left) to the float model (right)"));
    m_planText->setWordWrap(true);
    m_planText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_addPlans->setToolTip(
        tr("Evaluate the best plans for this budget on the evaluation data and add them to the "
           "Variants list and the Accuracy vs Size plot"));

    auto* budgetRow = new QHBoxLayout;
    budgetRow->addWidget(new QLabel(tr("Budget:"), this));
    budgetRow->addWidget(m_target);
    budgetRow->addWidget(m_budget, 1);
    budgetRow->addWidget(m_addPlans);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addLayout(top);
    layout->addWidget(m_plot, 1);
    layout->addLayout(budgetRow);
    layout->addWidget(m_budgetText);
    layout->addWidget(m_planText);

    connect(m_axis, &QComboBox::currentIndexChanged, this, [this] { redraw(); });
    connect(m_scan, &QPushButton::clicked, this, [this] {
        if (m_scanning)
            emit cancelRequested();
        else
            emit scanRequested(m_subset->value());
    });
    connect(m_target, &QComboBox::currentIndexChanged, this,
            [this] { emit budgetChanged(target(), budgetFraction()); });
    connect(m_budget, &QSlider::valueChanged, this, [this] { emit budgetChanged(target(), budgetFraction()); });
    connect(m_addPlans, &QPushButton::clicked, this, [this] { emit addPlansRequested(target(), budgetFraction()); });
    clearFigure(tr("No scan yet: Scan measures how much each layer can take."));
}

void SensitivityView::setFigure(const SensitivityFigure& figure) {
    m_figure = figure;
    m_status->setText(tr("float top-1 %1 % on %2 images of %3")
                          .arg(figure.baselineTop1, 0, 'f', 2)
                          .arg(figure.samples)
                          .arg(figure.dataName));
    m_target->setEnabled(true);
    m_budget->setEnabled(true);
    m_addPlans->setEnabled(true);
    redraw();
}

void SensitivityView::clearFigure(const QString& why) {
    m_figure = {};
    m_status->setText(why);
    m_target->setEnabled(false);
    m_budget->setEnabled(false);
    m_addPlans->setEnabled(false);
    m_budgetText->clear();
    m_planText->clear();
    redraw();
}

void SensitivityView::setCurrentLayer(const QString& layer) {
    if (m_current == layer) return;
    m_current = layer;
    redraw();
}

void SensitivityView::setAxis(Axis axis) { m_axis->setCurrentIndex(int(axis)); }

SensitivityView::Axis SensitivityView::axis() const { return Axis(m_axis->currentIndex()); }

void SensitivityView::setScanning(bool scanning) {
    m_scanning = scanning;
    m_scan->setText(scanning ? tr("Cancel Scan") : tr("Scan"));
    m_subset->setEnabled(!scanning);
}

int SensitivityView::subsetSize() const { return m_subset->value(); }

void SensitivityView::setSubsetSize(int samples) { m_subset->setValue(samples); }

QString SensitivityView::target() const { return m_target->currentData().toString(); }

bool SensitivityView::setTarget(const QString& key) {
    const int index = m_target->findData(key);
    if (index < 0) return false;
    m_target->setCurrentIndex(index);
    return true;
}

QStringList SensitivityView::targets() const {
    QStringList keys;
    for (int i = 0; i < m_target->count(); ++i) keys << m_target->itemData(i).toString();
    return keys;
}

double SensitivityView::budgetFraction() const { return double(m_budget->value()) / kSliderSteps; }

void SensitivityView::setBudgetFraction(double fraction) {
    m_budget->setValue(int(std::lround(std::clamp(fraction, 0.0, 1.0) * kSliderSteps)));
}

void SensitivityView::setBudgetPreview(const BudgetPreview& preview) {
    m_budgetText->setText(preview.error.isEmpty() ? preview.costText : preview.error);
    if (!preview.error.isEmpty()) {
        m_planText->clear();
        m_addPlans->setEnabled(false);
        return;
    }
    m_addPlans->setEnabled(hasFigure());
    const double drop = m_figure.baselineTop1 - preview.predictedTop1;
    m_planText->setText(
        tr("Predicted top-1 %1 % (%2 points; the scan's drops added up)%3")
            .arg(preview.predictedTop1, 0, 'f', 2)
            .arg(drop <= 0 ? QStringLiteral("±0") : QStringLiteral("−%1").arg(drop, 0, 'f', 2))
            .arg(preview.settings.isEmpty() ? QString() : QStringLiteral(": ") + preview.settings.join(", ")));
}

QString SensitivityView::statusText() const { return m_status->text(); }

void SensitivityView::redraw() {
    m_plot->clearGraphs();
    const Axis a = axis();
    m_plot->xAxis->setLabel(a == Axis::Sparsity ? tr("sparsity of one layer (%)")
                            : a == Axis::Bits   ? tr("bits of one layer")
                                                : tr("rank of one layer (% of full rank)"));
    m_plot->xAxis->setRangeReversed(a == Axis::Bits);
    double lowest = m_figure.baselineTop1;
    for (int i = 0; i < m_figure.layers.size(); ++i) {
        const SensitivityCurves& c = m_figure.layers[i];
        QVector<double> xs, ys;
        const QVector<QPointF>& points = a == Axis::Sparsity ? c.sparsity : a == Axis::Bits ? c.bits : c.rank;
        for (const QPointF& p : points) {
            xs.push_back(a == Axis::Sparsity             ? 100.0 * p.x()
                         : a == Axis::Rank && c.fullRank ? 100.0 * p.x() / double(c.fullRank)
                                                         : p.x());
            ys.push_back(p.y());
            lowest = std::min(lowest, p.y());
        }
        if (a == Axis::Rank && !xs.isEmpty()) {  // full rank: the float model
            xs.prepend(100.0);
            ys.prepend(m_figure.baselineTop1);
        }
        if (xs.isEmpty()) continue;
        QCPGraph* g = m_plot->addGraph();
        g->setName(c.layer);
        QPen pen(style::seriesColor(i), c.layer == m_current ? 3.0 : 1.4);
        g->setPen(pen);
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, c.layer == m_current ? 7 : 4));
        g->setData(xs, ys, false);
    }
    if (a == Axis::Bits)
        m_plot->xAxis->setRange(1.8, 8.2);
    else
        m_plot->xAxis->setRange(-2, 102);
    m_plot->yAxis->setRange(std::max(0.0, lowest - 2.0), m_figure.baselineTop1 + 2.0);
    m_plot->legend->setVisible(m_plot->graphCount() > 0);
    m_plot->replot(QCustomPlot::rpQueuedReplot);  // drawn when shown: the dock is often hidden
}

}  // namespace lathe
