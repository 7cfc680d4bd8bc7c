#include "widgets/weight_collapse_view.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSplitter>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "widgets/plot_export.h"
#include "widgets/workbench_style.h"

namespace lathe {

namespace {

// Bars start below the visible range on a log axis (counts are >= 1 there), at 0 on a linear one.
constexpr double kLogBase = 0.5;

int64_t total(const std::vector<int64_t>& bins) { return std::accumulate(bins.begin(), bins.end(), int64_t(0)); }

double share(const std::vector<int64_t>& bins, size_t bin) {
    const int64_t n = total(bins);
    return n > 0 && bin < bins.size() ? 100.0 * double(bins[bin]) / double(n) : 0.0;
}

QCPBars* makeBars(QCPAxis* key, QCPAxis* value, const QColor& fill, const QColor& line, const QString& name) {
    auto* bars = new QCPBars(key, value);
    bars->setName(name);
    bars->setBrush(fill);
    bars->setPen(line.isValid() ? QPen(line, 1) : QPen(Qt::NoPen));
    bars->setWidthType(QCPBars::wtPlotCoords);
    return bars;
}

}  // namespace

WeightCollapseView::WeightCollapseView(QWidget* parent)
    : QWidget(parent),
      m_tensor(new QComboBox(this)),
      m_log(new QCheckBox(tr("log count"), this)),
      m_info(new QLabel(this)),
      m_histPlot(new QCustomPlot(this)),
      m_sparsityPlot(new QCustomPlot(this)) {
    m_tensor->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_tensor->setToolTip(tr("The trained weight tensor whose histogram is shown (a decomposed layer has two)"));
    m_log->setChecked(true);
    m_log->setToolTip(tr("Logarithmic count axis: the spike at zero and the few weights that stay large both show"));
    m_info->setWordWrap(true);
    m_info->setStyleSheet(QStringLiteral("color:#5f6368;"));
    m_info->setTextInteractionFlags(Qt::TextSelectableByMouse);

    style::stylePlot(m_histPlot);
    m_histPlot->setMinimumSize(220, 150);
    m_histPlot->xAxis->setLabel(tr("weight value"));
    m_histPlot->yAxis->setLabel(tr("weights"));
    // Now as filled bars, before as a dark outline over them: both stay visible where they agree.
    m_now = makeBars(m_histPlot->xAxis, m_histPlot->yAxis, style::withAlpha(style::kBlue, 150), style::kBlue,
                     tr("now"));
    m_before = m_histPlot->addGraph();
    m_before->setName(tr("before training"));
    m_before->setLineStyle(QCPGraph::lsStepCenter);
    m_before->setPen(QPen(style::kText, 1.2));
    m_histPlot->legend->setVisible(true);
    QFont legendFont = font();
    legendFont.setPointSizeF(8);
    m_histPlot->legend->setFont(legendFont);
    m_histPlot->plotLayout()->insertRow(0);
    m_histPlot->plotLayout()->addElement(0, 0, m_histPlot->legend);
    m_histPlot->plotLayout()->setRowStretchFactor(0, 0.001);
    m_histPlot->legend->setFillOrder(QCPLegend::foColumnsFirst);
    m_histPlot->legend->setBorderPen(Qt::NoPen);
    m_histPlot->legend->setMargins(QMargins(4, 2, 4, 0));
    m_histPlot->legend->setIconSize(20, 10);
    m_histPlot->setToolTip(
        tr("The chosen tensor's weights before training (outline) and after the last finished epoch (blue), counted "
           "over the same bins spanning ±max|w| before training; values beyond fall in the end bins. L1 "
           "sparsification empties the outer bins into the middle one, which holds the zeros. Right-click to save it "
           "as PNG."));
    installPlotContextMenu(m_histPlot, [this] {
        return QStringLiteral("weights_%1_epoch%2").arg(currentTensor()).arg(m_epoch);
    });

    style::stylePlot(m_sparsityPlot);
    m_sparsityPlot->setMinimumSize(160, 150);
    // Layers down the left axis (names stay readable however many there are), their zeros along the bottom.
    m_sparsityPlot->xAxis->setLabel(tr("exact zeros (%)"));
    m_sparsityPlot->xAxis->setRange(0, 100);
    m_sparsityPlot->yAxis->setRangeReversed(true);
    m_layerBars = makeBars(m_sparsityPlot->yAxis, m_sparsityPlot->xAxis, style::withAlpha(style::kOrange, 150),
                           QColor(), tr("sparsity"));
    m_chosenBar = makeBars(m_sparsityPlot->yAxis, m_sparsityPlot->xAxis, style::kOrange, style::kOrange.darker(130),
                           tr("shown layer"));
    m_layerBars->setWidth(0.7);
    m_chosenBar->setWidth(0.7);
    m_sparsityPlot->setToolTip(tr("Each layer's fraction of exactly zero weights after the last finished epoch; the "
                                  "darker bar is the layer shown on the left. Click a bar to show that layer. "
                                  "Right-click to save it as PNG."));
    installPlotContextMenu(m_sparsityPlot, [this] { return QStringLiteral("layer_sparsity_epoch%1").arg(m_epoch); });

    auto* header = new QHBoxLayout;
    header->setContentsMargins(0, 0, 0, 0);
    auto* layerLabel = new QLabel(tr("Weights of"), this);
    layerLabel->setToolTip(m_tensor->toolTip());
    header->addWidget(layerLabel);
    header->addWidget(m_tensor);
    header->addWidget(m_log);
    header->addStretch(1);
    auto* plots = new QSplitter(Qt::Horizontal, this);
    plots->addWidget(m_histPlot);
    plots->addWidget(m_sparsityPlot);
    plots->setStretchFactor(0, 3);
    plots->setStretchFactor(1, 2);
    plots->setChildrenCollapsible(false);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(header);
    layout->addWidget(m_info);
    layout->addWidget(plots, 1);

    connect(m_tensor, &QComboBox::currentIndexChanged, this, [this] {
        redrawHistogram();
        redrawSparsity();
    });
    connect(m_log, &QCheckBox::toggled, this, &WeightCollapseView::redrawHistogram);
    connect(m_sparsityPlot, &QCustomPlot::plottableClick, this,
            [this](QCPAbstractPlottable* plottable, int index, QMouseEvent*) {
                auto* bars = qobject_cast<QCPBars*>(plottable);
                if (!bars || index < 0 || index >= bars->dataCount()) return;
                const auto layer = size_t(std::lround(bars->data()->at(index)->key));
                if (layer < m_layerSparsity.size()) setCurrentTensor(m_layerSparsity[layer].first);
            });
    clear();
}

void WeightCollapseView::setEpoch(int epoch, const std::vector<TrainWeightHistogram>& histograms,
                                  const std::vector<std::pair<QString, double>>& layerSparsity) {
    const QString chosen = currentTensor();
    m_epoch = epoch;
    m_histograms = histograms;
    m_layerSparsity = layerSparsity;
    {
        const QSignalBlocker block(m_tensor);
        m_tensor->clear();
        for (const TrainWeightHistogram& h : m_histograms)
            m_tensor->addItem(h.tensor == h.layer ? h.layer : QStringLiteral("%1 — %2").arg(h.layer, h.tensor),
                              h.tensor);
        const int keep = m_tensor->findData(chosen);
        m_tensor->setCurrentIndex(keep >= 0 ? keep : (m_tensor->count() > 0 ? 0 : -1));
    }
    m_tensor->setEnabled(m_tensor->count() > 1);
    redrawHistogram();
    redrawSparsity();
}

void WeightCollapseView::clear() { setEpoch(0, {}, {}); }

QString WeightCollapseView::currentTensor() const { return m_tensor->currentData().toString(); }

bool WeightCollapseView::setCurrentTensor(const QString& tensorOrLayer) {
    int index = m_tensor->findData(tensorOrLayer);
    for (size_t i = 0; index < 0 && i < m_histograms.size(); ++i)
        if (m_histograms[i].layer == tensorOrLayer) index = int(i);
    if (index < 0) return false;
    m_tensor->setCurrentIndex(index);
    return true;
}

bool WeightCollapseView::isLogScale() const { return m_log->isChecked(); }

void WeightCollapseView::setLogScale(bool logScale) { m_log->setChecked(logScale); }

QString WeightCollapseView::infoText() const { return m_info->text(); }

double WeightCollapseView::layerSparsity(const QString& layer) const {
    for (const auto& [name, s] : m_layerSparsity)
        if (name == layer) return s;
    return -1;
}

void WeightCollapseView::redrawHistogram() {
    const int index = m_tensor->currentIndex();
    const bool log = m_log->isChecked();
    m_histPlot->yAxis->setScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    m_histPlot->yAxis->setTicker(log ? QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog)
                                     : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    m_now->setBaseValue(log ? kLogBase : 0);
    if (index < 0 || size_t(index) >= m_histograms.size()) {
        m_before->data()->clear();
        m_now->data()->clear();
        m_info->setText(tr("The weight histograms appear after the first epoch."));
        m_histPlot->xAxis->setRange(-1, 1);
        m_histPlot->yAxis->setRange(log ? 1 : 0, log ? 1000 : 1);
        m_histPlot->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const TrainWeightHistogram& h = m_histograms[size_t(index)];
    const size_t bins = std::max(h.before.size(), h.now.size());
    const double width = bins > 0 ? (h.hi - h.lo) / double(bins) : 1.0;
    double peak = 1;
    // Empty bins draw no bar (a bar of height 0 has no place on a log axis); the outline drops below the axis there.
    QVector<double> keys, values, beforeKeys, beforeValues;
    for (size_t b = 0; b < h.now.size(); ++b) {
        if (h.now[b] <= 0) continue;
        keys << h.lo + (double(b) + 0.5) * width;
        values << double(h.now[b]);
        peak = std::max(peak, double(h.now[b]));
    }
    for (size_t b = 0; b < h.before.size(); ++b) {
        beforeKeys << h.lo + (double(b) + 0.5) * width;
        beforeValues << (h.before[b] > 0 ? double(h.before[b]) : log ? kLogBase : 0.0);
        peak = std::max(peak, double(h.before[b]));
    }
    m_now->setData(keys, values, true);
    m_now->setWidth(width);
    m_before->setData(beforeKeys, beforeValues, true);
    m_histPlot->xAxis->setRange(h.lo - width, h.hi + width);
    m_histPlot->yAxis->setRange(log ? 0.8 : 0, log ? peak * 2.0 : peak * 1.08);

    QString text;
    const size_t middle = bins / 2;
    const double zeros = layerSparsity(h.layer);
    if (zeros >= 0)
        text = tr("%1: %2 % exactly zero after epoch %3").arg(h.layer).arg(zeros * 100.0, 0, 'f', 1).arg(m_epoch);
    else
        text = tr("%1 after epoch %2").arg(h.tensor).arg(m_epoch);
    if (bins % 2 == 1)
        text += tr(" · middle bin (|w| < %1): %2 % before, %3 % now")
                    .arg(width / 2, 0, 'g', 2)
                    .arg(share(h.before, middle), 0, 'f', 1)
                    .arg(share(h.now, middle), 0, 'f', 1);
    m_info->setText(text);
    m_histPlot->replot(QCustomPlot::rpQueuedReplot);
}

void WeightCollapseView::redrawSparsity() {
    const QString chosenLayer =
        m_tensor->currentIndex() >= 0 && size_t(m_tensor->currentIndex()) < m_histograms.size()
            ? m_histograms[size_t(m_tensor->currentIndex())].layer
            : QString();
    // The chosen layer's bar is drawn again, darker, on top of the others.
    QVector<double> keys, values, chosenKeys, chosenValues;
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (size_t i = 0; i < m_layerSparsity.size(); ++i) {
        const auto& [name, s] = m_layerSparsity[i];
        ticker->addTick(double(i), name);
        keys << double(i);
        values << s * 100.0;
        if (name == chosenLayer) {
            chosenKeys << double(i);
            chosenValues << s * 100.0;
        }
    }
    m_layerBars->setData(keys, values, true);
    m_chosenBar->setData(chosenKeys, chosenValues, true);
    m_sparsityPlot->yAxis->setTicker(ticker);
    m_sparsityPlot->yAxis->setSubTicks(false);
    m_sparsityPlot->yAxis->setTickLength(0, 3);
    m_sparsityPlot->yAxis->grid()->setVisible(false);
    m_sparsityPlot->yAxis->setRange(-0.6, std::max<double>(0.6, double(m_layerSparsity.size()) - 0.4));
    m_sparsityPlot->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace lathe
