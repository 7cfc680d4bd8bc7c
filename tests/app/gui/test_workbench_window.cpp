// The compression loop in the real main window, as a new user goes through it: open the demo model, prune, quantize
// and decompose layers in the Compress panel (one layer and several at once), undo, evaluate variants on
// Fashion-MNIST, compare two, export one and read it back, save the project and open it in a new window.
// With LATHE_SCREENSHOT_DIR set, every step is also saved there as a PNG.
#include <qcustomplot.h>

#include <QAction>
#include <QComboBox>
#include <QDockWidget>
#include <QItemSelectionModel>
#include <QSettings>
#include <QSlider>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QThreadPool>
#include <QUndoStack>
#include <QtTest>

#include "widgets/background_pool.h"
#include "app/gui/cross_validation_session.h"
#include "app/gui/main_window.h"
#include "app/gui/model_document.h"
#include "app/gui/training_session.h"
#include "app/gui/workbench_controller.h"
#include "app/gui/workbench_document.h"
#include "core/model/onnx_reader.h"
#include "widget_test_support.h"
#include "widgets/compare_view.h"
#include "widgets/dataset_panel.h"
#include "widgets/graph_view.h"
#include "widgets/layer_inspector.h"
#include "widgets/layer_table.h"
#include "widgets/layer_table_model.h"
#include "widgets/tradeoff_plot.h"
#include "widgets/train_panel.h"
#include "widgets/plot_export.h"
#include "widgets/variants_panel.h"
#include "widgets/weight_collapse_view.h"

using namespace lathe;
using namespace lathe::test;

namespace {

const QString kFashion = QStringLiteral("/usr/share/datasets/fashion-mnist");
constexpr int kLimit = 1000;
constexpr int kTimeoutMs = 300000;

void screenshot(QWidget& window, const QString& name) {
    const QString dir = qEnvironmentVariable("LATHE_SCREENSHOT_DIR");
    if (dir.isEmpty()) return;
    QCoreApplication::processEvents();
    QVERIFY(window.grab().save(dir + '/' + name + ".png"));
}

bool settled(const WorkbenchDocument& doc) {
    for (const Variant& v : doc.variants())
        if (v.state == Variant::State::Queued || v.state == Variant::State::Running) return false;
    return !doc.isEvaluating();
}

bool openDemo(MainWindow& window) {
    window.setDialogsEnabled(false);
    window.show();
    QSignalSpy laidOut(window.graphView(), &GraphView::layoutFinished);
    window.openFile(demoModelPath());
    return QTest::qWaitFor([&] { return laidOut.count() > 0; }, 60000);
}

QString compressionText(const LayerTable* table, int node) {
    const int row = table->model()->rowOfNode(node);
    return table->model()->index(row, LayerTableModel::Compression).data().toString();
}

}  // namespace

class TestWorkbenchWindow : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LatheTest");
        QCoreApplication::setApplicationName("test_workbench_window");
        QSettings().clear();
        QVERIFY2(QFileInfo::exists(kFashion + "/t10k-images-idx3-ubyte.gz"),
                 "Debian's dataset-fashion-mnist is needed (scripts/setup.sh installs it)");
    }

    void cleanup() { QVERIFY(backgroundPool()->waitForDone(120000)); }

    void wholeLoop() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto window = std::make_unique<MainWindow>();
        QVERIFY(openDemo(*window));
        window->datasetPanel()->setLimit(kLimit);
        WorkbenchController* wb = window->workbench();
        WorkbenchDocument* doc = wb->document();
        LayerInspector* inspector = wb->inspector();
        QCOMPARE(doc->layerNames(), (QStringList{"conv1", "conv2", "fc1", "fc2"}));

        // Prune fc1 to 70 % with the slider: the shaded region, the readouts and the table follow.
        const int fc1 = doc->nodeOfLayer("fc1");
        window->document()->selectNode(fc1);
        QTRY_VERIFY(inspector->hasLayer());
        QCOMPARE(inspector->layer().name, QStringLiteral("fc1"));
        QTRY_VERIFY_WITH_TIMEOUT(!inspector->isPreviewBusy() && !inspector->readoutText("bytes").isEmpty(), 20000);
        const QString bytesBefore = inspector->readoutText("bytes");
        QVERIFY(!inspector->shadedRange());
        inspector->pruneModeCombo()->setCurrentIndex(1);  // sparsity
        emit inspector->pruneModeCombo()->activated(1);
        inspector->pruneSlider()->setValue(700);
        emit inspector->pruneSlider()->sliderReleased();
        QTRY_VERIFY_WITH_TIMEOUT(!inspector->isPreviewBusy() && inspector->shadedRange(), 20000);
        QVERIFY(inspector->shadedRange()->second > 0);
        QCOMPARE(doc->settingsOf("fc1").sparsity.value_or(0), 0.7);
        QVERIFY2(compressionText(window->layerTable(), fc1).contains("70"),
                 qPrintable(compressionText(window->layerTable(), fc1)));
        QCOMPARE(inspector->readoutText("sparsity").left(4), QStringLiteral("70.0"));
        // fc1 at rank 64 too.
        inspector->rankModeCombo()->setCurrentIndex(1);
        emit inspector->rankModeCombo()->activated(1);
        inspector->rankSlider()->setValue(64);
        emit inspector->rankSlider()->sliderReleased();
        QTRY_COMPARE_WITH_TIMEOUT(doc->settingsOf("fc1").rank.value_or(0), int64_t(64), 20000);
        QTRY_VERIFY_WITH_TIMEOUT(!inspector->isPreviewBusy() && inspector->readoutText("bytes") != bytesBefore, 20000);
        screenshot(*window, "01_prune_fc1");

        // conv1 and conv2 selected together in the table: one 4-bit edit reaches both.
        const int conv1 = doc->nodeOfLayer("conv1"), conv2 = doc->nodeOfLayer("conv2");
        QTableView* view = window->layerTable()->view();
        auto* proxy = window->layerTable()->proxy();
        const QModelIndex row1 = proxy->mapFromSource(window->layerTable()->model()->index(
            window->layerTable()->model()->rowOfNode(conv1), 0));
        const QModelIndex row2 = proxy->mapFromSource(window->layerTable()->model()->index(
            window->layerTable()->model()->rowOfNode(conv2), 0));
        view->selectionModel()->setCurrentIndex(row2, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        view->selectionModel()->select(row1, QItemSelectionModel::Select | QItemSelectionModel::Rows);
        QTRY_COMPARE(inspector->layer().name, QStringLiteral("conv2"));
        QTRY_COMPARE(inspector->targetLayers().size(), 2);
        const int undoBefore = doc->undoStack()->count();
        QComboBox* bits = inspector->bitsCombo();
        bits->setCurrentIndex(bits->findData(4));
        emit bits->activated(bits->currentIndex());
        QCOMPARE(doc->settingsOf("conv1").bits, 4);
        QCOMPARE(doc->settingsOf("conv2").bits, 4);
        QCOMPARE(doc->undoStack()->count(), undoBefore + 1);
        QVERIFY2(compressionText(window->layerTable(), conv1).contains("int4"), qPrintable(compressionText(window->layerTable(), conv1)));
        QTRY_VERIFY_WITH_TIMEOUT(!inspector->isPreviewBusy() && inspector->drawnLevelCount() > 0, 20000);
        screenshot(*window, "02_quantize_convs");

        // Undo takes the 4-bit edit back from both layers and the controls; redo restores it.
        wb->undoAction()->trigger();
        QCOMPARE(doc->settingsOf("conv1").bits, 32);
        QCOMPARE(doc->settingsOf("conv2").bits, 32);
        QCOMPARE(bits->currentData().toInt(), 32);
        wb->redoAction()->trigger();
        QCOMPARE(doc->settingsOf("conv2").bits, 4);
        QCOMPARE(bits->currentData().toInt(), 4);

        // Evaluate: the baseline and this variant; then int8 and 4-bit per-channel presets.
        wb->evaluateVariantAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(settled(*doc), kTimeoutMs);
        QCOMPARE(int(doc->variants().size()), 2);
        doc->applyPreset(RecipePreset::Int8);
        wb->evaluateVariantAction()->trigger();
        doc->applyPreset(RecipePreset::Int4Weights);
        wb->evaluateVariantAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(settled(*doc), kTimeoutMs);
        QCOMPARE(int(doc->variants().size()), 4);
        for (const Variant& v : doc->variants()) {
            QVERIFY2(v.metrics, qPrintable(v.name + ": " + v.error));
            QCOMPARE(v.metrics->samples, int64_t(kLimit));
        }
        const Variant& base = doc->variants()[0];
        const Variant& custom = doc->variants()[1];
        const Variant& int8 = doc->variants()[2];
        QVERIFY(base.baseline);
        QCOMPARE(custom.name, QStringLiteral("Variant 1"));
        QCOMPARE(int8.name, QStringLiteral("int8 per-channel"));  // a preset's recipe is named after it
        QCOMPARE(doc->variants()[3].name, QStringLiteral("4-bit weights"));
        QVERIFY(base.metrics->top1 > 85.0);
        QVERIFY(std::abs(int8.metrics->top1 - base.metrics->top1) <= 0.5);
        QVERIFY(int8.metrics->onnxBytes < base.metrics->onnxBytes / 2);
        QVERIFY(custom.metrics->onnxBytes < base.metrics->onnxBytes);
        TradeoffPlot* plot = wb->tradeoffPlot();
        QCOMPARE(int(plot->points().size()), 4);
        // The front (ONNX bytes) holds exactly the points no other point beats on both size and accuracy.
        const auto beats = [](const TradeoffPoint& a, const TradeoffPoint& b) {
            return a.onnxBytes <= b.onnxBytes && a.accuracy >= b.accuracy &&
                   (a.onnxBytes < b.onnxBytes || a.accuracy > b.accuracy);
        };
        for (const TradeoffPoint& p : plot->points()) {
            bool dominated = false;
            for (const TradeoffPoint& q : plot->points()) dominated = dominated || beats(q, p);
            QCOMPARE(plot->frontIds().contains(p.id), !dominated);
        }
        QCOMPARE(window->tradeoffDock()->isVisible(), true);
        screenshot(*window, "03_variants");

        // Clicking a point loads its settings (undoable).
        emit plot->pointClicked(custom.id);
        QCOMPARE(doc->settingsOf("fc1").rank.value_or(0), int64_t(64));
        QCOMPARE(doc->settingsOf("conv2").bits, 4);
        wb->undoAction()->trigger();
        QCOMPARE(doc->settingsOf("fc1").bits, 4);  // back to the 4-bit preset
        QVERIFY(!doc->settingsOf("fc1").rank);

        // Compare the baseline and int8.
        wb->variantsPanel()->selectIds({base.id, int8.id});
        QVERIFY(wb->compareAction()->isEnabled());
        wb->compareAction()->trigger();
        QTRY_VERIFY(window->compareDock()->isVisible());
        QCOMPARE(int(wb->compareView()->columns().size()), 2);
        QVERIFY(wb->compareView()->metricsTable()->rowCount() >= 6);
        // A rename reaches the open comparison (progress ticks, which change nothing it shows, do not redraw it).
        doc->renameVariant(int8.id, "int8 (renamed)");
        QCOMPARE(wb->compareView()->columns()[1].name, QStringLiteral("int8 (renamed)"));
        screenshot(*window, "04_compare");

        // Export int8 as QDQ; the file reloads with the same accuracy on the same images.
        const QString exported = dir.filePath("lenet5_int8_qdq.onnx");
        QSignalSpy finished(doc, &WorkbenchDocument::exportFinished);
        QSignalSpy summaryText(wb, &WorkbenchController::exportSummaryReady);
        wb->exportVariant(int8.id, exported, "qdq");
        QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, kTimeoutMs);
        const auto summary = finished.front().front().value<ExportSummary>();
        QCOMPARE(summary.path, exported);
        QVERIFY(QFileInfo::exists(exported));
        QVERIFY(summary.reloadedTop1);
        QVERIFY2(std::abs(*summary.reloadedTop1 - int8.metrics->top1) <= 0.05,
                 qPrintable(QString("reloaded %1 vs %2").arg(*summary.reloadedTop1).arg(int8.metrics->top1)));
        QCOMPARE(summary.size.onnxBytes, QFileInfo(exported).size());
        QVERIFY(readOnnxModel(exported.toStdString()).ok());
        QCOMPARE(summaryText.count(), 1);
        QVERIFY(summaryText.front().front().toString().contains("Read back and evaluated"));
        // The original model is never the target.
        wb->exportVariant(int8.id, demoModelPath(), "float");
        QVERIFY(window->statusBar()->currentMessage().contains("never overwrites"));
        screenshot(*window, "05_exported");

        // Save the project; a new window opens it with its model, variants and settings.
        QVERIFY(doc->isDirty());
        QVERIFY(window->isWindowModified());
        const QString project = dir.filePath("demo.latheproj");
        QVERIFY(wb->saveProjectAs(project));
        QVERIFY(!doc->isDirty());
        QVERIFY(!window->isWindowModified());
        QVERIFY(window->windowTitle().contains("demo.latheproj"));
        if (const QString shots = qEnvironmentVariable("LATHE_SCREENSHOT_DIR"); !shots.isEmpty()) {
            QFile::remove(shots + "/demo.latheproj");
            QVERIFY(QFile::copy(project, shots + "/demo.latheproj"));  // for `lathe demo.latheproj` by hand
        }
        const Recipe saved = doc->recipe();
        const int variantCount = int(doc->variants().size());
        const double int8Top1 = int8.metrics->top1;
        window.reset();

        MainWindow reopened;
        reopened.setDialogsEnabled(false);
        reopened.show();
        QSignalSpy laidOut(reopened.graphView(), &GraphView::layoutFinished);
        reopened.openFile(project);
        QTRY_VERIFY_WITH_TIMEOUT(laidOut.count() > 0, 60000);
        WorkbenchDocument* doc2 = reopened.workbench()->document();
        QTRY_VERIFY(doc2->graph() != nullptr);
        QCOMPARE(int(doc2->variants().size()), variantCount);
        QCOMPARE(writeRecipe(doc2->recipe()), writeRecipe(saved));
        QCOMPARE(doc2->variants()[2].metrics->top1, int8Top1);
        QCOMPARE(int(reopened.workbench()->tradeoffPlot()->points().size()), variantCount);
        QCOMPARE(reopened.datasetPanel()->limit(), kLimit);
        QVERIFY(!doc2->isDirty());
        reopened.document()->selectNode(doc2->nodeOfLayer("fc1"));
        QTRY_VERIFY(reopened.workbench()->inspector()->hasLayer());
        QTRY_VERIFY_WITH_TIMEOUT(!reopened.workbench()->inspector()->isPreviewBusy(), 20000);
        screenshot(reopened, "06_reopened");
    }

    // Train a pruned variant from the window: the Train action (disabled without a model), the panel prefilled, live
    // curves per epoch, and the new variant in the list and on the plot, linked to its parent.
    void trainFromTheWindow() {
        auto window = std::make_unique<MainWindow>();
        WorkbenchController* wb = window->workbench();
        QVERIFY(!wb->trainAction()->isEnabled());
        QVERIFY(wb->trainAction()->toolTip().contains("model"));
        QCOMPARE(wb->trainAction()->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_T));
        QVERIFY(openDemo(*window));
        window->resize(1500, 950);
        window->datasetPanel()->setLimit(kLimit);
        WorkbenchDocument* doc = wb->document();
        QTRY_VERIFY(wb->trainAction()->isEnabled());
        doc->setGlobalSparsity(0.8);
        const QString parent = doc->evaluateCurrent("global 80 %");
        QTRY_VERIFY_WITH_TIMEOUT(settled(*doc) && doc->variant(parent)->metrics, kTimeoutMs);
        wb->variantsPanel()->setCurrentId(parent);
        wb->trainAction()->trigger();
        QTRY_VERIFY(window->trainDock()->isVisible());
        TrainPanel* panel = wb->trainPanel();
        QVERIFY(panel->blocker().isEmpty());
        TrainSettings settings;
        settings.epochs = 3;
        settings.samples = 3000;
        settings.lr = 0.01;
        settings.schedule = LrSchedule::Cosine;
        panel->setSettings(settings);
        QSignalSpy epochs(wb->trainingSession(), &TrainingSession::epochFinished);
        QSignalSpy finished(wb->trainingSession(), &TrainingSession::finished);
        QTest::mouseClick(panel->startButton(), Qt::LeftButton);
        QVERIFY(wb->trainingSession()->isRunning());
        QVERIFY(panel->cancelButton()->isEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(epochs.count() >= 2, kTimeoutMs);
        QVERIFY(panel->plot()->graph(0)->dataCount() >= 2);
        screenshot(*window, "train_running");
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
        QCOMPARE(panel->epochs().size(), size_t(3));
        QVERIFY(!panel->cancelButton()->isEnabled());
        const QString child = finished.first().at(0).toString();
        QCOMPARE(wb->variantsPanel()->currentId(), child);
        QVERIFY(doc->variant(child)->metrics->top1 > doc->variant(parent)->metrics->top1 - 1.0);
        QVERIFY(panel->statusText().startsWith("Added global 80 % fine-tuned"));
        bool onPlot = false;
        for (const TradeoffPoint& p : wb->tradeoffPlot()->points()) onPlot = onPlot || p.id == child;
        QVERIFY(onPlot);
        screenshot(*window, "train_done");

        // Cross-validate the trained variant from the Compress menu's action (5 folds, its own 3 epochs each): the
        // figure lands in its row, in the status bar and as an error bar on the plot.
        QCOMPARE(wb->crossValidateAction()->shortcut(), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T));
        QTRY_VERIFY(wb->crossValidateAction()->isEnabled());
        QSignalSpy crossValidated(wb->crossValidationSession(), &CrossValidationSession::finished);
        QSignalSpy crossValidationFailed(wb->crossValidationSession(), &CrossValidationSession::failed);
        wb->crossValidateAction()->trigger();
        QVERIFY(wb->crossValidationSession()->isRunning());
        QVERIFY(!wb->crossValidateAction()->isEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(!crossValidated.isEmpty() || !crossValidationFailed.isEmpty(), kTimeoutMs);
        QVERIFY2(crossValidationFailed.isEmpty(),
                 crossValidationFailed.isEmpty() ? "" : qPrintable(crossValidationFailed.first().at(0).toString()));
        const Variant* cv = doc->variant(child);
        QVERIFY(cv->crossValidation);
        QCOMPARE(cv->crossValidation->folds, 5);
        QCOMPARE(cv->crossValidation->epochs, 3);
        QVERIFY2(cv->crossValidation->meanTop1 > 70 && cv->crossValidation->stdTop1 < 5,
                 qPrintable(crossValidationText(*cv->crossValidation)));
        QVERIFY(window->statusBar()->currentMessage().contains("(5-fold CV)"));
        bool barred = false;
        for (const TradeoffPoint& p : wb->tradeoffPlot()->points()) barred = barred || (p.id == child && p.crossValidation);
        QVERIFY(barred);
        QCOMPARE(wb->tradeoffPlot()->errorBars().size(), size_t(1));
        screenshot(*window, "cross_validated");
    }

    // L1 sparsification and distillation picked in the Train panel as a user would: the weights view fills per epoch,
    // the loss plot gets its second term, and a trained variant serves as the teacher.
    void l1AndDistillationFromTheWindow() {
        auto window = std::make_unique<MainWindow>();
        WorkbenchController* wb = window->workbench();
        QVERIFY(openDemo(*window));
        window->resize(1500, 950);
        window->datasetPanel()->setLimit(kLimit);
        WorkbenchDocument* doc = wb->document();
        QTRY_VERIFY(wb->trainAction()->isEnabled());
        const QString floatId = doc->evaluateCurrent("float");
        doc->setGlobalSparsity(0.8);
        const QString prunedId = doc->evaluateCurrent("global 80 %");
        QTRY_VERIFY_WITH_TIMEOUT(settled(*doc) && doc->variant(prunedId)->metrics, kTimeoutMs);
        wb->variantsPanel()->setCurrentId(floatId);
        wb->trainAction()->trigger();
        QTRY_VERIFY(window->trainDock()->isVisible());
        TrainPanel* panel = wb->trainPanel();
        auto choose = [](QComboBox* combo, int index) {
            combo->setCurrentIndex(index);
            emit combo->activated(index);
        };
        // L1: the mode fills in λ 0.005, the 80 % cut and lr 0.02 cosine; fewer epochs and images keep the test short.
        choose(panel->modeCombo(), panel->modeCombo()->findData(int(TrainMode::L1)));
        TrainSettings l1 = panel->settings();
        QCOMPARE(l1.l1->lambda, 5e-3);
        l1.epochs = 3;
        l1.samples = 3000;
        l1.l1->finalEpochs = 1;
        panel->setSettings(l1);
        QSignalSpy epochs(wb->trainingSession(), &TrainingSession::epochFinished);
        QSignalSpy finished(wb->trainingSession(), &TrainingSession::finished);
        QTest::mouseClick(panel->startButton(), Qt::LeftButton);
        QVERIFY(wb->trainingSession()->isRunning());
        QTRY_VERIFY_WITH_TIMEOUT(epochs.count() >= 2, kTimeoutMs);
        WeightCollapseView* weights = panel->weightView();
        QCOMPARE(weights->tensorCombo()->count(), int(doc->layerNames().size()));
        QVERIFY(weights->setCurrentTensor("fc1"));
        screenshot(*window, "train_l1_running");
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
        const QString l1Id = finished.first().at(0).toString();
        const Variant* sparse = doc->variant(l1Id);
        QCOMPARE(sparse->name, QStringLiteral("float L1"));
        QVERIFY(std::abs(sparse->history.back().sparsity - 0.8) < 0.02);
        QCOMPARE(weights->shownEpoch(), 3);
        QCOMPARE(weights->currentTensor(), QStringLiteral("fc1.weight"));
        QVERIFY2(weights->infoText().startsWith("fc1: "), qPrintable(weights->infoText()));
        screenshot(*window, "train_l1_done");
        if (const QString dir = qEnvironmentVariable("LATHE_SCREENSHOT_DIR"); !dir.isEmpty()) {
            QVERIFY(savePlot(weights->histogramPlot(), dir + "/train_l1_weights_fc1.png"));
            QVERIFY(savePlot(weights->sparsityPlot(), dir + "/train_l1_layer_sparsity.png"));
        }

        // Distillation of the pruned variant, with the L1 variant (trained, its weights in memory) as the teacher.
        wb->variantsPanel()->setCurrentId(prunedId);
        wb->trainAction()->trigger();
        choose(panel->modeCombo(), panel->modeCombo()->findData(int(TrainMode::Distill)));
        QComboBox* teacher = panel->teacherCombo();
        QCOMPARE(teacher->findData(variantTeacherKey(doc->baselineId())), -1);  // it is "Baseline" already
        QVERIFY(teacher->findData(variantTeacherKey(floatId)) >= 0);
        choose(teacher, teacher->findData(variantTeacherKey(l1Id)));
        TrainSettings kd = panel->settings();
        QCOMPARE(kd.lr, 0.01);
        QCOMPARE(kd.distill->teacher, variantTeacherKey(l1Id).toStdString());
        kd.epochs = 2;
        kd.samples = 2000;
        panel->setSettings(kd);
        QVERIFY(teacher->currentText().contains("float L1"));
        epochs.clear();
        QTest::mouseClick(panel->startButton(), Qt::LeftButton);
        QVERIFY(wb->trainingSession()->isRunning());
        QTRY_VERIFY_WITH_TIMEOUT(epochs.count() >= 1, kTimeoutMs);
        screenshot(*window, "train_distill_running");
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, kTimeoutMs);
        QCOMPARE(panel->plot()->graph(3)->dataCount(), 2);  // the distillation term beside the labels' loss
        QVERIFY(panel->plot()->legend->hasItemWithPlottable(panel->plot()->graph(3)));
        const Variant* student = doc->variant(finished.at(1).at(0).toString());
        QCOMPARE(student->name, QStringLiteral("global 80 % distilled"));
        QVERIFY(student->metrics->notes.join('\n').contains("distilled from float L1"));
        QVERIFY(std::abs(student->history.back().sparsity - 0.8) < 0.02);
        QVERIFY(panel->statusText().startsWith("Added global 80 % distilled"));
        screenshot(*window, "train_distill_done");
    }
};

QTEST_MAIN(TestWorkbenchWindow)
#include "test_workbench_window.moc"
