#include <qcustomplot.h>

#include <QSignalSpy>
#include <QToolButton>
#include <QtTest>

#include "widgets/tradeoff_plot.h"

using namespace lathe;

namespace {

TradeoffPoint point(const QString& id, double accuracy, int64_t onnx, int64_t zlib, bool baseline = false) {
    TradeoffPoint p;
    p.id = id;
    p.name = id.toUpper();
    p.accuracy = accuracy;
    p.onnxBytes = onnx;
    p.zlibBytes = zlib;
    p.baseline = baseline;
    p.summary = QStringLiteral("fc1  %1").arg(id);
    return p;
}

}  // namespace

class TestTradeoffPlot : public QObject {
    Q_OBJECT

private slots:
    void crossValidationErrorBars() {
        TradeoffPlot plot;
        TradeoffPoint base{"v1", "float", 91.5, 1700000, 1600000, true, {}, {}};
        TradeoffPoint cv{"v2", "int8", 91.0, 440000, 380000, false, {}, CrossValidationFigure{5, 1, 90.6, 0.4, 90, 0.4}};
        plot.setPoints({base, cv});
        const auto bars = plot.errorBars();
        QCOMPARE(int(bars.size()), 1);
        QCOMPARE(bars.front().first, 90.6);
        QCOMPARE(bars.front().second, 0.4);
        QVERIFY(plot.toolTipFor("v2").contains(QStringLiteral("90.6 ± 0.4 (5-fold CV)")));
        if (const QString dir = qEnvironmentVariable("LATHE_SCREENSHOT_DIR"); !dir.isEmpty()) {
            plot.resize(640, 420);
            plot.grab().save(dir + "/tradeoff_cv.png");
        }
        plot.setPoints({base});
        QVERIFY(plot.errorBars().empty());
    }

    void paretoFront_data() {
        QTest::addColumn<QList<QPointF>>("points");
        QTest::addColumn<QList<int>>("front");
        QTest::newRow("empty") << QList<QPointF>{} << QList<int>{};
        QTest::newRow("one") << QList<QPointF>{{10, 50}} << QList<int>{0};
        // Staircase: 3 is beaten by 1 (smaller and better), 4 by 2.
        QTest::newRow("staircase") << QList<QPointF>{{100, 90}, {20, 85}, {50, 89}, {40, 80}, {60, 88}}
                                   << QList<int>{1, 2, 0};
        // Equal size: only the more accurate survives; equal accuracy: only the smaller one.
        QTest::newRow("ties") << QList<QPointF>{{10, 70}, {10, 75}, {20, 75}, {5, 60}} << QList<int>{3, 1};
        // Identical points dominate nobody: both stay.
        QTest::newRow("duplicates") << QList<QPointF>{{10, 70}, {10, 70}, {30, 69}} << QList<int>{0, 1};
        QTest::newRow("all on front") << QList<QPointF>{{1, 1}, {2, 2}, {3, 3}} << QList<int>{0, 1, 2};
        QTest::newRow("one dominates all") << QList<QPointF>{{5, 99}, {6, 90}, {50, 98}, {7, 10}} << QList<int>{0};
    }

    void paretoFront() {
        QFETCH(QList<QPointF>, points);
        QFETCH(QList<int>, front);
        const std::vector<int> got = lathe::paretoFront(std::vector<QPointF>(points.begin(), points.end()));
        QCOMPARE(QList<int>(got.begin(), got.end()), front);
    }

    // A front that changes with the size metric: zlib rewards the pruned variant.
    void frontFollowsSizeMetric() {
        TradeoffPlot plot;
        plot.resize(640, 420);
        plot.show();
        QVERIFY(QTest::qWaitForWindowExposed(&plot));
        plot.setPoints({point("base", 91.0, 1700000, 1580000, true), point("int8", 90.8, 440000, 400000),
                        point("pruned", 90.5, 1700000, 300000), point("int4", 88.0, 230000, 210000),
                        point("bad", 80.0, 900000, 800000)});
        QCOMPARE(plot.frontIds(), (QStringList{"int4", "int8", "base"}));
        QCOMPARE(plot.plot()->graph(0)->dataCount(), 4);  // the staircase through the front, on to the right edge

        QSignalSpy metric(&plot, &TradeoffPlot::sizeMetricChanged);
        plot.setSizeMetric(TradeoffPlot::SizeMetric::Zlib);
        QCOMPARE(metric.count(), 1);
        QCOMPARE(plot.frontIds(), (QStringList{"int4", "pruned", "int8", "base"}));
        QVERIFY(plot.plot()->xAxis->label().contains(QLatin1String("zlib")));
    }

    void clickAndTooltip() {
        TradeoffPlot plot;
        plot.resize(640, 420);
        plot.show();
        QVERIFY(QTest::qWaitForWindowExposed(&plot));
        plot.setPoints({point("base", 91.0, 1700000, 1580000, true), point("int8", 90.8, 440000, 400000)});
        plot.plot()->replot();
        const QPoint at = plot.pointPosition("int8");
        QVERIFY(plot.plot()->rect().contains(at));
        QCOMPARE(plot.pointAt(at + QPoint(3, -2)), QStringLiteral("int8"));
        QVERIFY(plot.pointAt(at + QPoint(40, 40)).isEmpty());

        QSignalSpy clicked(&plot, &TradeoffPlot::pointClicked);
        QTest::mouseClick(plot.plot(), Qt::LeftButton, {}, at);
        QCOMPARE(clicked.count(), 1);
        QCOMPARE(clicked.first().first().toString(), QStringLiteral("int8"));
        QCOMPARE(plot.current(), QStringLiteral("int8"));

        const QString tip = plot.toolTipFor("int8");
        QVERIFY(tip.contains(QLatin1String("INT8")));
        QVERIFY(tip.contains(QStringLiteral("−0.2 pp vs float")));
        QVERIFY(tip.contains(QLatin1String("fc1  int8")));
        QVERIFY(tip.contains(QStringLiteral("3.9× smaller")));
    }

    // Issue 12: the legend covered low-accuracy points. It sits outside the axes, so no point, label or corner of the
    // data area is under it, at the dock's size and in a small plot.
    void legendCoversNoPoint_data() {
        QTest::addColumn<QSize>("size");
        QTest::newRow("dock") << QSize(560, 480);
        QTest::newRow("small") << QSize(340, 260);
    }

    void legendCoversNoPoint() {
        QFETCH(QSize, size);
        TradeoffPlot plot;
        plot.resize(size);
        plot.show();
        QVERIFY(QTest::qWaitForWindowExposed(&plot));
        TradeoffPoint cv = point("int8", 90.8, 440000, 400000);
        cv.crossValidation = CrossValidationFigure{5, 1, 90.1, 0.5, 89.0, 0.5};
        // Low-accuracy points at both lower corners, where legends usually sit.
        plot.setPoints({point("base", 91.0, 1700000, 1580000, true), cv, point("dc", 12.0, 60000, 40000),
                        point("broken", 10.0, 1650000, 1500000), point("int4", 35.0, 230000, 210000)});
        QCoreApplication::processEvents();
        QCPLegend* legend = plot.plot()->legend;
        QVERIFY(legend->visible());
        const QRect legendRect = legend->outerRect();
        QVERIFY(!legendRect.isEmpty());
        QVERIFY2(!legendRect.intersects(plot.plot()->axisRect()->rect()),
                 "the legend must not sit inside the data area");
        for (const TradeoffPoint& p : plot.points()) {
            const QPoint at = plot.pointPosition(p.id);
            QVERIFY2(plot.plot()->axisRect()->rect().contains(at), qPrintable(p.id));
            QVERIFY2(!legendRect.adjusted(-6, -6, 6, 6).contains(at), qPrintable(p.id + " is under the legend"));
        }
        // Every entry is drawn inside the widget.
        QVERIFY(plot.plot()->rect().contains(legendRect));
        if (const QString dir = qEnvironmentVariable("LATHE_SCREENSHOT_DIR"); !dir.isEmpty())
            plot.grab().save(dir + QStringLiteral("/tradeoff_legend_%1.png").arg(size.width()));
    }

    // Issue 12 item 4: every size says what it measures.
    void sizesSayWhatTheyMeasure() {
        TradeoffPlot plot;
        plot.setPoints({point("base", 91.0, 1700000, 1580000, true), point("int8", 90.8, 440000, 400000)});
        QVERIFY(plot.plot()->xAxis->label().contains(QLatin1String("ONNX file")));
        const QString tip = plot.toolTipFor("int8");
        QVERIFY2(tip.contains(QLatin1String("ONNX file")) && tip.contains(QLatin1String("zlib of the file")),
                 qPrintable(tip));
        plot.setSizeMetric(TradeoffPlot::SizeMetric::Zlib);
        QVERIFY(plot.plot()->xAxis->label().contains(QLatin1String("ONNX file after zlib")));
        QStringList buttons;
        for (QToolButton* b : plot.findChildren<QToolButton*>()) buttons << b->text();
        QVERIFY2(buttons.contains("ONNX file") && buttons.contains("zlib of file"), qPrintable(buttons.join(", ")));
    }

    void baselineIsMarked() {
        TradeoffPlot plot;
        plot.setPoints({point("base", 91.0, 1700000, 1580000, true), point("a", 90.0, 400000, 300000)});
        // Graph 4 is the baseline marker; the dashed reference line sits at its accuracy.
        QCOMPARE(plot.plot()->graph(3)->dataCount(), 1);
        QCOMPARE(plot.plot()->graph(3)->data()->begin()->value, 91.0);
        plot.setPoints({});
        QCOMPARE(plot.frontIds(), QStringList{});
    }
};

QTEST_MAIN(TestTradeoffPlot)
#include "test_tradeoff_plot.moc"
