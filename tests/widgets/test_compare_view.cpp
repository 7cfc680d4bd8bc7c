#include <qcustomplot.h>

#include <QCheckBox>
#include <QTableWidget>
#include <QtTest>

#include "widgets/compare_view.h"

using namespace lathe;

namespace {

CompareColumn column(const QString& name, double top1, const QString& quant, const QString& pruning,
                     std::vector<std::pair<int, int>> samples) {
    CompareColumn c;
    c.id = name;
    c.name = name;
    c.top1 = top1;
    c.top5 = 99.0;
    c.macroF1 = top1 / 100.0;
    c.onnxBytes = quant == "float32" ? 1700000 : 440000;
    c.zlibBytes = c.onnxBytes * 9 / 10;
    c.params = 431080;
    c.macs = 2293000;
    c.latencyMs = 0.4;
    c.samples = int64_t(samples.size());
    c.confusion = ConfusionMatrix(3);
    for (auto [t, p] : samples) c.confusion.add(t, p);
    for (const char* layer : {"conv1", "fc1"}) {
        CompareLayer l;
        l.name = layer;
        l.opType = QString(layer).startsWith("conv") ? "Conv" : "Gemm";
        l.pruning = QString(layer) == "fc1" ? pruning : QStringLiteral("–");
        l.channels = "–";
        l.rank = "–";
        l.quant = quant;
        l.bytes = 1000;
        c.layers.push_back(l);
    }
    return c;
}

}  // namespace

class TestCompareView : public QObject {
    Q_OBJECT

private slots:
    // Issue 12 item 4: every size says what it measures (ONNX file, zlib of the file, bits × weights).
    void sizesSayWhatTheyMeasure() {
        CompareView view;
        auto a = column("float", 91.5, "float32", "–", {{0, 0}});
        auto b = column("int8", 91.4, "int8", "–", {{0, 0}});
        a.weightBytes = 1724320;
        b.weightBytes = 431080;
        view.setColumns({a, b});
        QStringList rows;
        for (int r = 0; r < view.metricsTable()->rowCount(); ++r) rows << view.metricsTable()->item(r, 0)->text();
        for (const QString& name : {QStringLiteral("ONNX file"), QStringLiteral("zlib of the ONNX file"),
                                    QStringLiteral("Weights at their bits (bits × count)")})
            QVERIFY2(rows.contains(name), qPrintable(rows.join(", ")));
        for (const QString& row : rows)
            QVERIFY2(!row.endsWith(QLatin1String(" size")), qPrintable(row + ": which size?"));
        const int weights = int(rows.indexOf("Weights at their bits (bits × count)"));
        QVERIFY2(view.metricsTable()->item(weights, 2)->text().startsWith(QLatin1String("431")),
                 qPrintable(view.metricsTable()->item(weights, 2)->text()));
        QVERIFY(view.layerRow("fc1", "Bits × weights") >= 0);
    }

    void crossValidationVerdict() {
        // Plain numbers: 91.2 ± 0.3 and 91.0 ± 0.4 overlap; 91.2 ± 0.3 and 89.0 ± 0.5 do not.
        const CrossValidationFigure a{5, 1, 91.2, 0.3, 90.0, 0.3}, b{5, 1, 91.0, 0.4, 89.9, 0.4},
            c{5, 1, 89.0, 0.5, 88.0, 0.5};
        QVERIFY(crossValidationOverlaps(a, b));
        QVERIFY(!crossValidationOverlaps(a, c));
        QCOMPARE(crossValidationText(a), QStringLiteral("91.2 ± 0.3 (5-fold CV)"));
        CompareView view;
        auto x = column("A", 91.5, "int8", "–", {{0, 0}});
        auto y = column("B", 91.4, "int8", "–", {{0, 0}});
        x.crossValidation = a;
        y.crossValidation = b;
        view.setColumns({x, y});
        QVERIFY2(view.crossValidationVerdict().contains(QStringLiteral("not distinguishable at 5 folds")),
                 qPrintable(view.crossValidationVerdict()));
        y.crossValidation = c;
        view.setColumns({x, y});
        QVERIFY2(view.crossValidationVerdict().startsWith(QStringLiteral("A is better than B at 5 folds")),
                 qPrintable(view.crossValidationVerdict()));
        bool row = false;
        for (int r = 0; r < view.metricsTable()->rowCount(); ++r)
            if (view.metricsTable()->item(r, 0)->text() == QStringLiteral("Cross-validated top-1")) {
                row = true;
                QCOMPARE(view.metricsTable()->item(r, 2)->text(), QStringLiteral("89.0 ± 0.5 (5-fold CV)"));
            }
        QVERIFY(row);
        if (const QString dir = qEnvironmentVariable("LATHE_SCREENSHOT_DIR"); !dir.isEmpty()) {
            view.resize(900, 600);
            view.grab().save(dir + "/compare_cv.png");
        }
        // One cross-validated variant: nothing to compare.
        y.crossValidation.reset();
        view.setColumns({x, y});
        QVERIFY(view.crossValidationVerdict().isEmpty());
    }

    void sideBySide() {
        CompareView view;
        view.resize(1200, 760);
        auto a = column("float", 90.0, "float32", "–", {{0, 0}, {1, 1}, {2, 2}, {2, 1}});
        auto b = column("int8 pruned", 88.0, "int8 sym per-channel", "60.0 % by sparsity",
                        {{0, 0}, {1, 2}, {2, 2}, {2, 2}});
        std::vector<std::shared_ptr<const std::vector<float>>> values = {
            std::make_shared<const std::vector<float>>(std::vector<float>{-0.2f, 0.1f, 0.f, 0.3f}),
            std::make_shared<const std::vector<float>>(std::vector<float>{0.f, 0.f, 0.f, 0.3f})};
        QString asked;
        view.setColumns({a, b}, {"cat", "dog", "cow"}, [&](const QString& layer) {
            asked = layer;
            return values;
        });

        // Metrics: one row per metric, best marked.
        QTableWidget* m = view.metricsTable();
        QCOMPARE(m->columnCount(), 3);
        QCOMPARE(m->item(0, 0)->text(), QStringLiteral("Top-1 accuracy"));
        QVERIFY(m->item(0, 1)->font().bold());
        QVERIFY(!m->item(0, 2)->font().bold());
        QVERIFY(m->item(0, 2)->text().contains(QStringLiteral("−2.00 pp")));
        QVERIFY(m->item(3, 2)->font().bold());  // smaller ONNX wins

        // Per-layer settings: differing cells highlighted, equal ones not.
        const int quantRow = view.layerRow("fc1", "Quantization");
        const int channelsRow = view.layerRow("fc1", "Channels");
        const int pruneRow = view.layerRow("fc1", "Pruning");
        QVERIFY(quantRow >= 0 && channelsRow >= 0 && pruneRow >= 0);
        QVERIFY(view.isLayerCellHighlighted(quantRow, 0) && view.isLayerCellHighlighted(quantRow, 1));
        QVERIFY(view.isLayerCellHighlighted(pruneRow, 1));
        QVERIFY(!view.isLayerCellHighlighted(channelsRow, 1));
        QCOMPARE(view.layersTable()->item(pruneRow, 3)->text(), QStringLiteral("60.0 % by sparsity"));
        QCOMPARE(view.layerRow("conv1", "Pruning") >= 0, true);

        // Confusion difference b − a.
        QCOMPARE(view.confusionDifference(1, 1), int64_t(-1));
        QCOMPARE(view.confusionDifference(1, 2), int64_t(1));
        QCOMPARE(view.confusionDifference(2, 1), int64_t(-1));
        QCOMPARE(view.confusionDifference(2, 2), int64_t(1));
        QCOMPARE(view.confusionDifference(0, 0), int64_t(0));
        view.setConfusionPair(1, 0);
        QCOMPARE(view.confusionDifference(1, 2), int64_t(-1));

        // Histograms of the first layer, one series per variant.
        QCOMPARE(asked, QStringLiteral("conv1"));
        QCOMPARE(view.histogramSeriesCount(), 2);
        view.setHistogramLayer("fc1");
        QCOMPARE(asked, QStringLiteral("fc1"));
        QVERIFY(view.histogramPlot()->graph(1)->name().contains(QLatin1String("75.0 % zeros")));
    }

    void onlyDifferences() {
        CompareView view;
        view.setColumns({column("a", 90.0, "float32", "–", {{0, 0}}), column("b", 90.0, "float32", "50.0 % by sparsity", {{0, 0}})});
        const int all = view.layersTable()->rowCount();
        QCOMPARE(all, 14);
        view.findChild<QCheckBox*>("onlyDifferences")->setChecked(true);
        QCOMPARE(view.layersTable()->rowCount(), 1);
        QVERIFY(view.layerRow("fc1", "Pruning") == 0);
    }

    void needsTwo() {
        CompareView view;
        view.setColumns({column("a", 90.0, "float32", "–", {{0, 0}})});
        QCOMPARE(view.metricsTable()->rowCount(), 0);
        QCOMPARE(view.histogramSeriesCount(), 0);
    }
};

QTEST_MAIN(TestCompareView)
#include "test_compare_view.moc"
