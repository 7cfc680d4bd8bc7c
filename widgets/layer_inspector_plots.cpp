// LayerInspector: the before/after weight histograms and the singular-value spectrum.
#include "widgets/layer_inspector.h"
#include <qcustomplot.h>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFrame>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QStandardItemModel>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <chrono>
#include <cmath>
#include "widgets/background_pool.h"
#include "widgets/display_format.h"
#include "widgets/plot_export.h"
#include "widgets/workbench_style.h"
#include "core/compress/lowrank/decompose_layer.h"
#include "widgets/layer_inspector_parts.h"

namespace lathe {

using namespace inspector;

void LayerInspector::setupHistogramPlot() {
    QCustomPlot* p = m_histPlot;
    p->setBackground(QBrush(Qt::white));
    p->plotLayout()->clear();
    m_beforeRect = new QCPAxisRect(p);
    m_afterRect = new QCPAxisRect(p);
    p->plotLayout()->addElement(0, 0, m_beforeRect);
    p->plotLayout()->addElement(1, 0, m_afterRect);
    p->plotLayout()->setRowSpacing(2);
    auto* margins = new QCPMarginGroup(p);
    for (QCPAxisRect* rect : {m_beforeRect, m_afterRect}) {
        rect->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
        for (QCPAxis* axis : rect->axes()) style::styleAxis(axis, font());
        rect->axis(QCPAxis::atLeft)->setLabel(tr("count"));
        rect->axis(QCPAxis::atLeft)->setNumberFormat(QStringLiteral("gb"));
        rect->setRangeDrag(Qt::Horizontal);
        rect->setRangeZoom(Qt::Horizontal);
    }
    m_beforeRect->axis(QCPAxis::atBottom)->setTickLabels(false);
    m_afterRect->axis(QCPAxis::atBottom)->setLabel(tr("weight value"));
    connect(m_beforeRect->axis(QCPAxis::atBottom), qOverload<const QCPRange&>(&QCPAxis::rangeChanged),
            m_afterRect->axis(QCPAxis::atBottom), qOverload<const QCPRange&>(&QCPAxis::setRange));
    connect(m_afterRect->axis(QCPAxis::atBottom), qOverload<const QCPRange&>(&QCPAxis::rangeChanged),
            m_beforeRect->axis(QCPAxis::atBottom), qOverload<const QCPRange&>(&QCPAxis::setRange));
    p->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);

    auto bars = [&](QCPAxisRect* rect, QColor color, int alpha) {
        auto* g = p->addGraph(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
        g->setLineStyle(QCPGraph::lsStepCenter);
        g->setPen(QPen(color, 1.1));
        g->setBrush(style::withAlpha(color, alpha));
        return g;
    };
    m_beforeBars = bars(m_beforeRect, QColor(0x5f6b7a), 90);
    m_afterBars = bars(m_afterRect, style::kBlue, 110);

    QCPAxis* bx = m_beforeRect->axis(QCPAxis::atBottom);
    QCPAxis* by = m_beforeRect->axis(QCPAxis::atLeft);
    m_shade = new QCPItemRect(p);
    m_shade->setClipAxisRect(m_beforeRect);
    for (QCPItemPosition* pos : {m_shade->topLeft, m_shade->bottomRight}) {
        pos->setAxes(bx, by);
        pos->setAxisRect(m_beforeRect);
        pos->setTypeX(QCPItemPosition::ptPlotCoords);
        pos->setTypeY(QCPItemPosition::ptAxisRectRatio);
    }
    m_shade->setPen(Qt::NoPen);
    m_shade->setBrush(style::withAlpha(style::kRed, 38));
    m_shade->setSelectable(false);
    auto cutLine = [&] {
        auto* line = new QCPItemStraightLine(p);
        line->setClipAxisRect(m_beforeRect);
        line->point1->setAxes(bx, by);
        line->point2->setAxes(bx, by);
        line->setPen(QPen(style::kRed, 1, Qt::DashLine));
        line->setSelectable(false);
        return line;
    };
    m_cutLo = cutLine();
    m_cutHi = cutLine();
    // Nothing drawn over the histograms until the first preview says what.
    for (QCPAbstractItem* item : std::initializer_list<QCPAbstractItem*>{m_shade, m_cutLo, m_cutHi})
        item->setVisible(false);
    m_levels = p->addGraph(bx, by);
    m_levels->setLineStyle(QCPGraph::lsImpulse);
    m_levels->setPen(QPen(style::withAlpha(style::kOrange, 200), 1));
    m_levels->setName(tr("levels"));

    auto text = [&](QCPAxisRect* rect, Qt::Alignment align, double x, double y) {
        auto* t = new QCPItemText(p);
        t->setClipToAxisRect(false);
        t->position->setAxisRect(rect);
        t->position->setType(QCPItemPosition::ptAxisRectRatio);
        t->position->setCoords(x, y);
        t->setPositionAlignment(align);
        QFont f = font();
        f.setPointSizeF(8);
        t->setFont(f);
        t->setColor(style::kAxisText);
        t->setPadding(QMargins(4, 2, 4, 2));
        t->setBrush(QBrush(style::withAlpha(Qt::white, 215)));
        t->setSelectable(false);
        t->setText(QString());
        return t;
    };
    m_shadeLabel = text(m_beforeRect, Qt::AlignLeft | Qt::AlignTop, 0.005, 0.02);
    m_levelsLabel = text(m_beforeRect, Qt::AlignRight | Qt::AlignTop, 0.995, 0.02);
    m_levelsLabel->setColor(QColor(0xb05a00));
    m_zerosLabel = text(m_afterRect, Qt::AlignLeft | Qt::AlignTop, 0.005, 0.02);
    installPlotContextMenu(p, [this] { return QStringLiteral("preview_%1").arg(m_layer.name); });
}

void LayerInspector::setupSpectrumPlot() {
    QCustomPlot* p = m_spectrumPlot;
    style::stylePlot(p);
    p->yAxis->setScaleType(QCPAxis::stLogarithmic);
    p->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    p->yAxis->setNumberFormat(QStringLiteral("gb"));
    p->yAxis->setLabel(tr("singular value"));
    p->xAxis->setLabel(tr("index"));
    p->yAxis2->setVisible(true);
    style::styleAxis(p->yAxis2, font());
    p->yAxis2->setRange(0, 100);
    p->yAxis2->setLabel(tr("energy kept %"));
    p->yAxis2->grid()->setVisible(false);
    m_svKept = p->addGraph();
    m_svKept->setLineStyle(QCPGraph::lsImpulse);
    m_svKept->setPen(QPen(style::kBlue, 2));
    m_svDropped = p->addGraph();
    m_svDropped->setLineStyle(QCPGraph::lsImpulse);
    m_svDropped->setPen(QPen(QColor(0xc4c9cf), 2));
    m_energy = p->addGraph(p->xAxis, p->yAxis2);
    m_energy->setPen(QPen(style::kOrange, 1.6));
    m_rankLine = new QCPItemStraightLine(p);
    m_rankLine->setPen(QPen(style::kRed, 1.2, Qt::DashLine));
    m_rankLine->setVisible(false);
    m_rankLabel = new QCPTextElement(p);
    QFont f = font();
    f.setPointSizeF(8);
    m_rankLabel->setFont(f);
    m_rankLabel->setTextColor(style::kAxisText);
    m_rankLabel->setMargins(QMargins(0, 4, 0, 0));
    p->plotLayout()->insertRow(0);
    p->plotLayout()->addElement(0, 0, m_rankLabel);
    installPlotContextMenu(p, [this] { return QStringLiteral("spectrum_%1").arg(m_layer.name); });
}

// ---------------------------------------------------------------------------------------------------------------------
// Edits

int64_t LayerInspector::afterHistogramCount() const {
    int64_t n = 0;
    for (int64_t c : m_afterCounts) n += c;
    return n;
}

std::optional<std::pair<double, double>> LayerInspector::shadedRange() const {
    if (!m_shade->visible()) return std::nullopt;
    return std::make_pair(m_shade->topLeft->coords().x(), m_shade->bottomRight->coords().x());
}

void LayerInspector::drawHistograms(const PreviewResult& result) {
    if (!m_beforeCounts) return;
    const LayerSettings s = settings();
    const double lo = m_histLo, hi = m_histHi;
    const double width = (hi - lo) / kBins;
    QVector<double> keys(kBins), before(kBins), after(kBins);
    double top = 1, afterTop = 1;
    for (int i = 0; i < kBins; ++i) {
        keys[i] = lo + (i + 0.5) * width;
        before[i] = double((*m_beforeCounts)[size_t(i)]);
        after[i] = double(m_afterCounts[size_t(i)]);
        top = std::max(top, before[i]);
        afterTop = std::max(afterTop, after[i]);
    }
    m_beforeBars->setData(keys, before, true);
    m_afterBars->setData(keys, after, true);
    const double pad = (hi - lo) * 0.03;
    m_beforeRect->axis(QCPAxis::atBottom)->setRange(lo - pad, hi + pad);
    m_beforeRect->axis(QCPAxis::atLeft)->setRange(0, top * 1.18);
    m_afterRect->axis(QCPAxis::atLeft)->setRange(0, afterTop * 1.18);

    // Pruned region: |w| < threshold (magnitude pruning), shaded on the original weights.
    const double t = m_preview.threshold;
    const bool shaded = t > 0;
    m_shade->setVisible(shaded);
    m_cutLo->setVisible(shaded);
    m_cutHi->setVisible(shaded);
    if (shaded) {
        m_shade->topLeft->setCoords(-t, 0);
        m_shade->bottomRight->setCoords(t, 1);
        m_cutLo->point1->setCoords(-t, 0);
        m_cutLo->point2->setCoords(-t, 1);
        m_cutHi->point1->setCoords(t, 0);
        m_cutHi->point2->setCoords(t, 1);
    }
    QString beforeText = tr("Before · %1 weights").arg(formatCount(m_layer.weight->numel()));
    if (shaded) beforeText += tr("  ·  pruned |w| < %1").arg(formatReal(t));
    if (m_preview.keptChannels > 0)
        beforeText += tr("  ·  %1 of %2 channels kept").arg(m_preview.keptChannels).arg(m_layer.channels);
    m_shadeLabel->setText(beforeText);

    // Quantization levels over the weights: full-height lines when few, a rug along the axis when many.
    QVector<double> levelKeys, levelValues;
    const bool fullHeight = int(m_preview.levels.size()) <= kFullHeightLevels;
    for (float level : m_preview.levels) {
        levelKeys << double(level);
        levelValues << (fullHeight ? top * 1.18 : top * 0.07);
    }
    m_levels->setData(levelKeys, levelValues, true);
    m_levels->setPen(QPen(style::withAlpha(style::kOrange, fullHeight ? 170 : 230), 1));
    m_drawnLevels = int(levelKeys.size());
    m_levelsLabel->setVisible(!m_preview.levels.empty());
    m_levelsLabel->setText(s.rounding == Rounding::KMeans && s.quantized()
                               ? tr("%1 shared values (k-means)").arg(m_preview.levels.size())
                               : tr("%1 levels%2")
                                     .arg(m_preview.levels.size())
                                     .arg(s.granularity == Granularity::PerChannel ? tr(" (widest channel)")
                                                                                   : QString()));

    const int64_t n = m_layer.weight->numel();
    m_zerosLabel->setText(
        tr("After · %1  ·  %2 zeros (%3) not drawn")
            .arg(quantText(s), formatCount(result.afterZeros), percent(n ? double(result.afterZeros) / double(n) : 0)));
    m_histPlot->replot(QCustomPlot::rpQueuedReplot);
}

void LayerInspector::requestSpectrum() {
    if (!hasLayer() || m_layer.fullRank <= 0 || m_spectra.count(m_layer.name)) return;
    if (m_spectrumWatcher.isRunning()) {
        // One computation at a time; a newer layer asks again when this one ends.
        if (m_spectrumPendingFor == m_layer.name) return;
        connect(
            &m_spectrumWatcher, &QFutureWatcher<std::shared_ptr<const std::vector<double>>>::finished, this,
            [this] { QMetaObject::invokeMethod(this, [this] { requestSpectrum(); }, Qt::QueuedConnection); },
            Qt::SingleShotConnection);
        return;
    }
    m_spectrumPendingFor = m_layer.name;
    auto weight = m_layer.weight;
    auto spectrum = m_layer.spectrum;
    m_spectrumWatcher.setFuture(QtConcurrent::run(backgroundPool(), [weight, spectrum]() -> std::shared_ptr<const std::vector<double>> {
        return std::make_shared<const std::vector<double>>(spectrum(*weight));
    }));
}

void LayerInspector::drawSpectrum() {
    if (!hasLayer()) return;
    if (m_layer.fullRank <= 0) {
        m_spectrumNote->setText(tr("Low-rank decomposition does not apply to this layer, so it has no spectrum to cut."));
        m_spectrumStack->setCurrentIndex(0);
        return;
    }
    const std::vector<double>& sv = singularValues();
    if (sv.empty()) {
        m_spectrumNote->setText(tr("Computing the singular values of %1…").arg(m_layer.name));
        m_spectrumStack->setCurrentIndex(0);
        return;
    }
    m_spectrumStack->setCurrentIndex(1);
    const LayerSettings s = settings();
    const auto full = int64_t(sv.size());
    // The spectrum is the channel SVD's; Tucker-2 and spatial SVD cut other unfoldings, so no cut is drawn for them.
    const bool channel = s.lowRankMethod == LowRankMethod::Channel;
    int64_t rank = 0;
    if (channel && s.rank) rank = std::clamp<int64_t>(*s.rank, 1, full);
    else if (channel && s.energy) rank = rankForEnergy(sv, *s.energy);
    double total = 0;
    for (double x : sv) total += x * x;
    QVector<double> keptX, keptY, dropX, dropY, eX, eY;
    double cumulative = 0;
    const double floor = std::max(sv.front() * 1e-7, 1e-30);
    for (int64_t i = 0; i < full; ++i) {
        const double x = double(i + 1), y = std::max(sv[size_t(i)], floor);
        cumulative += sv[size_t(i)] * sv[size_t(i)];
        if (rank == 0 || i < rank) {
            keptX << x;
            keptY << y;
        } else {
            dropX << x;
            dropY << y;
        }
        eX << x;
        eY << (total > 0 ? 100.0 * cumulative / total : 100.0);
    }
    m_svKept->setData(keptX, keptY, true);
    m_svDropped->setData(dropX, dropY, true);
    m_svKept->setPen(QPen(rank ? style::kBlue : QColor(0x7d8ea3), full > 200 ? 1 : 2));
    m_svDropped->setPen(QPen(QColor(0xc4c9cf), full > 200 ? 1 : 2));
    m_energy->setData(eX, eY, true);
    // lsImpulse draws from value 0, which a log axis cannot show: lift the base to the lower range bound.
    const double yMin = std::max(floor, *std::min_element(sv.begin(), sv.end()) * 0.5);
    m_spectrumPlot->yAxis->setRange(yMin, sv.front() * 2.0);
    m_spectrumPlot->xAxis->setRange(0, double(full) + 1);
    m_rankLine->setVisible(rank > 0);
    if (rank > 0) {
        m_rankLine->point1->setCoords(double(rank) + 0.5, yMin);
        m_rankLine->point2->setCoords(double(rank) + 0.5, sv.front());
        const int64_t rows = m_layer.weight->shape.empty() ? 0 : m_layer.weight->shape[0];
        const int64_t cols = rows ? m_layer.weight->numel() / rows : 0;
        const int64_t params = lowRankParams(rows, cols, rank);
        const double energy = total > 0 ? eY[int(rank - 1)] / 100.0 : 1.0;
        QString macs;
        if (m_layer.macs > 0)
            macs = tr("  ·  MACs %1 → %2")
                       .arg(formatCompact(m_layer.macs),
                            formatCompact(decomposedMacs(LowRankMethod::Channel, m_layer.weight->shape, rank, 0,
                                                         m_layer.inputSpatial, m_layer.outputSpatial)));
        m_rankLabel->setText(tr("rank %1 of %2  ·  %3 energy kept  ·  error %4  ·  %5 weights (%6 of the layer)%7")
                                 .arg(rank)
                                 .arg(full)
                                 .arg(percent(energy))
                                 .arg(percent(truncationError(sv, rank), 2))
                                 .arg(formatCount(params))
                                 .arg(percent(double(params) / double(std::max<int64_t>(1, rows * cols)), 0))
                                 .arg(macs));
        m_readoutTextRank = QString::number(rank);
        m_readoutTextEnergy = percent(energy);
    } else if (!channel && m_preview.rank > 0) {
        const int64_t params = m_layer.weight->numel();
        const int64_t kept = decomposedParams(s.lowRankMethod, m_layer.weight->shape, m_preview.rank, m_preview.rankIn);
        const QString ranks = s.lowRankMethod == LowRankMethod::Tucker2
                                  ? tr("Tucker-2 ranks %1 × %2 of %3 × %4")
                                        .arg(m_preview.rank)
                                        .arg(m_preview.rankIn)
                                        .arg(m_layer.tucker2FullOut)
                                        .arg(m_layer.tucker2FullIn)
                                  : tr("spatial SVD rank %1 of %2").arg(m_preview.rank).arg(m_layer.spatialFullRank);
        QString macs;
        if (m_layer.macs > 0) {
            const int64_t after = decomposedMacs(s.lowRankMethod, m_layer.weight->shape, m_preview.rank,
                                                 m_preview.rankIn, m_layer.inputSpatial, m_layer.outputSpatial);
            macs = tr("  ·  MACs %1 → %2").arg(formatCompact(m_layer.macs), formatCompact(after));
        }
        m_rankLabel->setText(tr("%1  ·  error %2  ·  %3 weights (%4 of the layer)%5  ·  the spectrum drawn is the "
                                "channel SVD's")
                                 .arg(ranks, percent(m_preview.lowRankError, 2), formatCount(kept),
                                      percent(double(kept) / double(std::max<int64_t>(1, params)), 0), macs));
        m_readoutTextRank = s.lowRankMethod == LowRankMethod::Tucker2
                                ? QStringLiteral("%1 × %2").arg(m_preview.rank).arg(m_preview.rankIn)
                                : QString::number(m_preview.rank);
        m_readoutTextEnergy.clear();
    } else {
        m_rankLabel->setText(tr("%1 singular values  ·  not decomposed: choose a rank or an energy to cut").arg(full));
        m_readoutTextRank.clear();
        m_readoutTextEnergy.clear();
    }
    m_spectrumPlot->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace lathe
