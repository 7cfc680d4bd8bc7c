// Shapes by execution: where static inference leaves shapes unknown, one run on zeros (batch 1) fills them in, so the
// MACs of every layer, attention's activation × activation MatMuls included, are counted; a model that cannot run
// keeps its MACs unknown (never 0) and says why.
#include <QtTest>

#include "core/model/model_summary.h"
#include "core/model/onnx_reader.h"
#include "core/runtime/shape_probe.h"
#include "runtime_test_util.h"

using namespace lathe;
using namespace lathe::test;

namespace {

// Self-attention over a [N, 4, 8] input with no inferred shapes: q = x·Wq, k = x·Wk, softmax(q·kᵀ)·x, then a Gemm-like
// projection. Only the input's shape is declared, with a named batch dimension.
Graph attentionGraph() {
    GraphBuilder g(13);
    g.input("x");
    g.constant("wq", randomArray({8, 8}, 1));
    g.constant("wk", randomArray({8, 8}, 2));
    g.constant("wo", randomArray({8, 3}, 3));
    g.constant("two", NDArray({}, {2.f}));
    g.node("MatMul", {"x", "wq"}, {"q"});
    g.node("MatMul", {"x", "wk"}, {"k"});
    g.node("Transpose", {"k"}, {"kt"}, {{"perm", intsAttribute({0, 2, 1})}});
    g.node("MatMul", {"q", "kt"}, {"scores"});
    g.node("Div", {"scores", "two"}, {"scaled"});
    g.node("Softmax", {"scaled"}, {"attn"}, {{"axis", intAttribute(-1)}});
    g.node("MatMul", {"attn", "x"}, {"mixed"});
    g.node("MatMul", {"mixed", "wo"}, {"y"});
    g.output("y");
    Graph graph = g.graph();
    ValueInfo& x = graph.values["x"];
    x.hasShape = true;
    x.shape = {-1, 4, 8};
    x.dimParams = {"batch", "", ""};
    return graph;
}

}  // namespace

class TestShapeProbe : public QObject {
    Q_OBJECT
private slots:
    void attentionIsCountedAfterOneRun() {
        Graph graph = attentionGraph();
        const ModelSummary before = summarizeModel(graph);
        QCOMPARE(before.totalMacs, int64_t(0));
        QCOMPARE(before.unknownMacs.size(), size_t(5));  // every MatMul unknown, none silently 0
        QCOMPARE(valuesWithUnknownShapes(graph).size(), size_t(8));

        const ShapeProbeReport report = completeShapesByExecution(graph);
        QVERIFY2(report.problem.empty(), report.problem.c_str());
        QVERIFY(report.ran);
        QCOMPARE(report.learned, 8);
        QVERIFY(valuesWithUnknownShapes(graph).empty());
        QCOMPARE(graph.value("scores")->shape, (std::vector<int64_t>{1, 4, 4}));
        QCOMPARE(graph.value("y")->shape, (std::vector<int64_t>{1, 4, 3}));
        QCOMPARE(graph.value("x")->dimParams[0], std::string("batch"));  // declared shapes stay as they were

        const ModelSummary after = summarizeModel(graph);
        QVERIFY(after.unknownMacs.empty());
        // q, k: 4·8·8 each; q·kᵀ: 4·4·8; attn·x: 4·8·4; projection 4·3·8.
        QCOMPARE(after.totalMacs, int64_t(2 * 256 + 128 + 128 + 96));
        // The weightless MatMuls count in the total only; the layers are the three MatMuls with weights (and the Div).
        QCOMPARE(std::count_if(after.layers.begin(), after.layers.end(),
                               [](const LayerInfo& l) { return l.op == "MatMul"; }),
                 3);
        QCOMPARE(nodeMacs(graph, graph.nodes[3]), std::optional<int64_t>(128));
    }

    void partlyUnknownShapesAreCompletedNotGuessed() {
        // A static shape with an unknown, unnamed dimension used to count that dimension as 1.
        Graph graph = attentionGraph();
        for (const char* name : {"q", "k", "kt", "scores", "scaled", "attn", "mixed", "y"}) {
            ValueInfo& v = graph.values[name];
            v.hasShape = true;
            v.shape = {-1, -1, -1};
            v.dimParams = {"batch", "", ""};
        }
        QCOMPARE(nodeMacs(graph, graph.nodes[0]), std::nullopt);
        QVERIFY(completeShapesByExecution(graph).ran);
        QCOMPARE(graph.value("q")->shape, (std::vector<int64_t>{-1, 4, 8}));  // the named batch stays symbolic
        QCOMPARE(graph.value("q")->dimParams[0], std::string("batch"));
        QCOMPARE(nodeMacs(graph, graph.nodes[0]), std::optional<int64_t>(256));
        QCOMPARE(summarizeModel(graph).totalMacs, int64_t(2 * 256 + 128 + 128 + 96));
    }

    void unrunnableModelKeepsMacsUnknown() {
        Graph graph = attentionGraph();
        graph.nodes[5].opType = "FancySoftmax";
        graph.nodes[5].domain = "com.example";
        const ShapeProbeReport report = completeShapesByExecution(graph);
        QVERIFY(!report.ran);
        QVERIFY2(report.problem.find("FancySoftmax") != std::string::npos, report.problem.c_str());
        QCOMPARE(graph.warnings.size(), size_t(1));
        const ModelSummary summary = summarizeModel(graph);
        QCOMPARE(summary.unknownMacs.size(), size_t(5));
        QCOMPARE(summary.totalMacs, int64_t(0));

        Graph freeInput = attentionGraph();
        freeInput.values["x"].shape = {-1, -1, 8};
        const ShapeProbeReport free = completeShapesByExecution(freeInput);
        QVERIFY(!free.ran);
        QVERIFY2(free.problem.find("input 'x' has the free dimension 1") != std::string::npos, free.problem.c_str());
    }

    void unpackedWeightsGiveTheSameResults() {
        // The probe compiles without packing weights (ExecutorOptions::packWeights); such a plan still runs right.
        auto graph = readOnnxModel(LATHE_DEMO_MODEL);
        QVERIFY(graph.ok());
        ExecutorOptions unpacked;
        unpacked.packWeights = false;
        auto a = Executor::compile(*graph), b = Executor::compile(*graph, unpacked);
        QVERIFY(a.ok() && b.ok());
        const NDArray x = randomArray({3, 1, 28, 28}, 7, 0.f, 1.f);
        auto ya = a->run({{a->inputNames().front(), x}}), yb = b->run({{b->inputNames().front(), x}});
        QVERIFY(ya.ok() && yb.ok());
        const NDArray& la = ya->at(a->outputNames().front());
        const NDArray& lb = yb->at(b->outputNames().front());
        QVERIFY2(mismatch(lb, la).isEmpty(), qPrintable(mismatch(lb, la)));
        auto shapes = b->valueShapes({{b->inputNames().front(), x}});
        QVERIFY(shapes.ok());
        QCOMPARE(shapes->at(b->outputNames().front()), la.shape);
    }

    void hostileShapesAreRefusedNotAllocated() {
        // A model opened in the window is run on zeros when its shapes are unknown: a ConstantOfShape asking for
        // 10^12 elements must end in an error naming the node, not in an allocation of 4 TB.
        GraphBuilder g(13);
        g.input("x");
        g.node("Shape", {"x"}, {"s"}, {}, DType::Int64);
        g.constant("big", NDArray({2}, {1e6f, 1e6f}), DType::Int64);
        g.node("Mul", {"s", "big"}, {"huge"}, {}, DType::Int64);
        g.node("ConstantOfShape", {"huge"}, {"y"});
        g.output("y");
        Graph graph = g.graph();
        graph.values["x"].hasShape = true;
        graph.values["x"].shape = {1, 1};
        const ShapeProbeReport report = completeShapesByExecution(graph);
        QVERIFY(!report.ran);
        QVERIFY2(report.problem.find("ConstantOfShape_2") != std::string::npos &&
                     report.problem.find("[1000000, 1000000]") != std::string::npos,
                 report.problem.c_str());
    }

    // The probe lends the weights to the executor instead of copying them: they come back unchanged, also when the
    // graph fails to compile.
    void weightsComeBackFromTheProbe() {
        for (const bool compiles : {true, false}) {
            Graph graph = attentionGraph();
            if (!compiles) graph.outputs.push_back("nowhere");
            const std::map<std::string, Tensor> before = graph.initializers;
            const ShapeProbeReport report = completeShapesByExecution(graph);
            QCOMPARE(report.ran, compiles);
            QCOMPARE(graph.initializers.size(), before.size());
            for (const auto& [name, tensor] : before) {
                QCOMPARE(graph.initializers.at(name).shape, tensor.shape);
                QVERIFY2(graph.initializers.at(name).data == tensor.data, name.c_str());
                QVERIFY(!tensor.data.empty());
            }
        }
    }

    void completeModelsAreNotRun() {
        auto graph = readOnnxModel(LATHE_DEMO_MODEL);
        QVERIFY(graph.ok());
        const int64_t macs = summarizeModel(*graph).totalMacs;
        const ShapeProbeReport report = completeShapesByExecution(*graph);
        QVERIFY(!report.ran);
        QVERIFY(report.problem.empty());
        QCOMPARE(summarizeModel(*graph).totalMacs, macs);
    }
};

QTEST_APPLESS_MAIN(TestShapeProbe)
#include "test_shape_probe.moc"
