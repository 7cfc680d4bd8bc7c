#include <qcustomplot.h>

#include <QTemporaryDir>
#include <QtTest>

#include "core/model/model_summary.h"
#include "core/model/weight_stats.h"
#include "widget_test_support.h"
#include "widgets/histogram_view.h"
#include "widgets/plot_export.h"

using namespace lathe;
using namespace lathe::test;

class TestHistogramView : public QObject {
    Q_OBJECT

private:
    std::shared_ptr<const Graph> m_graph;
    ModelSummary m_summary;

    const LayerInfo* layer(const std::string& name) const {
        for (const auto& l : m_summary.layers)
            if (l.name == name) return &l;
        return nullptr;
    }

    // Runs `change` and waits until the view has finished recomputing.
    template <class F>
    static bool settle(HistogramView& view, F change) {
        QSignalSpy updated(&view, &HistogramView::histogramUpdated);
        change();
        return QTest::qWaitFor([&] { return updated.count() > 0 && !view.isBusy(); }, 30000);
    }

private slots:
    void initTestCase() {
        QString error;
        m_graph = loadGraph(demoModelPath(), &error);
        QVERIFY2(m_graph, qPrintable(error));
        m_summary = summarizeModel(*m_graph);
        QVERIFY(layer("conv2"));
    }

    void conv2HoldsAllItsWeights() {
        HistogramView view;
        QVERIFY(settle(view, [&] { view.setLayer(m_graph, layer("conv2")); }));
        QCOMPARE(view.tensorName(), QStringLiteral("conv2.weight"));
        QCOMPARE(view.binCount(), 100);
        QCOMPARE(view.histogram().counts.size(), size_t(100));
        QCOMPARE(view.valueCount(), int64_t(25000));

        const Tensor* weight = m_graph->initializer("conv2.weight");
        QVERIFY(weight);
        QCOMPARE(weight->shape, (std::vector<int64_t>{50, 20, 5, 5}));
        const WeightStats expected = computeWeightStats(weight->data);
        const WeightStats& shown = view.stats();
        QCOMPARE(shown.count, expected.count);
        QCOMPARE(shown.min, expected.min);
        QCOMPARE(shown.max, expected.max);
        QCOMPARE(shown.mean, expected.mean);
        QCOMPARE(shown.std, expected.std);
        QCOMPARE(shown.zeroFraction, expected.zeroFraction);
        QCOMPARE(shown.p1, expected.p1);
        QCOMPARE(shown.p5, expected.p5);
        QCOMPARE(shown.p25, expected.p25);
        QCOMPARE(shown.p50, expected.p50);
        QCOMPARE(shown.p75, expected.p75);
        QCOMPARE(shown.p95, expected.p95);
        QCOMPARE(shown.p99, expected.p99);
        QCOMPARE(view.histogram().lo, expected.min);
        QCOMPARE(view.histogram().hi, expected.max);
        QCOMPARE(view.statText("count"), QStringLiteral("25,000"));
        QCOMPARE(view.statText("max"), QString::number(expected.max, 'g', 4));
        QVERIFY(!view.statText("p99").isEmpty());
        QVERIFY(view.plot()->graph(0)->dataCount() > 100);
    }

    void binCountChangesBinsNotTotal_data() {
        QTest::addColumn<int>("bins");
        QTest::newRow("10") << 10;
        QTest::newRow("37") << 37;
        QTest::newRow("1000") << 1000;
    }
    void binCountChangesBinsNotTotal() {
        QFETCH(int, bins);
        HistogramView view;
        QVERIFY(settle(view, [&] { view.setLayer(m_graph, layer("conv2")); }));
        QVERIFY(settle(view, [&] { view.setBinCount(bins); }));
        QCOMPARE(view.histogram().counts.size(), size_t(bins));
        QCOMPARE(view.valueCount(), int64_t(25000));
    }

    void tensorChoice_data() {
        QTest::addColumn<QString>("layerName");
        QTest::addColumn<int>("index");
        QTest::addColumn<QString>("tensor");
        QTest::addColumn<qlonglong>("count");
        QTest::newRow("conv1 weight") << "conv1" << 0 << "conv1.weight" << 500LL;
        QTest::newRow("conv1 bias") << "conv1" << 1 << "conv1.bias" << 20LL;
        QTest::newRow("fc1 weight") << "fc1" << 0 << "fc1.weight" << 400000LL;
        QTest::newRow("fc2 bias") << "fc2" << 1 << "fc2.bias" << 10LL;
    }
    void tensorChoice() {
        QFETCH(QString, layerName);
        QFETCH(int, index);
        QFETCH(QString, tensor);
        QFETCH(qlonglong, count);
        HistogramView view;
        QVERIFY(settle(view, [&] { view.setLayer(m_graph, layer(layerName.toStdString())); }));
        QCOMPARE(view.tensorIndex(), 0);
        if (index != 0) QVERIFY(settle(view, [&] { view.setTensorIndex(index); }));
        QCOMPARE(view.tensorName(), tensor);
        QCOMPARE(view.valueCount(), int64_t(count));
        QCOMPARE(view.stats().count, int64_t(count));
    }

    void logScaleToggle() {
        HistogramView view;
        QVERIFY(settle(view, [&] { view.setLayer(m_graph, layer("fc1")); }));
        QCOMPARE(view.plot()->yAxis->scaleType(), QCPAxis::stLinear);
        QVERIFY(settle(view, [&] { view.setLogScale(true); }));
        QVERIFY(view.isLogScale());
        QCOMPARE(view.plot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
        QVERIFY(view.plot()->yAxis->range().lower > 0);
        QVERIFY(settle(view, [&] { view.setLogScale(false); }));
        QCOMPARE(view.plot()->yAxis->scaleType(), QCPAxis::stLinear);
        QCOMPARE(view.valueCount(), int64_t(400000));
    }

    void clearingShowsNothing() {
        HistogramView view;
        QVERIFY(settle(view, [&] { view.setLayer(m_graph, layer("conv2")); }));
        QVERIFY(settle(view, [&] { view.setLayer(nullptr, nullptr); }));
        QCOMPARE(view.valueCount(), int64_t(0));
        QCOMPARE(view.tensorIndex(), -1);
        QCOMPARE(view.statText("count"), QStringLiteral("–"));
    }

    void latestLayerWins() {
        HistogramView view;
        QVERIFY(settle(view, [&] {
            view.setLayer(m_graph, layer("fc1"));
            view.setLayer(m_graph, layer("conv2"));
        }));
        QCOMPARE(view.tensorName(), QStringLiteral("conv2.weight"));
        QCOMPARE(view.valueCount(), int64_t(25000));
    }

    void arbitraryValuesHideTheTensorChoice() {
        HistogramView view;
        view.show();
        auto values = std::make_shared<const std::vector<float>>(std::vector<float>{-1.f, 0.f, 0.f, 1.f, 2.f, 3.f});
        QVERIFY(settle(view, [&] { view.setValues(values, "relu1_out   2×3", "activation value"); }));
        QCOMPARE(view.valueCount(), int64_t(6));
        QCOMPARE(view.stats().count, int64_t(6));
        QCOMPARE(view.stats().zeroFraction, 2.0 / 6.0);
        QCOMPARE(view.tensorIndex(), -1);
        QCOMPARE(view.plot()->xAxis->label(), QStringLiteral("activation value"));
        QVERIFY(settle(view, [&] { view.setLayer(m_graph, layer("conv2")); }));  // back to weights
        QCOMPARE(view.valueCount(), int64_t(25000));
        QCOMPARE(view.plot()->xAxis->label(), QStringLiteral("weight value"));
        QVERIFY(settle(view, [&] { view.setValues(nullptr, {}, {}); }));
        QCOMPARE(view.valueCount(), int64_t(0));
    }

    void plotSavesThroughItsContextMenu_data() {
        QTest::addColumn<QString>("file");
        QTest::newRow("png") << "weights.png";
        QTest::newRow("pdf") << "weights.pdf";
        QTest::newRow("svg") << "weights.svg";
    }
    void plotSavesThroughItsContextMenu() {
        QFETCH(QString, file);
        HistogramView view;
        view.resize(600, 400);
        view.show();
        QVERIFY(settle(view, [&] { view.setLayer(m_graph, layer("conv2")); }));
        QCOMPARE(view.plot()->contextMenuPolicy(), Qt::CustomContextMenu);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QString error;
        QVERIFY2(savePlot(view.plot(), dir.filePath(file), &error), qPrintable(error));
        QVERIFY(QFileInfo(dir.filePath(file)).size() > 1000);
        QVERIFY(!savePlot(view.plot(), dir.filePath("weights.bmp"), &error));
        QVERIFY(error.contains("weights.bmp"));
    }
};

QTEST_MAIN(TestHistogramView)
#include "test_histogram_view.moc"
