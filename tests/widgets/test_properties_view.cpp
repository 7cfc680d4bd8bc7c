#include <QtTest>

#include "core/model/model_summary.h"
#include "widget_test_support.h"
#include "widgets/properties_view.h"

using namespace lathe;
using namespace lathe::test;

class TestPropertiesView : public QObject {
    Q_OBJECT

private slots:
    void showsNodeDetails() {
        const auto graph = loadGraph(demoModelPath());
        QVERIFY(graph);
        const ModelSummary summary = summarizeModel(*graph);
        PropertiesView view;
        view.showNode(graph, summary, graph->nodeIndex("conv2"));
        QCOMPARE(view.value("Node", "name"), QStringLiteral("conv2"));
        QCOMPARE(view.value("Node", "op"), QStringLiteral("Conv"));
        QCOMPARE(view.value("Node", "domain"), QStringLiteral("ai.onnx"));
        QCOMPARE(view.value("Node", "category"), QStringLiteral("Layer"));
        QCOMPARE(view.value("Attributes", "kernel_shape"), QStringLiteral("[5, 5]"));
        QCOMPARE(view.value("Inputs", "pool1_out"), QStringLiteral("float32 [N, 20, 12, 12]"));
        QVERIFY(view.value("Inputs", "conv2.weight").startsWith("float32 [50, 20, 5, 5]"));
        QCOMPARE(view.value("Outputs", "conv2_out"), QStringLiteral("float32 [N, 50, 8, 8]"));
        QVERIFY(view.value("Weights", "conv2.weight").contains("25,000 params"));
        QVERIFY(view.value("Weights", "conv2.bias").contains("50 params"));
        QCOMPARE(view.value("Cost", "params"), QStringLiteral("25,050"));
        QCOMPARE(view.value("Cost", "MACs"), QStringLiteral("1,600,000"));
    }

    void nodeWithoutWeightsHasNoWeightSection() {
        const auto graph = loadGraph(demoModelPath());
        QVERIFY(graph);
        PropertiesView view;
        view.showNode(graph, summarizeModel(*graph), graph->nodeIndex("pool1"));
        QCOMPARE(view.value("Node", "op"), QStringLiteral("MaxPool"));
        QCOMPARE(view.value("Attributes", "strides"), QStringLiteral("[2, 2]"));
        QVERIFY(view.value("Weights", "conv2.weight").isNull());
    }

    void noSelectionShowsModel() {
        const auto graph = loadGraph(demoModelPath());
        QVERIFY(graph);
        PropertiesView view;
        view.showNode(graph, summarizeModel(*graph), -1);
        QCOMPARE(view.value("Model", "nodes"), QStringLiteral("8"));
        QCOMPARE(view.value("Model", "params"), QStringLiteral("431,080"));
        QCOMPARE(view.value("Inputs", "input"), QStringLiteral("float32 [N, 1, 28, 28]"));
        view.showNode(nullptr, {}, -1);
        QVERIFY(view.value("Model", "nodes").isNull());
    }

    void unknownOpIsMarked() {
        const auto graph = loadGraph(fixturePath("unknown_op.onnx"));
        QVERIFY(graph);
        int unknown = -1;
        for (size_t i = 0; i < graph->nodes.size(); ++i)
            if (!graph->nodes[i].knownOp) unknown = int(i);
        QVERIFY(unknown >= 0);
        PropertiesView view;
        view.showNode(graph, summarizeModel(*graph), unknown);
        QCOMPARE(view.value("Node", "domain"), QString::fromStdString(graph->nodes[size_t(unknown)].domain));
        QCOMPARE(view.value("Node", "category"), QStringLiteral("Custom"));
        QVERIFY(view.value("Node", "status").contains("unknown op"));
        QVERIFY(!view.value("Attributes", "epsilon").isEmpty());
        view.showNode(graph, summarizeModel(*graph), -1);
        QVERIFY(view.value("Warnings", "1").contains("FancyNorm"));
    }
};

QTEST_MAIN(TestPropertiesView)
#include "test_properties_view.moc"
