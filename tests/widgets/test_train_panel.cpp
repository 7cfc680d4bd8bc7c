#include <qcustomplot.h>

#include <QComboBox>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "widgets/plot_export.h"
#include "widgets/train_panel.h"

using namespace lathe;

namespace {

TrainEpochPoint point(int epoch, const QString& phase, double loss, double top1, double sparsity, double seconds,
                      double imagesPerSecond) {
    TrainEpochPoint p;
    p.epoch = epoch;
    p.phase = phase;
    p.loss = loss;
    p.top1 = top1;
    p.sparsity = sparsity;
    p.seconds = seconds;
    p.imagesPerSecond = imagesPerSecond;
    return p;
}

// A histogram over 5 bins of [-1, 1]: `before` spread out, `now` collapsed into the middle bin.
TrainWeightHistogram collapsing(const QString& layer, int64_t moved) {
    TrainWeightHistogram h;
    h.layer = layer;
    h.tensor = layer + ".weight";
    h.lo = -1;
    h.hi = 1;
    h.before = {20, 20, 20, 20, 20};
    h.now = {20 - moved, 20 - moved, 20 + 4 * moved, 20 - moved, 20 - moved};
    return h;
}

// With LATHE_SCREENSHOT_DIR set, saves `widget` there as NAME.png.
void screenshot(QWidget& widget, const QString& name) {
    const QString dir = qEnvironmentVariable("LATHE_SCREENSHOT_DIR");
    if (dir.isEmpty()) return;
    widget.show();
    QCoreApplication::processEvents();
    QVERIFY(widget.grab().save(dir + '/' + name + ".png"));
}

}  // namespace

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

    void l1FieldsRoundTrip_data() {
        QTest::addColumn<int>("cut");  // 0: target sparsity, 1: threshold, 2: none
        QTest::newRow("target sparsity") << 0;
        QTest::newRow("threshold") << 1;
        QTest::newRow("no cut") << 2;
    }

    void l1FieldsRoundTrip() {
        QFETCH(int, cut);
        TrainSettings s;
        s.mode = TrainObjective::L1;
        s.epochs = 6;
        s.lr = 0.02;
        s.schedule = LrSchedule::Cosine;
        s.init = WeightInit::Random;
        s.seed = 7;
        L1Settings l1;
        l1.lambda = 0.0025;
        l1.layers = {{"fc1", 5e-4}, {"conv2.weight", 0.0}};
        if (cut == 0) l1.targetSparsity = 0.85;
        if (cut == 1) l1.threshold = 0.0125;
        l1.finalEpochs = 3;
        s.l1 = l1;
        TrainPanel panel;
        panel.setLayerNames({"conv1", "conv2", "fc1", "fc2", "fc3"});
        panel.setSettings(s);
        QVERIFY(panel.mode() == TrainMode::L1);
        QVERIFY2(panel.inputProblem().isEmpty(), qPrintable(panel.inputProblem()));
        QVERIFY(panel.startButton()->isEnabled());
        const TrainSettings back = panel.settings();
        QVERIFY(back.mode == TrainObjective::L1);
        QVERIFY(back.init == WeightInit::Random);
        QCOMPARE(back.epochs, 6);
        QVERIFY(back.l1.has_value());
        QVERIFY(!back.distill.has_value());
        QVERIFY(!back.pruneSchedule.has_value());
        QCOMPARE(back.l1->lambda, 0.0025);
        QCOMPARE(back.l1->layers.size(), size_t(2));
        QCOMPARE(back.l1->layers.at("fc1"), 5e-4);
        QCOMPARE(back.l1->layers.at("conv2.weight"), 0.0);
        QCOMPARE(back.l1->targetSparsity.has_value(), cut == 0);
        QCOMPARE(back.l1->threshold.has_value(), cut == 1);
        if (cut == 0) QCOMPARE(*back.l1->targetSparsity, 0.85);
        if (cut == 1) QCOMPARE(*back.l1->threshold, 0.0125);
        QCOMPARE(back.l1->finalEpochs, 3);
        // The same section written and parsed as recipe JSON comes back to the same fields.
        Recipe r;
        r.train = back;
        auto parsed = parseRecipe(writeRecipe(r));
        QVERIFY2(parsed, parsed ? "" : parsed.error().message.c_str());
        TrainPanel again;
        again.setSettings(*parsed->train);
        Recipe r2;
        r2.train = again.settings();
        QCOMPARE(QString::fromStdString(writeRecipe(r2)), QString::fromStdString(writeRecipe(r)));
    }

    void l1FieldsAreChecked() {
        TrainPanel panel;
        panel.setLayerNames({"conv1", "fc1"});
        panel.setMode(TrainMode::L1);
        QTest::keyClicks(panel.layerLambdaEdit(), "fc1=0.001, fc9=0.1");
        QVERIFY(panel.inputProblem().contains("fc9"));
        QVERIFY(!panel.startButton()->isEnabled());
        QVERIFY(panel.startButton()->toolTip().contains("fc9"));
        panel.layerLambdaEdit()->setText("fc1=abc");
        QVERIFY(panel.inputProblem().contains("name=λ"));
        panel.layerLambdaEdit()->setText("fc1=0.001, conv1.weight=0.002");
        QVERIFY(panel.inputProblem().isEmpty());
        QVERIFY(panel.startButton()->isEnabled());
        TrainSettings s = panel.settings();
        s.epochs = 2;
        s.l1->finalEpochs = 1;
        panel.setSettings(s);
        QVERIFY(panel.inputProblem().isEmpty());
        s.epochs = 1;  // the final epochs need an L1 epoch before them
        panel.setSettings(s);
        QVERIFY(panel.inputProblem().contains("fewer than the epochs"));
        QVERIFY(!panel.startButton()->isEnabled());
    }

    void choosingAModeFillsWhatWorksForIt() {
        TrainPanel panel;
        const int l1 = panel.modeCombo()->findData(int(TrainMode::L1));
        panel.modeCombo()->setCurrentIndex(l1);
        emit panel.modeCombo()->activated(l1);
        TrainSettings s = panel.settings();
        QCOMPARE(s.epochs, 5);
        QCOMPARE(s.lr, 0.02);
        QVERIFY(s.schedule == LrSchedule::Cosine);
        QCOMPARE(s.l1->lambda, 5e-3);
        QCOMPARE(*s.l1->targetSparsity, 0.8);
        QCOMPARE(s.l1->finalEpochs, 2);
        const int distill = panel.modeCombo()->findData(int(TrainMode::Distill));
        panel.modeCombo()->setCurrentIndex(distill);
        emit panel.modeCombo()->activated(distill);
        s = panel.settings();
        QCOMPARE(s.lr, 0.01);
        QVERIFY(s.distill.has_value());
        QCOMPARE(s.distill->teacher, std::string("baseline"));
        QCOMPARE(s.distill->temperature, 4.0);
        QCOMPARE(s.distill->alpha, 0.7);
        QVERIFY(!s.distill->hard);
    }

    void distillFieldsRoundTrip_data() {
        QTest::addColumn<QString>("teacher");
        QTest::newRow("baseline") << "baseline";
        QTest::newRow("variant") << "variant:v3";
        QTest::newRow("file") << "/models/teacher.onnx";
    }

    void distillFieldsRoundTrip() {
        QFETCH(QString, teacher);
        TrainSettings s;
        s.mode = TrainObjective::Distill;
        s.init = WeightInit::Random;
        s.lr = 0.005;
        s.distill = DistillSettings{teacher.toStdString(), 3.0, 0.55, true};
        TrainPanel panel;
        panel.setTeacherChoices({{"variant:v2", "pruned"}, {"variant:v3", "global 80 %"}});
        panel.setSettings(s);
        QVERIFY(panel.mode() == TrainMode::Distill);
        const TrainSettings back = panel.settings();
        QVERIFY(back.mode == TrainObjective::Distill);
        QVERIFY(back.init == WeightInit::Random);
        QVERIFY(!back.l1.has_value());
        QVERIFY(back.distill.has_value());
        QCOMPARE(QString::fromStdString(back.distill->teacher), teacher);
        QCOMPARE(back.distill->temperature, 3.0);
        QCOMPARE(back.distill->alpha, 0.55);
        QVERIFY(back.distill->hard);
        if (teacher == "variant:v3") QVERIFY(panel.teacherCombo()->currentText().contains("global 80 %"));
        if (teacher.endsWith(".onnx")) QVERIFY(panel.teacherCombo()->currentText().contains("teacher.onnx"));
        // The variant list changing keeps the choice.
        panel.setTeacherChoices({{"variant:v3", "renamed"}});
        QCOMPARE(QString::fromStdString(panel.settings().distill->teacher), teacher);
        if (teacher == "variant:v3") QVERIFY(panel.teacherCombo()->currentText().contains("renamed"));
    }

    void teacherNotAmongTheChoicesStaysVisible() {
        TrainPanel panel;
        TrainSettings s;
        s.mode = TrainObjective::Distill;
        s.distill = DistillSettings{"variant:v7", 4, 0.7, false};
        panel.setSettings(s);  // before the window passes the variants
        QCOMPARE(panel.teacherCombo()->currentText(), QStringLiteral("variant:v7 (not in the project)"));
        panel.setTeacherChoices({{"variant:v7", "pruned"}});
        QCOMPARE(panel.teacherCombo()->currentText(), QStringLiteral("Variant: pruned"));
        QCOMPARE(panel.teacherCombo()->findText("variant:v7 (not in the project)"), -1);  // listed once
        panel.setTeacherChoices({});  // the variant was deleted
        QCOMPARE(panel.teacherCombo()->currentText(), QStringLiteral("variant:v7 (not in the project)"));
        QCOMPARE(panel.settings().distill->teacher, std::string("variant:v7"));
    }

    void fileTeacherComesFromThePicker() {
        TrainPanel panel;
        panel.setMode(TrainMode::Distill);
        QString picked = "/data/big_teacher.onnx";
        panel.setTeacherFilePicker([&] { return picked; });
        QComboBox* combo = panel.teacherCombo();
        const int file = combo->count() - 1;
        QCOMPARE(combo->itemText(file), QStringLiteral("File…"));
        combo->setCurrentIndex(file);
        emit combo->activated(file);
        QCOMPARE(panel.settings().distill->teacher, std::string("/data/big_teacher.onnx"));
        QVERIFY(combo->currentText().contains("big_teacher.onnx"));
        // Cancelling the dialog keeps the teacher chosen before.
        picked.clear();
        const int again = combo->count() - 1;
        combo->setCurrentIndex(again);
        emit combo->activated(again);
        QCOMPARE(panel.settings().distill->teacher, std::string("/data/big_teacher.onnx"));
    }

    void distillationShowsBothLossTerms() {
        TrainPanel panel;
        panel.resize(900, 500);
        TrainSettings s;
        s.mode = TrainObjective::Distill;
        s.epochs = 2;
        panel.setSettings(s);
        panel.setRunning(true);
        for (int e = 1; e <= 2; ++e) {
            TrainEpochPoint p = point(e, "distill", 0.6 / e, 80 + e, 0, 1, 3000);
            p.distillation = 1.2 / e;
            panel.addEpoch(p);
        }
        QCustomPlot* plot = panel.plot();
        QCOMPARE(plot->graph(0)->dataCount(), 2);
        QCOMPARE(plot->graph(3)->dataCount(), 2);
        QCOMPARE(plot->graph(3)->data()->at(0)->value, 1.2);
        QVERIFY(plot->graph(3)->visible());
        QCOMPARE(plot->graph(0)->name(), QStringLiteral("cross-entropy (labels)"));
        QVERIFY(plot->legend->hasItemWithPlottable(plot->graph(3)));
        QVERIFY(plot->yAxis->range().upper >= 1.2);  // both terms fit
        screenshot(panel, "panel_distill");
        // Fine-tuning has one loss term: no distillation curve in the legend.
        panel.setRunning(false);
        panel.setMode(TrainMode::FineTune);
        panel.setRunning(true);
        panel.addEpoch(point(1, "fine-tune", 0.5, 85, 0, 1, 3000));
        QVERIFY(!plot->legend->hasItemWithPlottable(plot->graph(3)));
        QCOMPARE(plot->graph(0)->name(), QStringLiteral("training loss"));
    }

    void l1EpochsShowTheWeightsCollapse() {
        TrainPanel panel;
        panel.resize(1000, 600);
        TrainSettings s;
        s.mode = TrainObjective::L1;
        s.epochs = 3;
        s.l1 = L1Settings{};
        panel.setSettings(s);
        panel.setRunning(true);
        WeightCollapseView* view = panel.weightView();
        QVERIFY(view->histograms().empty());
        for (int e = 1; e <= 2; ++e) {
            TrainEpochPoint p = point(e, "l1", 0.5, 85, 0.3 * e, 1, 3000);
            p.penalty = 0.2;
            p.layerSparsity = {{"conv1", 0.1 * e}, {"fc1", 0.4 * e}};
            p.histograms = {collapsing("conv1", 2 * e), collapsing("fc1", 8 * e)};
            panel.addEpoch(p);
        }
        QCOMPARE(view->shownEpoch(), 2);
        QCOMPARE(view->tensorCombo()->count(), 2);
        QCOMPARE(view->currentTensor(), QStringLiteral("conv1.weight"));
        QVERIFY(view->setCurrentTensor("fc1"));
        QCOMPARE(view->currentTensor(), QStringLiteral("fc1.weight"));
        // Before and now over the same bins; the middle bin holds fc1's collapsed weights.
        QCustomPlot* hist = view->histogramPlot();
        QCOMPARE(hist->plottableCount(), 2);
        auto* now = qobject_cast<QCPBars*>(hist->plottable(0));
        auto* before = qobject_cast<QCPGraph*>(hist->plottable(1));
        QVERIFY(now && before);
        QCOMPARE(before->dataCount(), 5);  // every bin, as an outline
        QCOMPARE(before->data()->at(2)->value, 20.0);
        QCOMPARE(now->dataCount(), 5);
        QCOMPARE(now->data()->at(2)->key, 0.0);
        QCOMPARE(now->data()->at(2)->value, 84.0);
        QVERIFY2(view->infoText().contains("80.0 % exactly zero after epoch 2"), qPrintable(view->infoText()));
        QVERIFY2(view->infoText().contains("20.0 % before, 84.0 % now"), qPrintable(view->infoText()));
        // The chosen tensor stays chosen through the next epoch; the layer bars follow every layer.
        TrainEpochPoint third = point(3, "l1", 0.4, 86, 0.8, 1, 3000);
        third.layerSparsity = {{"conv1", 0.5}, {"fc1", 0.9}};
        third.histograms = {collapsing("conv1", 5), collapsing("fc1", 20)};
        panel.addEpoch(third);
        QCOMPARE(view->currentTensor(), QStringLiteral("fc1.weight"));
        screenshot(panel, "panel_l1");
        QCOMPARE(view->sparsityPlot()->plottableCount(), 2);
        auto* bars = qobject_cast<QCPBars*>(view->sparsityPlot()->plottable(0));
        QCOMPARE(bars->dataCount(), 2);
        QCOMPARE(bars->data()->at(1)->value, 90.0);
        // Empty bins draw no bar: fc1 has moved every weight into the middle bin.
        QCOMPARE(now->dataCount(), 1);
        view->setLogScale(false);
        QCOMPARE(hist->yAxis->scaleType(), QCPAxis::stLinear);
        QCOMPARE(now->baseValue(), 0.0);
        QTemporaryDir dir;
        QString error;
        QVERIFY2(savePlot(view->histogramPlot(), dir.filePath("weights.png"), &error), qPrintable(error));
        QVERIFY2(savePlot(view->sparsityPlot(), dir.filePath("layers.png"), &error), qPrintable(error));
        QVERIFY(QFileInfo(dir.filePath("weights.png")).size() > 1000);
        // A new run clears the view.
        panel.setRunning(false);
        panel.setRunning(true);
        QVERIFY(view->histograms().empty());
        QCOMPARE(view->tensorCombo()->count(), 0);
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
            panel.addEpoch(point(e, "fine-tune", 1.0 / e, 80.0 + e, 0.7, 1.5, 4000.0 + e));
            QCOMPARE(panel.plot()->graph(0)->dataCount(), e);  // loss
            QCOMPARE(panel.plot()->graph(1)->dataCount(), e);  // top-1
            QCOMPARE(panel.plot()->graph(2)->dataCount(), e);  // sparsity
        }
        QCOMPARE(panel.epochs().size(), size_t(3));
        QCOMPARE(panel.plot()->graph(2)->data()->at(0)->value, 70.0);
        // An epoch without a measured accuracy adds no top-1 point.
        panel.addEpoch(point(4, "centroids", 0.2, -1, 0.7, 1.5, 4000.0));
        QCOMPARE(panel.plot()->graph(0)->dataCount(), 4);
        QCOMPARE(panel.plot()->graph(1)->dataCount(), 3);
        // A new run starts with empty curves.
        panel.setRunning(false);
        panel.setRunning(true);
        QCOMPARE(panel.plot()->graph(0)->dataCount(), 0);
        panel.addEpoch(point(1, "fine-tune", 0.5, 85, 0.7, 1.0, 3000));
        QTemporaryDir dir;
        QString error;
        QVERIFY2(savePlot(panel.plot(), dir.filePath("curves.png"), &error), qPrintable(error));
        QVERIFY(QFileInfo(dir.filePath("curves.png")).size() > 1000);
    }
};

QTEST_MAIN(TestTrainPanel)
#include "test_train_panel.moc"
