#include <QAction>
#include <QWheelEvent>
#include <QtTest>

#include "widget_test_support.h"
#include "widgets/graph_items.h"
#include "widgets/graph_view.h"

using namespace lathe;
using namespace lathe::test;

class TestGraphView : public QObject {
    Q_OBJECT

private:
    // Shows `graph` in `view` and waits for the off-thread layout.
    static bool showGraph(GraphView& view, std::shared_ptr<const Graph> graph) {
        QSignalSpy finished(&view, &GraphView::layoutFinished);
        view.setGraph(std::move(graph));
        return finished.wait(60000) || finished.count() == 1;
    }

private slots:
    void oneItemPerNode_data() {
        QTest::addColumn<QString>("path");
        QTest::newRow("demo lenet5") << demoModelPath();
        for (const char* name : {"bn_conv.onnx", "depthwise.onnx", "residual.onnx", "tf_nhwc.onnx", "unknown_op.onnx",
                                 "matmul_opset7.onnx", "external_data.onnx"})
            QTest::newRow(name) << fixturePath(name);
    }

    void oneItemPerNode() {
        QFETCH(QString, path);
        QString error;
        const auto graph = loadGraph(path, &error);
        QVERIFY2(graph, qPrintable(error));
        GraphView view;
        QVERIFY(showGraph(view, graph));
        QCOMPARE(view.nodeItemCount(), int(graph->nodes.size()));
        QVERIFY(view.edgeItemCount() >= int(graph->nodes.size()));
        for (size_t i = 0; i < graph->nodes.size(); ++i) {
            const NodeItem* item = view.nodeItem(int(i));
            QVERIFY(item);
            QCOMPARE(item->content().title, QString::fromStdString(graph->nodes[i].opType));
            QCOMPARE(item->content().subtitle, QString::fromStdString(graph->nodes[i].name));
            QCOMPARE(item->isUnknownOp(), !graph->nodes[i].knownOp);
            for (size_t j = i + 1; j < graph->nodes.size(); ++j)
                QVERIFY2(!item->sceneBoundingRect().intersects(view.nodeItem(int(j))->sceneBoundingRect()),
                         qPrintable(QStringLiteral("nodes %1 and %2 overlap").arg(i).arg(j)));
        }
    }

    void weightedNodesShowWeightShape() {
        const auto graph = loadGraph(demoModelPath());
        QVERIFY(graph);
        GraphView view;
        QVERIFY(showGraph(view, graph));
        const int conv2 = graph->nodeIndex("conv2");
        QVERIFY(conv2 >= 0);
        const auto& rows = view.nodeItem(conv2)->content().rows;
        QVERIFY(std::any_of(rows.begin(), rows.end(), [](const auto& row) {
            return row.first == "W" && row.second == QString::fromUtf8("50×20×5×5");
        }));
    }

    void unknownOpIsShownAndFlagged() {
        const auto graph = loadGraph(fixturePath("unknown_op.onnx"));
        QVERIFY(graph);
        QVERIFY(!graph->unknownOps().empty());
        GraphView view;
        QVERIFY(showGraph(view, graph));
        int unknown = 0;
        for (size_t i = 0; i < graph->nodes.size(); ++i) unknown += view.nodeItem(int(i))->isUnknownOp() ? 1 : 0;
        QCOMPARE(unknown, int(std::count_if(graph->nodes.begin(), graph->nodes.end(),
                                            [](const Node& n) { return !n.knownOp; })));
        QVERIFY(unknown >= 1);
    }

    void layoutRunsTopToBottom() {
        const auto graph = loadGraph(demoModelPath());
        QVERIFY(graph);
        GraphView view;
        QVERIFY(showGraph(view, graph));
        for (size_t i = 0; i < graph->nodes.size(); ++i) {
            const int producer = graph->producerOf(graph->nodes[i].inputs.front());
            if (producer < 0) continue;
            QVERIFY(view.nodeItem(producer)->sceneBoundingRect().bottom() <
                    view.nodeItem(int(i))->sceneBoundingRect().top());
        }
    }

    void clickRequestsSelectionAndSelectNodeHighlights() {
        const auto graph = loadGraph(demoModelPath());
        QVERIFY(graph);
        GraphView view;
        view.resize(800, 900);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QVERIFY(showGraph(view, graph));
        const int fc1 = graph->nodeIndex("fc1");
        const NodeItem* item = view.nodeItem(fc1);
        view.centerOn(item);
        QSignalSpy requested(&view, &GraphView::selectionRequested);
        QTest::mouseClick(view.viewport(), Qt::LeftButton, {}, view.mapFromScene(item->sceneBoundingRect().center()));
        QCOMPARE(requested.count(), 1);
        QCOMPARE(requested.front().front().toInt(), fc1);
        QVERIFY(!item->isHighlighted());  // the view only asks; the document decides

        view.selectNode(fc1);
        QCOMPARE(view.selectedNode(), fc1);
        QVERIFY(item->isHighlighted());
        view.selectNode(0);
        QVERIFY(!item->isHighlighted());
        QVERIFY(view.nodeItem(0)->isHighlighted());
        view.selectNode(-1);
        QCOMPARE(view.selectedNode(), -1);
        QVERIFY(!view.nodeItem(0)->isHighlighted());
        QCOMPARE(requested.count(), 1);
    }

    void zoomActionsAndCtrlWheel() {
        const auto graph = loadGraph(demoModelPath());
        QVERIFY(graph);
        GraphView view;
        view.resize(600, 400);
        QVERIFY(!view.fitAction()->isEnabled());
        QVERIFY(showGraph(view, graph));
        QVERIFY(view.fitAction()->isEnabled());
        view.resetZoom();
        QCOMPARE(view.zoom(), 1.0);
        view.zoomInAction()->trigger();
        QCOMPARE(view.zoom(), 1.25);
        view.zoomOutAction()->trigger();
        view.zoomOutAction()->trigger();
        QCOMPARE(view.zoom(), 0.8);

        QWheelEvent wheel(QPointF(100, 100), view.mapToGlobal(QPointF(100, 100)), QPoint(), QPoint(0, 120),
                          Qt::NoButton, Qt::ControlModifier, Qt::NoScrollPhase, false);
        QApplication::sendEvent(view.viewport(), &wheel);
        QCOMPARE(view.zoom(), 1.0);

        view.fitAction()->trigger();
        QVERIFY(view.zoom() <= 1.5);
        const QRectF visible = view.mapToScene(view.viewport()->rect()).boundingRect().adjusted(-2, -2, 2, 2);
        QVERIFY(visible.contains(view.sceneRect()) || view.zoom() == 1.5);
        for (int i = 0; i < 40; ++i) view.zoomOut();
        QVERIFY(view.zoom() >= 0.05);
    }

    void clearingRemovesItems() {
        const auto graph = loadGraph(demoModelPath());
        QVERIFY(graph);
        GraphView view;
        QVERIFY(showGraph(view, graph));
        view.setGraph(nullptr);
        QCOMPARE(view.nodeItemCount(), 0);
        QCOMPARE(view.edgeItemCount(), 0);
        QVERIFY(!view.isLayingOut());
    }

    void newerGraphWins() {
        const auto first = loadGraph(demoModelPath());
        const auto second = loadGraph(fixturePath("residual.onnx"));
        QVERIFY(first && second);
        GraphView view;
        QSignalSpy finished(&view, &GraphView::layoutFinished);
        view.setGraph(first);
        view.setGraph(second);
        QTRY_VERIFY_WITH_TIMEOUT(!view.isLayingOut(), 60000);
        QCOMPARE(view.nodeItemCount(), int(second->nodes.size()));
        QCOMPARE(finished.count(), 1);
    }

    // The window selects a layer as soon as a large model is read, before its graph is laid out: the selection and
    // its channel group show once the layout arrives.
    void selectionDuringLayoutIsShownAfterIt() {
        const auto graph = loadGraph(fixturePath("residual.onnx"));
        QVERIFY(graph && graph->nodes.size() > 3);
        GraphView view;
        view.setGraph(graph);
        QVERIFY(view.isLayingOut());
        view.selectNode(2);
        view.showChannelGroup({1, 2});
        QCOMPARE(view.selectedNode(), -1);  // nothing drawn yet
        QTRY_VERIFY_WITH_TIMEOUT(!view.isLayingOut(), 60000);
        QCOMPARE(view.selectedNode(), 2);
        QVERIFY(view.nodeItem(2)->isHighlighted());
        QVERIFY(view.nodeItem(1)->isGrouped() && view.nodeItem(2)->isGrouped());
        QVERIFY(!view.nodeItem(0)->isGrouped());
    }
};

QTEST_MAIN(TestGraphView)
#include "test_graph_view.moc"
