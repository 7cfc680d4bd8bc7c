#include <QToolButton>
#include <QtTest>

#include "widgets/activation_view.h"
#include "widgets/histogram_view.h"
#include "widgets/task_progress.h"

using namespace lathe;

class TestActivationView : public QObject {
    Q_OBJECT

private slots:
    void captureNeedsANodeAndIdleness() {
        ActivationView view;
        QSignalSpy requested(&view, &ActivationView::captureRequested);
        QVERIFY(!view.captureButton()->isEnabled());
        view.setNode("conv2", "conv2_out");
        QVERIFY(view.captureButton()->isEnabled());
        view.setBusy(true);
        QVERIFY(!view.captureButton()->isEnabled());
        view.setBusy(false);
        QTest::mouseClick(view.captureButton(), Qt::LeftButton);
        QCOMPARE(requested.count(), 1);
    }

    void valuesAndMessages() {
        ActivationView view;
        view.show();
        view.setNode("relu1", "relu1_out");
        auto values = std::make_shared<const std::vector<float>>(std::vector<float>(1000, 0.f));
        QSignalSpy updated(view.histogramView(), &HistogramView::histogramUpdated);
        view.setValues(values, "2×500");
        QTRY_VERIFY(updated.count() > 0 && !view.histogramView()->isBusy());
        QCOMPARE(view.histogramView()->valueCount(), int64_t(1000));
        QCOMPARE(view.histogramView()->stats().zeroFraction, 1.0);
        QCOMPARE(view.capturedNode(), QStringLiteral("relu1"));
        view.showMessage("Cannot run: unsupported ops FancyNorm (n1)", true);
        QVERIFY(view.message().contains("FancyNorm"));
        QTRY_VERIFY(!view.histogramView()->isBusy());
        QCOMPARE(view.histogramView()->valueCount(), int64_t(0));
        QVERIFY(view.capturedNode().isEmpty());
        view.showMessage({}, false);
        QVERIFY(view.message().isEmpty());
    }

    void taskProgressShowsStageAndCancels() {
        TaskProgress progress;
        QSignalSpy cancel(&progress, &TaskProgress::cancelRequested);
        progress.begin("Evaluating on Fashion-MNIST test");
        QVERIFY(progress.isVisibleTo(nullptr) || !progress.isHidden());
        progress.setProgress(0.42f, "evaluating");
        QCOMPARE(progress.text(), QStringLiteral("Evaluating on Fashion-MNIST test — evaluating…"));
        QCOMPARE(progress.percent(), 42);
        QTest::mouseClick(progress.cancelButton(), Qt::LeftButton);
        QCOMPARE(cancel.count(), 1);
        progress.end();
        QVERIFY(progress.isHidden());
    }
};

QTEST_MAIN(TestActivationView)
#include "test_activation_view.moc"
