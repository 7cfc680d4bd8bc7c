// The runtime kernels the exports need (core/runtime/kernels/quantize_linear.cpp and qlinear.cpp): ONNX's own
// backend node tests, which the float-only conformance test skips for their integer tensors, and naive references
// with a fixed seed.
#include <QtTest>

#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/model/onnx_reader.h"
#include "core/runtime/executor.h"

using namespace lathe;
namespace fs = std::filesystem;

namespace {

const fs::path kNodeTests = "/usr/share/libonnx-testdata/data/node";

template <class T>
void readRaw(const std::string& raw, FloatBuffer& out) {
    for (size_t i = 0; i < out.size(); ++i) {
        T v{};
        std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
        out[i] = float(v);
    }
}

// A TensorProto file of float, uint8, int8, int32 or int64 as an NDArray (integers carried as exact floats).
std::pair<std::string, NDArray> readTensorFile(const fs::path& path) {
    onnx::TensorProto proto;
    std::ifstream in(path, std::ios::binary);
    if (!proto.ParseFromIstream(&in)) qFatal("unreadable %s", path.c_str());
    NDArray array(std::vector<int64_t>(proto.dims().begin(), proto.dims().end()));
    const std::string& raw = proto.raw_data();
    const bool hasRaw = proto.has_raw_data();
    switch (proto.data_type()) {
        case onnx::TensorProto::FLOAT:
            if (hasRaw) readRaw<float>(raw, array.data);
            else std::copy(proto.float_data().begin(), proto.float_data().end(), array.data.begin());
            break;
        case onnx::TensorProto::UINT8:
            if (hasRaw) readRaw<uint8_t>(raw, array.data);
            else std::copy(proto.int32_data().begin(), proto.int32_data().end(), array.data.begin());
            break;
        case onnx::TensorProto::INT8:
            if (hasRaw) readRaw<int8_t>(raw, array.data);
            else std::copy(proto.int32_data().begin(), proto.int32_data().end(), array.data.begin());
            break;
        case onnx::TensorProto::INT32:
            if (hasRaw) readRaw<int32_t>(raw, array.data);
            else std::copy(proto.int32_data().begin(), proto.int32_data().end(), array.data.begin());
            break;
        case onnx::TensorProto::INT64:
            if (hasRaw) readRaw<int64_t>(raw, array.data);
            else std::copy(proto.int64_data().begin(), proto.int64_data().end(), array.data.begin());
            break;
        default:
            qFatal("%s: unexpected element type %d", path.c_str(), proto.data_type());
    }
    return {proto.name(), std::move(array)};
}

std::vector<fs::path> filesWithPrefix(const fs::path& dir, const std::string& prefix) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().rfind(prefix, 0) == 0) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

void addInitializer(Graph& g, const std::string& name, DType dtype, std::vector<int64_t> shape,
                    std::vector<float> values) {
    Tensor t;
    t.name = name;
    t.dtype = dtype;
    t.shape = shape;
    t.data.assign(values.begin(), values.end());
    if (isIntegerType(dtype))
        for (float v : values) t.ints.push_back(int64_t(v));
    g.initializers[name] = t;
    g.values[name] = ValueInfo{name, dtype, true, shape, std::vector<std::string>(shape.size())};
}

// One node reading graph input "x" and the given initializers, writing graph output "y".
Graph singleNode(const std::string& op, std::vector<std::string> inputs, std::vector<int64_t> xShape,
                 DType xType = DType::Float) {
    Graph g;
    g.opset = 13;
    g.opsetImports[""] = 13;
    g.inputs = {"x"};
    g.outputs = {"y"};
    g.values["x"] = ValueInfo{"x", xType, true, xShape, std::vector<std::string>(xShape.size())};
    g.values["y"] = ValueInfo{"y", DType::Undefined, false, {}, {}};
    Node n;
    n.name = op;
    n.opType = op;
    n.inputs = std::move(inputs);
    n.outputs = {"y"};
    g.nodes.push_back(n);
    return g;
}

NDArray run(const Graph& g, const NDArray& x) {
    auto executor = Executor::compile(g);
    if (!executor) qFatal("compile: %s", executor.error().message.c_str());
    auto out = executor->run({{"x", x}});
    if (!out) qFatal("run: %s", out.error().message.c_str());
    return out->at("y");
}

NDArray randomArray(std::vector<int64_t> shape, std::mt19937& rng, float lo, float hi, bool integer = false) {
    NDArray a(std::move(shape));
    std::uniform_real_distribution<float> u(lo, hi);
    for (float& v : a.data) v = integer ? std::round(u(rng)) : u(rng);
    return a;
}

}  // namespace

class TestQuantizeKernels : public QObject {
    Q_OBJECT
private slots:
    void onnxNodeTests_data() {
        QTest::addColumn<QString>("test");
        for (const char* t : {"test_quantizelinear", "test_quantizelinear_axis", "test_dequantizelinear",
                              "test_dequantizelinear_axis", "test_dynamicquantizelinear",
                              "test_dynamicquantizelinear_max_adjusted", "test_dynamicquantizelinear_min_adjusted",
                              "test_qlinearconv", "test_qlinearmatmul_2D", "test_qlinearmatmul_3D"})
            QTest::newRow(t) << QString(t);
    }

    // Integer outputs must match exactly, float outputs to 1e-5.
    void onnxNodeTests() {
        QFETCH(QString, test);
        const fs::path dir = kNodeTests / test.toStdString();
        if (!fs::exists(dir / "model.onnx")) QSKIP("libonnx-testdata is not installed");
        auto graph = readOnnxModel((dir / "model.onnx").string());
        QVERIFY2(graph.ok(), graph.ok() ? "" : graph.error().message.c_str());
        auto executor = Executor::compile(*graph);
        QVERIFY2(executor.ok(), executor.ok() ? "" : executor.error().message.c_str());
        for (const fs::path& set : filesWithPrefix(dir, "test_data_set_")) {
            std::map<std::string, NDArray> inputs;
            const auto inputFiles = filesWithPrefix(set, "input_");
            for (size_t i = 0; i < inputFiles.size(); ++i) {
                auto [name, array] = readTensorFile(inputFiles[i]);
                inputs[name.empty() ? graph->inputs[i] : name] = std::move(array);
            }
            auto outputs = executor->run(inputs);
            QVERIFY2(outputs.ok(), outputs.ok() ? "" : outputs.error().message.c_str());
            const auto outputFiles = filesWithPrefix(set, "output_");
            for (size_t i = 0; i < outputFiles.size(); ++i) {
                const auto want = readTensorFile(outputFiles[i]).second;
                const NDArray& got = outputs->at(graph->outputs[i]);
                QCOMPARE(got.shape, want.shape);
                const bool integer = isIntegerType(graph->value(graph->outputs[i])->dtype);
                for (size_t k = 0; k < want.data.size(); ++k) {
                    const float tolerance = integer ? 0.f : 1e-5f + 1e-5f * std::fabs(want.data[k]);
                    QVERIFY2(std::fabs(got.data[k] - want.data[k]) <= tolerance,
                             qPrintable(QString("%1[%2] = %3, expected %4")
                                            .arg(QString::fromStdString(graph->outputs[i]))
                                            .arg(k)
                                            .arg(got.data[k])
                                            .arg(want.data[k])));
                }
            }
        }
    }

    // Halves round to even and codes saturate at the type's bounds (int8 from the zero point's type).
    void quantizeRoundsHalfToEvenAndSaturates() {
        Graph g = singleNode("QuantizeLinear", {"x", "s", "z"}, {8});
        addInitializer(g, "s", DType::Float, {}, {1.f});
        addInitializer(g, "z", DType::Int8, {}, {0.f});
        NDArray x({8}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 300.f, -300.f, 3.49f});
        QCOMPARE(run(g, x).data, (std::vector<float>{0, 2, 2, 0, -2, 127, -128, 3}));
        g.initializers["z"].dtype = DType::UInt8;
        g.values["z"].dtype = DType::UInt8;
        g.initializers["z"].ints = {10};
        g.initializers["z"].data = {10.f};
        QCOMPARE(run(g, x).data, (std::vector<float>{10, 12, 12, 10, 8, 255, 0, 13}));
    }

    // Per-axis QuantizeLinear → DequantizeLinear against naive loops, over random shapes, axes and parameters.
    void perAxisRoundTripMatchesReference() {
        std::mt19937 rng(7);
        for (int trial = 0; trial < 20; ++trial) {
            const std::vector<int64_t> shape = {1 + int64_t(rng() % 3), 2 + int64_t(rng() % 4), 1 + int64_t(rng() % 5)};
            const int64_t axis = int64_t(rng() % 3);
            const int64_t channels = shape[size_t(axis)];
            std::vector<float> scales, zeros;
            for (int64_t c = 0; c < channels; ++c) {
                scales.push_back(0.01f + 0.1f * float(rng() % 100) / 100.f);
                zeros.push_back(float(rng() % 256));
            }
            Graph q = singleNode("QuantizeLinear", {"x", "s", "z"}, shape);
            q.nodes[0].attributes["axis"] = intAttribute(axis);
            addInitializer(q, "s", DType::Float, {channels}, scales);
            addInitializer(q, "z", DType::UInt8, {channels}, zeros);
            const NDArray x = randomArray(shape, rng, -20.f, 20.f);
            const NDArray codes = run(q, x);
            Graph d = singleNode("DequantizeLinear", {"x", "s", "z"}, shape, DType::UInt8);
            d.nodes[0].attributes["axis"] = intAttribute(axis);
            addInitializer(d, "s", DType::Float, {channels}, scales);
            addInitializer(d, "z", DType::UInt8, {channels}, zeros);
            const NDArray back = run(d, codes);
            int64_t inner = 1;
            for (size_t a = size_t(axis) + 1; a < shape.size(); ++a) inner *= shape[a];
            for (size_t i = 0; i < x.data.size(); ++i) {
                const size_t c = size_t((int64_t(i) / inner) % channels);
                const float code = std::clamp(std::nearbyint(x.data[i] / scales[c]) + zeros[c], 0.f, 255.f);
                QCOMPARE(codes.data[i], code);
                QCOMPARE(back.data[i], (code - zeros[c]) * scales[c]);
            }
        }
    }

    // QLinearConv (per-channel int8 weights, int32 bias, padding) against dequantize → direct conv → requantize.
    void qlinearConvMatchesReference() {
        std::mt19937 rng(11);
        const int64_t n = 2, cin = 3, h = 6, w = 5, cout = 4, k = 3;
        const NDArray x = randomArray({n, cin, h, w}, rng, 0.f, 255.f, true);
        const NDArray wq = randomArray({cout, cin, k, k}, rng, -127.f, 127.f, true);
        const NDArray bq = randomArray({cout}, rng, -5000.f, 5000.f, true);
        const float xs = 0.02f, xz = 120.f, ys = 0.5f, yz = 100.f;
        const std::vector<float> ws = {0.001f, 0.002f, 0.0015f, 0.003f};
        Graph g = singleNode("QLinearConv", {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"}, {n, cin, h, w},
                             DType::UInt8);
        g.nodes[0].attributes["pads"] = intsAttribute({1, 1, 1, 1});
        addInitializer(g, "xs", DType::Float, {}, {xs});
        addInitializer(g, "xz", DType::UInt8, {}, {xz});
        addInitializer(g, "w", DType::Int8, wq.shape, values(wq));
        addInitializer(g, "ws", DType::Float, {cout}, ws);
        addInitializer(g, "wz", DType::Int8, {cout}, std::vector<float>(size_t(cout), 0.f));
        addInitializer(g, "ys", DType::Float, {}, {ys});
        addInitializer(g, "yz", DType::UInt8, {}, {yz});
        addInitializer(g, "b", DType::Int32, {cout}, values(bq));
        const NDArray y = run(g, x);
        QCOMPARE(y.shape, (std::vector<int64_t>{n, cout, h, w}));
        int64_t differing = 0;
        for (int64_t b = 0; b < n; ++b)
            for (int64_t o = 0; o < cout; ++o)
                for (int64_t i = 0; i < h; ++i)
                    for (int64_t j = 0; j < w; ++j) {
                        double acc = double(bq.data[size_t(o)]) * xs * ws[size_t(o)];
                        for (int64_t c = 0; c < cin; ++c)
                            for (int64_t di = 0; di < k; ++di)
                                for (int64_t dj = 0; dj < k; ++dj) {
                                    const int64_t ii = i + di - 1, jj = j + dj - 1;
                                    if (ii < 0 || ii >= h || jj < 0 || jj >= w) continue;
                                    const double xv = (x.data[size_t(((b * cin + c) * h + ii) * w + jj)] - xz) * xs;
                                    const double wv = wq.data[size_t(((o * cin + c) * k + di) * k + dj)] * ws[size_t(o)];
                                    acc += xv * wv;
                                }
                        const double want = std::clamp(std::nearbyint(acc / ys) + yz, 0.0, 255.0);
                        const double got = y.data[size_t(((b * cout + o) * h + i) * w + j)];
                        QVERIFY2(std::fabs(got - want) <= 1.0, qPrintable(QString("%1 vs %2").arg(got).arg(want)));
                        differing += got != want;  // float rounding may move a value sitting on a .5 boundary
                    }
        QVERIFY(differing <= 2);
    }

    // QLinearMatMul with per-column weight scales.
    void qlinearMatMulMatchesReference() {
        std::mt19937 rng(5);
        const int64_t m = 3, kk = 7, n = 4;
        const NDArray a = randomArray({m, kk}, rng, 0.f, 255.f, true);
        const NDArray bq = randomArray({kk, n}, rng, -127.f, 127.f, true);
        const std::vector<float> bs = {0.01f, 0.02f, 0.005f, 0.03f};
        const float as = 0.1f, az = 128.f, ys = 0.2f, yz = 7.f;
        Graph g = singleNode("QLinearMatMul", {"x", "as", "az", "b", "bs", "bz", "ys", "yz"}, {m, kk}, DType::UInt8);
        addInitializer(g, "as", DType::Float, {}, {as});
        addInitializer(g, "az", DType::UInt8, {}, {az});
        addInitializer(g, "b", DType::Int8, bq.shape, values(bq));
        addInitializer(g, "bs", DType::Float, {n}, bs);
        addInitializer(g, "bz", DType::Int8, {n}, std::vector<float>(size_t(n), 0.f));
        addInitializer(g, "ys", DType::Float, {}, {ys});
        addInitializer(g, "yz", DType::Int8, {}, {yz});
        const NDArray y = run(g, a);
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
                double acc = 0;
                for (int64_t t = 0; t < kk; ++t)
                    acc += (a.data[size_t(i * kk + t)] - az) * as * bq.data[size_t(t * n + j)] * bs[size_t(j)];
                const double want = std::clamp(std::nearbyint(acc / ys) + yz, -128.0, 127.0);
                QVERIFY(std::fabs(y.data[size_t(i * n + j)] - want) <= 1.0);
            }
    }

    void dynamicQuantizeAllZeros() {
        Graph g = singleNode("DynamicQuantizeLinear", {"x"}, {4});
        g.nodes[0].outputs = {"y", "scale", "zero"};
        g.outputs = {"y", "scale", "zero"};
        auto executor = Executor::compile(g);
        QVERIFY(executor.ok());
        auto out = executor->run({{"x", NDArray({4}, {0, 0, 0, 0})}});
        QVERIFY(out.ok());
        QCOMPARE(out->at("y").data, (std::vector<float>{0, 0, 0, 0}));
        QCOMPARE(out->at("scale").data[0], 0.f);
    }

    void badParametersAreErrors() {
        Graph g = singleNode("QuantizeLinear", {"x", "s"}, {2, 3});
        g.nodes[0].attributes["axis"] = intAttribute(1);
        addInitializer(g, "s", DType::Float, {2}, {1.f, 2.f});  // axis 1 has 3 entries
        auto executor = Executor::compile(g);
        QVERIFY(executor.ok());
        auto out = executor->run({{"x", NDArray({2, 3})}});
        QVERIFY(!out.ok());
        QVERIFY2(out.error().message.find("axis 1") != std::string::npos, out.error().message.c_str());
    }
};

QTEST_APPLESS_MAIN(TestQuantizeKernels)
#include "test_quantize_kernels.moc"
