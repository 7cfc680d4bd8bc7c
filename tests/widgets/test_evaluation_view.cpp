#include <QTableWidget>
#include <QtTest>

#include "widgets/confusion_matrix_plot.h"
#include "widgets/evaluation_view.h"

using namespace lathe;

class TestEvaluationView : public QObject {
    Q_OBJECT

private:
    // Two classes, hand-made: 8 of 10 right.
    static EvalReport report() {
        EvalReport r;
        r.backend = "opencv";
        r.n = 10;
        r.confusion = ConfusionMatrix(2);
        for (int i = 0; i < 5; ++i) r.confusion.add(0, 0);
        r.confusion.add(0, 1);
        for (int i = 0; i < 3; ++i) r.confusion.add(1, 1);
        r.confusion.add(1, 0);
        r.perClass = perClassMetrics(r.confusion);
        r.top1 = 100.0 * accuracy(r.confusion);
        r.top5 = 100.0;
        r.macroF1 = 100.0 * macroF1(r.confusion);
        r.folds = FoldStats{2, 80.0, 2.5, {77.5, 82.5}};
        r.imagesPerSecond = 12345.6;
        r.latencyMs = 0.1234;
        return r;
    }

private slots:
    void showsMetricsTableAndMatrix() {
        EvaluationView view;
        view.resize(900, 600);
        view.show();
        view.setReport(report(), {"cat"}, "model.onnx on pets", "npy:a.npy,b.npy");
        QVERIFY(view.hasReport());
        QCOMPARE(view.metricText("top1"), QStringLiteral("80.00 %"));
        QCOMPARE(view.metricText("top5"), QStringLiteral("100.00 %"));
        QCOMPARE(view.metricText("folds"), QStringLiteral("80.00 ± 2.50 %"));
        QCOMPARE(view.metricText("n"), QStringLiteral("10"));
        QCOMPARE(view.metricText("throughput"), QStringLiteral("12,346 img/s"));
        QCOMPARE(view.metricText("latency"), QStringLiteral("0.123 ms"));
        QCOMPARE(view.metricText("backend"), QStringLiteral("OpenCV DNN"));

        QTableWidget* table = view.classTable();
        QCOMPARE(table->rowCount(), 2);
        QCOMPARE(table->item(0, 0)->text(), QStringLiteral("cat"));
        QCOMPARE(table->item(1, 0)->text(), QStringLiteral("1"));  // no name: its number
        // cat: precision 5/6, recall 5/6; class 1: precision 3/4, recall 3/4.
        QCOMPARE(table->item(0, 1)->data(Qt::UserRole).toDouble(), 5.0 / 6.0);
        QCOMPARE(table->item(1, 2)->data(Qt::UserRole).toDouble(), 0.75);
        QCOMPARE(table->item(1, 4)->text(), QStringLiteral("4"));
        table->sortByColumn(2, Qt::AscendingOrder);  // by recall: class 1 first
        QCOMPARE(table->item(0, 0)->text(), QStringLiteral("1"));

        QCOMPARE(view.confusionPlot()->cellSum(), int64_t(10));
        QCOMPARE(view.confusionPlot()->className(0), QStringLiteral("cat"));
    }

    void errorsAndPlaceholdersReplaceResults() {
        EvaluationView view;
        view.setReport(report(), {}, "m", "d");
        view.showError("Evaluation failed: /data/x is missing");
        QVERIFY(!view.hasReport());
        QCOMPARE(view.errorText(), QStringLiteral("Evaluation failed: /data/x is missing"));
        QCOMPARE(view.confusionPlot()->cellSum(), int64_t(0));
        QCOMPARE(view.metricText("top1"), QStringLiteral("–"));
        view.clearReport("Evaluating…");
        QVERIFY(view.errorText().isEmpty());
        QCOMPARE(view.classTable()->rowCount(), 0);
    }
};

QTEST_MAIN(TestEvaluationView)
#include "test_evaluation_view.moc"
