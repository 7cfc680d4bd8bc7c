#include "widgets/histogram_view.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QStackedLayout>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "widgets/background_pool.h"
#include "widgets/display_format.h"
#include "widgets/plot_export.h"

namespace lathe {

namespace {

constexpr int kDefaultBins = 100;
const QColor kBarColor(0x2f5f9e);
const QColor kMutedText(0x80868b);

QLabel* makeStatName(const QString& text, QWidget* parent) {
    auto* label = new QLabel(text, parent);
    label->setStyleSheet(QStringLiteral("color:#80868b;"));
    return label;
}

QLabel* makeStatValue(QWidget* parent) {
    auto* label = new QLabel(QStringLiteral("–"), parent);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label->setStyleSheet(QStringLiteral("color:#202124; font-weight:600;"));
    return label;
}

}  // namespace

HistogramView::HistogramView(QWidget* parent)
    : QWidget(parent),
      m_tensorLabel(new QLabel(tr("Tensor"), this)),
      m_tensorCombo(new QComboBox(this)),
      m_binSpin(new QSpinBox(this)),
      m_logCheck(new QCheckBox(tr("Log count"), this)),
      m_plot(new QCustomPlot(this)),
      m_bars(m_plot->addGraph()),
      m_zeroLine(new QCPItemStraightLine(m_plot)),
      m_title(new QCPTextElement(m_plot)),
      m_stack(new QStackedLayout),
      m_placeholder(new QLabel(tr("Select a layer with weights to see its weight distribution"), this)) {
    m_tensorCombo->setToolTip(tr("Weight tensor of the layer to show (the kernel first, then the bias)"));
    m_tensorCombo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_tensorCombo->setMinimumContentsLength(14);
    m_binSpin->setRange(5, 2000);
    m_binSpin->setValue(kDefaultBins);
    m_binSpin->setKeyboardTracking(false);
    m_binSpin->setAccelerated(true);
    m_binSpin->setToolTip(tr("Number of histogram bins over [min, max]"));
    m_logCheck->setToolTip(tr("Logarithmic count axis: shows the sparse tails of the distribution"));

    auto* controls = new QHBoxLayout;
    controls->setSpacing(6);
    controls->addWidget(m_tensorLabel);
    controls->addWidget(m_tensorCombo, 1);
    controls->addSpacing(8);
    controls->addWidget(new QLabel(tr("Bins"), this));
    controls->addWidget(m_binSpin);
    controls->addSpacing(8);
    controls->addWidget(m_logCheck);
    controls->addStretch(0);

    QFont tickFont = font();
    tickFont.setPointSizeF(8);
    m_plot->setMinimumHeight(170);
    m_plot->setBackground(QBrush(Qt::white));
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal);
    for (QCPAxis* axis : {m_plot->xAxis, m_plot->yAxis}) {
        axis->setTickLabelFont(tickFont);
        axis->setLabelFont(tickFont);
        axis->setLabelColor(kMutedText);
        axis->setTickLabelColor(QColor(0x5f6368));
        axis->setBasePen(QPen(QColor(0xb0b6bd)));
        axis->setTickPen(QPen(QColor(0xb0b6bd)));
        axis->setSubTickPen(QPen(QColor(0xd0d4d9)));
        axis->grid()->setPen(QPen(QColor(0xeceef1)));
    }
    m_plot->xAxis->setLabel(tr("weight value"));
    m_plot->yAxis->setLabel(tr("count"));
    m_bars->setLineStyle(QCPGraph::lsStepLeft);
    m_bars->setPen(QPen(kBarColor, 1.2));
    QColor fill = kBarColor;
    fill.setAlpha(110);
    m_bars->setBrush(fill);
    m_zeroLine->setPen(QPen(QColor(0xd93025), 1, Qt::DashLine));
    m_zeroLine->point1->setCoords(0, 0);
    m_zeroLine->point2->setCoords(0, 1);
    QFont titleFont = font();
    titleFont.setPointSizeF(8.5);
    m_title->setFont(titleFont);
    m_title->setTextColor(QColor(0x3c4043));
    m_plot->plotLayout()->insertRow(0);
    m_plot->plotLayout()->addElement(0, 0, m_title);
    m_plot->setObjectName(QStringLiteral("histogram"));
    installPlotContextMenu(m_plot, [this] {
        return m_values ? QStringLiteral("activations_%1").arg(m_valuesTitle.section(QLatin1Char(' '), 0, 0))
                        : QStringLiteral("weights_%1").arg(tensorName());
    });
    m_plot->setToolTip(tr("Drag to pan, wheel to zoom; right-click to save the plot"));

    auto* statsBox = new QFrame(this);
    statsBox->setObjectName(QStringLiteral("statsBox"));
    statsBox->setStyleSheet(
        QStringLiteral("#statsBox { background:#f6f7f9; border:1px solid #e0e3e7; border-radius:4px; }"));
    auto* grid = new QGridLayout(statsBox);
    grid->setContentsMargins(8, 6, 8, 6);
    grid->setHorizontalSpacing(10);
    grid->setVerticalSpacing(3);
    const QList<QPair<QString, QString>> summaryStats = {{"count", tr("count")}, {"mean", tr("mean")},
                                                         {"min", tr("min")},     {"zeros", tr("zeros")},
                                                         {"std", tr("std")},     {"max", tr("max")}};
    for (int i = 0; i < summaryStats.size(); ++i) {
        const int row = i / 3, column = (i % 3) * 2;
        auto* value = makeStatValue(statsBox);
        grid->addWidget(makeStatName(summaryStats[i].second, statsBox), row, column);
        grid->addWidget(value, row, column + 1);
        m_statLabels.emplace_back(summaryStats[i].first, value);
    }
    auto* percentiles = new QGridLayout;
    percentiles->setHorizontalSpacing(10);
    percentiles->setVerticalSpacing(1);
    const QStringList percentileKeys = {"p1", "p5", "p25", "p50", "p75", "p95", "p99"};
    for (int i = 0; i < percentileKeys.size(); ++i) {
        auto* name = makeStatName(percentileKeys[i], statsBox);
        auto* value = makeStatValue(statsBox);
        name->setAlignment(Qt::AlignCenter);
        value->setAlignment(Qt::AlignCenter);
        // As wide as a typical value from the start, so that selecting another tensor does not widen the window.
        QFont bold = value->font();
        bold.setWeight(QFont::DemiBold);
        value->setMinimumWidth(QFontMetrics(bold).horizontalAdvance(QStringLiteral("-0.0513")));
        percentiles->addWidget(name, 0, i);
        percentiles->addWidget(value, 1, i);
        m_statLabels.emplace_back(percentileKeys[i], value);
    }
    grid->addLayout(percentiles, 2, 0, 1, 6);
    statsBox->setToolTip(tr("Statistics over all values of the tensor; percentiles are linearly interpolated"));

    auto* content = new QWidget(this);
    auto* contentLayout = new QVBoxLayout(content);
    contentLayout->setContentsMargins(0, 0, 0, 0);
    contentLayout->setSpacing(6);
    contentLayout->addLayout(controls);
    contentLayout->addWidget(m_plot, 1);
    contentLayout->addWidget(statsBox);

    m_placeholder->setAlignment(Qt::AlignCenter);
    m_placeholder->setWordWrap(true);
    m_placeholder->setStyleSheet(QStringLiteral("color:#80868b;"));
    m_stack->addWidget(m_placeholder);
    m_stack->addWidget(content);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addLayout(m_stack);

    connect(m_tensorCombo, &QComboBox::currentIndexChanged, this, [this] { recompute(); });
    connect(m_binSpin, &QSpinBox::valueChanged, this, [this] { recompute(); });
    connect(m_logCheck, &QCheckBox::toggled, this, [this] {
        applyScale();
        m_plot->replot();
        emit histogramUpdated();
    });
    connect(&m_watcher, &QFutureWatcher<Computed>::finished, this, &HistogramView::onComputed);
}

HistogramView::~HistogramView() = default;

void HistogramView::setLayer(std::shared_ptr<const Graph> graph, const LayerInfo* layer) {
    m_values.reset();
    m_tensorLabel->show();
    m_tensorCombo->show();
    m_plot->xAxis->setLabel(tr("weight value"));
    m_graph = layer ? std::move(graph) : nullptr;
    m_weights = m_graph ? layer->weights : std::vector<WeightInfo>{};
    m_layerName = layer ? QString::fromStdString(layer->name) : QString();
    {
        const QSignalBlocker block(m_tensorCombo);
        m_tensorCombo->clear();
        for (const auto& w : m_weights)
            m_tensorCombo->addItem(QStringLiteral("%1  %2").arg(QString::fromStdString(w.name), formatShape(w.shape)));
    }
    m_stack->setCurrentIndex(m_weights.empty() ? 0 : 1);
    recompute();
}

void HistogramView::setValues(std::shared_ptr<const std::vector<float>> values, const QString& title,
                              const QString& valueLabel) {
    m_graph.reset();
    m_weights.clear();
    m_layerName.clear();
    {
        const QSignalBlocker block(m_tensorCombo);
        m_tensorCombo->clear();
    }
    m_tensorLabel->hide();
    m_tensorCombo->hide();
    m_values = values && !values->empty() ? std::move(values) : nullptr;
    m_valuesTitle = title;
    m_plot->xAxis->setLabel(valueLabel);
    m_stack->setCurrentIndex(m_values ? 1 : 0);
    recompute();
}

void HistogramView::setPlaceholderText(const QString& text) { m_placeholder->setText(text); }

int HistogramView::binCount() const { return m_binSpin->value(); }

void HistogramView::setBinCount(int bins) { m_binSpin->setValue(bins); }

bool HistogramView::isLogScale() const { return m_logCheck->isChecked(); }

void HistogramView::setLogScale(bool logScale) { m_logCheck->setChecked(logScale); }

int HistogramView::tensorIndex() const { return m_tensorCombo->currentIndex(); }

void HistogramView::setTensorIndex(int index) { m_tensorCombo->setCurrentIndex(index); }

QString HistogramView::tensorName() const {
    const int index = tensorIndex();
    return index >= 0 && size_t(index) < m_weights.size() ? QString::fromStdString(m_weights[size_t(index)].name)
                                                          : QString();
}

int64_t HistogramView::valueCount() const {
    return std::accumulate(m_histogram.counts.begin(), m_histogram.counts.end(), int64_t(0));
}

QString HistogramView::statText(const QString& key) const {
    for (const auto& [name, label] : m_statLabels)
        if (name == key) return label->text();
    return {};
}

void HistogramView::recompute() {
    const int generation = ++m_generation;
    const int index = tensorIndex();
    const Tensor* tensor = m_graph && index >= 0 && size_t(index) < m_weights.size()
                               ? m_graph->initializer(m_weights[size_t(index)].name)
                               : nullptr;
    if (!tensor && !m_values) {
        m_busy = false;
        m_stats = {};
        m_histogram = {};
        redraw();
        emit histogramUpdated();
        return;
    }
    m_busy = true;
    // The graph or the values vector is captured so the span stays valid while the worker runs.
    const std::span<const float> data =
        tensor ? std::span<const float>(tensor->data) : std::span<const float>(*m_values);
    m_watcher.setFuture(QtConcurrent::run(backgroundPool(), [graph = m_graph, values = m_values, data, generation, bins = binCount()] {
        Computed c;
        c.generation = generation;
        c.stats = computeWeightStats(data);
        double lo = c.stats.min, hi = c.stats.max;
        if (!std::isfinite(lo) || !std::isfinite(hi)) lo = hi = 0;
        if (hi <= lo) {
            lo -= 0.5;
            hi += 0.5;
        }
        c.histogram = computeHistogram(data, bins, lo, hi);
        return c;
    }));
}

void HistogramView::onComputed() {
    if (m_watcher.future().resultCount() == 0) return;
    Computed c = m_watcher.result();
    if (c.generation != m_generation) return;
    m_busy = false;
    m_stats = c.stats;
    m_histogram = std::move(c.histogram);
    redraw();
    emit histogramUpdated();
}

void HistogramView::redraw() {
    const auto& counts = m_histogram.counts;
    QVector<double> keys, values;
    if (!counts.empty()) {
        // Step outline: drop to 0 at both ends so the filled area reads as bars.
        const double width = m_histogram.binWidth();
        keys << m_histogram.lo;
        values << 0;
        for (size_t i = 0; i < counts.size(); ++i) {
            keys << m_histogram.lo + double(i) * width;
            values << double(counts[i]);
        }
        keys << m_histogram.hi << m_histogram.hi;
        values << double(counts.back()) << 0;
    }
    m_bars->setData(keys, values, true);
    const int index = tensorIndex();
    if (m_values) {
        m_title->setText(m_valuesTitle);
    } else if (index >= 0 && size_t(index) < m_weights.size()) {
        const WeightInfo& w = m_weights[size_t(index)];
        m_title->setText(
            QStringLiteral("%1   %2   %3 values")
                .arg(QString::fromStdString(w.name), formatTypedShape(w.dtype, w.shape), formatCount(m_stats.count)));
    } else {
        m_title->setText({});
    }
    if (!counts.empty()) {
        const double margin = 0.02 * (m_histogram.hi - m_histogram.lo);
        m_plot->xAxis->setRange(m_histogram.lo - margin, m_histogram.hi + margin);
    }
    m_zeroLine->setVisible(!counts.empty() && m_histogram.lo < 0 && m_histogram.hi > 0);
    applyScale();
    showStats();
    m_plot->replot();
}

void HistogramView::applyScale() {
    const auto& counts = m_histogram.counts;
    const double peak =
        counts.empty() ? 1.0 : double(std::max<int64_t>(1, *std::max_element(counts.begin(), counts.end())));
    if (isLogScale()) {
        m_plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
        m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
        m_plot->yAxis->setNumberFormat(QStringLiteral("eb"));
        m_plot->yAxis->setNumberPrecision(0);
        m_plot->yAxis->setRange(0.7, peak * 2.0);
    } else {
        m_plot->yAxis->setScaleType(QCPAxis::stLinear);
        m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
        m_plot->yAxis->setNumberFormat(QStringLiteral("g"));
        m_plot->yAxis->setNumberPrecision(6);
        m_plot->yAxis->setRange(0, peak * 1.08);
    }
}

void HistogramView::showStats() {
    const WeightStats& s = m_stats;
    const bool empty = s.count == 0;
    auto set = [this, empty](const QString& key, const QString& text) {
        for (auto& [name, label] : m_statLabels)
            if (name == key) label->setText(empty ? QStringLiteral("–") : text);
    };
    set("count", formatCount(s.count));
    set("zeros", formatPercent(s.zeroFraction));
    for (const auto& [key, value] : {std::pair{"min", s.min}, {"max", s.max}, {"mean", s.mean}, {"std", s.std}})
        set(key, formatReal(value));
    // Seven percentiles share one row: three significant digits keep it from widening the panel.
    for (const auto& [key, value] : {std::pair{"p1", s.p1}, {"p5", s.p5}, {"p25", s.p25}, {"p50", s.p50},
                                     {"p75", s.p75}, {"p95", s.p95}, {"p99", s.p99}})
        set(key, QString::number(value, 'g', 3));
}

}  // namespace lathe
