// Executor behaviour: reference outputs of the fixtures and the demo model, dynamic batch, capture and liveness,
// integer shape computations, thread count, concurrent runs, and errors that name the node.
#include <QtTest>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <thread>

#include "core/model/onnx_reader.h"
#include "core/runtime/kernels/sgemm.h"
#include "runtime_test_util.h"

using namespace lathe;
using namespace lathe::test;

namespace {

// Minimal .npy (v1/v2, little-endian float32, C order) reader; nullopt for anything else.
std::optional<NDArray> readNpy(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[8];
    if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) return std::nullopt;
    uint32_t headerLength = 0;
    if (magic[6] == 1) {
        uint16_t length = 0;
        in.read(reinterpret_cast<char*>(&length), 2);
        headerLength = length;
    } else {
        in.read(reinterpret_cast<char*>(&headerLength), 4);
    }
    std::string header(headerLength, '\0');
    in.read(header.data(), headerLength);
    if (header.find("'<f4'") == std::string::npos || header.find("'fortran_order': False") == std::string::npos)
        return std::nullopt;
    std::smatch match;
    if (!std::regex_search(header, match, std::regex(R"('shape':\s*\(([^)]*)\))"))) return std::nullopt;
    std::vector<int64_t> shape;
    const std::string dims = match[1];
    const std::regex number(R"(\d+)");
    for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it)
        shape.push_back(std::stoll(it->str()));
    NDArray array(shape);
    in.read(reinterpret_cast<char*>(array.data.data()), std::streamsize(array.data.size() * sizeof(float)));
    if (!in) return std::nullopt;
    return array;
}

Graph loadGraph(const std::string& path) {
    auto graph = readOnnxModel(path);
    if (!graph) qFatal("%s", graph.error().message.c_str());
    return std::move(graph.value());
}

NDArray sample(const NDArray& batch, int64_t index) {
    std::vector<int64_t> shape = batch.shape;
    shape[0] = 1;
    const int64_t size = shapeNumel(shape);
    return NDArray(shape,
                   std::vector<float>(batch.data.begin() + index * size, batch.data.begin() + (index + 1) * size));
}

}  // namespace

class TestExecutor : public QObject {
    Q_OBJECT
private slots:
    void fixtureMatchesReference_data() {
        QTest::addColumn<QString>("fixture");
        for (const char* name : {"bn_conv", "depthwise", "residual", "tf_nhwc", "matmul_opset7", "external_data"})
            QTest::newRow(name) << name;
    }

    void fixtureMatchesReference() {
        QFETCH(QString, fixture);
        const std::string dir = LATHE_FIXTURES_DIR;
        const std::string name = fixture.toStdString();
        const auto input = readNpy(dir + "/reference_outputs/" + name + "_input.npy");
        const auto expected = readNpy(dir + "/reference_outputs/" + name + "_output.npy");
        if (!input || !expected) QSKIP("reference .npy files are missing");
        const Graph graph = loadGraph(dir + "/" + name + ".onnx");
        auto executor = Executor::compile(graph);
        QVERIFY2(executor.ok(), executor.ok() ? "" : executor.error().message.c_str());
        auto outputs = executor->run({{executor->inputNames().front(), *input}});
        QVERIFY2(outputs.ok(), outputs.ok() ? "" : outputs.error().message.c_str());
        const QString miss = mismatch(outputs->at(executor->outputNames().front()), *expected, 1e-4f, 1e-3f);
        QVERIFY2(miss.isEmpty(), qPrintable(miss));
    }

    // Conv -> BatchNormalization -> Relu runs as one fused step unless a capture needs the values in between; both
    // plans give the same result.
    void fusedAndExactPlansAgree() {
        auto executor = Executor::compile(loadGraph(std::string(LATHE_FIXTURES_DIR) + "/bn_conv.onnx"));
        QVERIFY(executor.ok());
        const NDArray x = randomArray({3, 3, 16, 16}, 37);
        std::vector<NodeTiming> fusedTimings, exactTimings;
        auto fused = executor->run({{"input", x}}, {}, &fusedTimings);
        auto exact = executor->run({{"input", x}}, {"/conv/Conv_output_0"}, &exactTimings);
        QVERIFY2(fused.ok() && exact.ok(), exact.ok() ? "" : exact.error().message.c_str());
        QCOMPARE(fusedTimings.front().opType, std::string("Conv+BatchNormalization+Relu"));
        QCOMPARE(exactTimings.front().opType, std::string("Conv"));
        QCOMPARE(exact->at("/conv/Conv_output_0").shape, (std::vector<int64_t>{3, 8, 16, 16}));
        const QString miss = mismatch(fused->at("output"), exact->at("output"), 1e-5f, 1e-5f);
        QVERIFY2(miss.isEmpty(), qPrintable(miss));
    }

    // A Conv (+ BatchNormalization) followed by a residual Add (+ Relu) runs as one step where the CPU has the packed
    // GEMM; capturing the value before the Add runs the exact steps, and both plans agree to 1e-5.
    void residualAddFusedIntoConv_data() {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("add");
        QTest::addColumn<QString>("fusedOps");
        QTest::addColumn<int>("batch");
        QTest::newRow("mobilenet") << "mobilenet_fashion"
                                   << "/block3/Add"
                                   << "Conv+BatchNormalization+Add" << 5;
        // 128 filters on 7x7 positions at batch 1: the filters are split between the two threads.
        QTest::newRow("mobilenet block5 batch 1") << "mobilenet_fashion"
                                                  << "/block5/Add"
                                                  << "Conv+BatchNormalization+Add" << 1;
        QTest::newRow("resnet, 16 filters") << "resnet_fashion"
                                            << "/layer1/Add"
                                            << "Conv+BatchNormalization+Add+Relu" << 3;
        QTest::newRow("resnet") << "resnet_fashion"
                                << "/layer2/Add"
                                << "Conv+BatchNormalization+Add+Relu" << 5;
    }
    void residualAddFusedIntoConv() {
        QFETCH(QString, model);
        QFETCH(QString, add);
        QFETCH(QString, fusedOps);
        QFETCH(int, batch);
        const std::string dir = std::filesystem::path(LATHE_DEMO_MODEL).parent_path().string();
        const Graph graph = loadGraph(dir + "/" + model.toStdString() + ".onnx");
        auto node = std::find_if(graph.nodes.begin(), graph.nodes.end(),
                                 [&](const Node& n) { return n.name == add.toStdString(); });
        QVERIFY(node != graph.nodes.end());
        auto executor = Executor::compile(graph, ExecutorOptions{2});
        QVERIFY(executor.ok());
        const NDArray x = randomArray({batch, 1, 28, 28}, 41, 0.f, 1.f);
        std::vector<NodeTiming> fusedTimings, exactTimings;
        auto fused = executor->run({{"input", x}}, {}, &fusedTimings);
        auto exact = executor->run({{"input", x}}, {node->inputs[0], node->outputs[0]}, &exactTimings);
        QVERIFY2(fused.ok() && exact.ok(), exact.ok() ? "" : exact.error().message.c_str());
        const std::string& output = executor->outputNames().front();
        QVERIFY(exact->count(node->inputs[0]) && exact->count(node->outputs[0]));
        QVERIFY(std::none_of(exactTimings.begin(), exactTimings.end(), [](const NodeTiming& t) {
            return t.opType.find("Add") != std::string::npos && t.opType != "Add";
        }));
        if (gemmUsesPackedKernel())
            QVERIFY(std::any_of(fusedTimings.begin(), fusedTimings.end(),
                                [&](const NodeTiming& t) { return t.opType == fusedOps.toStdString(); }));
        const QString miss = mismatch(fused->at(output), exact->at(output), 1e-5f, 1e-5f);
        QVERIFY2(miss.isEmpty(), qPrintable(miss));
    }

    // MatMul (constant B) then Add of a constant row, either operand order, (then Relu) runs as one step whose sum
    // starts from the bias; a constant that is not one row is left to the Add. Fused and exact plans agree to 1e-5.
    void biasAddFusedIntoMatMul_data() {
        QTest::addColumn<bool>("biasFirst");
        QTest::addColumn<bool>("relu");
        QTest::addColumn<bool>("row");
        QTest::newRow("MatMul+Add") << false << false << true;
        QTest::newRow("Add(bias, MatMul)+Relu") << true << true << true;
        QTest::newRow("[4, 5] constant: not a row") << false << false << false;
    }
    void biasAddFusedIntoMatMul() {
        QFETCH(bool, biasFirst);
        QFETCH(bool, relu);
        QFETCH(bool, row);
        GraphBuilder g;
        g.input("x");
        const NDArray w = randomArray({8, 5}, 51), b = row ? randomArray({5}, 52) : randomArray({4, 5}, 52);
        g.constant("w", w);
        g.constant("b", b);
        g.node("MatMul", {"x", "w"}, {"m"});
        g.node("Add", biasFirst ? std::vector<std::string>{"b", "m"} : std::vector<std::string>{"m", "b"}, {"s"});
        if (relu) g.node("Relu", {"s"}, {"y"});
        g.output(relu ? "y" : "s");
        auto executor = Executor::compile(g.graph());
        QVERIFY2(executor.ok(), executor.ok() ? "" : executor.error().message.c_str());
        const NDArray x = randomArray({3, 4, 8}, 53);
        std::vector<NodeTiming> fusedTimings, exactTimings;
        auto fused = executor->run({{"x", x}}, {}, &fusedTimings);
        auto exact = executor->run({{"x", x}}, {"m"}, &exactTimings);
        QVERIFY2(fused.ok() && exact.ok(), exact.ok() ? "" : exact.error().message.c_str());
        QCOMPARE(exactTimings.front().opType, std::string("MatMul"));
        const std::string expected = !row ? "MatMul" : relu ? "MatMul+Add+Relu" : "MatMul+Add";
        QCOMPARE(fusedTimings.front().opType, expected);
        const std::string& output = executor->outputNames().front();
        // Both plans against the arithmetic spelled out in double.
        NDArray reference({3, 4, 5});
        for (int64_t r = 0; r < 12; ++r)
            for (int64_t j = 0; j < 5; ++j) {
                double sum = b.data[size_t(row ? j : (r % 4) * 5 + j)];
                for (int64_t k = 0; k < 8; ++k) sum += double(x.data[size_t(r * 8 + k)]) * w.data[size_t(k * 5 + j)];
                reference.data[size_t(r * 5 + j)] = float(relu ? std::max(sum, 0.0) : sum);
            }
        for (const auto* result : {&fused->at(output), &exact->at(output)}) {
            const QString miss = mismatch(*result, reference, 1e-5f, 1e-5f);
            QVERIFY2(miss.isEmpty(), qPrintable(miss));
        }
    }

    // Batch size may change between runs; every sample of a batch matches its batch-1 run.
    void demoModelBatchesAgree() {
        auto executor = Executor::compile(loadGraph(LATHE_DEMO_MODEL));
        QVERIFY(executor.ok());
        QCOMPARE(executor->inputNames(), std::vector<std::string>{"input"});
        QCOMPARE(executor->outputNames(), std::vector<std::string>{"logits"});
        const NDArray batch = randomArray({7, 1, 28, 28}, 31, 0.f, 1.f);
        auto batched = executor->run({{"input", batch}});
        QVERIFY(batched.ok());
        QCOMPARE(batched->at("logits").shape, (std::vector<int64_t>{7, 10}));
        for (int64_t i = 0; i < 7; ++i) {
            auto single = executor->run({{"input", sample(batch, i)}});
            QVERIFY(single.ok());
            const QString miss = mismatch(single->at("logits"), sample(batched->at("logits"), i), 1e-5f, 1e-5f);
            QVERIFY2(miss.isEmpty(), qPrintable(miss));
        }
    }

    void captureIntermediates() {
        auto executor = Executor::compile(loadGraph(LATHE_DEMO_MODEL));
        QVERIFY(executor.ok());
        const NDArray x = randomArray({3, 1, 28, 28}, 32, 0.f, 1.f);
        auto outputs = executor->run({{"input", x}}, {"conv1_out", "relu1_out", "input"});
        QVERIFY2(outputs.ok(), outputs.ok() ? "" : outputs.error().message.c_str());
        QCOMPARE(outputs->size(), size_t(4));
        QCOMPARE(outputs->at("conv1_out").shape, (std::vector<int64_t>{3, 20, 24, 24}));
        QCOMPARE(outputs->at("relu1_out").shape, (std::vector<int64_t>{3, 500}));
        QVERIFY(std::all_of(outputs->at("relu1_out").data.begin(), outputs->at("relu1_out").data.end(),
                            [](float v) { return v >= 0.f; }));
        QCOMPARE(outputs->at("input").data, x.data);
        auto unknown = executor->run({{"input", x}}, {"no_such_value"});
        QVERIFY(!unknown.ok());
        QVERIFY(unknown.error().message.find("no_such_value") != std::string::npos);
    }

    // One value read by two nodes and an in-place chain: buffers are reused only after their last reader, and a
    // captured value keeps its contents even though an in-place op could have taken its buffer.
    void liveValuesSurviveInPlaceOps() {
        GraphBuilder g;
        g.input("x");
        g.node("Relu", {"x"}, {"a"});
        g.node("Sigmoid", {"a"}, {"b"});
        g.node("Tanh", {"a"}, {"c"});
        g.node("Add", {"b", "c"}, {"d"});
        g.node("Relu", {"d"}, {"y"});
        g.output("y");
        auto executor = Executor::compile(g.graph());
        QVERIFY(executor.ok());
        const NDArray x = randomArray({4, 100}, 33, -3.f, 3.f);
        for (const std::vector<std::string>& capture :
             {std::vector<std::string>{}, std::vector<std::string>{"a", "d"}}) {
            auto outputs = executor->run({{"x", x}}, capture);
            QVERIFY(outputs.ok());
            for (size_t i = 0; i < x.data.size(); ++i) {
                const float a = std::max(x.data[i], 0.f);
                const float d = 1.f / (1.f + std::exp(-a)) + std::tanh(a);
                QVERIFY(std::abs(outputs->at("y").data[i] - std::max(d, 0.f)) < 1e-6f);
                if (!capture.empty()) {
                    QCOMPARE(outputs->at("a").data[i], a);
                    QVERIFY(std::abs(outputs->at("d").data[i] - d) < 1e-6f);
                }
            }
        }
        QCOMPARE(x.data, randomArray({4, 100}, 33, -3.f, 3.f).data);
    }

    // The exact GELU as torch exports it below opset 20 (ViT, ConvNeXt, Swin) runs as one Gelu step, within 1e-6 of
    // the five steps; a chain whose constants are not GELU's stays five steps.
    void geluChainFusedIntoOneStep_data() {
        QTest::addColumn<float>("one");
        QTest::addColumn<bool>("fused");
        QTest::newRow("gelu") << 1.f << true;
        QTest::newRow("Add(2): not gelu") << 2.f << false;
    }
    void geluChainFusedIntoOneStep() {
        QFETCH(float, one);
        QFETCH(bool, fused);
        auto executor = Executor::compile(decomposedGelu(one), ExecutorOptions{2});
        QVERIFY(executor.ok());
        NDArray x = randomArray({2, 197, 3072}, 53, -8.f, 8.f);
        std::vector<NodeTiming> fusedTimings, exactTimings;
        auto run = executor->run({{"x", x}}, {}, &fusedTimings);
        auto exact = executor->run({{"x", x}}, {"e"}, &exactTimings);  // captures a value inside the chain
        QVERIFY(run.ok() && exact.ok());
        QCOMPARE(exactTimings.size(), size_t(5));
        QCOMPARE(fusedTimings.size(), size_t(fused ? 1 : 5));
        if (fused) QCOMPARE(fusedTimings.front().opType, std::string("Div+Erf+Add+Mul+Mul"));
        const NDArray& y = run->at("y");
        for (size_t i = 0; i < y.data.size(); ++i) {
            const double v = x.data[i];
            const double want = 0.5 * v * (double(one) + std::erf(v / std::sqrt(2.0)));
            if (std::abs(y.data[i] - exact->at("y").data[i]) > 1e-6 * (1 + std::abs(want)) ||
                std::abs(y.data[i] - want) > 1e-6 * (1 + std::abs(want)))
                QFAIL(qPrintable(QString("x %1: one step %2, five steps %3, want %4")
                                     .arg(v)
                                     .arg(y.data[i])
                                     .arg(exact->at("y").data[i])
                                     .arg(want)));
        }
    }

    // Conv + BatchNormalization + SiLU (EfficientNet's blocks) runs as one step, the SiLU applied to each task's output
    // while it is in cache: the same bits as the four steps (captured BatchNormalization output), on the GEMM paths
    // (3x3, pointwise, the filter split of a weight-bound layer) and the depthwise kernels. A residual Add after the
    // SiLU (EfficientNetV2's Fused-MBConv) stays a step of its own: the GEMM would add it before the SiLU.
    void siluFusedIntoConv_data() {
        QTest::addColumn<QString>("shape");  // batch, channels, size, filters, kernel, group, stride
        QTest::addColumn<bool>("residual");
        QTest::newRow("3x3") << "2,8,14,16,3,1,1" << false;
        QTest::newRow("pointwise") << "3,24,9,40,1,1,1" << false;
        QTest::newRow("weight-bound 3x3, filters split") << "1,32,4,96,3,1,1" << false;
        QTest::newRow("depthwise 3x3 stride 2") << "2,12,15,12,3,12,2" << false;
        QTest::newRow("depthwise 5x5") << "1,6,11,6,5,6,1" << false;
        QTest::newRow("3x3, then a residual Add") << "2,16,10,16,3,1,1" << true;
    }
    void siluFusedIntoConv() {
        QFETCH(QString, shape);
        QFETCH(bool, residual);
        const QStringList f = shape.split(',');
        const int64_t batch = f[0].toInt(), channels = f[1].toInt(), size = f[2].toInt(), filters = f[3].toInt();
        const int64_t kernel = f[4].toInt(), group = f[5].toInt(), stride = f[6].toInt();
        GraphBuilder g;
        g.input("x");
        g.constant("w", randomArray({filters, channels / group, kernel, kernel}, 61, -0.5f, 0.5f));
        g.constant("b", randomArray({filters}, 62));
        g.constant("gamma", randomArray({filters}, 63, 0.5f, 1.5f));
        g.constant("beta", randomArray({filters}, 64));
        g.constant("mean", randomArray({filters}, 65));
        g.constant("var", randomArray({filters}, 66, 0.5f, 2.f));
        const int64_t pad = kernel / 2;
        g.node("Conv", {"x", "w", "b"}, {"c"},
               {{"group", intAttribute(group)},
                {"kernel_shape", intsAttribute({kernel, kernel})},
                {"pads", intsAttribute({pad, pad, pad, pad})},
                {"strides", intsAttribute({stride, stride})}});
        g.node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"n"});
        g.node("Sigmoid", {"n"}, {"s"});
        g.node("Mul", {"n", "s"}, {residual ? "m" : "y"});
        if (residual) g.node("Add", {"m", "x"}, {"y"});
        g.output("y");
        Graph graph = g.graph();
        if (residual)  // declared shapes: what lets a residual Add fuse
            for (const char* name : {"x", "m"})
                graph.values[name] = ValueInfo{name, DType::Float, true, {batch, channels, size, size}, {}};
        auto executor = Executor::compile(graph, ExecutorOptions{2});
        QVERIFY(executor.ok());
        const NDArray x = randomArray({batch, channels, size, size}, 67, -2.f, 2.f);
        std::vector<NodeTiming> fusedTimings, exactTimings;
        auto fused = executor->run({{"x", x}}, {}, &fusedTimings);
        auto exact = executor->run({{"x", x}}, {"n"}, &exactTimings);
        QVERIFY2(fused.ok() && exact.ok(), exact.ok() ? "" : exact.error().message.c_str());
        QCOMPARE(fusedTimings.size(), size_t(residual ? 2 : 1));
        QCOMPARE(fusedTimings.front().opType, std::string("Conv+BatchNormalization+Sigmoid+Mul"));
        QVERIFY(exactTimings.size() >= 2);
        const NDArray& y = fused->at("y");
        const NDArray& want = exact->at("y");
        QCOMPARE(y.shape, want.shape);
        for (size_t i = 0; i < y.data.size(); ++i)
            QVERIFY2(std::memcmp(&y.data[i], &want.data[i], 4) == 0,
                     qPrintable(QString("element %1: fused %2, unfused %3").arg(i).arg(y.data[i]).arg(want.data[i])));
    }

    // Mul(x, Sigmoid(x)) in either operand order (SiLU, as EfficientNet exports it) runs as one step; capturing the
    // Sigmoid's output runs the two nodes, with the same bits (NaN payloads aside). Sigmoid is within a few ulp of the
    // C library's over the whole float range (NaN and ±inf included), and a sample gives the same bits alone as inside
    // a batch whose size is no multiple of the vector width.
    void siluFusedWithTheSameBits_data() {
        QTest::addColumn<bool>("sigmoidFirst");
        QTest::newRow("Mul(x, s)") << false;
        QTest::newRow("Mul(s, x)") << true;
    }
    void siluFusedWithTheSameBits() {
        QFETCH(bool, sigmoidFirst);
        GraphBuilder g;
        g.input("x");
        g.node("Sigmoid", {"x"}, {"s"});
        g.node("Mul", sigmoidFirst ? std::vector<std::string>{"s", "x"} : std::vector<std::string>{"x", "s"}, {"y"});
        g.output("y");
        auto executor = Executor::compile(g.graph(), ExecutorOptions{2});
        QVERIFY(executor.ok());
        NDArray x = randomArray({3, 5, 7, 11}, 52, -30.f, 30.f);
        const float specials[] = {0.f,
                                  -0.f,
                                  88.f,
                                  -88.f,
                                  89.f,
                                  -89.f,
                                  1e-30f,
                                  -1e-30f,
                                  200.f,
                                  -200.f,
                                  std::numeric_limits<float>::infinity(),
                                  -std::numeric_limits<float>::infinity(),
                                  std::numeric_limits<float>::quiet_NaN()};
        std::copy(std::begin(specials), std::end(specials), x.data.begin() + 100);
        std::vector<NodeTiming> fusedTimings, exactTimings;
        auto fused = executor->run({{"x", x}}, {}, &fusedTimings);
        auto exact = executor->run({{"x", x}}, {"s"}, &exactTimings);
        QVERIFY(fused.ok() && exact.ok());
        QCOMPARE(fusedTimings.size(), size_t(1));
        QCOMPARE(fusedTimings.front().opType, std::string("Sigmoid+Mul"));
        QCOMPARE(exactTimings.size(), size_t(2));
        const NDArray& y = fused->at("y");
        for (size_t i = 0; i < y.data.size(); ++i) {
            const float want = exact->at("y").data[i];  // the same bits; of a NaN, only that it is one
            QVERIFY2(std::isnan(want) ? std::isnan(y.data[i]) : std::memcmp(&y.data[i], &want, 4) == 0,
                     qPrintable(QString("x %1: fused %2, two nodes %3").arg(x.data[i]).arg(y.data[i]).arg(want)));
        }
        const NDArray& s = exact->at("s");
        for (size_t i = 0; i < x.data.size(); ++i) {
            const double want = 1.0 / (1.0 + std::exp(-double(x.data[i])));
            if (std::isnan(x.data[i])) {
                QVERIFY(std::isnan(s.data[i]) && std::isnan(y.data[i]));
                continue;
            }
            QVERIFY2(std::abs(s.data[i] - want) <= 4e-7 * want + 1e-37,
                     qPrintable(QString("sigmoid(%1) = %2, want %3").arg(x.data[i]).arg(s.data[i]).arg(want)));
        }
        // The first sample alone: the same bits as inside the batch (its 385 values end in a partial vector).
        NDArray first({1, 5, 7, 11}, std::vector<float>(x.data.begin(), x.data.begin() + 385));
        auto alone = executor->run({{"x", first}});
        QVERIFY(alone.ok());
        for (size_t i = 0; i < 385; ++i)
            QVERIFY(std::isnan(y.data[i]) ? std::isnan(alone->at("y").data[i])
                                          : std::memcmp(&alone->at("y").data[i], &y.data[i], 4) == 0);
    }

    // Shape -> Gather -> Unsqueeze -> Concat -> Reshape, as exporters write flatten: integers travel as floats.
    void integerShapeComputation() {
        GraphBuilder g;
        g.input("x");
        g.constant("zero", NDArray({}, {0.f}), DType::Int64);
        g.constant("rest", NDArray({1}, {12.f}), DType::Int64);
        g.constant("axes", NDArray({1}, {0.f}), DType::Int64);
        g.node("Shape", {"x"}, {"shape"}, {}, DType::Int64);
        g.node("Gather", {"shape", "zero"}, {"batch"}, {}, DType::Int64);
        g.node("Unsqueeze", {"batch", "axes"}, {"batch1"}, {}, DType::Int64);
        g.node("Concat", {"batch1", "rest"}, {"target"}, {{"axis", intAttribute(0)}}, DType::Int64);
        g.node("Reshape", {"x", "target"}, {"y"});
        g.output("y");
        auto executor = Executor::compile(g.graph());
        QVERIFY(executor.ok());
        for (int64_t n : {2, 5}) {
            const NDArray x = randomArray({n, 3, 4}, 34);
            auto outputs = executor->run({{"x", x}}, {"target"});
            QVERIFY2(outputs.ok(), outputs.ok() ? "" : outputs.error().message.c_str());
            QCOMPARE(outputs->at("y").shape, (std::vector<int64_t>{n, 12}));
            QCOMPARE(outputs->at("y").data, x.data);
            QCOMPARE(outputs->at("target").data, (std::vector<float>{float(n), 12.f}));
        }
    }

    void threadCountDoesNotChangeResults() {
        const Graph graph = loadGraph(LATHE_DEMO_MODEL);
        auto one = Executor::compile(graph, ExecutorOptions{1});
        auto two = Executor::compile(graph, ExecutorOptions{2});
        QVERIFY(one.ok() && two.ok());
        QCOMPARE(one->threads(), 1);
        QCOMPARE(two->threads(), 2);
        const NDArray x = randomArray({16, 1, 28, 28}, 35, 0.f, 1.f);
        const QString miss =
            mismatch(one->run({{"input", x}})->at("logits"), two->run({{"input", x}})->at("logits"), 1e-6f, 1e-6f);
        QVERIFY2(miss.isEmpty(), qPrintable(miss));
    }

    void concurrentRunsAgree() {
        auto executor = Executor::compile(loadGraph(LATHE_DEMO_MODEL), ExecutorOptions{1});
        QVERIFY(executor.ok());
        constexpr int kThreads = 4;
        std::vector<NDArray> inputs, expected;
        for (int t = 0; t < kThreads; ++t) {
            inputs.push_back(randomArray({int64_t(1 + t), 1, 28, 28}, 40 + unsigned(t), 0.f, 1.f));
            expected.push_back(executor->run({{"input", inputs.back()}})->at("logits"));
        }
        std::vector<int> failures(kThreads, 0);
        std::vector<std::thread> workers;
        for (int t = 0; t < kThreads; ++t)
            workers.emplace_back([&, t] {
                for (int r = 0; r < 20; ++r) {
                    auto outputs = executor->run({{"input", inputs[size_t(t)]}});
                    if (!outputs.ok() || outputs->at("logits").data != expected[size_t(t)].data) ++failures[size_t(t)];
                }
            });
        for (std::thread& w : workers) w.join();
        QCOMPARE(failures, std::vector<int>(kThreads, 0));
    }

    void timingsListExecutedSteps() {
        auto executor = Executor::compile(loadGraph(LATHE_DEMO_MODEL));
        QVERIFY(executor.ok());
        std::vector<NodeTiming> timings;
        QVERIFY(executor->run({{"input", randomArray({2, 1, 28, 28}, 36)}}, {}, &timings).ok());
        QStringList nodes;
        for (const NodeTiming& t : timings) {
            nodes << QString::fromStdString(t.node);
            QVERIFY(t.milliseconds >= 0);
        }
        // relu1 runs fused into fc1 unless a capture needs fc1's own output.
        QCOMPARE(nodes, (QStringList{"conv1", "pool1", "conv2", "pool2", "flatten", "fc1+relu1", "fc2"}));
        QVERIFY(executor->run({{"input", randomArray({2, 1, 28, 28}, 36)}}, {"fc1_out"}, &timings).ok());
        QCOMPARE(int(timings.size()), 8);
    }

    void inputErrors() {
        auto executor = Executor::compile(loadGraph(LATHE_DEMO_MODEL));
        QVERIFY(executor.ok());
        auto missing = executor->run({});
        QVERIFY(!missing.ok());
        QVERIFY(missing.error().message.find("'input'") != std::string::npos);
        auto wrongShape = executor->run({{"input", NDArray({2, 1, 32, 32})}});
        QVERIFY(!wrongShape.ok());
        QVERIFY(wrongShape.error().message.find("[2, 1, 32, 32]") != std::string::npos);
        auto unknown = executor->run({{"input", NDArray({1, 1, 28, 28})}, {"extra", NDArray({1})}});
        QVERIFY(!unknown.ok());
        QVERIFY(unknown.error().message.find("'extra'") != std::string::npos);
    }

    void unsupportedOpsAreNamed() {
        const Graph graph = loadGraph(std::string(LATHE_FIXTURES_DIR) + "/unknown_op.onnx");
        QCOMPARE(Executor::unsupportedOps(graph), std::vector<std::string>{"com.example.FancyNorm (fancy)"});
        auto executor = Executor::compile(graph);
        QVERIFY(!executor.ok());
        QCOMPARE(executor.error().code, ErrorCode::UnsupportedOp);
        QVERIFY(executor.error().message.find("FancyNorm (fancy)") != std::string::npos);
        QVERIFY(Executor::unsupportedOps(loadGraph(LATHE_DEMO_MODEL)).empty());
    }

    void kernelErrorsNameTheNode() {
        GraphBuilder g;
        g.input("x");
        g.constant("shape", NDArray({2}, {5.f, 5.f}), DType::Int64);
        g.node("Reshape", {"x", "shape"}, {"y"});
        g.output("y");
        auto executor = Executor::compile(g.graph());
        QVERIFY(executor.ok());
        auto outputs = executor->run({{"x", NDArray({2, 3})}});
        QVERIFY(!outputs.ok());
        QVERIFY2(outputs.error().message.find("node 'Reshape_0' (Reshape)") != std::string::npos,
                 outputs.error().message.c_str());
        QVERIFY(executor->run({{"x", NDArray({5, 5})}}).ok());
    }
};

QTEST_APPLESS_MAIN(TestExecutor)
#include "test_executor.moc"
