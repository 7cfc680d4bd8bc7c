// What a new user stumbled on in the window (issue 12 item 5), each checked in the real main window: Ctrl+R right after
// Ctrl+E does not evaluate the float model again; a new variant becomes the selection; opening another model clears
// the comparison; a reopened project shows its Evaluation panel and size axis again; Save/Export dialogs start in
// the folder last used; long status messages stop before the permanent labels.
// With LATHE_SCREENSHOT_DIR set, the window is saved there as PNGs.
#include <QAction>
#include <QComboBox>
#include <QDockWidget>
#include <QStyleOptionComboBox>
#include <QTableView>
#include <QFileDialog>
#include <QLabel>
#include <QScreen>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QThreadPool>
#include <QTimer>
#include <QTreeWidget>
#include <QScreen>
#include <QtTest>

#include "widgets/background_pool.h"
#include "app/gui/evaluation_session.h"
#include "app/gui/main_window.h"
#include "app/gui/model_document.h"
#include "app/gui/workbench_controller.h"
#include "app/gui/workbench_document.h"
#include "widget_test_support.h"
#include "widgets/compare_view.h"
#include "widgets/dataset_panel.h"
#include "widgets/eliding_status_bar.h"
#include "widgets/evaluation_view.h"
#include "widgets/graph_view.h"
#include "widgets/layer_inspector.h"
#include "widgets/layer_table.h"
#include "widgets/layer_table_model.h"
#include "widgets/tradeoff_plot.h"
#include "widgets/variants_panel.h"

using namespace lathe;
using namespace lathe::test;

namespace {

const QString kFashion = QStringLiteral("/usr/share/datasets/fashion-mnist");
constexpr int kLimit = 300;
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

bool open(MainWindow& window, const QString& path) {
    QSignalSpy laidOut(window.graphView(), &GraphView::layoutFinished);
    window.openFile(path);
    return QTest::qWaitFor([&] { return laidOut.count() > 0; }, 60000);
}

bool openDemo(MainWindow& window) {
    window.setDialogsEnabled(false);
    window.show();
    if (!open(window, demoModelPath())) return false;
    window.datasetPanel()->setLimit(kLimit);
    return true;
}

// Runs Model ▸ Evaluate and waits for it.
bool evaluateModel(MainWindow& window) {
    window.evaluateAction()->trigger();
    return QTest::qWaitFor([&] { return window.evaluationView()->hasReport(); }, kTimeoutMs);
}

// Whether `text` shows whole in `combo`'s text field.
bool fitsCombo(QComboBox* combo, const QString& text) {
    QStyleOptionComboBox option;
    option.initFrom(combo);
    option.editable = combo->isEditable();
    const QRect field = combo->style()->subControlRect(QStyle::CC_ComboBox, &option, QStyle::SC_ComboBoxEditField, combo);
    return combo->fontMetrics().horizontalAdvance(text) <= field.width();
}

bool hasNote(const Variant& v, const QString& text) {
    if (!v.metrics) return false;
    for (const QString& n : v.metrics->notes)
        if (n.contains(text)) return true;
    return false;
}

// Answers the next modal QFileDialog: records the folder it starts in and cancels it.
void answerFileDialog(QString* folder) {
    QTimer::singleShot(0, [folder] {
        auto* dialog = qobject_cast<QFileDialog*>(QApplication::activeModalWidget());
        if (!dialog) {
            answerFileDialog(folder);  // not shown yet
            return;
        }
        *folder = dialog->directory().absolutePath();
        dialog->reject();
    });
}

}  // namespace

class TestNewUserWindow : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LatheTest");
        QCoreApplication::setApplicationName("test_new_user_window");
        QSettings().clear();
        QVERIFY2(QFileInfo::exists(kFashion + "/t10k-images-idx3-ubyte.gz"),
                 "Debian's dataset-fashion-mnist is needed (scripts/setup.sh installs it)");
    }

    void cleanup() { QVERIFY(backgroundPool()->waitForDone(120000)); }

    // Ctrl+R right after Ctrl+E: the baseline takes Model ▸ Evaluate's report instead of running the model again;
    // with other settings it is measured again.
    void baselineReusesModelEvaluation() {
        MainWindow window;
        QVERIFY(openDemo(window));
        WorkbenchDocument* doc = window.workbench()->document();
        QVERIFY(evaluateModel(window));
        const EvalReport report = *window.evaluationSession()->report();
        QVERIFY(doc->baselineEvaluation());

        window.workbench()->evaluateVariantAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(settled(*doc), kTimeoutMs);
        QCOMPARE(int(doc->variants().size()), 2);
        const Variant& base = doc->variants().front();
        QVERIFY(base.baseline);
        QVERIFY2(base.metrics, qPrintable(base.error));
        QVERIFY(hasNote(base, "not run again"));
        QCOMPARE(base.metrics->top1, report.top1);
        QCOMPARE(base.metrics->samples, report.n);
        QCOMPARE(base.metrics->confusion.count(0, 0), report.confusion.count(0, 0));
        QVERIFY(base.metrics->onnxBytes > 0);  // its sizes are still measured
        QVERIFY(!hasNote(doc->variants()[1], "not run again"));

        // Another limit: a new baseline is evaluated, not taken from Model ▸ Evaluate.
        doc->removeVariants({base.id});
        QVERIFY(doc->baselineId().isEmpty());
        window.datasetPanel()->setLimit(kLimit / 2);
        window.workbench()->evaluateVariantAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(settled(*doc), kTimeoutMs);
        const Variant& again = doc->variants().front();
        QVERIFY(again.baseline && again.metrics);
        QVERIFY(!hasNote(again, "not run again"));
        QCOMPARE(again.metrics->samples, int64_t(kLimit / 2));
    }

    // Each new variant (Ctrl+R, Ctrl still held) becomes the selection, instead of being added to it ("Compare 5").
    void newVariantBecomesTheSelection() {
        MainWindow window;
        QVERIFY(openDemo(window));
        WorkbenchController* wb = window.workbench();
        WorkbenchDocument* doc = wb->document();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        for (int i = 0; i < 3; ++i) {
            doc->applyPreset(i == 1 ? RecipePreset::Int4Weights : RecipePreset::Int8);
            QTest::keyPress(wb->variantsPanel()->list(), Qt::Key_Control, Qt::ControlModifier);
            wb->evaluateVariantAction()->trigger();
            QTest::keyRelease(wb->variantsPanel()->list(), Qt::Key_Control, Qt::NoModifier);
            const QString newest = doc->variants().back().id;
            QCOMPARE(wb->variantsPanel()->selectedIds(), QStringList{newest});
            QCOMPARE(wb->variantsPanel()->currentId(), newest);
        }
        QVERIFY(!wb->compareAction()->isEnabled());  // one variant selected: nothing to compare
        QTRY_VERIFY_WITH_TIMEOUT(settled(*doc), kTimeoutMs);
        QCOMPARE(wb->variantsPanel()->selectedIds(), QStringList{doc->variants().back().id});
    }

    // After opening another model the Compare view holds nothing of the old model: no columns, no class names, no
    // layer to overlay; comparing the new model's variants shows only them.
    void anotherModelClearsTheComparison() {
        MainWindow window;
        QVERIFY(openDemo(window));
        WorkbenchController* wb = window.workbench();
        WorkbenchDocument* doc = wb->document();
        doc->applyPreset(RecipePreset::Int8);
        wb->evaluateVariantAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(settled(*doc), kTimeoutMs);
        wb->variantsPanel()->selectIds({doc->variants()[0].id, doc->variants()[1].id});
        wb->compareAction()->trigger();
        QCOMPARE(int(wb->compareView()->columns().size()), 2);
        QVERIFY(!wb->compareView()->histogramLayer().isEmpty());

        QVERIFY(open(window, QFileInfo(demoModelPath()).dir().filePath("mobilenet_fashion.onnx")));
        QTRY_VERIFY(doc->graph() != nullptr);
        QVERIFY(doc->modelPath().endsWith("mobilenet_fashion.onnx"));
        QVERIFY(doc->variants().empty());
        QVERIFY(doc->classNames().isEmpty());
        QVERIFY(wb->compareView()->columns().empty());
        QVERIFY(wb->compareView()->histogramLayer().isEmpty());
        QCOMPARE(wb->compareView()->metricsTable()->rowCount(), 0);
        QVERIFY(wb->variantsPanel()->selectedIds().isEmpty());
        QVERIFY(!wb->compareAction()->isEnabled());

        // The new model's variants take ids the old ones had: the comparison must not come back with them.
        wb->evaluateVariantAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(settled(*doc), kTimeoutMs);
        QVERIFY(wb->compareView()->columns().empty());
        screenshot(window, "new_user_other_model");
    }

    // A saved project reopens with its Evaluation panel (Model ▸ Evaluate's results) and the plot's zlib axis.
    void projectRestoresEvaluationAndSizeAxis() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString project = dir.filePath("eval.latheproj");
        QString top1, f1, heading;
        {
            MainWindow window;
            QVERIFY(openDemo(window));
            QVERIFY(evaluateModel(window));
            top1 = window.evaluationView()->metricText("top1");
            f1 = window.evaluationView()->metricText("f1");
            QVERIFY(!top1.isEmpty());
            window.workbench()->evaluateVariantAction()->trigger();
            QTRY_VERIFY_WITH_TIMEOUT(settled(*window.workbench()->document()), kTimeoutMs);
            window.workbench()->tradeoffPlot()->setSizeMetric(TradeoffPlot::SizeMetric::Zlib);
            QVERIFY(window.workbench()->saveProjectAs(project));
        }
        MainWindow reopened;
        reopened.setDialogsEnabled(false);
        reopened.show();
        QVERIFY(!reopened.evaluationView()->hasReport());
        QVERIFY(open(reopened, project));
        QTRY_VERIFY(reopened.workbench()->document()->graph() != nullptr);
        QTRY_VERIFY(reopened.evaluationView()->hasReport());
        QCOMPARE(reopened.evaluationView()->metricText("top1"), top1);
        QCOMPARE(reopened.evaluationView()->metricText("f1"), f1);
        QCOMPARE(reopened.evaluationView()->classTable()->rowCount(), 10);
        QCOMPARE(reopened.workbench()->tradeoffPlot()->sizeMetric(), TradeoffPlot::SizeMetric::Zlib);
        QVERIFY(!reopened.workbench()->document()->isDirty());
        screenshot(reopened, "new_user_reopened_evaluation");

        // Reopened in a window that has the model open already (no model load): the same.
        MainWindow same;
        QVERIFY(openDemo(same));
        QVERIFY(!same.evaluationView()->hasReport());
        same.openFile(project);
        QTRY_VERIFY(same.evaluationView()->hasReport());
        QCOMPARE(same.evaluationView()->metricText("top1"), top1);
        QCOMPARE(same.workbench()->tradeoffPlot()->sizeMetric(), TradeoffPlot::SizeMetric::Zlib);
    }

    // Save Project As and Export start in the folder last used for them (remembered across windows), not in the
    // model's folder.
    void dialogsStartInTheLastFolder() {
        QTemporaryDir projects, exports;
        QVERIFY(projects.isValid() && exports.isValid());
        const QString modelFolder = QFileInfo(demoModelPath()).absolutePath();
        {
            MainWindow window;
            QVERIFY(openDemo(window));
            WorkbenchController* wb = window.workbench();
            window.workbench()->evaluateVariantAction()->trigger();
            QTRY_VERIFY_WITH_TIMEOUT(settled(*wb->document()), kTimeoutMs);
            const QString id = wb->document()->variants().back().id;
            QCOMPARE(QFileInfo(wb->suggestedProjectPath()).absolutePath(), modelFolder);
            QCOMPARE(QFileInfo(wb->suggestedExportPath(id)).absolutePath(), modelFolder);

            // The dialogs as the user sees them: cancelled, nothing written.
            QString folder;
            answerFileDialog(&folder);
            QVERIFY(!wb->saveProjectAs());
            QCOMPARE(folder, modelFolder);

            QSettings().setValue("dialogs/projectFolder", projects.path());
            QSettings().setValue("dialogs/exportFolder", exports.path());
            answerFileDialog(&folder);
            QVERIFY(!wb->saveProjectAs());
            QCOMPARE(folder, QDir(projects.path()).absolutePath());
            answerFileDialog(&folder);
            wb->exportVariant(id);
            QCOMPARE(folder, QDir(exports.path()).absolutePath());
            QVERIFY(QDir(exports.path()).entryList(QDir::Files).isEmpty());
        }
        // A new window (a new session) starts there too.
        MainWindow next;
        QVERIFY(openDemo(next));
        QCOMPARE(QFileInfo(next.workbench()->suggestedProjectPath()).absolutePath(),
                 QDir(projects.path()).absolutePath());
        QCOMPARE(QFileInfo(next.workbench()->suggestedProjectPath()).fileName(),
                 QStringLiteral("lenet5_fashion.latheproj"));
        // A folder that no longer exists falls back to the model's.
        QSettings().setValue("dialogs/projectFolder", projects.path() + "/gone");
        QCOMPARE(QFileInfo(next.workbench()->suggestedProjectPath()).absolutePath(), modelFolder);
        QSettings().remove("dialogs/projectFolder");
        QSettings().remove("dialogs/exportFolder");
    }

    // At the default window size layer names (layer table, Compare's per-layer table), preset names and the compare
    // selectors show whole, on a model with long layer names.
    void defaultSizeCutsNoName() {
        MainWindow window;
        const QSize initial = window.size();
        const int initialMinimum = window.minimumSizeHint().width();
        window.setDialogsEnabled(false);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(open(window, QFileInfo(demoModelPath()).dir().filePath("mobilenet_fashion.onnx")));
        window.datasetPanel()->setLimit(kLimit);
        WorkbenchController* wb = window.workbench();
        WorkbenchDocument* doc = wb->document();
        doc->applyPreset(RecipePreset::Int8);
        wb->evaluateVariantAction()->trigger();
        doc->applyPreset(RecipePreset::Int4Weights);
        wb->evaluateVariantAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(settled(*doc), kTimeoutMs);
        QTRY_VERIFY(wb->inspector()->hasLayer());
        screenshot(window, "new_user_default_compress");

        // Layer names in the layer table.
        LayerTable* table = window.layerTable();
        const QFontMetrics tableFont = table->view()->fontMetrics();
        const int nameWidth = table->view()->columnWidth(LayerTableModel::Name);
        for (const QString& layer : doc->layerNames())
            QVERIFY2(tableFont.horizontalAdvance(layer) + 12 <= nameWidth,
                     qPrintable(QString("%1 needs %2 px, the column has %3").arg(layer)
                                    .arg(tableFont.horizontalAdvance(layer)).arg(nameWidth)));
        // Preset names in the Compress panel.
        QComboBox* preset = wb->inspector()->presetCombo();
        for (int i = 0; i < preset->count(); ++i)
            QVERIFY2(fitsCombo(preset, preset->itemText(i)), qPrintable(preset->itemText(i)));

        // The compare selectors.
        wb->variantsPanel()->selectIds({doc->variants()[1].id, doc->variants()[2].id});
        wb->compareAction()->trigger();
        QTRY_VERIFY(window.compareDock()->isVisible());
        QCoreApplication::processEvents();
        screenshot(window, "new_user_default_compare");
        const QList<QComboBox*> combos = wb->compareView()->findChildren<QComboBox*>();
        QCOMPARE(combos.size(), 3);
        for (QComboBox* combo : combos)
            for (int i = 0; i < combo->count(); ++i)
                QVERIFY2(fitsCombo(combo, combo->itemText(i)), qPrintable(combo->itemText(i)));
        // The window is 1,840 px or the screen's width, or its docks' minimum when that is wider: adding the bottom
        // docks side by side before tabbing them no longer leaves it 3,170 px wide. The names above fit even at that
        // minimum, and the minimum fits a 1,680 px screen (the Variants buttons fold into a menu, the Evaluation
        // panel stacks its parts).
        const int screenWidth = QGuiApplication::primaryScreen()->availableGeometry().width();
        QCOMPARE(initial.width(), std::max(std::min(1840, screenWidth), initialMinimum));
        QVERIFY2(initialMinimum <= 1680, qPrintable(QString::number(initialMinimum)));
        QVERIFY2(window.width() <= initial.width() + 2, qPrintable(QString::number(window.width())));
    }

    // A long error in the status bar stops before the model label, with the whole text as its tooltip.
    void longStatusMessageIsElided() {
        MainWindow window;
        QVERIFY(openDemo(window));
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto* bar = qobject_cast<ElidingStatusBar*>(window.statusBar());
        QVERIFY(bar);
        QString message = QStringLiteral("Cannot evaluate a variant: Data set: folder /home/user/datasets/flowers/");
        for (int i = 0; i < 40; ++i) message += QStringLiteral("train/subfolder_%1/").arg(i);
        message += QStringLiteral(" does not exist; choose an existing folder in the Data Set panel");
        bar->showMessage(message);
        QCoreApplication::processEvents();
        QCOMPARE(bar->currentMessage(), message);
        QVERIFY2(bar->messageToolTip() == message,
                 qPrintable(QString("shown: %1 in %2 px").arg(bar->displayedMessage()).arg(bar->messageArea().width())));
        QLabel* modelLabel = nullptr;
        for (QLabel* l : bar->findChildren<QLabel*>())
            if (l->text().contains("lenet5_fashion.onnx") && l->isVisible()) modelLabel = l;
        QVERIFY(modelLabel);
        QVERIFY(bar->messageArea().right() < modelLabel->geometry().left());
        screenshot(window, "new_user_status_elided");
    }
};

QTEST_MAIN(TestNewUserWindow)
#include "test_new_user_window.moc"
