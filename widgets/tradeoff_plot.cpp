#include "widgets/tradeoff_plot.h"

#include <qcustomplot.h>

#include <QButtonGroup>
#include <QHBoxLayout>
#include <QHelpEvent>
#include <QLabel>
#include <QMouseEvent>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "widgets/display_format.h"
#include "widgets/plot_export.h"
#include "widgets/workbench_style.h"

namespace lathe {

namespace {

// Log-axis ticks at 1, 2 and 5 × 10^k labelled as byte sizes ("200 kB", "1 MB").
class ByteTicker : public QCPAxisTicker {
protected:
    QVector<double> createTickVector(double, const QCPRange& range) override {
        QVector<double> ticks;
        if (range.lower <= 0 || range.upper <= range.lower) return ticks;
        const double decades = std::log10(range.upper / range.lower);
        const QVector<double> steps = decades > 3     ? QVector<double>{1}
                                      : decades > 1.5 ? QVector<double>{1, 3}
                                      : decades > 0.8 ? QVector<double>{1, 2, 5}
                                                      : QVector<double>{1, 1.5, 2, 3, 5, 7};
        for (int e = int(std::floor(std::log10(range.lower))); e <= int(std::ceil(std::log10(range.upper))); ++e)
            for (double s : steps) {
                const double v = s * std::pow(10.0, e);
                if (v >= range.lower && v <= range.upper) ticks << v;
            }
        if (ticks.size() < 2) ticks = {range.lower, std::sqrt(range.lower * range.upper), range.upper};
        return ticks;
    }
    QVector<double> createSubTickVector(int, const QVector<double>&) override { return {}; }
    QString getTickLabel(double tick, const QLocale&, QChar, int) override {
        static const char* units[] = {"B", "kB", "MB", "GB", "TB"};
        int unit = 0;
        while (tick >= 1000 && unit < 4) {
            tick /= 1000;
            ++unit;
        }
        return QStringLiteral("%1 %2").arg(QString::number(tick, 'g', 3), QLatin1String(units[unit]));
    }
};

QString signedPoints(double delta) {
    return QStringLiteral("%1%2 pp").arg(delta >= 0 ? QStringLiteral("+") : QStringLiteral("−")).arg(std::abs(delta), 0, 'f', 1);
}

}  // namespace

std::vector<int> paretoFront(const std::vector<QPointF>& points) {
    std::vector<int> front;
    for (int i = 0; i < int(points.size()); ++i) {
        const QPointF& p = points[size_t(i)];
        bool dominated = false;
        for (int j = 0; j < int(points.size()) && !dominated; ++j) {
            const QPointF& q = points[size_t(j)];
            dominated = j != i && q.x() <= p.x() && q.y() >= p.y() && (q.x() < p.x() || q.y() > p.y());
        }
        if (!dominated) front.push_back(i);
    }
    std::sort(front.begin(), front.end(), [&](int a, int b) {
        const QPointF &pa = points[size_t(a)], &pb = points[size_t(b)];
        return pa.x() != pb.x() ? pa.x() < pb.x() : pa.y() != pb.y() ? pa.y() < pb.y() : a < b;
    });
    return front;
}

TradeoffPlot::TradeoffPlot(QWidget* parent)
    : QWidget(parent),
      m_metricGroup(new QButtonGroup(this)),
      m_summary(new QLabel(this)),
      m_plot(new QCustomPlot(this)),
      m_empty(new QLabel(this)) {
    auto* bar = new QHBoxLayout;
    bar->setSpacing(0);
    auto* sizeLabel = new QLabel(tr("Size as"), this);
    sizeLabel->setStyleSheet(QStringLiteral("color:#5f6368; margin-right:6px;"));
    bar->addWidget(sizeLabel);
    const QString segment = QStringLiteral(
        "QToolButton { border:1px solid #c4c9cf; padding:2px 10px; background:white; color:#3c4043; }"
        "QToolButton:checked { background:#e8f0fa; color:#1a4d8f; border-color:#8ab4f8; }");
    int index = 0;
    for (const auto& [text, tip] : {std::pair{tr("ONNX file"), tr("Size of the ONNX file each variant exports to")},
                                    std::pair{tr("zlib of file"), tr("Size of the ONNX file after zlib (level 9): what "
                                                                   "pruned zeros and shared weights save in a "
                                                                   "compressed download")}}) {
        auto* b = new QToolButton(this);
        b->setText(text);
        b->setToolTip(tip);
        b->setCheckable(true);
        b->setStyleSheet(segment);
        m_metricGroup->addButton(b, index++);
        bar->addWidget(b);
    }
    m_metricGroup->button(0)->setChecked(true);
    bar->addSpacing(12);
    bar->addStretch(1);
    m_summary->setStyleSheet(QStringLiteral("color:#80868b;"));
    m_summary->setWordWrap(true);  // wraps in a narrow panel instead of widening the window
    m_summary->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    bar->addWidget(m_summary);

    style::stylePlot(m_plot);
    m_plot->setObjectName(QStringLiteral("tradeoffPlot"));
    m_plot->setMinimumSize(320, 220);
    m_plot->setMouseTracking(true);
    m_plot->installEventFilter(this);
    m_plot->xAxis->setScaleType(QCPAxis::stLogarithmic);
    m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new ByteTicker));
    m_plot->xAxis->setLabel(tr("size of the ONNX file (log scale)"));
    m_plot->yAxis->setLabel(tr("top-1 accuracy (%)"));
    m_plot->yAxis->setNumberFormat(QStringLiteral("f"));
    m_plot->yAxis->setNumberPrecision(1);
    m_plot->xAxis->grid()->setVisible(true);

    m_frontLine = m_plot->addGraph();
    m_frontLine->setName(tr("Pareto front (shaded: dominated)"));
    m_frontLine->setLineStyle(QCPGraph::lsStepLeft);
    m_frontLine->setPen(QPen(style::kBlue, 1.6));
    m_frontLine->setBrush(style::withAlpha(style::kLightBlue, 40));
    m_dominated = m_plot->addGraph();
    m_dominated->setName(tr("variant"));
    m_dominated->setLineStyle(QCPGraph::lsNone);
    m_dominated->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QColor(0x7d8ea3), Qt::white, 8));
    m_onFront = m_plot->addGraph();
    m_onFront->setName(tr("on the front"));
    m_onFront->setLineStyle(QCPGraph::lsNone);
    m_onFront->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, style::kBlue, style::kBlue, 9));
    m_baseline = m_plot->addGraph();
    m_baseline->setName(tr("float baseline"));
    m_baseline->setLineStyle(QCPGraph::lsNone);
    m_baseline->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(style::kText, 1.5),
                                                QBrush(QColor(0xfbbc04)), 13));
    m_cvMeans = m_plot->addGraph();
    m_cvMeans->setName(tr("cross-validated top-1, mean ± std"));
    m_cvMeans->setLineStyle(QCPGraph::lsNone);
    m_cvMeans->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssPlus, QPen(QColor(0x9334e6), 1.5), Qt::NoBrush, 9));
    m_cvBars = new QCPErrorBars(m_plot->xAxis, m_plot->yAxis);
    m_cvBars->setDataPlottable(m_cvMeans);
    m_cvBars->setErrorType(QCPErrorBars::etValueError);
    m_cvBars->setPen(QPen(QColor(0x9334e6), 1.4));
    m_cvBars->setWhiskerWidth(8);
    m_cvBars->removeFromLegend();
    m_currentRing = m_plot->addGraph();
    m_currentRing->setLineStyle(QCPGraph::lsNone);
    m_currentRing->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(style::kRed, 2), Qt::NoBrush, 18));
    m_currentRing->removeFromLegend();
    m_baselineLine = new QCPItemStraightLine(m_plot);
    m_baselineLine->setPen(QPen(QColor(0xb08900), 1, Qt::DashLine));
    m_baselineLine->setSelectable(false);

    m_plot->legend->setVisible(true);
    QFont legendFont = font();
    legendFont.setPointSizeF(8);
    m_plot->legend->setFont(legendFont);
    m_plot->legend->setBrush(QBrush(style::withAlpha(Qt::white, 230)));
    // Below the axes, in one row: inside them it covered points (a pruned variant under the front's legend).
    m_plot->axisRect()->insetLayout()->take(m_plot->legend);
    auto* legendRow = new QCPLayoutGrid;
    m_plot->plotLayout()->addElement(1, 0, legendRow);
    legendRow->addElement(0, 0, m_plot->legend);
    legendRow->setMargins(QMargins(0, 0, 0, 4));
    m_plot->legend->setWrap(2);
    m_plot->legend->setFillOrder(QCPLegend::foColumnsFirst, true);
    m_plot->legend->setBorderPen(Qt::NoPen);
    m_plot->plotLayout()->setRowStretchFactor(1, 0.001);
    installPlotContextMenu(m_plot, [] { return QStringLiteral("accuracy_vs_size"); });

    m_empty->setText(tr("Evaluate variants to place them here: each one is a point of accuracy against size."));
    m_empty->setAlignment(Qt::AlignCenter);
    m_empty->setWordWrap(true);
    m_empty->setStyleSheet(QStringLiteral("color:#80868b; background:transparent;"));

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->setSpacing(6);
    layout->addLayout(bar);
    layout->addWidget(m_plot, 1);
    m_empty->setParent(m_plot);

    connect(m_metricGroup, &QButtonGroup::idClicked, this,
            [this](int id) { setSizeMetric(id == 0 ? SizeMetric::Onnx : SizeMetric::Zlib); });
    rebuild();
}

double TradeoffPlot::sizeOf(const TradeoffPoint& p) const {
    return double(std::max<int64_t>(1, m_metric == SizeMetric::Onnx ? p.onnxBytes : p.zlibBytes));
}

void TradeoffPlot::setPoints(std::vector<TradeoffPoint> points) {
    m_points = std::move(points);
    rebuild();
}

void TradeoffPlot::setCurrent(const QString& id) {
    m_current = id;
    rebuild();
}

void TradeoffPlot::setSizeMetric(SizeMetric metric) {
    if (metric == m_metric) return;
    m_metric = metric;
    m_metricGroup->button(metric == SizeMetric::Onnx ? 0 : 1)->setChecked(true);
    m_plot->xAxis->setLabel(metric == SizeMetric::Onnx ? tr("size of the ONNX file (log scale)")
                                                       : tr("size of the ONNX file after zlib (log scale)"));
    rebuild();
    emit sizeMetricChanged(metric);
}

QStringList TradeoffPlot::frontIds() const {
    QStringList ids;
    for (int i : m_front) ids << m_points[size_t(i)].id;
    return ids;
}

void TradeoffPlot::rebuild() {
    std::vector<QPointF> xy;
    for (const TradeoffPoint& p : m_points) xy.emplace_back(sizeOf(p), p.accuracy);
    m_front = paretoFront(xy);
    std::vector<bool> onFront(m_points.size(), false);
    for (int i : m_front) onFront[size_t(i)] = true;

    QVector<double> fx, fy, dx, dy, ox, oy, bx, by, cx, cy;
    for (int i : m_front) {
        fx << xy[size_t(i)].x();
        fy << xy[size_t(i)].y();
    }
    const TradeoffPoint* baseline = nullptr;
    for (size_t i = 0; i < m_points.size(); ++i) {
        const TradeoffPoint& p = m_points[i];
        if (p.baseline) {
            baseline = &p;
            bx << xy[i].x();
            by << xy[i].y();
        } else if (onFront[i]) {
            ox << xy[i].x();
            oy << xy[i].y();
        } else {
            dx << xy[i].x();
            dy << xy[i].y();
        }
        if (!m_current.isEmpty() && p.id == m_current) {
            cx << xy[i].x();
            cy << xy[i].y();
        }
    }
    // The staircase runs on to the right edge: the shaded region under it is what the front dominates.
    if (!fy.isEmpty()) {
        fx << fx.back() * 1e6;
        fy << fy.back();
    }
    m_frontLine->setData(fx, fy);
    m_dominated->setData(dx, dy);
    m_onFront->setData(ox, oy);
    m_baseline->setData(bx, by);
    m_currentRing->setData(cx, cy);
    QVector<double> vx, vy, verr;
    for (size_t i = 0; i < m_points.size(); ++i)
        if (const auto& cv = m_points[i].crossValidation) {
            vx << xy[i].x();
            vy << cv->meanTop1;
            verr << cv->stdTop1;
        }
    m_cvMeans->setData(vx, vy);
    m_cvBars->setData(verr);
    m_cvMeans->setVisible(!vx.isEmpty());
    m_cvBars->setVisible(!vx.isEmpty());
    if (vx.isEmpty())
        m_cvMeans->removeFromLegend();
    else
        m_cvMeans->addToLegend();

    for (QCPItemText* t : m_labels) m_plot->removeItem(t);
    m_labels.clear();
    m_labelsToPlace.clear();
    QFont labelFont = font();
    labelFont.setPointSizeF(7.5);
    for (size_t i = 0; i < m_points.size(); ++i) {
        auto* t = new QCPItemText(m_plot);
        t->setText(m_points[i].name);
        t->setFont(labelFont);
        t->setColor(m_points[i].baseline ? QColor(0x7a5c00) : onFront[i] ? style::kAxisText : style::kMutedText);
        t->position->setCoords(xy[i].x(), xy[i].y());
        t->setSelectable(false);
        m_labels.push_back(t);
        m_labelsToPlace.push_back(int(i));
    }

    m_baselineLine->setVisible(baseline != nullptr);
    if (baseline) {
        m_baselineLine->point1->setCoords(1, baseline->accuracy);
        m_baselineLine->point2->setCoords(10, baseline->accuracy);
    }

    if (!m_points.empty()) {
        double xmin = xy.front().x(), xmax = xmin, ymin = xy.front().y(), ymax = ymin;
        for (const QPointF& p : xy) {
            xmin = std::min(xmin, p.x());
            xmax = std::max(xmax, p.x());
            ymin = std::min(ymin, p.y());
            ymax = std::max(ymax, p.y());
        }
        for (int i = 0; i < vy.size(); ++i) {
            ymin = std::min(ymin, vy[i] - verr[i]);
            ymax = std::max(ymax, vy[i] + verr[i]);
        }
        // Room for labels on the right and above; at least a factor 3 of size and 2 points of accuracy.
        const double span = std::max(xmax / xmin, 3.0);
        const double mid = std::sqrt(xmin * xmax);
        m_plot->xAxis->setRange(mid / std::pow(span, 0.62), mid * std::pow(span, 0.78));
        const double ypad = std::max(0.8, (ymax - ymin) * 0.12);
        m_plot->yAxis->setRange(std::max(0.0, ymin - ypad), std::min(100.0, ymax + ypad * 1.6));
    } else {
        m_plot->xAxis->setRange(1e4, 1e7);
        m_plot->yAxis->setRange(0, 100);
    }
    const int variants = int(std::count_if(m_points.begin(), m_points.end(), [](auto& p) { return !p.baseline; }));
    m_summary->setText(m_points.empty() ? QString()
                                        : tr("%n variant(s)", nullptr, variants) +
                                              tr(" · %1 on the Pareto front").arg(m_front.size()));
    m_empty->setVisible(m_points.empty());
    m_empty->setGeometry(m_plot->rect().adjusted(40, 20, -20, -40));
    m_plot->legend->setVisible(!m_points.empty());
    m_plot->replot();  // lays out the axes, so labels can be placed in pixels
    placeLabels();
    m_plot->replot();
}

void TradeoffPlot::placeLabels() {
    // Greedy: front points and the baseline first; each label takes the first free spot around its point (right,
    // left, above, below), or is hidden (the tooltip still names the point).
    std::vector<int> order = m_labelsToPlace;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        auto rank = [&](int i) {
            return m_points[size_t(i)].baseline ? 0 : std::find(m_front.begin(), m_front.end(), i) != m_front.end() ? 1 : 2;
        };
        return rank(a) < rank(b);
    });
    std::vector<QRectF> taken;
    const QRect area = m_plot->axisRect()->rect();
    for (const TradeoffPoint& p : m_points) {
        const QPointF c(m_plot->xAxis->coordToPixel(sizeOf(p)), m_plot->yAxis->coordToPixel(p.accuracy));
        taken.emplace_back(c.x() - 6, c.y() - 6, 12, 12);
    }
    for (int i : order) {
        QCPItemText* t = m_labels[size_t(i)];
        const QFontMetricsF fm(t->font());
        const QSizeF size(fm.horizontalAdvance(t->text()) + 4, fm.height() + 2);
        const QPointF c(m_plot->xAxis->coordToPixel(sizeOf(m_points[size_t(i)])),
                        m_plot->yAxis->coordToPixel(m_points[size_t(i)].accuracy));
        struct Spot {
            Qt::Alignment align;
            double dx, dy;
        };
        static const Spot spots[] = {{Qt::AlignLeft | Qt::AlignBottom, 8, -1},  {Qt::AlignLeft | Qt::AlignTop, 8, 1},
                                     {Qt::AlignRight | Qt::AlignBottom, -8, -1}, {Qt::AlignRight | Qt::AlignTop, -8, 1},
                                     {Qt::AlignHCenter | Qt::AlignBottom, 0, -9}, {Qt::AlignHCenter | Qt::AlignTop, 0, 9}};
        bool placed = false;
        for (const Spot& spot : spots) {
            const QPointF anchor(c.x() + spot.dx, c.y() + spot.dy);
            const double left = spot.align & Qt::AlignLeft    ? anchor.x()
                                : spot.align & Qt::AlignRight ? anchor.x() - size.width()
                                                              : anchor.x() - size.width() / 2;
            const double top = spot.align & Qt::AlignBottom ? anchor.y() - size.height() : anchor.y();
            const QRectF r(left, top, size.width(), size.height());
            if (!QRectF(area).contains(r)) continue;
            if (std::any_of(taken.begin(), taken.end(), [&](const QRectF& o) { return o.intersects(r); })) continue;
            taken.push_back(r);
            t->setPositionAlignment(spot.align);
            t->position->setType(QCPItemPosition::ptAbsolute);
            t->position->setCoords(anchor);
            placed = true;
            break;
        }
        t->setVisible(placed);
    }
}

QPoint TradeoffPlot::pointPosition(const QString& id) const {
    for (const TradeoffPoint& p : m_points)
        if (p.id == id)
            return QPoint(int(std::lround(m_plot->xAxis->coordToPixel(sizeOf(p)))),
                          int(std::lround(m_plot->yAxis->coordToPixel(p.accuracy))));
    return QPoint(-1, -1);
}

QString TradeoffPlot::pointAt(const QPoint& pos, double radius) const {
    QString best;
    double bestDistance = radius * radius;
    for (const TradeoffPoint& p : m_points) {
        const double dx = m_plot->xAxis->coordToPixel(sizeOf(p)) - pos.x();
        const double dy = m_plot->yAxis->coordToPixel(p.accuracy) - pos.y();
        if (dx * dx + dy * dy <= bestDistance) {
            bestDistance = dx * dx + dy * dy;
            best = p.id;
        }
    }
    return best;
}

QString TradeoffPlot::toolTipFor(const QString& id) const {
    const TradeoffPoint* base = nullptr;
    const TradeoffPoint* point = nullptr;
    for (const TradeoffPoint& p : m_points) {
        if (p.baseline) base = &p;
        if (p.id == id) point = &p;
    }
    if (!point) return {};
    QString text = QStringLiteral("<b>%1</b>").arg(point->name.toHtmlEscaped());
    text += tr("<br>top-1 %1 %").arg(point->accuracy, 0, 'f', 2);
    if (base && !point->baseline) text += QStringLiteral(" (%1 vs float)").arg(signedPoints(point->accuracy - base->accuracy));
    text += tr("<br>ONNX file %1 · zlib of the file %2").arg(formatBytes(point->onnxBytes), formatBytes(point->zlibBytes));
    if (base && !point->baseline && point->onnxBytes > 0 && point->zlibBytes > 0)
        text += tr("<br>%1× smaller (ONNX file), %2× (zlib of the file)")
                    .arg(double(base->onnxBytes) / double(point->onnxBytes), 0, 'f', 1)
                    .arg(double(base->zlibBytes) / double(point->zlibBytes), 0, 'f', 1);
    if (point->crossValidation)
        text += tr("<br>cross-validated top-1 %1 (bar: ± std)").arg(crossValidationText(*point->crossValidation));
    const auto front = frontIds();
    if (front.contains(id)) text += tr("<br><i>on the Pareto front</i>");
    if (!point->summary.isEmpty())
        text += QStringLiteral("<hr><span style='white-space:pre'>%1</span>").arg(point->summary.toHtmlEscaped());
    return text;
}

std::vector<std::pair<double, double>> TradeoffPlot::errorBars() const {
    std::vector<std::pair<double, double>> bars;
    if (!m_cvBars->visible()) return bars;
    for (int i = 0; i < m_cvBars->dataCount(); ++i)
        bars.emplace_back(m_cvMeans->data()->at(i)->value, m_cvBars->data()->at(i).errorPlus);
    return bars;
}

bool TradeoffPlot::eventFilter(QObject* watched, QEvent* event) {
    if (watched == m_plot) {
        if (event->type() == QEvent::ToolTip) {
            auto* help = static_cast<QHelpEvent*>(event);
            const QString id = pointAt(help->pos());
            if (id.isEmpty())
                QToolTip::hideText();
            else
                QToolTip::showText(help->globalPos(), toolTipFor(id), m_plot);
            return true;
        }
        if (event->type() == QEvent::MouseButtonPress) {
            auto* mouse = static_cast<QMouseEvent*>(event);
            if (mouse->button() == Qt::LeftButton) {
                const QString id = pointAt(mouse->position().toPoint());
                if (!id.isEmpty()) {
                    setCurrent(id);
                    emit pointClicked(id);
                    return true;
                }
            }
        }
        if (event->type() == QEvent::MouseMove) {
            auto* mouse = static_cast<QMouseEvent*>(event);
            m_plot->setCursor(pointAt(mouse->position().toPoint()).isEmpty() ? Qt::ArrowCursor
                                                                             : Qt::PointingHandCursor);
        }
        if (event->type() == QEvent::Resize) {
            m_empty->setGeometry(m_plot->rect().adjusted(40, 20, -20, -40));
            // Labels sit in pixels: place them again once the plot has its new size.
            QMetaObject::invokeMethod(
                this,
                [this] {
                    m_plot->replot();
                    placeLabels();
                    m_plot->replot();
                },
                Qt::QueuedConnection);
        }
    }
    return QWidget::eventFilter(watched, event);
}

}  // namespace lathe
