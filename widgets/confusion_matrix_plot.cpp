#include "widgets/confusion_matrix_plot.h"

#include <QToolTip>
#include <algorithm>
#include <cmath>

#include "widgets/display_format.h"

namespace lathe {

namespace {

const QColor kAxisText(0x3c4043);
const QColor kMutedText(0x80868b);
const QColor kDarkCellText(0x202124);
const QColor kZeroText(0xbdc1c6);
// Cells whose colour is darker than this fraction of the scale get white text.
constexpr double kWhiteTextFrom = 0.45;
constexpr int kMaxLabelledClasses = 30;

QCPColorGradient heatGradient() {
    QCPColorGradient gradient;
    gradient.clearColorStops();
    gradient.setColorStopAt(0.0, QColor(0xffffff));
    gradient.setColorStopAt(0.08, QColor(0xe8f0fa));
    gradient.setColorStopAt(0.35, QColor(0x9ec0e6));
    gradient.setColorStopAt(0.7, QColor(0x3d72b8));
    gradient.setColorStopAt(1.0, QColor(0x163d73));
    gradient.setColorInterpolation(QCPColorGradient::ciRGB);
    return gradient;
}

}  // namespace

ConfusionMatrixPlot::ConfusionMatrixPlot(QWidget* parent)
    : QCustomPlot(parent),
      m_map(new QCPColorMap(xAxis, yAxis)),
      m_scale(new QCPColorScale(this)),
      m_margins(new QCPMarginGroup(this)) {
    setObjectName(QStringLiteral("confusionMatrix"));
    setBackground(QBrush(Qt::white));
    setMouseTracking(true);
    QFont tickFont = font();
    tickFont.setPointSizeF(8);
    QFont labelFont = font();
    labelFont.setPointSizeF(8.5);
    for (QCPAxis* axis : {xAxis, yAxis}) {
        axis->setTickLabelFont(tickFont);
        axis->setLabelFont(labelFont);
        axis->setLabelColor(kMutedText);
        axis->setTickLabelColor(kAxisText);
        axis->setBasePen(Qt::NoPen);
        axis->setTickPen(Qt::NoPen);
        axis->setSubTickPen(Qt::NoPen);
        axis->grid()->setVisible(false);
        axis->setPadding(2);
    }
    xAxis->setLabel(tr("predicted class"));
    yAxis->setLabel(tr("true class"));
    yAxis->setRangeReversed(true);
    xAxis->setTickLabelRotation(-40);

    m_map->setInterpolate(false);
    m_map->setTightBoundary(false);
    plotLayout()->addElement(0, 1, m_scale);
    m_scale->setType(QCPAxis::atRight);
    m_scale->setBarWidth(10);
    m_scale->axis()->setTickLabelFont(tickFont);
    m_scale->axis()->setTickLabelColor(kAxisText);
    m_scale->axis()->setLabel(tr("samples"));
    m_scale->axis()->setLabelFont(labelFont);
    m_scale->axis()->setLabelColor(kMutedText);
    m_scale->axis()->setBasePen(QPen(QColor(0xb0b6bd)));
    m_scale->axis()->setTickPen(QPen(QColor(0xb0b6bd)));
    m_scale->axis()->setSubTickPen(Qt::NoPen);
    m_scale->axis()->setNumberFormat(QStringLiteral("f"));
    m_scale->axis()->setNumberPrecision(0);
    m_map->setColorScale(m_scale);
    m_scale->setGradient(heatGradient());
    axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, m_margins);
    m_scale->setMarginGroup(QCP::msBottom | QCP::msTop, m_margins);
    plotLayout()->setAutoMargins(QCP::msNone);
    plotLayout()->setMargins(QMargins());
    connect(this, &QCustomPlot::afterLayout, this, &ConfusionMatrixPlot::onLayout);
    clearMatrix();
}

void ConfusionMatrixPlot::clearMatrix() { setMatrix(ConfusionMatrix(0), {}); }

QString ConfusionMatrixPlot::className(int index) const {
    return index >= 0 && index < m_names.size() && !m_names[index].isEmpty() ? m_names[index] : QString::number(index);
}

void ConfusionMatrixPlot::setMatrix(const ConfusionMatrix& confusion, const QStringList& classNames) {
    for (QCPItemText* text : m_cellTexts) removeItem(text);
    m_cellTexts.clear();
    m_classes = confusion.numClasses();
    m_names = classNames;
    const int n = m_classes;
    m_counts.assign(size_t(n) * size_t(n), 0);
    m_rowTotals.assign(size_t(n), 0);
    int64_t largest = 1;
    for (int t = 0; t < n; ++t)
        for (int p = 0; p < n; ++p) {
            const int64_t c = confusion.count(t, p);
            m_counts[size_t(t * n + p)] = c;
            m_rowTotals[size_t(t)] += c;
            largest = std::max(largest, c);
        }

    m_map->data()->setSize(std::max(n, 1), std::max(n, 1));
    m_map->data()->setRange(QCPRange(0, std::max(n - 1, 0)), QCPRange(0, std::max(n - 1, 0)));
    m_map->data()->fill(0);
    for (int t = 0; t < n; ++t)
        for (int p = 0; p < n; ++p) m_map->data()->setCell(p, t, double(m_counts[size_t(t * n + p)]));
    m_map->setDataRange(QCPRange(0, double(largest)));
    m_map->setVisible(n > 0);
    m_scale->setVisible(n > 0);

    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    const bool labelled = n <= kMaxLabelledClasses;
    for (int i = 0; i < n; ++i)
        if (labelled || i % 5 == 0) ticker->addTick(i, className(i));
    xAxis->setTicker(ticker);
    yAxis->setTicker(ticker);
    xAxis->setRange(-0.5, std::max(n, 1) - 0.5);
    yAxis->setRange(-0.5, std::max(n, 1) - 0.5);

    if (labelled) {
        for (int t = 0; t < n; ++t)
            for (int p = 0; p < n; ++p) {
                const int64_t c = m_counts[size_t(t * n + p)];
                auto* text = new QCPItemText(this);
                text->setClipToAxisRect(true);
                text->position->setType(QCPItemPosition::ptPlotCoords);
                text->position->setCoords(p, t);
                text->setPositionAlignment(Qt::AlignCenter);
                text->setText(QString::number(c));
                text->setColor(c == 0                                          ? kZeroText
                               : double(c) / double(largest) >= kWhiteTextFrom ? QColor(Qt::white)
                                                                               : kDarkCellText);
                text->setSelectable(false);
                m_cellTexts.push_back(text);
            }
    }
    updateCellFonts();
    replot();
}

void ConfusionMatrixPlot::onLayout() {
    const QRect inner = axisRect()->rect();
    const QMargins padding = plotLayout()->margins();
    const int naturalWidth = inner.width() + padding.left() + padding.right();
    const int naturalHeight = inner.height() + padding.top() + padding.bottom();
    const int side = std::min(naturalWidth, naturalHeight);
    const int padX = naturalWidth - side, padY = naturalHeight - side;
    const QMargins square(padX / 2, padY / 3, padX - padX / 2, padY - padY / 3);
    if (square != padding && m_classes > 0) {
        plotLayout()->setMargins(square);
        replot(QCustomPlot::rpQueuedReplot);
    }
    updateCellFonts();
}

void ConfusionMatrixPlot::updateCellFonts() {
    if (m_classes == 0 || m_cellTexts.empty()) return;
    const double cell = std::min(axisRect()->width(), axisRect()->height()) / double(m_classes);
    QFont cellFont = font();
    cellFont.setPointSizeF(std::clamp(cell / 4.2, 6.0, 10.0));
    const bool readable = cell >= 16;
    for (size_t i = 0; i < m_cellTexts.size(); ++i) {
        QCPItemText* text = m_cellTexts[i];
        QFont f = cellFont;
        f.setBold(i / size_t(m_classes) == i % size_t(m_classes));
        text->setFont(f);
        text->setVisible(readable);
    }
}

int64_t ConfusionMatrixPlot::cellSum() const {
    if (m_classes == 0) return 0;
    double sum = 0;
    for (int x = 0; x < m_map->data()->keySize(); ++x)
        for (int y = 0; y < m_map->data()->valueSize(); ++y) sum += m_map->data()->cell(x, y);
    return int64_t(std::llround(sum));
}

QString ConfusionMatrixPlot::cellText(int truth, int predicted) const {
    if (truth < 0 || predicted < 0 || truth >= m_classes || predicted >= m_classes) return {};
    const size_t index = size_t(truth * m_classes + predicted);
    return index < m_cellTexts.size() ? m_cellTexts[index]->text() : QString::number(m_counts[index]);
}

void ConfusionMatrixPlot::mouseMoveEvent(QMouseEvent* event) {
    QCustomPlot::mouseMoveEvent(event);
    if (m_classes == 0 || !axisRect()->rect().contains(event->pos())) {
        QToolTip::hideText();
        return;
    }
    const int p = int(std::lround(xAxis->pixelToCoord(event->position().x())));
    const int t = int(std::lround(yAxis->pixelToCoord(event->position().y())));
    if (p < 0 || t < 0 || p >= m_classes || t >= m_classes) return;
    const int64_t c = m_counts[size_t(t * m_classes + p)];
    const int64_t row = m_rowTotals[size_t(t)];
    const QString share = row > 0 ? formatPercent(double(c) / double(row)) : QStringLiteral("–");
    const QString tip = t == p ? tr("<b>%1</b> recognised correctly: %2 of %3 (%4)")
                                     .arg(className(t).toHtmlEscaped(), formatCount(c), formatCount(row), share)
                               : tr("<b>%1</b> taken for <b>%2</b>: %3 of %4 (%5)")
                                     .arg(className(t).toHtmlEscaped(), className(p).toHtmlEscaped(), formatCount(c),
                                          formatCount(row), share);
    QToolTip::showText(event->globalPosition().toPoint(), tip, this);
}

}  // namespace lathe
