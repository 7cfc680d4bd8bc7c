#include <QtTest>

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>

#include "core/model/model_summary.h"
#include "core/model/onnx_reader.h"

using namespace lathe;

namespace {
std::string fixture(const char* name) { return std::string(LATHE_FIXTURES_DIR) + "/" + name; }

const ValueInfo& valueOf(const Graph& g, const std::string& name) {
    const ValueInfo* v = g.value(name);
    if (!v) qFatal("value %s missing", name.c_str());
    return *v;
}
}  // namespace

class TestOnnxReader : public QObject {
    Q_OBJECT
private slots:
    void readsDemoModel() {
        auto g = readOnnxModel(LATHE_DEMO_MODEL);
        QVERIFY2(g.ok(), g.ok() ? "" : g.error().message.c_str());
        QCOMPARE(g->opset, 13);
        QStringList names;
        for (const auto& n : g->nodes) names << QString::fromStdString(n.name);
        QCOMPARE(names, (QStringList{"conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "relu1", "fc2"}));
        const Tensor* w = g->initializer("conv2.weight");
        QVERIFY(w);
        QCOMPARE(w->shape, (std::vector<int64_t>{50, 20, 5, 5}));
        QCOMPARE(int64_t(w->data.size()), 25000);
        QCOMPARE(g->nodes[0].attrInts("kernel_shape"), (std::vector<int64_t>{5, 5}));
        // Inferred shapes: batch stays symbolic, the rest is known.
        const ValueInfo& conv2Out = valueOf(*g, g->nodes[2].outputs[0]);
        QVERIFY(conv2Out.hasShape);
        QCOMPARE(conv2Out.shape, (std::vector<int64_t>{-1, 50, 8, 8}));
        QCOMPARE(conv2Out.dtype, DType::Float);
        QCOMPARE(g->inputs, (std::vector<std::string>{"input"}));
        QCOMPARE(g->outputs, (std::vector<std::string>{"logits"}));
        QVERIFY(g->warnings.empty());
    }

    void readsFixtures_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<int>("nodes");
        QTest::addColumn<int>("opset");
        QTest::addColumn<QString>("op");  // an op the file must contain
        QTest::newRow("batchnorm") << "bn_conv.onnx" << 6 << 13 << "BatchNormalization";
        QTest::newRow("depthwise") << "depthwise.onnx" << 4 << 13 << "Conv";
        QTest::newRow("residual") << "residual.onnx" << 8 << 13 << "Add";
        QTest::newRow("tensorflow nhwc") << "tf_nhwc.onnx" << 8 << 11 << "Transpose";
        QTest::newRow("opset 7") << "matmul_opset7.onnx" << 4 << 7 << "MatMul";
        QTest::newRow("external data") << "external_data.onnx" << 1 << 13 << "Gemm";
    }

    void readsFixtures() {
        QFETCH(QString, file);
        QFETCH(int, nodes);
        QFETCH(int, opset);
        QFETCH(QString, op);
        auto g = readOnnxModel(fixture(file.toStdString().c_str()));
        QVERIFY2(g.ok(), g.ok() ? "" : g.error().message.c_str());
        QCOMPARE(int(g->nodes.size()), nodes);
        QCOMPARE(int(g->opset), opset);
        bool hasOp = false;
        for (const auto& n : g->nodes) {
            hasOp |= n.opType == op.toStdString();
            QVERIFY(n.knownOp);
            for (const auto& out : n.outputs) QVERIFY2(g->value(out), out.c_str());
        }
        QVERIFY(hasOp);
        // Every graph output has an inferred shape.
        for (const auto& out : g->outputs) QVERIFY2(valueOf(*g, out).hasShape, out.c_str());
    }

    void externalDataIsLoaded() {
        auto g = readOnnxModel(fixture("external_data.onnx"));
        QVERIFY(g.ok());
        int64_t loaded = 0;
        for (const auto& [name, t] : g->initializers) {
            QCOMPARE(int64_t(t.data.size()), t.numel());
            for (float v : t.data) loaded += v != 0.f;
        }
        QVERIFY(loaded > 100);  // 8x16 weights + 8 biases, random, so nearly all non-zero
    }

    void tensorflowStyleValueNames() {
        auto g = readOnnxModel(fixture("tf_nhwc.onnx"));
        QVERIFY(g.ok());
        QCOMPARE(g->producerName, std::string("tf2onnx"));
        QCOMPARE(g->inputs.size(), size_t(1));
        const ValueInfo& in = valueOf(*g, g->inputs[0]);
        QCOMPARE(in.shape.size(), size_t(4));
        QCOMPARE(in.shape[3], int64_t(3));  // NHWC
        const Node& conv = g->nodes[size_t(g->nodeIndex(g->nodes[1].name))];
        QCOMPARE(conv.opType, std::string("Conv"));
        QCOMPARE(conv.attrString("auto_pad"), std::string("SAME_UPPER"));
        QCOMPARE(valueOf(*g, conv.outputs[0]).shape, (std::vector<int64_t>{-1, 4, 8, 8}));
    }

    void unknownOpStaysViewable() {
        auto g = readOnnxModel(fixture("unknown_op.onnx"));
        QVERIFY2(g.ok(), g.ok() ? "" : g.error().message.c_str());
        QCOMPARE(g->nodes.size(), size_t(3));
        QCOMPARE(g->unknownOps(), (std::vector<std::string>{"com.example::FancyNorm"}));
        QCOMPARE(g->warnings.size(), size_t(1));
        const std::string& w = g->warnings[0];
        QVERIFY2(w.find("unknown_op.onnx") != std::string::npos, w.c_str());
        QVERIFY2(w.find("FancyNorm") != std::string::npos, w.c_str());
    }

    void badInput_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("expected");  // must appear in the message, besides the file name
        QTest::addColumn<int>("code");
        QTest::newRow("empty") << "empty.onnx" << "empty" << int(ErrorCode::Parse);
        QTest::newRow("truncated") << "truncated.onnx" << "truncated or corrupt" << int(ErrorCode::Parse);
        QTest::newRow("not onnx") << "not_onnx.onnx" << "not" << int(ErrorCode::Parse);
        QTest::newRow("missing external data")
            << "missing_external.onnx" << "missing_external.bin" << int(ErrorCode::FileNotFound);
        QTest::newRow("no such file") << "does_not_exist.onnx" << "not found" << int(ErrorCode::FileNotFound);
        QTest::newRow("directory") << "." << "directory" << int(ErrorCode::InvalidArgument);
    }

    void badInput() {
        QFETCH(QString, file);
        QFETCH(QString, expected);
        QFETCH(int, code);
        std::string path = fixture(file.toStdString().c_str());
        auto g = readOnnxModel(path);
        QVERIFY(!g.ok());
        const std::string& msg = g.error().message;
        QVERIFY2(msg.find(path) != std::string::npos, msg.c_str());
        QVERIFY2(msg.find(expected.toStdString()) != std::string::npos, msg.c_str());
        QCOMPARE(int(g.error().code), code);
    }

    void progressRisesAndCancelStops() {
        std::vector<float> fractions;
        auto g = readOnnxModel(LATHE_DEMO_MODEL, [&](float f, std::string_view) {
            fractions.push_back(f);
            return true;
        });
        QVERIFY(g.ok());
        QVERIFY(fractions.size() >= 4);
        QVERIFY(std::is_sorted(fractions.begin(), fractions.end()));
        QCOMPARE(fractions.back(), 1.f);
        int calls = 0;
        auto cancelled = readOnnxModel(LATHE_DEMO_MODEL, [&](float, std::string_view stage) {
            return ++calls < 3;
        });
        QVERIFY(!cancelled.ok());
        QCOMPARE(cancelled.error().code, ErrorCode::Cancelled);
        QCOMPARE(calls, 3);
    }

    // Protobuf refuses messages over 64 MB by default; the reader must lift that limit.
    void readsModelOver64MB() {
        const int64_t rows = 4500, cols = 4096;  // 18.4 M floats, 73.7 MB
        onnx::ModelProto model;
        model.set_ir_version(8);
        model.set_producer_name("lathe-test");
        model.add_opset_import()->set_version(13);
        auto* graph = model.mutable_graph();
        graph->set_name("big");
        auto* w = graph->add_initializer();
        w->set_name("W");
        w->set_data_type(onnx::TensorProto_DataType_FLOAT);
        w->add_dims(rows);
        w->add_dims(cols);
        std::string raw(size_t(rows * cols) * sizeof(float), '\0');
        auto* values = reinterpret_cast<float*>(raw.data());
        for (int64_t i = 0; i < rows * cols; ++i) values[i] = float(i % 1000) * 0.001f;
        w->set_raw_data(std::move(raw));
        auto* node = graph->add_node();
        node->set_op_type("MatMul");
        node->set_name("matmul");
        node->add_input("x");
        node->add_input("W");
        node->add_output("y");
        auto addIo = [](onnx::ValueInfoProto* v, const char* name, std::initializer_list<int64_t> dims) {
            v->set_name(name);
            auto* t = v->mutable_type()->mutable_tensor_type();
            t->set_elem_type(onnx::TensorProto_DataType_FLOAT);
            for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
        };
        addIo(graph->add_input(), "x", {1, rows});
        addIo(graph->add_output(), "y", {1, cols});
        QTemporaryDir dir;
        std::string path = dir.filePath("big.onnx").toStdString();
        {
            std::ofstream out(path, std::ios::binary);
            QVERIFY(model.SerializeToOstream(&out));
        }
        QVERIFY(std::filesystem::file_size(path) > 64ull * 1024 * 1024);
        model.Clear();
        auto g = readOnnxModel(path);
        QVERIFY2(g.ok(), g.ok() ? "" : g.error().message.c_str());
        const Tensor* t = g->initializer("W");
        QVERIFY(t);
        QCOMPARE(t->numel(), rows * cols);
        QCOMPARE(t->data[1234567], float(1234567 % 1000) * 0.001f);
        QCOMPARE(summarizeModel(*g).totalMacs, rows * cols);
    }
};

QTEST_APPLESS_MAIN(TestOnnxReader)
#include "test_onnx_reader.moc"
