// The window's evaluation features end to end on the demo model and Debian's Fashion-MNIST: data set panel,
// Model > Evaluate with progress and Cancel, the results panel, activation histograms and error messages.
#include <QAction>
#include <QDockWidget>
#include <QImage>
#include <QMessageBox>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QThreadPool>
#include <QToolButton>
#include <QtTest>
#include <cstring>

#include "widgets/background_pool.h"
#include "app/gui/evaluation_session.h"
#include "app/gui/main_window.h"
#include "app/gui/model_document.h"
#include "core/eval/evaluator.h"
#include "widget_test_support.h"
#include "widgets/activation_view.h"
#include "widgets/confusion_matrix_plot.h"
#include "widgets/dataset_panel.h"
#include "widgets/evaluation_view.h"
#include "widgets/graph_view.h"
#include "widgets/histogram_view.h"
#include "widgets/plot_export.h"
#include "widgets/task_progress.h"

using namespace lathe;
using namespace lathe::test;

namespace {

const QString kFashion = QStringLiteral("/usr/share/datasets/fashion-mnist");

// Writes a little-endian .npy file (format 1.0) holding `data` as `descr` ("<f4", "<i8") with `shape`.
bool writeNpy(const QString& path, const char* descr, const QList<int>& shape, const QByteArray& data) {
    QStringList dims;
    for (int d : shape) dims << QString::number(d);
    QByteArray header = QStringLiteral("{'descr': '%1', 'fortran_order': False, 'shape': (%2%3), }")
                            .arg(QLatin1String(descr), dims.join(", "), shape.size() == 1 ? "," : "")
                            .toLatin1();
    while ((10 + header.size() + 1) % 64 != 0) header.append(' ');
    header.append('\n');
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly)) return false;
    file.write("\x93NUMPY\x01\x00", 8);
    const quint16 length = quint16(header.size());
    file.write(reinterpret_cast<const char*>(&length), 2);
    file.write(header);
    file.write(data);
    return true;
}

QByteArray floats(qsizetype count, float value) {
    QByteArray bytes(count * qsizetype(sizeof(float)), '\0');
    for (qsizetype i = 0; i < count; ++i) std::memcpy(bytes.data() + i * 4, &value, 4);
    return bytes;
}

QByteArray int64s(const QList<qint64>& values) {
    return QByteArray(reinterpret_cast<const char*>(values.constData()), values.size() * qsizetype(sizeof(qint64)));
}

}  // namespace

class TestEvaluationWindow : public QObject {
    Q_OBJECT

private:
    // A shown window with the demo model opened and laid out.
    static bool openDemo(MainWindow& window) {
        window.setDialogsEnabled(false);
        window.show();
        QSignalSpy laidOut(window.graphView(), &GraphView::layoutFinished);
        window.openFile(demoModelPath());
        return QTest::qWaitFor([&] { return laidOut.count() > 0; }, 60000);
    }

    static bool waitForEvaluation(MainWindow& window) {
        return QTest::qWaitFor([&] { return !window.evaluationSession()->isEvaluating(); }, 240000);
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LatheTest");
        QCoreApplication::setApplicationName("test_evaluation_window");
        QSettings().clear();
        if (!QFileInfo::exists(kFashion + "/t10k-images-idx3-ubyte.gz"))
            QSKIP("Debian's dataset-fashion-mnist is not installed");
    }

    void cleanup() {
        // No test leaves a worker behind for the next one.
        QVERIFY(backgroundPool()->waitForDone(120000));
    }

    void defaultDataSetIsFashionMnistTest() {
        MainWindow window;
        QCOMPARE(window.datasetPanel()->specText(), QStringLiteral("idx:/usr/share/datasets/fashion-mnist"));
        const auto settings = window.datasetPanel()->validate();
        QVERIFY(settings);
        QCOMPARE(settings->dataset.split.value_or(Split::Train), Split::Test);
        QCOMPARE(settings->displayName(), QStringLiteral("Fashion-MNIST test"));
        QCOMPARE(window.evaluateAction()->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_E));
        QVERIFY(!window.evaluateAction()->isEnabled());  // no model yet
    }

    void evaluateFillsResultsLikeCore() {
        MainWindow window;
        QVERIFY(openDemo(window));
        QVERIFY(window.evaluateAction()->isEnabled());
        window.datasetPanel()->setLimit(1000);
        QSignalSpy finished(window.evaluationSession(), &EvaluationSession::evaluationFinished);
        QSignalSpy started(window.evaluationSession()->evaluationJob(), &Job::started);
        window.evaluateAction()->trigger();
        QCOMPARE(started.count(), 1);
        QVERIFY(!window.evaluateAction()->isEnabled());
        QVERIFY(window.evaluationProgress()->isVisible());
        QVERIFY(window.evaluationProgress()->text().startsWith("Evaluating on Fashion-MNIST test"));
        QVERIFY(!window.evaluationDock()->visibleRegion().isEmpty());  // raised over Weights
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 240000);
        QVERIFY(window.evaluateAction()->isEnabled());
        QVERIFY(!window.evaluationProgress()->isVisible());

        // The same numbers as core's evaluate() called directly with the same options.
        const auto settings = window.datasetPanel()->validate();
        QVERIFY(settings);
        auto dataset = openDataset(settings->spec, settings->dataset);
        QVERIFY(dataset);
        auto direct = evaluate(*window.document()->graph(), **dataset, settings->eval);
        QVERIFY2(direct, direct ? "" : direct.error().message.c_str());
        const EvalReport& shown = *window.evaluationSession()->report();
        QCOMPARE(shown.n, int64_t(1000));
        QCOMPARE(shown.top1, direct->top1);
        QCOMPARE(shown.top5, direct->top5);
        QCOMPARE(shown.macroF1, direct->macroF1);
        QVERIFY(direct->top1 > 80.0);

        EvaluationView* view = window.evaluationView();
        QVERIFY(view->hasReport());
        QCOMPARE(view->metricText("top1"), QString::number(direct->top1, 'f', 2) + " %");
        QCOMPARE(view->metricText("top5"), QString::number(direct->top5, 'f', 2) + " %");
        QCOMPARE(view->metricText("f1"), QString::number(direct->macroF1, 'f', 2) + " %");
        QCOMPARE(view->metricText("n"), QStringLiteral("1,000"));
        QVERIFY(view->metricText("folds").contains(QString::number(direct->folds.mean, 'f', 2) + " ± "));
        QVERIFY(view->metricText("throughput").endsWith("img/s"));
        QVERIFY(view->metricText("latency").endsWith("ms"));
        QCOMPARE(view->metricText("backend"), QStringLiteral("built-in"));

        // Per-class table with Fashion-MNIST's class names; the heat map holds every evaluated image.
        QTableWidget* table = view->classTable();
        QCOMPARE(table->rowCount(), 10);
        QCOMPARE(table->item(0, 0)->text(), QStringLiteral("T-shirt/top"));
        QCOMPARE(table->item(9, 0)->text(), QStringLiteral("Ankle boot"));
        int64_t support = 0;
        for (int row = 0; row < 10; ++row) support += table->item(row, 4)->data(Qt::UserRole).toLongLong();
        QCOMPARE(support, int64_t(1000));
        ConfusionMatrixPlot* plot = view->confusionPlot();
        QCOMPARE(plot->classCount(), 10);
        QCOMPARE(plot->cellSum(), shown.n);
        QCOMPARE(plot->colorMap()->data()->keySize(), 10);
        QCOMPARE(plot->className(6), QStringLiteral("Shirt"));
        QCOMPARE(plot->cellText(0, 0), QString::number(shown.confusion.count(0, 0)));
        QVERIFY(window.statusBar()->currentMessage().contains(QString::number(direct->top1, 'f', 2)));

        // The plots save as PNG (also reachable through their context menus).
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString png = dir.filePath("confusion.png");
        QString error;
        QVERIFY2(savePlot(plot, png, &error), qPrintable(error));
        QVERIFY(QFileInfo(png).size() > 0);
        QVERIFY(!QImage(png).isNull());
        QCOMPARE(plot->contextMenuPolicy(), Qt::CustomContextMenu);
    }

    void cancelLeavesNoResults() {
        MainWindow window;
        QVERIFY(openDemo(window));
        QSignalSpy cancelled(window.evaluationSession(), &EvaluationSession::evaluationCancelled);
        QSignalSpy finished(window.evaluationSession(), &EvaluationSession::evaluationFinished);
        window.evaluateAction()->trigger();
        QVERIFY(window.evaluationSession()->isEvaluating());
        QVERIFY(!window.evaluateAction()->isEnabled());
        QTest::mouseClick(window.evaluationProgress()->cancelButton(), Qt::LeftButton);
        QCOMPARE(cancelled.count(), 1);
        QVERIFY(!window.evaluationSession()->isEvaluating());
        QVERIFY(window.evaluateAction()->isEnabled());
        QVERIFY(!window.evaluationProgress()->isVisible());
        QVERIFY(window.statusBar()->currentMessage().contains("cancelled"));
        QVERIFY(backgroundPool()->waitForDone(120000));
        QCoreApplication::processEvents();
        QCOMPARE(finished.count(), 0);
        QVERIFY(!window.evaluationSession()->report());
        QVERIFY(!window.evaluationView()->hasReport());
        QCOMPARE(window.evaluationView()->confusionPlot()->cellSum(), int64_t(0));
    }

    // Cancel in the middle of the batched pass: the ProgressFn returns false and the worker stops early.
    void cancelWhileEvaluatingStopsTheWorker() {
        MainWindow window;
        QVERIFY(openDemo(window));
        window.datasetPanel()->setSplit(Split::Train);  // 60,000 images at batch 1: minutes of work
        window.datasetPanel()->setBatchSize(1);
        window.evaluateAction()->trigger();
        Job* job = window.evaluationSession()->evaluationJob();
        QTRY_VERIFY_WITH_TIMEOUT(job->stage() == "evaluating" && job->fraction() > 0, 120000);
        QVERIFY(window.evaluationProgress()->text().contains("evaluating"));
        QElapsedTimer timer;
        timer.start();
        window.evaluationSession()->cancelEvaluation();
        QVERIFY(backgroundPool()->waitForDone(60000));
        QVERIFY2(timer.elapsed() < 30000, "the worker did not stop at the next batch");
        QCoreApplication::processEvents();
        QVERIFY(!window.evaluationSession()->report());
        QVERIFY(window.evaluateAction()->isEnabled());
    }

    void activationHistogramOfConv2() {
        MainWindow window;
        QVERIFY(openDemo(window));
        const int conv2 = window.document()->graph()->nodeIndex("conv2");
        window.document()->selectNode(conv2);
        ActivationView* view = window.activationView();
        QCOMPARE(view->nodeName(), QStringLiteral("conv2"));
        QCOMPARE(view->tensorName(), QStringLiteral("conv2_out"));
        QCOMPARE(view->sampleCount(), 256);
        HistogramView* histogram = view->histogramView();
        QSignalSpy updated(histogram, &HistogramView::histogramUpdated);
        window.captureActivations();
        QTRY_VERIFY_WITH_TIMEOUT(histogram->valueCount() > 0 && !histogram->isBusy(), 120000);
        QCOMPARE(histogram->valueCount(), int64_t(256) * 50 * 8 * 8);
        QCOMPARE(histogram->stats().count, int64_t(256) * 50 * 8 * 8);
        QCOMPARE(view->capturedNode(), QStringLiteral("conv2"));
        QVERIFY(histogram->plot()->plotLayout()->elementCount() > 0);
        QVERIFY(view->message().isEmpty());
        QVERIFY(!histogram->statText("std").isEmpty());
    }

    void activationsFollowSelectionWhenShown() {
        MainWindow window;
        QVERIFY(openDemo(window));
        window.activationsDock()->raise();
        QTRY_VERIFY(!window.activationsDock()->visibleRegion().isEmpty());
        HistogramView* histogram = window.activationView()->histogramView();
        window.document()->selectNode(window.document()->graph()->nodeIndex("fc1"));
        QTRY_COMPARE_WITH_TIMEOUT(histogram->valueCount(), int64_t(256) * 500, 120000);
        QCOMPARE(window.activationView()->capturedNode(), QStringLiteral("fc1"));
    }

    void unsupportedOpsAreListedAndModelStaysViewable() {
        MainWindow window;
        window.setDialogsEnabled(false);
        window.show();
        QSignalSpy laidOut(window.graphView(), &GraphView::layoutFinished);
        window.openFile(fixturePath("unknown_op.onnx"));
        QTRY_COMPARE_WITH_TIMEOUT(laidOut.count(), 1, 60000);
        QSignalSpy failed(window.evaluationSession(), &EvaluationSession::activationsFailed);
        window.document()->selectNode(0);
        window.captureActivations();
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 60000);
        const QString message = window.activationView()->message();
        QVERIFY2(message.contains("FancyNorm"), qPrintable(message));
        QVERIFY(message.contains("stays viewable"));
        QCOMPARE(window.graphView()->nodeItemCount(), int(window.document()->graph()->nodes.size()));
        QVERIFY(window.findChildren<QMessageBox*>().isEmpty());
    }

    void badDataSetPathNamesThePath() {
        MainWindow window;
        QVERIFY(openDemo(window));
        window.datasetPanel()->setSpecText("idx:/nonexistent/fashion-data");
        QSignalSpy started(window.evaluationSession(), &EvaluationSession::evaluationStarted);
        window.evaluateAction()->trigger();
        QCOMPARE(started.count(), 0);
        const QString field = window.datasetPanel()->fieldError("Data set");
        QVERIFY2(field.contains("/nonexistent/fashion-data"), qPrintable(field));
        QVERIFY(field.startsWith("Data set:"));
        QVERIFY(window.evaluationView()->errorText().contains("/nonexistent/fashion-data"));
        QVERIFY(window.statusBar()->currentMessage().contains("/nonexistent/fashion-data"));
        QVERIFY(window.evaluateAction()->isEnabled());
        QVERIFY(window.findChildren<QMessageBox*>().isEmpty());

        // A folder that exists but holds no IDX files: core's message names the missing file.
        QTemporaryDir empty;
        QVERIFY(empty.isValid());
        window.datasetPanel()->setSpecText("idx:" + empty.path());
        QSignalSpy failed(window.evaluationSession(), &EvaluationSession::evaluationFailed);
        window.evaluateAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 60000);
        const QString message = failed.front().front().toString();
        QVERIFY2(message.contains(empty.path()), qPrintable(message));
        QVERIFY(window.evaluationView()->errorText().contains(empty.path()));
        QVERIFY(window.datasetPanel()->runError().contains(empty.path()));
        QVERIFY(window.evaluateAction()->isEnabled());
        QVERIFY(window.document()->hasModel());
    }

    void shapeMismatchAndBadLabelAreExplained() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        // 4 images of 5x5: the model wants 28x28.
        QVERIFY(writeNpy(dir.filePath("small.npy"), "<f4", {4, 5, 5}, floats(4 * 25, 0.5f)));
        QVERIFY(writeNpy(dir.filePath("labels.npy"), "<i8", {4}, int64s({0, 1, 2, 3})));
        // 4 images of 28x28, one labelled 12: the model has 10 classes.
        QVERIFY(writeNpy(dir.filePath("images.npy"), "<f4", {4, 28, 28}, floats(4 * 784, 0.5f)));
        QVERIFY(writeNpy(dir.filePath("bad_labels.npy"), "<i8", {4}, int64s({0, 12, 2, 3})));

        MainWindow window;
        QVERIFY(openDemo(window));
        window.datasetPanel()->setFolds(2);
        QSignalSpy failed(window.evaluationSession(), &EvaluationSession::evaluationFailed);
        window.datasetPanel()->setSpecText(
            QStringLiteral("npy:%1,%2").arg(dir.filePath("small.npy"), dir.filePath("labels.npy")));
        window.evaluateAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 60000);
        QString message = failed.back().front().toString();
        QVERIFY2(message.contains("1x5x5") && message.contains("input"), qPrintable(message));

        window.datasetPanel()->setSpecText(
            QStringLiteral("npy:%1,%2").arg(dir.filePath("images.npy"), dir.filePath("bad_labels.npy")));
        window.evaluateAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 2, 60000);
        message = failed.back().front().toString();
        QVERIFY2(message.contains("label 12"), qPrintable(message));
        QVERIFY(window.evaluationView()->errorText().contains("label 12"));
        QVERIFY(!window.evaluationView()->hasReport());
        QVERIFY(window.evaluateAction()->isEnabled());
    }

    void newModelDropsResults() {
        MainWindow window;
        QVERIFY(openDemo(window));
        window.datasetPanel()->setLimit(200);
        window.evaluateAction()->trigger();
        QVERIFY(waitForEvaluation(window));
        QVERIFY(window.evaluationView()->hasReport());
        QSignalSpy changed(window.document(), &ModelDocument::modelChanged);
        window.openFile(fixturePath("residual.onnx"));
        QTRY_COMPARE_WITH_TIMEOUT(changed.count(), 1, 60000);
        QVERIFY(!window.evaluationView()->hasReport());
        QVERIFY(!window.evaluationSession()->report());
    }
};

QTEST_MAIN(TestEvaluationWindow)
#include "test_evaluation_window.moc"
