#include <QtTest>

#include "core/model/model_summary.h"
#include "core/model/onnx_reader.h"

using namespace lathe;

namespace {
Graph load(const std::string& path) {
    auto g = readOnnxModel(path);
    if (!g) qFatal("%s", g.error().message.c_str());
    return std::move(g).value();
}
}  // namespace

class TestModelSummary : public QObject {
    Q_OBJECT
private slots:
    // LeNet-5 (Caffe form) on 1x28x28, by hand:
    //   conv1 20x1x5x5 + 20 = 520 params; output 20x24x24; MACs 20*24*24*1*5*5 = 288,000
    //   conv2 50x20x5x5 + 50 = 25,050;    output 50x8x8;   MACs 50*8*8*20*5*5 = 1,600,000
    //   fc1   500x800 + 500 = 400,500;    MACs 800*500 = 400,000
    //   fc2   10x500 + 10   = 5,010;      MACs 500*10 = 5,000
    void demoModelLayers_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("op");
        QTest::addColumn<qint64>("params");
        QTest::addColumn<qint64>("macs");
        QTest::newRow("conv1") << "conv1" << "Conv" << qint64(520) << qint64(288000);
        QTest::newRow("conv2") << "conv2" << "Conv" << qint64(25050) << qint64(1600000);
        QTest::newRow("fc1") << "fc1" << "Gemm" << qint64(400500) << qint64(400000);
        QTest::newRow("fc2") << "fc2" << "Gemm" << qint64(5010) << qint64(5000);
    }

    void demoModelLayers() {
        QFETCH(QString, name);
        QFETCH(QString, op);
        QFETCH(qint64, params);
        QFETCH(qint64, macs);
        static const Graph g = load(LATHE_DEMO_MODEL);
        static const ModelSummary s = summarizeModel(g);
        const LayerInfo* layer = nullptr;
        for (const auto& l : s.layers)
            if (l.name == name.toStdString()) layer = &l;
        QVERIFY(layer);
        QCOMPARE(QString::fromStdString(layer->op), op);
        QCOMPARE(layer->params, params);
        QCOMPARE(layer->bytes, params * 4);
        QCOMPARE(layer->macs, macs);
        QCOMPARE(layer->weights.size(), size_t(2));
        QCOMPARE(layer->weights[0].dtype, DType::Float);
    }

    void demoModelTotals() {
        ModelSummary s = summarizeModel(load(LATHE_DEMO_MODEL));
        QCOMPARE(s.layers.size(), size_t(4));
        QCOMPARE(s.totalParams, int64_t(431080));
        QCOMPARE(s.totalBytes, int64_t(431080 * 4));
        QCOMPARE(s.totalMacs, int64_t(2293000));
    }

    // Fixture totals worked out in tests/fixtures/README.md.
    void fixtureTotals_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<int>("layers");
        QTest::addColumn<qint64>("params");
        QTest::addColumn<qint64>("macs");
        // conv 8x3x3x3+8=224, MACs 8*16*16*27=55,296; BN 4x8=32; Gemm 4x8+4=36, MACs 32
        QTest::newRow("bn_conv") << "bn_conv.onnx" << 3 << qint64(292) << qint64(55328);
        // depthwise 4x1x3x3+4=40, MACs 4*8*8*9=2,304; pointwise 6x4+6=30, MACs 6*8*8*4=1,536
        QTest::newRow("depthwise") << "depthwise.onnx" << 2 << qint64(70) << qint64(3840);
        // two convs 4x4x3x3+4=148 each, MACs 4*8*8*36=9,216 each; Gemm 3x4+3=15, MACs 12
        QTest::newRow("residual") << "residual.onnx" << 3 << qint64(311) << qint64(18444);
        // conv 4x3x3x3+4=112, MACs 4*8*8*27=6,912; MatMul 256x10=2,560 (MACs 2,560); bias Add 10
        QTest::newRow("tf_nhwc") << "tf_nhwc.onnx" << 3 << qint64(2682) << qint64(9472);
        // MatMul 6x5=30 (MACs 30), Add 5, MatMul 5x2=10 (MACs 10)
        QTest::newRow("opset7") << "matmul_opset7.onnx" << 3 << qint64(45) << qint64(40);
    }

    void fixtureTotals() {
        QFETCH(QString, file);
        QFETCH(int, layers);
        QFETCH(qint64, params);
        QFETCH(qint64, macs);
        ModelSummary s = summarizeModel(load(std::string(LATHE_FIXTURES_DIR) + "/" + file.toStdString()));
        QCOMPARE(int(s.layers.size()), layers);
        QCOMPARE(s.totalParams, params);
        QCOMPARE(s.totalMacs, macs);
    }

    // A shared initializer counts once in the totals but shows in each layer that uses it.
    void sharedWeightsCountOnce() {
        Graph g;
        Tensor w;
        w.name = "W";
        w.shape = {3, 3};
        w.data.assign(9, 1.f);
        g.initializers["W"] = w;
        for (const char* name : {"a", "b"}) {
            Node n;
            n.name = name;
            n.opType = "MatMul";
            n.inputs = {"x", "W"};
            n.outputs = {std::string(name) + "_out"};
            g.nodes.push_back(n);
        }
        ModelSummary s = summarizeModel(g);
        QCOMPARE(s.layers.size(), size_t(2));
        QCOMPARE(s.layers[1].params, int64_t(9));
        QCOMPARE(s.totalParams, int64_t(9));
        QCOMPARE(s.totalBytes, int64_t(36));
        // MatMul on an input of unknown shape: its MACs are unknown, not 0, and the totals say so.
        QVERIFY(!s.layers[0].macsKnown);
        QCOMPARE(s.unknownMacs, (std::vector<std::string>{"a", "b"}));
    }

    // LSTM/GRU/RNN: sequence length × (W + R elements) per sample; unknown without the input's shape. An op with
    // float weights that Lathe cannot count is unknown too, while weightless ops count 0.
    void recurrentLayers_data() {
        QTest::addColumn<QString>("op");
        QTest::addColumn<int>("gates");
        QTest::addColumn<int>("layout");
        QTest::newRow("LSTM") << "LSTM" << 4 << 0;
        QTest::newRow("GRU batch-first") << "GRU" << 3 << 1;
        QTest::newRow("RNN") << "RNN" << 1 << 0;
    }
    void recurrentLayers() {
        QFETCH(QString, op);
        QFETCH(int, gates);
        QFETCH(int, layout);
        const int64_t seq = 28, input = 28, hidden = 16, directions = 2;
        Graph g;
        auto weight = [&](const std::string& name, std::vector<int64_t> shape) {
            Tensor t;
            t.name = name;
            t.shape = std::move(shape);
            t.data.assign(size_t(t.numel()), 0.1f);
            g.initializers[name] = t;
        };
        weight("W", {directions, gates * hidden, input});
        weight("R", {directions, gates * hidden, hidden});
        ValueInfo x;
        x.name = "x";
        x.dtype = DType::Float;
        x.hasShape = true;
        x.shape = layout == 0 ? std::vector<int64_t>{seq, -1, input} : std::vector<int64_t>{-1, seq, input};
        g.values["x"] = x;
        Node n;
        n.name = "rnn";
        n.opType = op.toStdString();
        n.inputs = {"x", "W", "R"};
        n.outputs = {"y"};
        if (layout) n.attributes["layout"] = intAttribute(1);
        g.nodes.push_back(n);
        const int64_t expected = seq * directions * gates * hidden * (input + hidden);
        QCOMPARE(nodeMacs(g, g.nodes[0]), std::optional<int64_t>(expected));
        ModelSummary s = summarizeModel(g);
        QCOMPARE(s.totalMacs, expected);
        QVERIFY(s.unknownMacs.empty());

        g.values.erase("x");
        QCOMPARE(nodeMacs(g, g.nodes[0]), std::nullopt);
        s = summarizeModel(g);
        QVERIFY(!s.layers[0].macsKnown);
        QCOMPARE(s.unknownMacs, std::vector<std::string>{"rnn"});

        g.nodes[0].opType = "FancyDense";  // weights, but an op nobody counts
        QCOMPARE(nodeMacs(g, g.nodes[0]), std::nullopt);
        g.nodes[0].opType = "Relu";
        g.nodes[0].inputs = {"x"};
        QCOMPARE(nodeMacs(g, g.nodes[0]), std::optional<int64_t>(0));
    }

    // Einsum counts one multiply-accumulate per combination of its subscripts; a MatMul whose output has an unknown
    // dimension other than the batch is unknown rather than counted as if that dimension were 1.
    void einsumAndPartlyUnknownShapes() {
        Graph g;
        auto value = [&](const std::string& name, std::vector<int64_t> shape, std::vector<std::string> params = {}) {
            ValueInfo v;
            v.name = name;
            v.dtype = DType::Float;
            v.hasShape = true;
            v.shape = std::move(shape);
            v.dimParams = std::move(params);
            g.values[name] = v;
        };
        value("q", {-1, 12, 197, 64}, {"batch", "", "", ""});
        value("k", {-1, 12, 197, 64}, {"batch", "", "", ""});
        Node einsum;
        einsum.name = "scores";
        einsum.opType = "Einsum";
        einsum.inputs = {"q", "k"};
        einsum.outputs = {"s"};
        einsum.attributes["equation"] = stringAttribute("bhid,bhjd->bhij");
        g.nodes.push_back(einsum);
        QCOMPARE(nodeMacs(g, g.nodes[0]), std::optional<int64_t>(12 * 197 * 197 * 64));
        g.nodes[0].attributes["equation"] = stringAttribute("...id,...jd->...ij");
        QCOMPARE(nodeMacs(g, g.nodes[0]), std::optional<int64_t>(12 * 197 * 197 * 64));

        Node matmul;
        matmul.name = "attn";
        matmul.opType = "MatMul";
        matmul.inputs = {"q", "kt"};
        matmul.outputs = {"a"};
        g.nodes.push_back(matmul);
        value("a", {-1, 12, -1, 197}, {"batch", "", "", ""});
        QCOMPARE(nodeMacs(g, g.nodes[1]), std::nullopt);
        value("a", {-1, 12, 197, 197}, {"batch", "", "", ""});
        QCOMPARE(nodeMacs(g, g.nodes[1]), std::optional<int64_t>(12 * 197 * 197 * 64));
        const ModelSummary s = summarizeModel(g);
        QCOMPARE(s.totalMacs, int64_t(2) * 12 * 197 * 197 * 64);  // weightless, counted in the total
        QVERIFY(s.unknownMacs.empty());
    }
};

QTEST_APPLESS_MAIN(TestModelSummary)
#include "test_model_summary.moc"
