#include <QImage>
#include <QTemporaryDir>
#include <QtTest>

#include "app/gui/evaluation_session.h"
#include "app/gui/main_window.h"
#include "app/gui/model_document.h"
#include "app/gui/screenshot_task.h"
#include "widget_test_support.h"
#include "widgets/activation_view.h"
#include "widgets/confusion_matrix_plot.h"
#include "widgets/dataset_panel.h"
#include "widgets/evaluation_view.h"
#include "widgets/graph_view.h"
#include "widgets/histogram_view.h"

using namespace lathe;
using namespace lathe::test;

class TestScreenshotTask : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void capturesLaidOutModelWithSecondLayerSelected() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString png = dir.filePath("shot.png");
        MainWindow window;
        window.setDialogsEnabled(false);
        window.show();
        ScreenshotTask task(&window, png);
        QSignalSpy finished(&task, &ScreenshotTask::finished);
        task.start(true);
        window.openFile(demoModelPath());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        QCOMPARE(finished.front().at(0).toInt(), 0);
        QCOMPARE(window.graphView()->nodeItemCount(), 8);
        QCOMPARE(window.document()->selectedNode(), window.document()->summary().layers[1].nodeIndex);
        QCOMPARE(window.histogramView()->valueCount(), int64_t(25000));
        const QImage image(png);
        QVERIFY(!image.isNull());
        QCOMPARE(image.size(), window.size() * window.devicePixelRatio());
    }

    void evaluatesAndCapturesActivationsBeforeGrabbing() {
        if (!QFileInfo::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"))
            QSKIP("Debian's dataset-fashion-mnist is not installed");
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString png = dir.filePath("evaluated.png");
        MainWindow window;
        window.setDialogsEnabled(false);
        window.datasetPanel()->setLimit(500);
        window.show();
        ScreenshotTask::Options options;
        options.activations = true;
        options.evaluate = true;
        ScreenshotTask task(&window, png, options);
        QSignalSpy finished(&task, &ScreenshotTask::finished);
        task.start(true);
        window.openFile(demoModelPath());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 240000);
        QCOMPARE(finished.front().at(0).toInt(), 0);
        QVERIFY(window.evaluationView()->hasReport());
        QCOMPARE(window.evaluationView()->confusionPlot()->cellSum(), int64_t(500));
        QCOMPARE(window.activationView()->histogramView()->valueCount(), int64_t(256) * 50 * 8 * 8);
        QVERIFY(!QImage(png).isNull());
    }

    void failsWithTheErrorForABadModel() {
        QTemporaryDir dir;
        MainWindow window;
        window.setDialogsEnabled(false);
        ScreenshotTask task(&window, dir.filePath("shot.png"));
        QSignalSpy finished(&task, &ScreenshotTask::finished);
        task.start(true);
        window.openFile(fixturePath("not_onnx.onnx"));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        QVERIFY(finished.front().at(0).toInt() != 0);
        QVERIFY(finished.front().at(1).toString().contains("not_onnx.onnx"));
        QVERIFY(!QFile::exists(dir.filePath("shot.png")));
    }
};

QTEST_MAIN(TestScreenshotTask)
#include "test_screenshot_task.moc"
