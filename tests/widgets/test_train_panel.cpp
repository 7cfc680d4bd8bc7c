#include <qcustomplot.h>

#include <QComboBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "widgets/plot_export.h"
#include "widgets/train_panel.h"

using namespace lathe;

class TestTrainPanel : public QObject {
    Q_OBJECT

private slots:
    void fieldsRoundTripTrainSettings_data() {
        QTest::addColumn<int>("kind");
        QTest::newRow("fine-tune") << 0;
        QTest::newRow("gradual") << 1;
        QTest::newRow("deep compression") << 2;
    }

    void fieldsRoundTripTrainSettings() {
        QFETCH(int, kind);
        TrainSettings s;
        s.epochs = 3;
        s.lr = 0.005;
        s.optimizer = kind == 1 ? TrainOptimizer::Adam : TrainOptimizer::Sgd;
        s.momentum = 0.8;
        s.weightDecay = 0.0005;
        s.batch = 32;
        s.schedule = kind == 0 ? LrSchedule::Step : LrSchedule::Cosine;
        s.stepEpochs = 2;
        s.gamma = 0.5;
        s.seed = 42;
        s.samples = 1500;
        s.batchNorm = BatchNormTraining::Train;
        if (kind == 1) s.pruneSchedule = PruneSchedule{0.3, 2};
        if (kind == 2) s.centroidEpochs = 2;
        TrainPanel panel;
        panel.setSettings(s);
        QCOMPARE(int(panel.mode()), kind);
        const TrainSettings back = panel.settings();
        QCOMPARE(back.epochs, 3);
        QCOMPARE(back.lr, 0.005);
        QVERIFY(back.optimizer == s.optimizer);
        QCOMPARE(back.momentum, 0.8);
        QCOMPARE(back.weightDecay, 0.0005);
        QCOMPARE(back.batch, 32);
        QVERIFY(back.schedule == s.schedule);
        QCOMPARE(back.stepEpochs, 2);
        QCOMPARE(back.gamma, 0.5);
        QCOMPARE(back.seed, uint64_t(42));
        QCOMPARE(back.samples, int64_t(1500));
        QVERIFY(back.batchNorm == BatchNormTraining::Train);
        QCOMPARE(back.pruneSchedule.has_value(), kind == 1);
        if (kind == 1) {
            QCOMPARE(back.pruneSchedule->from, 0.3);
            QCOMPARE(back.pruneSchedule->epochs, 2);
        }
        QCOMPARE(back.centroidEpochs, kind == 2 ? 2 : 0);
    }

    void modeDecidesScheduleAndCentroids() {
        TrainPanel panel;
        panel.setSettings(TrainSettings{});
        QVERIFY(panel.mode() == TrainMode::FineTune);
        QVERIFY(!panel.settings().pruneSchedule);
        panel.setMode(TrainMode::Gradual);
        QVERIFY(panel.settings().pruneSchedule.has_value());
        QCOMPARE(panel.settings().pruneSchedule->from, 0.5);  // the default start
        panel.setMode(TrainMode::DeepCompression);
        QVERIFY(!panel.settings().pruneSchedule);
        QCOMPARE(panel.settings().centroidEpochs, 1);
        QCOMPARE(panel.settings().samples, int64_t(0));  // all training images
    }

    void everyFieldHasATooltip() {
        TrainPanel panel;
        for (QWidget* w : panel.findChildren<QWidget*>()) {
            if (qobject_cast<QComboBox*>(w) || qobject_cast<QAbstractSpinBox*>(w) || qobject_cast<QPushButton*>(w) ||
                qobject_cast<QLineEdit*>(w) || qobject_cast<QCustomPlot*>(w)) {
                if (qobject_cast<QLineEdit*>(w) && qobject_cast<QAbstractSpinBox*>(w->parentWidget())) continue;
                QVERIFY2(!w->toolTip().isEmpty(), qPrintable(w->metaObject()->className()));
            }
        }
    }

    void startAndCancelFollowTheRun() {
        TrainPanel panel;
        QSignalSpy start(&panel, &TrainPanel::startRequested);
        QSignalSpy cancel(&panel, &TrainPanel::cancelRequested);
        QVERIFY(panel.startButton()->isEnabled());
        QVERIFY(!panel.cancelButton()->isEnabled());
        panel.setBlocker("Open a model first");
        QVERIFY(!panel.startButton()->isEnabled());
        QCOMPARE(panel.startButton()->toolTip(), QStringLiteral("Open a model first"));
        panel.setBlocker({});
        panel.setTrainSpecNeeded(true, "folder: data has no train split");
        QVERIFY(!panel.startButton()->isEnabled());  // the SPEC is missing
        panel.setTrainSpec("folder:/tmp/train");
        QVERIFY(panel.startButton()->isEnabled());
        QTest::mouseClick(panel.startButton(), Qt::LeftButton);
        QCOMPARE(start.count(), 1);
        panel.setRunning(true);
        QVERIFY(!panel.startButton()->isEnabled());
        QVERIFY(panel.cancelButton()->isEnabled());
        QVERIFY(!panel.modeCombo()->isEnabled());
        QTest::mouseClick(panel.cancelButton(), Qt::LeftButton);
        QCOMPARE(cancel.count(), 1);
        panel.setRunning(false);
        QVERIFY(panel.startButton()->isEnabled());
        QVERIFY(!panel.cancelButton()->isEnabled());
    }

    void curvesGetOnePointPerEpoch() {
        TrainPanel panel;
        panel.resize(600, 500);
        TrainSettings s;
        s.epochs = 3;
        panel.setSettings(s);
        panel.setRunning(true);
        panel.setProgress(0.3f, "training");
        for (int e = 1; e <= 3; ++e) {
            panel.addEpoch({e, "fine-tune", 1.0 / e, 80.0 + e, 0.7, 1.5, 4000.0 + e});
            QCOMPARE(panel.plot()->graph(0)->dataCount(), e);  // loss
            QCOMPARE(panel.plot()->graph(1)->dataCount(), e);  // top-1
            QCOMPARE(panel.plot()->graph(2)->dataCount(), e);  // sparsity
        }
        QCOMPARE(panel.epochs().size(), size_t(3));
        QCOMPARE(panel.plot()->graph(2)->data()->at(0)->value, 70.0);
        // An epoch without a measured accuracy adds no top-1 point.
        panel.addEpoch({4, "centroids", 0.2, -1, 0.7, 1.5, 4000.0});
        QCOMPARE(panel.plot()->graph(0)->dataCount(), 4);
        QCOMPARE(panel.plot()->graph(1)->dataCount(), 3);
        // A new run starts with empty curves.
        panel.setRunning(false);
        panel.setRunning(true);
        QCOMPARE(panel.plot()->graph(0)->dataCount(), 0);
        panel.addEpoch({1, "fine-tune", 0.5, 85, 0.7, 1.0, 3000});
        QTemporaryDir dir;
        QString error;
        QVERIFY2(savePlot(panel.plot(), dir.filePath("curves.png"), &error), qPrintable(error));
        QVERIFY(QFileInfo(dir.filePath("curves.png")).size() > 1000);
    }
};

QTEST_MAIN(TestTrainPanel)
#include "test_train_panel.moc"
