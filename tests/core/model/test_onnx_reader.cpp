#include <QtTest>

#include <onnx/onnx_pb.h>

#include <bit>
#include <filesystem>
#include <functional>
#include <fstream>

#include "core/model/model_summary.h"
#include "core/model/onnx_payloads.h"
#include "core/model/onnx_reader.h"

using namespace lathe;

namespace {
std::string fixture(const char* name) { return std::string(LATHE_FIXTURES_DIR) + "/" + name; }

const ValueInfo& valueOf(const Graph& g, const std::string& name) {
    const ValueInfo* v = g.value(name);
    if (!v) qFatal("value %s missing", name.c_str());
    return *v;
}

// A one-node model: `op` on input x [1, 4, 8, 8] with weight W [4, 4/group... as given] and the attributes `setup` adds.
onnx::ModelProto oneNodeModel(const std::string& op, std::vector<int64_t> weightDims,
                              const std::function<void(onnx::NodeProto&)>& setup) {
    onnx::ModelProto model;
    model.set_ir_version(8);
    model.add_opset_import()->set_version(13);
    auto* graph = model.mutable_graph();
    graph->set_name("g");
    auto* node = graph->add_node();
    node->set_op_type(op);
    node->set_name("n1");
    node->add_input("x");
    if (!weightDims.empty()) {
        auto* w = graph->add_initializer();
        w->set_name("W");
        w->set_data_type(onnx::TensorProto_DataType_FLOAT);
        int64_t n = 1;
        for (int64_t d : weightDims) {
            w->add_dims(d);
            n *= d;
        }
        for (int64_t i = 0; i < n; ++i) w->add_float_data(0.5f);
        node->add_input("W");
    }
    node->add_output("y");
    setup(*node);
    auto* x = graph->add_input();
    x->set_name("x");
    auto* t = x->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto_DataType_FLOAT);
    for (int64_t d : {1, 4, 8, 8}) t->mutable_shape()->add_dim()->set_dim_value(d);
    graph->add_output()->set_name("y");
    return model;
}

void setInts(onnx::NodeProto& node, const std::string& name, std::initializer_list<int64_t> values) {
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t v : values) a->add_ints(v);
}

void setInt(onnx::NodeProto& node, const std::string& name, int64_t value) {
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
}

std::string saveBytes(const std::string& bytes, const QTemporaryDir& dir, const char* name) {
    std::string path = dir.filePath(name).toStdString();
    std::ofstream out(path, std::ios::binary);
    out << bytes;
    return path;
}

std::string saveModel(const onnx::ModelProto& model, const QTemporaryDir& dir, const char* name = "m.onnx") {
    return saveBytes(model.SerializeAsString(), dir, name);
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

    // Issue 9: attributes libonnx's shape inference divides by are checked first (a 0 stride was a SIGFPE).
    void refusesBadConvAndPoolAttributes_data() {
        QTest::addColumn<QString>("op");
        QTest::addColumn<QString>("attribute");
        QTest::addColumn<QString>("expected");
        QTest::newRow("conv zero stride") << "Conv" << "strides=0,1" << "attribute 'strides' is [0, 1]";
        QTest::newRow("conv zero dilation") << "Conv" << "dilations=1,0" << "attribute 'dilations'";
        QTest::newRow("conv negative pad") << "Conv" << "pads=0,-1,0,0" << "attribute 'pads' is [0, -1, 0, 0]";
        QTest::newRow("conv pads length") << "Conv" << "pads=1,1" << "'pads' has 2 values";
        QTest::newRow("conv strides length") << "Conv" << "strides=1,1,1" << "'strides' has 3 values";
        QTest::newRow("conv zero group") << "Conv" << "group=0" << "attribute 'group' is 0";
        QTest::newRow("conv group not dividing") << "Conv" << "group=3" << "does not divide the 4 output channels";
        QTest::newRow("conv zero kernel") << "Conv" << "kernel_shape=0,3" << "attribute 'kernel_shape'";
        QTest::newRow("transpose zero stride") << "ConvTranspose" << "strides=0,0" << "attribute 'strides'";
        QTest::newRow("transpose negative output padding")
            << "ConvTranspose" << "output_padding=-1,0" << "attribute 'output_padding'";
        // libonnx's ConvTranspose inference read past the kernel when these lengths disagreed (found by fuzz_onnx).
        QTest::newRow("transpose output padding length")
            << "ConvTranspose" << "output_padding=1,1,1" << "'output_padding' has 3 values";
        QTest::newRow("maxpool zero stride") << "MaxPool" << "strides=0,2" << "attribute 'strides'";
        QTest::newRow("averagepool zero kernel") << "AveragePool" << "kernel_shape=0,2" << "attribute 'kernel_shape'";
        QTest::newRow("lppool zero stride") << "LpPool" << "strides=1,0" << "attribute 'strides'";
        QTest::newRow("depth to space zero block") << "DepthToSpace" << "blocksize=0" << "attribute 'blocksize' is 0";
        QTest::newRow("space to depth zero block") << "SpaceToDepth" << "blocksize=0" << "attribute 'blocksize' is 0";
    }

    void refusesBadConvAndPoolAttributes() {
        QFETCH(QString, op);
        QFETCH(QString, attribute);
        QFETCH(QString, expected);
        const bool conv = op.startsWith("Conv");
        const QString name = attribute.section('=', 0, 0);
        std::vector<int64_t> values;
        for (const QString& v : attribute.section('=', 1).split(',')) values.push_back(v.toLongLong());
        auto model = oneNodeModel(op.toStdString(), conv ? std::vector<int64_t>{4, 4, 3, 3} : std::vector<int64_t>{},
                                  [&](onnx::NodeProto& node) {
                                      if (!conv && op.endsWith("Pool") && name != "kernel_shape")
                                          setInts(node, "kernel_shape", {2, 2});
                                      if (name == "group" || name == "blocksize")
                                          setInt(node, name.toStdString(), values[0]);
                                      else {
                                          auto* a = node.add_attribute();
                                          a->set_name(name.toStdString());
                                          a->set_type(onnx::AttributeProto::INTS);
                                          for (int64_t v : values) a->add_ints(v);
                                      }
                                  });
        QTemporaryDir dir;
        const std::string path = saveModel(model, dir);
        auto g = readOnnxModel(path);
        QVERIFY(!g.ok());
        const std::string& msg = g.error().message;
        QVERIFY2(msg.find(path) != std::string::npos, msg.c_str());
        QVERIFY2(msg.find("node 'n1' (" + op.toStdString() + ")") != std::string::npos, msg.c_str());
        QVERIFY2(msg.find(expected.toStdString()) != std::string::npos, msg.c_str());
        QCOMPARE(g.error().code, ErrorCode::InvalidModel);
    }

    // libonnx's Conv/pool inference read past the input's dims when they were fewer than the kernel's (a fuzz_onnx
    // crash): the node's shapes stay unknown instead, and the model still opens.
    void spatialRankMismatchLeavesShapesUnknown_data() {
        QTest::addColumn<QString>("op");
        QTest::addColumn<int>("inputRank");
        QTest::newRow("Conv on a rank-2 input") << "Conv" << 2;
        QTest::newRow("Conv on a rank-3 input") << "Conv" << 3;
        QTest::newRow("MaxPool on a rank-3 input") << "MaxPool" << 3;
    }
    void spatialRankMismatchLeavesShapesUnknown() {
        QFETCH(QString, op);
        QFETCH(int, inputRank);
        const bool conv = op == "Conv";
        auto model = oneNodeModel(op.toStdString(), conv ? std::vector<int64_t>{4, 4, 3, 3} : std::vector<int64_t>{},
                                  [&](onnx::NodeProto& node) {
                                      if (!conv) setInts(node, "kernel_shape", {2, 2});
                                  });
        auto* shape = model.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
        shape->clear_dim();
        for (int d = 0; d < inputRank; ++d) shape->add_dim()->set_dim_value(4);
        QTemporaryDir dir;
        auto g = readOnnxModel(saveModel(model, dir));
        QVERIFY2(g.ok(), g.ok() ? "" : g.error().message.c_str());
        const ValueInfo* y = g->value("y");
        QVERIFY(!y || !y->hasShape);
    }

    void checksNodesInsideSubgraphs() {
        auto inner = oneNodeModel("MaxPool", {}, [](onnx::NodeProto& node) {
            setInts(node, "kernel_shape", {2, 2});
            setInts(node, "strides", {0, 0});
        });
        auto model = oneNodeModel("If", {}, [&](onnx::NodeProto& node) {
            for (const char* branch : {"then_branch", "else_branch"}) {
                auto* a = node.add_attribute();
                a->set_name(branch);
                a->set_type(onnx::AttributeProto::GRAPH);
                *a->mutable_g() = inner.graph();
            }
        });
        QTemporaryDir dir;
        auto g = readOnnxModel(saveModel(model, dir));
        QVERIFY(!g.ok());
        QVERIFY2(g.error().message.find("node 'n1' (MaxPool): attribute 'strides'") != std::string::npos,
                 g.error().message.c_str());
    }

    // torch deduplicates equal constants and wraps the copies in Identity: each wrapper becomes a constant of its
    // own, so every layer owns its weights (issue 15 item 3).
    void identitiesOfConstantsAreFolded() {
        auto model = oneNodeModel("Conv", {4, 4, 1, 1}, [](onnx::NodeProto& node) { node.add_input("B2"); });
        auto* graph = model.mutable_graph();
        auto* b = graph->add_initializer();
        b->set_name("B");
        b->set_data_type(onnx::TensorProto_DataType_FLOAT);
        b->add_dims(4);
        for (float v : {0.f, 1.f, 2.f, 3.f}) b->add_float_data(v);
        // Identity B → B2 first (topological order), then the Conv reads B2; a Relu reads B itself.
        onnx::NodeProto identity;
        identity.set_op_type("Identity");
        identity.set_name("Identity_7");
        identity.add_input("B");
        identity.add_output("B2");
        auto* nodes = graph->mutable_node();
        nodes->Add(std::move(identity));
        nodes->SwapElements(0, 1);
        auto* relu = graph->add_node();
        relu->set_op_type("Relu");
        relu->set_name("r");
        relu->add_input("B");
        relu->add_output("z");
        graph->add_output()->set_name("z");
        QTemporaryDir dir;
        auto g = readOnnxModel(saveModel(model, dir));
        QVERIFY2(g.ok(), g.ok() ? "" : g.error().message.c_str());
        QCOMPARE(g->nodes.size(), size_t(2));  // the Identity is gone
        QCOMPARE(g->nodes[0].opType, std::string("Conv"));
        QVERIFY(g->initializer("B2"));
        QCOMPARE(g->initializer("B2")->data, (std::vector<float>{0, 1, 2, 3}));
        QVERIFY(g->initializer("B"));  // still read by the Relu
        QCOMPARE(valueOf(*g, "B2").shape, (std::vector<int64_t>{4}));

        // The bundled ResNet-style net (torch 1.13 export) has such wrappers on its BatchNormalization biases.
        const std::string resnet = std::string(LATHE_DEMO_MODEL).substr(0, std::string(LATHE_DEMO_MODEL).rfind('/')) +
                                   "/resnet_fashion.onnx";
        auto r = readOnnxModel(resnet);
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        for (const Node& n : r->nodes) QVERIFY2(n.opType != "Identity", n.name.c_str());
        QVERIFY(r->initializer("layer2.shortcut.bn.bias"));
    }

    void validAttributesStillRead() {
        auto model = oneNodeModel("Conv", {4, 2, 3, 3}, [](onnx::NodeProto& node) {
            setInts(node, "strides", {2, 2});
            setInts(node, "pads", {1, 1, 1, 1});
            setInt(node, "group", 2);
        });
        QTemporaryDir dir;
        auto g = readOnnxModel(saveModel(model, dir));
        QVERIFY2(g.ok(), g.ok() ? "" : g.error().message.c_str());
        QCOMPARE(valueOf(*g, "y").shape, (std::vector<int64_t>{1, 4, 4, 4}));
    }

    // Issue 9: dims whose product overflows int64 (signed overflow in shapeNumel) are an error naming the tensor.
    void refusesInitializerDimsThatOverflow() {
        auto model = oneNodeModel("Relu", {}, [](onnx::NodeProto&) {});
        auto* big = model.mutable_graph()->add_initializer();
        big->set_name("huge");
        big->set_data_type(onnx::TensorProto_DataType_FLOAT);
        for (int64_t d : {int64_t(1) << 32, int64_t(1) << 32, int64_t(4)}) big->add_dims(d);
        big->set_raw_data(std::string(16, '\0'));
        QTemporaryDir dir;
        auto g = readOnnxModel(saveModel(model, dir));
        QVERIFY(!g.ok());
        const std::string& msg = g.error().message;
        QVERIFY2(msg.find("tensor 'huge'") != std::string::npos, msg.c_str());
        QVERIFY2(msg.find("[4294967296, 4294967296, 4]") != std::string::npos, msg.c_str());
        QVERIFY2(msg.find("overflows") != std::string::npos, msg.c_str());
        QCOMPARE(shapeNumel(std::vector<int64_t>{int64_t(1) << 32, int64_t(1) << 32, 4}), int64_t(-1));
        QVERIFY(!checkedNumel(std::vector<int64_t>{int64_t(1) << 62, 4}));
        QCOMPARE(*checkedNumel(std::vector<int64_t>{3, 5}), int64_t(15));
    }

    // Issue 9: bad external-data fields (not a number, negative dims without a length, offset + length beyond
    // int64, a path outside the model's folder) are errors naming the tensor and the field.
    void refusesBadExternalData_data() {
        QTest::addColumn<QString>("offset");
        QTest::addColumn<QString>("length");
        QTest::addColumn<QString>("location");
        QTest::addColumn<bool>("negativeDim");
        QTest::addColumn<QString>("expected");
        QTest::newRow("offset not a number") << "abc" << "" << "data.bin" << false << "field 'offset' is \"abc\"";
        QTest::newRow("offset with junk") << "12x" << "" << "data.bin" << false << "field 'offset' is \"12x\"";
        QTest::newRow("length negative") << "0" << "-4" << "data.bin" << false << "field 'length' is \"-4\"";
        QTest::newRow("length beyond int64")
            << "0" << "99999999999999999999" << "data.bin" << false << "field 'length'";
        QTest::newRow("negative dim without length") << "0" << "" << "data.bin" << true << "negative dimension";
        QTest::newRow("offset plus length overflows")
            << "9223372036854775807" << "16" << "data.bin" << false << "at offset 9223372036854775807";
        QTest::newRow("offset past the end") << "60" << "" << "data.bin" << false << "which has only 64 bytes";
        QTest::newRow("absolute location") << "0" << "" << "/etc/passwd" << false << "not a path inside";
        QTest::newRow("parent location") << "0" << "" << "../data.bin" << false << "not a path inside";
    }

    void refusesBadExternalData() {
        QFETCH(QString, offset);
        QFETCH(QString, length);
        QFETCH(QString, location);
        QFETCH(bool, negativeDim);
        QFETCH(QString, expected);
        auto model = oneNodeModel("Relu", {}, [](onnx::NodeProto&) {});
        auto* t = model.mutable_graph()->add_initializer();
        t->set_name("ext");
        t->set_data_type(onnx::TensorProto_DataType_FLOAT);
        t->add_dims(negativeDim ? -4 : 4);
        t->set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
        auto entry = [&](const char* key, const QString& value) {
            if (value.isEmpty()) return;
            auto* e = t->add_external_data();
            e->set_key(key);
            e->set_value(value.toStdString());
        };
        entry("location", location);
        entry("offset", offset);
        entry("length", length);
        QTemporaryDir dir;
        {
            std::ofstream data(dir.filePath("data.bin").toStdString(), std::ios::binary);
            data << std::string(64, '\1');
        }
        auto g = readOnnxModel(saveModel(model, dir));
        QVERIFY(!g.ok());
        const std::string& msg = g.error().message;
        QVERIFY2(msg.find("tensor 'ext'") != std::string::npos, msg.c_str());
        QVERIFY2(msg.find(expected.toStdString()) != std::string::npos, msg.c_str());
    }

    void externalDataWithOffsetAndLengthReads() {
        auto model = oneNodeModel("Relu", {}, [](onnx::NodeProto&) {});
        auto* t = model.mutable_graph()->add_initializer();
        t->set_name("ext");
        t->set_data_type(onnx::TensorProto_DataType_FLOAT);
        t->add_dims(2);
        t->set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
        for (auto [k, v] : {std::pair{"location", "data.bin"}, {"offset", "4"}, {"length", "8"}}) {
            auto* e = t->add_external_data();
            e->set_key(k);
            e->set_value(v);
        }
        QTemporaryDir dir;
        {
            const float values[4] = {1.f, 2.f, 3.f, 4.f};
            std::ofstream data(dir.filePath("data.bin").toStdString(), std::ios::binary);
            data.write(reinterpret_cast<const char*>(values), sizeof values);
        }
        auto g = readOnnxModel(saveModel(model, dir));
        QVERIFY2(g.ok(), g.ok() ? "" : g.error().message.c_str());
        QCOMPARE(g->initializer("ext")->data, (std::vector<float>{2.f, 3.f}));
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

    // Large raw_data payloads are cut off the protobuf message and converted from the mapped file: the values read
    // must be exactly the file's, for float and integer tensors, next to small raw and typed-field tensors.
    void largePayloadsAreReadFromTheFile() {
        onnx::ModelProto model;
        model.set_ir_version(8);
        model.add_opset_import()->set_version(13);
        auto* graph = model.mutable_graph();
        graph->set_name("payloads");
        auto addFloats = [&](const char* name, int64_t n, bool raw) {
            auto* t = graph->add_initializer();
            t->set_name(name);
            t->set_data_type(onnx::TensorProto_DataType_FLOAT);
            t->add_dims(n);
            std::vector<float> v(static_cast<size_t>(n));
            for (int64_t i = 0; i < n; ++i) v[size_t(i)] = float(i % 977) * 0.25f - float(n % 13);
            if (raw)
                t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
            else
                for (float x : v) t->add_float_data(x);
        };
        addFloats("big", 70000, true);      // 280 KB: cut off
        addFloats("small", 100, true);      // stays in the message
        addFloats("typed", 20000, false);   // float_data, not raw
        addFloats("big2", 40000, true);     // 160 KB: cut off
        auto* ints = graph->add_initializer();
        ints->set_name("ints");
        ints->set_data_type(onnx::TensorProto_DataType_INT64);
        ints->add_dims(9000);  // 72 KB: cut off, then converted as integers
        std::vector<int64_t> iv(9000);
        for (size_t i = 0; i < iv.size(); ++i) iv[i] = int64_t(i) * 3 - 4000;
        ints->set_raw_data(std::string(reinterpret_cast<const char*>(iv.data()), iv.size() * sizeof(int64_t)));
        std::string bytes;
        QVERIFY(model.SerializeToString(&bytes));

        const std::optional<SplitModel> split = splitInitializerPayloads(bytes, 64 << 10);
        QVERIFY(split);
        QCOMPARE(int(split->payloads.size()), 3);
        QVERIFY(split->message.size() < 100000);  // the typed tensor (80 KB of fixed32) stays
        onnx::ModelProto stripped;
        QVERIFY(stripped.ParseFromString(split->message));
        QCOMPARE(stripped.graph().initializer_size(), 5);
        for (const InitializerPayload& payload : split->payloads) {
            QVERIFY(!stripped.graph().initializer(payload.initializer).has_raw_data());
            QVERIFY(payload.bytes == model.graph().initializer(payload.initializer).raw_data());
        }
        QCOMPARE(stripped.graph().initializer(1).raw_data(), model.graph().initializer(1).raw_data());
        QVERIFY(!splitInitializerPayloads(std::string_view(bytes).substr(0, bytes.size() - 7), 64 << 10));
        QVERIFY(!splitInitializerPayloads(bytes, size_t(1) << 30));  // nothing to cut

        QTemporaryDir dir;
        auto g = readOnnxModel(saveBytes(bytes, dir, "payloads.onnx"));
        QVERIFY2(g.ok(), g.ok() ? "" : g.error().message.c_str());
        for (int i = 0; i < 4; ++i) {
            const onnx::TensorProto& proto = model.graph().initializer(i);
            const Tensor* t = g->initializer(proto.name());
            QVERIFY(t);
            const size_t n = size_t(proto.dims(0));
            QCOMPARE(t->data.size(), n);
            for (size_t k = 0; k < n; ++k) {
                const float expected = proto.has_raw_data()
                                           ? reinterpret_cast<const float*>(proto.raw_data().data())[k]
                                           : proto.float_data(int(k));
                if (t->data[k] != expected) QFAIL(qPrintable(QStringLiteral("%1[%2]").arg(proto.name().c_str()).arg(k)));
            }
        }
        const Tensor* readInts = g->initializer("ints");
        QVERIFY(readInts);
        QCOMPARE(readInts->ints, iv);
        QCOMPARE(readInts->data[8999], float(iv[8999]));
    }

    // A tensor with raw_data twice (protobuf keeps the last) is not split: the file is parsed whole, as protobuf reads it.
    void repeatedRawDataFallsBackToProtobuf() {
        auto lengthDelimited = [](int field, const std::string& content) {
            std::string out;
            auto varint = [&](uint64_t v) {
                while (v >= 0x80) {
                    out.push_back(char(uint8_t(v) | 0x80));
                    v >>= 7;
                }
                out.push_back(char(v));
            };
            varint(uint64_t(field) << 3 | 2);
            varint(content.size());
            return out + content;
        };
        onnx::TensorProto tensor;
        tensor.set_name("W");
        tensor.set_data_type(onnx::TensorProto_DataType_FLOAT);
        tensor.add_dims(20000);
        const std::string first(80000, '\0'), second(80000, '\x40');  // zeros, then 0x40404040 = 3.0039...
        std::string tensorBytes = tensor.SerializeAsString() + lengthDelimited(9, first) + lengthDelimited(9, second);
        onnx::ModelProto model;
        model.set_ir_version(8);
        model.add_opset_import()->set_version(13);
        model.mutable_graph()->set_name("twice");
        std::string modelBytes = model.SerializeAsString();
        modelBytes += lengthDelimited(7, lengthDelimited(5, tensorBytes));
        QVERIFY(!splitInitializerPayloads(modelBytes, 64 << 10));

        QTemporaryDir dir;
        auto g = readOnnxModel(saveBytes(modelBytes, dir, "twice.onnx"));
        QVERIFY2(g.ok(), g.ok() ? "" : g.error().message.c_str());
        const Tensor* w = g->initializer("W");
        QVERIFY(w);
        QCOMPARE(w->data.size(), size_t(20000));
        QCOMPARE(w->data[123], std::bit_cast<float>(uint32_t(0x40404040)));
    }
};

QTEST_APPLESS_MAIN(TestOnnxReader)
#include "test_onnx_reader.moc"
