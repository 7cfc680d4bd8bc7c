#include <qcustomplot.h>

#include <QAction>
#include <QDockWidget>
#include <QPushButton>
#include <QElapsedTimer>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include "app/gui/guidance_controller.h"
#include "app/gui/live_accuracy.h"
#include "app/gui/main_window.h"
#include "app/gui/model_document.h"
#include "app/gui/sensitivity_session.h"
#include "app/gui/workbench_controller.h"
#include "app/gui/workbench_document.h"
#include "core/compress/apply_recipe.h"
#include "core/compress/compressible_layer.h"
#include "core/eval/incremental_evaluator.h"
#include "widget_test_support.h"
#include "widgets/graph_view.h"
#include "widgets/layer_table.h"
#include "widgets/layer_table_model.h"
#include "widgets/live_accuracy_label.h"
#include "widgets/sensitivity_view.h"

using namespace lathe;

// The sensitivity scan as a window job on real data (the demo LeNet-5, Fashion-MNIST), the budget slider's plans, the
// warnings for settings the scan says hurt, and live accuracy while editing.
class TestSensitivitySession : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QString error;
        m_graph = test::loadGraph(test::demoModelPath(), &error);
        QVERIFY2(m_graph, qPrintable(error));
    }

    void scanThenBudgetThenPlans() {
        WorkbenchDocument doc;
        doc.setModel(m_graph, test::demoModelPath());
        doc.setEvaluationSettings(test::fashionMnist(0, 5));
        SensitivitySession session(&doc);
        QSignalSpy finished(&session, &SensitivitySession::finished);
        QSignalSpy failed(&session, &SensitivitySession::failed);
        QString error;
        QVERIFY2(session.start(300, &error), qPrintable(error));
        QVERIFY(!session.start(300, &error));  // one at a time
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() || !failed.isEmpty(), 120000);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().at(0).toString()));
        const SensitivityFigure figure = session.figure();
        QCOMPARE(figure.samples, qint64(300));
        const auto layers = compressibleLayers(*m_graph);
        QCOMPARE(figure.layers.size(), qsizetype(layers.size()));  // conv1, conv2, fc1, fc2
        QVERIFY(figure.baselineTop1 > 80);
        for (const SensitivityCurves& c : figure.layers) {
            QCOMPARE(c.bits.size(), 7);
            QCOMPARE(c.sparsity.size(), 11);
        }

        // The slider: the left end is the least the curves reach, the right end the float model; the plan's
        // predicted top-1 rises along it.
        const BudgetPreview low = session.preview(QStringLiteral("bits"), 0.0);
        const BudgetPreview mid = session.preview(QStringLiteral("bits"), 0.1);
        const BudgetPreview high = session.preview(QStringLiteral("bits"), 1.0);
        QVERIFY2(low.error.isEmpty(), qPrintable(low.error));
        QVERIFY(low.predictedTop1 <= mid.predictedTop1 && mid.predictedTop1 <= high.predictedTop1);
        QCOMPARE(high.predictedTop1, figure.baselineTop1);
        QVERIFY(mid.costText.contains("bits per weight"));
        QVERIFY(!mid.settings.isEmpty());

        // Plans become variants the evaluation queue measures.
        const size_t before = doc.variants().size();
        const QStringList ids = session.addPlans(QStringLiteral("bits"), 0.1, 2);
        QCOMPARE(ids.size(), 2);
        QCOMPARE(doc.variants().size(), before + 2);
        QTRY_VERIFY_WITH_TIMEOUT(doc.variant(ids.back())->metrics.has_value(), 60000);
        QVERIFY(doc.variant(ids.front())->recipe.layers.size() > 0);
        QVERIFY(!doc.variant(ids.front())->recipe.layerPruneCorrection);  // quantization only: nothing to refit

        // Plans that prune refit their kept weights when evaluated (on the train split), and say so.
        QVERIFY(session.preview(QStringLiteral("nonzeros"), 0.3).error.isEmpty());
        const QStringList pruned = session.addPlans(QStringLiteral("nonzeros"), 0.3, 1);
        QCOMPARE(pruned.size(), 1);
        const Variant* sparse = doc.variant(pruned.front());
        QVERIFY(sparse->recipe.layerPruneCorrection == PruneCorrection::LeastSquares);
        QTRY_VERIFY_WITH_TIMEOUT(doc.variant(pruned.front())->metrics.has_value(), 60000);
        const VariantMetrics& sm = *doc.variant(pruned.front())->metrics;
        QVERIFY2(sm.notes.join('\n').contains("refit by least squares on 512 images"), qPrintable(sm.notes.join('\n')));
        QVERIFY(std::any_of(sm.layers.begin(), sm.layers.end(), [](const LayerReport& l) { return l.corrected; }));
        QVERIFY2(sm.top1 > figure.baselineTop1 - 3.0, qPrintable(QString::number(sm.top1)));

        // A setting the scan measured as harmful is named.
        Recipe harsh;
        harsh.layers["conv1"].quant = QuantEntry{};
        harsh.layers["conv1"].quant->bits = 2;
        const QString warning = session.warnings(harsh);
        const auto conv1 = std::find_if(figure.layers.begin(), figure.layers.end(),
                                        [](const SensitivityCurves& c) { return c.layer == "conv1"; });
        QVERIFY(conv1 != figure.layers.end());
        if (figure.baselineTop1 - conv1->bits.back().y() > 2.0)
            QVERIFY2(warning.contains("conv1 at 2 bits"), qPrintable(warning));
        QVERIFY(session.warnings(Recipe{}).isEmpty());

        // Another data set drops the result.
        QSignalSpy changed(&session, &SensitivitySession::resultChanged);
        doc.setEvaluationSettings(test::fashionMnist(100, 5));
        QVERIFY(session.result() == nullptr || session.resultKey() == session.currentKey(300));
    }

    // Every edit re-evaluates the subset: the figure equals the incremental evaluator's on the same settings, a later
    // edit supersedes an earlier one, and only the layers after the first changed one run.
    void liveAccuracyFollowsEdits() {
        WorkbenchDocument doc;
        doc.setModel(m_graph, test::demoModelPath());
        doc.setEvaluationSettings(test::fashionMnist(0, 5));
        LiveAccuracy live(&doc);
        QSignalSpy measured(&live, &LiveAccuracy::measured);
        QSignalSpy unavailable(&live, &LiveAccuracy::unavailable);
        live.refresh();
        QTRY_VERIFY_WITH_TIMEOUT(!measured.isEmpty() || !unavailable.isEmpty(), 60000);
        QVERIFY2(unavailable.isEmpty(), unavailable.isEmpty() ? "" : qPrintable(unavailable.first().at(0).toString()));
        const auto first = measured.takeFirst().at(0).value<LiveAccuracyFigure>();
        QCOMPARE(first.samples, qint64(LiveAccuracy::kDefaultSamples));
        QCOMPARE(first.top1, first.baselineTop1);

        // Two edits in a row: only the last one reports.
        LayerEdit prune;
        prune.description = QStringLiteral("fc1: sparsity 50 %");
        prune.apply = [](LayerEntry& e) {
            e.prune = PruneEntry{};
            e.prune->sparsity = 0.5;
        };
        doc.editLayers({QStringLiteral("fc1")}, prune);
        LayerEdit bits;
        bits.description = QStringLiteral("fc2: 2 bits");
        bits.apply = [](LayerEntry& e) {
            e.quant = QuantEntry{};
            e.quant->bits = 2;
        };
        doc.editLayers({QStringLiteral("fc2")}, bits);
        QTRY_VERIFY_WITH_TIMEOUT(!measured.isEmpty() || !unavailable.isEmpty(), 60000);
        QVERIFY2(unavailable.isEmpty(), unavailable.isEmpty() ? "" : qPrintable(unavailable.first().at(0).toString()));
        QTest::qWait(200);
        QCOMPARE(measured.size(), 1);
        const auto edited = measured.takeFirst().at(0).value<LiveAccuracyFigure>();
        QVERIFY(edited.nodesRun < edited.nodesTotal);  // conv1..conv2 came from the cache

        IncrementalEvalOptions options;
        options.limit = LiveAccuracy::kDefaultSamples;
        auto data = openDataset(doc.evaluationSettings().spec, doc.evaluationSettings().dataset);
        QVERIFY(data.ok());
        auto evaluator = IncrementalEvaluator::create(*m_graph, *data, options);
        QVERIFY(evaluator.ok());
        auto compressed = applyRecipe(*m_graph, doc.recipe());
        QVERIFY(compressed.ok());
        auto expected = (*evaluator)->evaluate(compressed->graph);
        QVERIFY(expected.ok());
        QCOMPARE(edited.top1, expected->top1);
        qInfo("live accuracy %.2f %% (float %.2f %%) in %.0f ms after the edit, %lld of %lld nodes re-ran", edited.top1,
              edited.baselineTop1, edited.milliseconds, edited.nodesRun, edited.nodesTotal);
    }

    // The whole window: Sensitivity Scan from the Compress menu fills the Sensitivity tab, the budget slider shows a
    // plan, the live strip above the Compress panel follows an edit, and a saved project brings the scan back.
    void inTheWindow() {
        QTemporaryDir dir;
        QString projectPath;
        {
            MainWindow window;
            window.setDialogsEnabled(false);
            window.show();
            QSignalSpy laidOut(window.graphView(), &GraphView::layoutFinished);
            window.openFile(test::demoModelPath());
            QVERIFY(QTest::qWaitFor([&] { return laidOut.count() > 0; }, 60000));
            GuidanceController* guidance = window.workbench()->guidance();
            SensitivityView* view = guidance->sensitivityView();
            LiveAccuracyLabel* live = guidance->liveAccuracyLabel();
            QTRY_VERIFY_WITH_TIMEOUT(live->text().contains("Top-1"), 60000);
            view->setSubsetSize(300);
            guidance->scanAction()->trigger();
            QVERIFY(window.sensitivityDock()->isVisible());
            QTRY_VERIFY_WITH_TIMEOUT(view->hasFigure(), 180000);
            const qsizetype layerCount = qsizetype(compressibleLayers(*m_graph).size());
            QCOMPARE(view->figure().layers.size(), layerCount);
            QCOMPARE(view->plot()->graphCount(), int(layerCount));
            // The layer table's Sensitivity column: every layer's drop at 50 % sparsity / 4 bits, sortable, with the
            // figures behind it in the tooltip.
            LayerTableModel* table = window.layerTable()->model();
            for (int row = 0; row < table->rowCount(); ++row) {
                const QModelIndex cell = table->index(row, LayerTableModel::Sensitivity);
                const QString layer = table->index(row, LayerTableModel::Name).data().toString();
                const auto curves = std::find_if(view->figure().layers.begin(), view->figure().layers.end(),
                                                 [&](const SensitivityCurves& c) { return c.layer == layer; });
                QVERIFY(curves != view->figure().layers.end());
                QCOMPARE(cell.data(LayerTableModel::SortRole).toDouble(), curves->score);
                QVERIFY2(cell.data().toString().endsWith(" pt"), qPrintable(cell.data().toString()));
                QVERIFY(cell.data(Qt::ToolTipRole).toString().contains("4 bits: "));
            }
            view->setAxis(SensitivityView::Axis::Bits);
            view->setBudgetFraction(0.05);
            QVERIFY2(view->statusText().contains("300 images"), qPrintable(view->statusText()));
            screenshot(window, "sensitivity_scan");

            // Add Best Plans on a nonzeros budget: the variants prune, refit their kept weights when evaluated, and
            // their row's tooltip says so.
            QVERIFY(view->setTarget(QStringLiteral("nonzeros")));
            view->setBudgetFraction(0.4);
            WorkbenchDocument* doc = window.workbench()->document();
            const size_t before = doc->variants().size();
            QPushButton* add = nullptr;
            for (QPushButton* b : view->findChildren<QPushButton*>())
                if (b->text().startsWith("Add Best Plans")) add = b;
            QVERIFY(add && add->isEnabled());
            add->click();
            QTRY_VERIFY_WITH_TIMEOUT(doc->variants().size() > before, 10000);
            const QString planId = doc->variants().back().id;
            QTRY_VERIFY_WITH_TIMEOUT(doc->variant(planId)->metrics.has_value(), 120000);
            QTRY_VERIFY_WITH_TIMEOUT(std::all_of(doc->variants().begin(), doc->variants().end(),
                                                 [](const Variant& v) { return v.metrics.has_value(); }),
                                     120000);
            const auto rows = doc->variantRows();
            const auto row = std::find_if(rows.begin(), rows.end(), [&](const VariantRow& r) { return r.id == planId; });
            QVERIFY(row != rows.end());
            QVERIFY2(row->summary.contains("refit by least squares"), qPrintable(row->summary));
            window.variantsDock()->raise();
            screenshot(window, "sensitivity_plans_refit");

            // An edit the scan says hurts: the strip warns and re-evaluates.
            LayerEdit harsh;
            harsh.description = QStringLiteral("conv2: 2 bits");
            harsh.apply = [](LayerEntry& e) {
                e.quant = QuantEntry{};
                e.quant->bits = 2;
            };
            window.workbench()->document()->editLayers({QStringLiteral("conv2")}, harsh);
            QTRY_VERIFY_WITH_TIMEOUT(live->text().contains("Top-1") && !live->text().contains("evaluating"), 60000);
            QVERIFY2(live->warning().contains("conv2 at 2 bits"), qPrintable(live->warning()));
            window.compressDock()->raise();
            screenshot(window, "live_accuracy_warning");

            projectPath = dir.filePath("scan.latheproj");
            QVERIFY(window.workbench()->saveProjectAs(projectPath));
        }
        MainWindow reopened;
        reopened.setDialogsEnabled(false);
        reopened.show();
        QVERIFY(reopened.workbench()->openProject(projectPath));
        SensitivityView* view = reopened.workbench()->guidance()->sensitivityView();
        QTRY_VERIFY_WITH_TIMEOUT(view->hasFigure(), 60000);
        QCOMPARE(view->figure().samples, qint64(300));
    }

private:
    static void screenshot(QWidget& window, const QString& name) {
        const QString dir = qEnvironmentVariable("LATHE_SCREENSHOT_DIR");
        if (dir.isEmpty()) return;
        QCoreApplication::processEvents();
        QVERIFY(window.grab().save(dir + '/' + name + ".png"));
    }

    std::shared_ptr<const Graph> m_graph;
};

QTEST_MAIN(TestSensitivitySession)
#include "test_sensitivity_session.moc"
