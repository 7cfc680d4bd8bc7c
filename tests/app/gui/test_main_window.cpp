#include <QItemSelectionModel>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableView>
#include <QTemporaryDir>
#include <QThreadPool>
#include <QToolButton>
#include <QtTest>

#include "widgets/background_pool.h"
#include "app/gui/main_window.h"
#include "app/gui/model_document.h"
#include "widget_test_support.h"
#include "widgets/graph_items.h"
#include "widgets/graph_view.h"
#include "widgets/histogram_view.h"
#include "widgets/layer_table.h"
#include "widgets/layer_table_model.h"
#include "widgets/message_banner.h"
#include "widgets/properties_view.h"
#include "widgets/task_progress.h"

using namespace lathe;
using namespace lathe::test;

class TestMainWindow : public QObject {
    Q_OBJECT

private:
    // Opens `path` in `window` and waits for the model and its graph layout.
    static bool openAndLayOut(MainWindow& window, const QString& path) {
        QSignalSpy laidOut(window.graphView(), &GraphView::layoutFinished);
        QSignalSpy failed(window.document(), &ModelDocument::errorOccurred);
        window.openFile(path);
        return QTest::qWaitFor([&] { return laidOut.count() + failed.count() > 0; }, 60000) && laidOut.count() == 1;
    }

    static bool waitForHistogram(MainWindow& window) {
        return QTest::qWaitFor([&] { return !window.histogramView()->isBusy(); }, 30000);
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LatheTest");
        QCoreApplication::setApplicationName("test_main_window");
        QSettings().clear();
    }

    void demoModelShowsOneItemPerNode() {
        MainWindow window;
        window.setDialogsEnabled(false);
        window.show();
        QVERIFY(openAndLayOut(window, demoModelPath()));
        const auto graph = window.document()->graph();
        QCOMPARE(window.graphView()->nodeItemCount(), int(graph->nodes.size()));
        QCOMPARE(window.layerTable()->model()->rowCount(), 4);
        QVERIFY(window.windowTitle().contains("lenet5_fashion.onnx"));
        const QString status = window.modelStatusText();
        for (const char* part : {"lenet5_fashion.onnx", "opset 13", "8 nodes", "431,080 params", "MACs"})
            QVERIFY2(status.contains(part), qPrintable(status));
        QCOMPARE(window.recentFiles().value(0), QFileInfo(demoModelPath()).absoluteFilePath());
        // The window opens on the largest compressible layer (issue 15); clearing the selection shows the model.
        QCOMPARE(window.document()->selectedNode(), graph->nodeIndex("fc1"));
        window.document()->selectNode(-1);
        QCOMPARE(window.propertiesView()->value("Model", "nodes"), QStringLiteral("8"));
        QVERIFY(!window.warningBanner()->isVisible());
    }

    // Issue 12: Ctrl+D was both Compare and Duplicate, so it did nothing ("Ambiguous shortcut overload"). No two
    // actions of the window may share a shortcut.
    void everyShortcutIsUnique() {
        MainWindow window;
        QMap<QString, QString> owner;
        for (QAction* action : window.findChildren<QAction*>()) {
            for (const QKeySequence& key : action->shortcuts()) {
                const QString text = key.toString(QKeySequence::PortableText);
                if (text.isEmpty()) continue;
                QVERIFY2(!owner.contains(text), qPrintable(QString("%1 is both '%2' and '%3'")
                                                               .arg(text, owner.value(text), action->text())));
                owner.insert(text, action->text());
            }
        }
        QVERIFY(owner.size() > 10);
    }

    void tableAndGraphSelectionFollowEachOther() {
        MainWindow window;
        window.setDialogsEnabled(false);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(openAndLayOut(window, demoModelPath()));
        const auto graph = window.document()->graph();
        const int conv2 = graph->nodeIndex("conv2");
        const int fc1 = graph->nodeIndex("fc1");
        const int pool1 = graph->nodeIndex("pool1");
        LayerTable* table = window.layerTable();

        // Table -> graph, properties, histogram.
        const QModelIndex conv2Row =
            table->proxy()->mapFromSource(table->model()->index(table->model()->rowOfNode(conv2), 0));
        table->view()->selectionModel()->select(conv2Row,
                                                QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        QCOMPARE(window.document()->selectedNode(), conv2);
        QCOMPARE(window.graphView()->selectedNode(), conv2);
        QVERIFY(window.graphView()->nodeItem(conv2)->isHighlighted());
        QCOMPARE(window.propertiesView()->value("Node", "name"), QStringLiteral("conv2"));
        QVERIFY(waitForHistogram(window));
        QCOMPARE(window.histogramView()->tensorName(), QStringLiteral("conv2.weight"));
        QCOMPARE(window.histogramView()->valueCount(), int64_t(25000));

        // Graph click -> table, properties, histogram.
        const NodeItem* fc1Item = window.graphView()->nodeItem(fc1);
        window.graphView()->centerOn(fc1Item);
        QTest::mouseClick(window.graphView()->viewport(), Qt::LeftButton, {},
                          window.graphView()->mapFromScene(fc1Item->sceneBoundingRect().center()));
        QCOMPARE(window.document()->selectedNode(), fc1);
        QCOMPARE(table->selectedNode(), fc1);
        QVERIFY(!window.graphView()->nodeItem(conv2)->isHighlighted());
        QVERIFY(fc1Item->isHighlighted());
        QCOMPARE(window.propertiesView()->value("Node", "name"), QStringLiteral("fc1"));
        QVERIFY(waitForHistogram(window));
        QCOMPARE(window.histogramView()->tensorName(), QStringLiteral("fc1.weight"));

        // A node without weights: no table row, empty histogram, properties still shown.
        const NodeItem* poolItem = window.graphView()->nodeItem(pool1);
        window.graphView()->centerOn(poolItem);
        QTest::mouseClick(window.graphView()->viewport(), Qt::LeftButton, {},
                          window.graphView()->mapFromScene(poolItem->sceneBoundingRect().center()));
        QCOMPARE(window.graphView()->selectedNode(), pool1);
        QCOMPARE(table->selectedNode(), -1);
        QCOMPARE(window.propertiesView()->value("Node", "op"), QStringLiteral("MaxPool"));
        QVERIFY(waitForHistogram(window));
        QCOMPARE(window.histogramView()->valueCount(), int64_t(0));
    }

    void corruptFileKeepsPreviousModel_data() {
        QTest::addColumn<QString>("path");
        QTest::newRow("truncated fixture") << fixturePath("truncated.onnx");
        QTest::newRow("not onnx fixture") << fixturePath("not_onnx.onnx");
        QTest::newRow("missing external data") << fixturePath("missing_external.onnx");
    }
    void corruptFileKeepsPreviousModel() {
        QFETCH(QString, path);
        MainWindow window;
        window.setDialogsEnabled(false);
        window.show();
        QVERIFY(openAndLayOut(window, demoModelPath()));
        const auto before = window.document()->graph();

        QSignalSpy failed(window.document(), &ModelDocument::errorOccurred);
        window.openFile(path);
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 60000);
        const QString file = QFileInfo(path).fileName();
        QVERIFY(failed.front().at(1).toString().contains(file));
        QVERIFY(window.statusBar()->currentMessage().contains(file));
        QCOMPARE(window.document()->graph(), before);
        QCOMPARE(window.graphView()->nodeItemCount(), int(before->nodes.size()));
        QVERIFY(!window.graphView()->isLayingOut());
        QVERIFY(window.windowTitle().contains("lenet5_fashion.onnx"));
        QVERIFY(window.findChildren<QMessageBox*>().isEmpty());
    }

    void openShowsProgressAndCancelKeepsPreviousModel() {
        MainWindow window;
        window.setDialogsEnabled(false);
        window.show();
        QVERIFY(openAndLayOut(window, demoModelPath()));
        QVERIFY(!window.loadProgress()->isVisible());
        const auto before = window.document()->graph();

        QSignalSpy changed(window.document(), &ModelDocument::modelChanged);
        window.openFile(fixturePath("residual.onnx"));
        QVERIFY(window.loadProgress()->isVisible());
        QVERIFY2(window.loadProgress()->text().startsWith("Opening residual.onnx"),
                 qPrintable(window.loadProgress()->text()));
        QTest::mouseClick(window.loadProgress()->cancelButton(), Qt::LeftButton);
        QCOMPARE(window.statusBar()->currentMessage(), QStringLiteral("Opening residual.onnx cancelled"));
        QVERIFY(!window.loadProgress()->isVisible());
        QVERIFY(!window.document()->isLoading());
        QVERIFY(backgroundPool()->waitForDone(60000));
        QCoreApplication::processEvents();
        QCOMPARE(changed.count(), 0);
        QCOMPARE(window.document()->graph(), before);
        QCOMPARE(window.graphView()->nodeItemCount(), int(before->nodes.size()));
        QVERIFY(window.windowTitle().contains("lenet5_fashion.onnx"));
        QVERIFY(window.findChildren<QMessageBox*>().isEmpty());

        // The next open goes through and hides the strip again.
        QVERIFY(openAndLayOut(window, fixturePath("residual.onnx")));
        QVERIFY(!window.loadProgress()->isVisible());
        QVERIFY(window.windowTitle().contains("residual.onnx"));
    }

    void errorDialogNamesFileAndProblem() {
        MainWindow window;
        window.show();
        QSignalSpy failed(window.document(), &ModelDocument::errorOccurred);
        window.openFile(fixturePath("truncated.onnx"));
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 60000);
        QTRY_COMPARE(window.findChildren<QMessageBox*>().size(), 1);
        QMessageBox* box = window.findChildren<QMessageBox*>().front();
        QCOMPARE(box->icon(), QMessageBox::Critical);
        QVERIFY(box->text().contains("truncated.onnx"));
        QCOMPARE(box->informativeText(), failed.front().at(1).toString());
        box->close();
    }

    void unknownOpShowsAllNodesAndWarns() {
        MainWindow window;
        window.setDialogsEnabled(false);
        window.show();
        QVERIFY(openAndLayOut(window, fixturePath("unknown_op.onnx")));
        const auto graph = window.document()->graph();
        QCOMPARE(window.graphView()->nodeItemCount(), int(graph->nodes.size()));
        QVERIFY(window.warningBanner()->isVisible());
        QCOMPARE(window.warningBanner()->messages().size(), qsizetype(graph->warnings.size()));
        QVERIFY(window.warningBanner()->text().contains("FancyNorm"));
        QVERIFY(window.statusBar()->currentMessage().contains("warning"));

        QVERIFY(openAndLayOut(window, demoModelPath()));  // a clean model hides the banner again
        QVERIFY(!window.warningBanner()->isVisible());
    }

    void droppingAnOnnxFileOpensIt() {
        MainWindow window;
        window.setDialogsEnabled(false);
        window.show();
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(fixturePath("residual.onnx"))});
        QDragEnterEvent enter(QPoint(50, 50), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&window, &enter);
        QVERIFY(enter.isAccepted());
        QSignalSpy changed(window.document(), &ModelDocument::modelChanged);
        QDropEvent drop(QPointF(50, 50), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&window, &drop);
        QTRY_COMPARE_WITH_TIMEOUT(changed.count(), 1, 60000);
        QCOMPARE(window.document()->path(), QFileInfo(fixturePath("residual.onnx")).absoluteFilePath());

        QMimeData text;
        text.setUrls({QUrl::fromLocalFile(fixturePath("README.md"))});
        QDragEnterEvent reject(QPoint(50, 50), Qt::CopyAction, &text, Qt::LeftButton, Qt::NoModifier);
        reject.setAccepted(false);
        QApplication::sendEvent(&window, &reject);
        QVERIFY(!reject.isAccepted());
    }

    void recentFilesKeepEightNewestFirst() {
        QSettings().clear();
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        MainWindow window;
        window.setDialogsEnabled(false);
        QStringList opened;
        for (int i = 0; i < MainWindow::kMaxRecentFiles + 2; ++i) {
            const QString copy = dir.filePath(QStringLiteral("model_%1.onnx").arg(i));
            QVERIFY(QFile::copy(fixturePath("depthwise.onnx"), copy));
            QSignalSpy changed(window.document(), &ModelDocument::modelChanged);
            window.openFile(copy);
            QTRY_COMPARE_WITH_TIMEOUT(changed.count(), 1, 60000);
            opened.prepend(QFileInfo(copy).absoluteFilePath());
        }
        QCOMPARE(window.recentFiles(), opened.mid(0, MainWindow::kMaxRecentFiles));
        QSignalSpy changed(window.document(), &ModelDocument::modelChanged);
        window.openFile(opened.last());  // reopening moves it to the front without duplicates
        QTRY_COMPARE_WITH_TIMEOUT(changed.count(), 1, 60000);
        QCOMPARE(window.recentFiles().front(), opened.last());
        QCOMPARE(window.recentFiles().size(), MainWindow::kMaxRecentFiles);
    }
};

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
