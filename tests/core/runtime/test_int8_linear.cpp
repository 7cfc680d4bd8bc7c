// Int8 Conv / MatMul on integer arithmetic: the integer GEMM against a plain int64 sum, and QLinearConv,
// QLinearMatMul and QDQ chains against a scalar reference of the documented requantization (bit-exact codes), and
// within one code of dequantize → float → quantize. ctest runs this on every instruction path (VNNI, AVX2, scalar).
#include <QtTest>
#include <cmath>
#include <random>

#include "core/runtime/kernels/igemm.h"
#include "runtime_test_util.h"

using namespace lathe;
using lathe::test::GraphBuilder;

namespace {

struct Quant {
    float scale;
    float zero;
    bool isSigned;
    float lo() const { return isSigned ? -128.f : 0.f; }
    float hi() const { return isSigned ? 127.f : 255.f; }
    DType type() const { return isSigned ? DType::Int8 : DType::UInt8; }
};

NDArray randomCodes(std::vector<int64_t> shape, bool isSigned, std::mt19937& rng) {
    NDArray a(std::move(shape));
    std::uniform_int_distribution<int> codes(isSigned ? -128 : 0, isSigned ? 127 : 255);
    for (float& v : a.data) v = float(codes(rng));
    return a;
}

NDArray scalar(float v) {
    NDArray a(std::vector<int64_t>{});
    a.data = {v};
    return a;
}

NDArray vector(const std::vector<float>& v) {
    NDArray a({int64_t(v.size())});
    a.data.assign(v.begin(), v.end());
    return a;
}

// The documented requantization of one accumulator (int8_linear.h).
float requantizeReference(int64_t acc, float multiplier, float offset, const Quant& y, float low, float high) {
    const float v = std::fma(float(int32_t(acc)), multiplier, offset);
    float lo = y.lo(), hi = y.hi();
    if (std::isfinite(low)) lo = std::max(lo, std::nearbyint(low / y.scale) + y.zero);
    if (std::isfinite(high)) hi = std::min(hi, std::nearbyint(high / y.scale) + y.zero);
    return std::min(std::max(std::nearbyint(v) + y.zero, lo), hi);
}

struct ConvCase {
    int64_t batch, channels, filters, groups, height, width, kernel, stride, pad, dilation;
    bool xSigned, wSigned, perChannel, bias;
    bool symmetric = false;  // weight zero points at 0 (s8) or 128 (u8), as symmetric quantizers write them
};

struct ConvData {
    NDArray x, w, bias;
    Quant xq, yq;
    std::vector<float> wScale, wZero;
};

ConvData makeConvData(const ConvCase& c, unsigned seed) {
    std::mt19937 rng(seed);
    ConvData d;
    d.xq = {0.02f, c.xSigned ? -3.f : 7.f, c.xSigned};
    d.yq = {0.9f, c.xSigned ? 5.f : 11.f, c.xSigned};
    d.x = randomCodes({c.batch, c.channels, c.height, c.width}, c.xSigned, rng);
    d.w = randomCodes({c.filters, c.channels / c.groups, c.kernel, c.kernel}, c.wSigned, rng);
    std::uniform_real_distribution<float> scales(0.004f, 0.02f);
    std::uniform_int_distribution<int> zeros(-9, 9);
    const int64_t n = c.perChannel ? c.filters : 1;
    for (int64_t i = 0; i < n; ++i) {
        d.wScale.push_back(scales(rng));
        d.wZero.push_back(float((c.symmetric ? 0 : zeros(rng)) + (c.wSigned ? 0 : 128)));
    }
    d.bias = NDArray({c.filters});
    std::uniform_int_distribution<int> biases(-4000, 4000);
    for (float& b : d.bias.data) b = float(biases(rng));
    return d;
}

// Integer reference of the Conv: sum (x - xz)(w - wz) with padding at xz, plus the bias codes, requantized.
NDArray convReference(const ConvCase& c, const ConvData& d, float low, float high) {
    const int64_t oh = (c.height + 2 * c.pad - c.dilation * (c.kernel - 1) - 1) / c.stride + 1;
    const int64_t ow = (c.width + 2 * c.pad - c.dilation * (c.kernel - 1) - 1) / c.stride + 1;
    const int64_t cg = c.channels / c.groups, mg = c.filters / c.groups;
    NDArray y({c.batch, c.filters, oh, ow});
    for (int64_t n = 0; n < c.batch; ++n)
        for (int64_t m = 0; m < c.filters; ++m) {
            const size_t q = c.perChannel ? size_t(m) : 0;
            const float multiplier = d.xq.scale * d.wScale[q] / d.yq.scale;
            for (int64_t i = 0; i < oh; ++i)
                for (int64_t j = 0; j < ow; ++j) {
                    int64_t acc = c.bias ? int64_t(d.bias.data[size_t(m)]) : 0;
                    for (int64_t ci = 0; ci < cg; ++ci)
                        for (int64_t ki = 0; ki < c.kernel; ++ki)
                            for (int64_t kj = 0; kj < c.kernel; ++kj) {
                                const int64_t ih = i * c.stride - c.pad + ki * c.dilation;
                                const int64_t iw = j * c.stride - c.pad + kj * c.dilation;
                                const int64_t channel = m / mg * cg + ci;
                                const bool inside = ih >= 0 && ih < c.height && iw >= 0 && iw < c.width;
                                const float xv =
                                    inside
                                        ? d.x.data[size_t(((n * c.channels + channel) * c.height + ih) * c.width + iw)]
                                        : d.xq.zero;
                                const float wv = d.w.data[size_t(((m * cg + ci) * c.kernel + ki) * c.kernel + kj)];
                                acc += int64_t(xv - d.xq.zero) * int64_t(wv - d.wZero[q]);
                            }
                    y.data[size_t(((n * c.filters + m) * oh + i) * ow + j)] =
                        requantizeReference(acc, multiplier, 0.f, d.yq, low, high);
                }
        }
    return y;
}

std::map<std::string, Attribute> convAttributes(const ConvCase& c) {
    std::map<std::string, Attribute> a;
    a["group"] = intAttribute(c.groups);
    a["strides"] = intsAttribute({c.stride, c.stride});
    a["pads"] = intsAttribute({c.pad, c.pad, c.pad, c.pad});
    a["dilations"] = intsAttribute({c.dilation, c.dilation});
    return a;
}

float maxAbsDiff(const NDArray& a, const NDArray& b) {
    float worst = 0.f;
    for (size_t i = 0; i < a.data.size(); ++i) worst = std::max(worst, std::abs(a.data[i] - b.data[i]));
    return worst;
}

int64_t differing(const NDArray& a, const NDArray& b) {
    int64_t count = 0;
    for (size_t i = 0; i < a.data.size(); ++i) count += a.data[i] != b.data[i];
    return count;
}

// The graph input x and the constants both forms read: scales and zero points of x, w and y, and w's codes.
void addConvConstants(GraphBuilder& g, const ConvCase& c, const ConvData& d) {
    g.input("x");
    g.constant("xs", scalar(d.xq.scale));
    g.constant("xz", scalar(d.xq.zero), d.xq.type());
    g.constant("w", d.w, c.wSigned ? DType::Int8 : DType::UInt8);
    g.constant("ws", vector(d.wScale));
    g.constant("wz", vector(d.wZero), c.wSigned ? DType::Int8 : DType::UInt8);
    g.constant("ys", scalar(d.yq.scale));
    g.constant("yz", scalar(d.yq.zero), d.yq.type());
}

}  // namespace

Q_DECLARE_METATYPE(ConvCase)

class TestInt8Linear : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() { qInfo("int8 path: %s", int8PathName(int8Path())); }

    void gemmIsTheIntegerSum_data() {
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("cols");
        QTest::addColumn<int>("depth");
        QTest::addColumn<bool>("leftSigned");
        QTest::newRow("tiles") << 8 << 32 << 64 << true;
        QTest::newRow("edges") << 7 << 37 << 13 << true;
        QTest::newRow("one row") << 1 << 5 << 3 << false;
        // With AVX512-VNNI the tile is 8 rows by 32 columns: a second A tile of 4 rows, a second B panel of 4 columns.
        QTest::newRow("zmm: 12 rows, 20 columns") << 12 << 20 << 40 << false;
        QTest::newRow("deep unsigned left") << 13 << 19 << 1155 << false;
    }
    void gemmIsTheIntegerSum() {
        QFETCH(int, rows);
        QFETCH(int, cols);
        QFETCH(int, depth);
        QFETCH(bool, leftSigned);
        std::mt19937 rng(7);
        std::uniform_int_distribution<int> byte(0, 255);
        std::vector<uint8_t> a(size_t(rows * depth)), b(size_t(depth * cols));
        for (auto& v : a) v = uint8_t(byte(rng));
        for (auto& v : b) v = uint8_t(byte(rng));
        std::vector<uint8_t> pa(size_t(Int8Packing::leftBytes(rows, depth)), 0),
            pb(size_t(Int8Packing::rightBytes(cols, depth)), 0);
        for (int r = 0; r < rows; ++r)
            for (int k = 0; k < depth; ++k) pa[size_t(Int8Packing::leftOffset(r, k, depth))] = a[size_t(r * depth + k)];
        for (int k = 0; k < depth; ++k)
            for (int c = 0; c < cols; ++c) pb[size_t(Int8Packing::rightOffset(k, c, depth))] = b[size_t(k * cols + c)];
        std::vector<int32_t> c(size_t(rows * cols), -1);
        int8Gemm(pa.data(), pb.data(), rows, cols, depth, leftSigned, c.data(), cols);
        for (int r = 0; r < rows; ++r)
            for (int j = 0; j < cols; ++j) {
                int64_t want = 0;
                for (int k = 0; k < depth; ++k) {
                    const uint8_t x = a[size_t(r * depth + k)], y = b[size_t(k * cols + j)];
                    want += leftSigned ? int64_t(int8_t(x)) * y : int64_t(x) * int8_t(y);
                }
                QCOMPARE(int64_t(c[size_t(r * cols + j)]), want);
            }
    }

    void qlinearConvIsBitExact_data() {
        QTest::addColumn<ConvCase>("c");
        //                            batch ch filt grp  h   w  k str pad dil xS     wS     perCh  bias
        QTest::newRow("3x3 pad u8") << ConvCase{2, 5, 7, 1, 9, 11, 3, 1, 1, 1, false, true, true, true};
        QTest::newRow("1x1 pointwise") << ConvCase{3, 16, 24, 1, 6, 6, 1, 1, 0, 1, false, true, true, true};
        QTest::newRow("stride 2 s8 x") << ConvCase{1, 4, 6, 1, 10, 9, 3, 2, 1, 1, true, true, false, false};
        QTest::newRow("u8 weights") << ConvCase{2, 3, 5, 1, 7, 7, 3, 1, 0, 2, false, false, true, true};
        QTest::newRow("groups") << ConvCase{2, 8, 12, 4, 8, 8, 3, 1, 1, 1, false, true, true, true};
        QTest::newRow("depthwise") << ConvCase{2, 6, 6, 6, 9, 10, 3, 1, 1, 1, false, true, true, true};
        QTest::newRow("depthwise s2 s8") << ConvCase{1, 5, 5, 5, 11, 12, 3, 2, 1, 1, true, true, true, false};
        QTest::newRow("depthwise 5x5 dil") << ConvCase{1, 4, 4, 4, 13, 13, 5, 1, 2, 2, false, false, true, true};
        QTest::newRow("deep") << ConvCase{1, 70, 9, 1, 5, 5, 3, 1, 1, 1, false, true, true, true};
        // Symmetric weights (no per-position input sums): on AVX512-VNNI these run the direct convolution, with
        // row chunks, filter blocks split over threads, stride phases and channel blocks past the input's channels.
        QTest::newRow("sym 3x3 chunks") << ConvCase{2, 13, 20, 1, 23, 37, 3, 1, 1, 1, false, true, true, true, true};
        QTest::newRow("sym filter groups") << ConvCase{1, 9, 30, 1, 6, 6, 3, 1, 1, 1, false, true, true, false, true};
        QTest::newRow("sym stride 2 s8") << ConvCase{2, 6, 9, 1, 15, 16, 3, 2, 1, 1, true, true, false, true, true};
        QTest::newRow("sym 1x1 patch path") << ConvCase{2, 12, 20, 1, 7, 9, 1, 1, 0, 1, false, true, true, true, true};
        QTest::newRow("sym 1x1 stride 2") << ConvCase{1, 8, 12, 1, 9, 9, 1, 2, 0, 1, false, true, true, true, true};
        QTest::newRow("sym 5x5 u8 w") << ConvCase{1, 3, 17, 1, 12, 10, 5, 1, 2, 1, false, false, true, true, true};
        // One input channel (grayscale stems, LeNet-5's conv1): words of 4 adjacent taps; stride 2 takes the patches.
        QTest::newRow("1 channel 5x5") << ConvCase{3, 1, 20, 1, 28, 28, 5, 1, 0, 1, false, true, true, true, true};
        QTest::newRow("1 channel 3x3 pad") << ConvCase{2, 1, 9, 1, 13, 11, 3, 1, 1, 1, true, true, true, true};
        QTest::newRow("1 channel 7x7 s2") << ConvCase{1, 1, 8, 1, 15, 15, 7, 2, 3, 1, false, true, false, true, true};
        // Windows covering the whole input (a Gemm exported as a 1x1 Conv, a kernel of the input's size): a product
        // with the images as rows.
        QTest::newRow("dense 1x1 on 1x1") << ConvCase{17, 40, 13, 1, 1, 1, 1, 1, 0, 1, false, true, true, true};
        QTest::newRow("dense kernel = input") << ConvCase{5, 6, 9, 1, 4, 4, 4, 1, 0, 1, true, false, false, true};
    }
    void qlinearConvIsBitExact() {
        QFETCH(ConvCase, c);
        const ConvData d = makeConvData(c, 11);
        GraphBuilder g;
        addConvConstants(g, c, d);
        std::vector<std::string> inputs{"x", "xs", "xz", "w", "ws", "wz", "ys", "yz"};
        if (c.bias) {
            g.constant("b", d.bias, DType::Int32);
            inputs.push_back("b");
        }
        g.node("QLinearConv", inputs, {"y"}, convAttributes(c), d.yq.type());
        g.output("y");
        const NDArray got = lathe::test::runGraph(g.graph(), {{"x", d.x}}, 2);
        const NDArray want = convReference(c, d, -INFINITY, INFINITY);
        QCOMPARE(got.shape, want.shape);
        QCOMPARE(differing(got, want), int64_t(0));

        // The same chain written as QDQ with a Relu, fused into one int8 step.
        GraphBuilder q;
        addConvConstants(q, c, d);
        std::map<std::string, Attribute> axis0{{"axis", intAttribute(0)}};
        q.node("DequantizeLinear", {"x", "xs", "xz"}, {"xf"});
        q.node("DequantizeLinear", {"w", "ws", "wz"}, {"wf"}, axis0);
        std::vector<std::string> convInputs{"xf", "wf"};
        if (c.bias) {
            std::vector<float> biasScale;
            for (float s : d.wScale) biasScale.push_back(d.xq.scale * s);
            q.constant("b", d.bias, DType::Int32);
            q.constant("bs", vector(biasScale));
            q.node("DequantizeLinear", {"b", "bs"}, {"bf"}, axis0);
            convInputs.push_back("bf");
        }
        q.node("Conv", convInputs, {"conv"}, convAttributes(c));
        q.node("Relu", {"conv"}, {"relu"});
        q.node("QuantizeLinear", {"relu", "ys", "yz"}, {"y"}, {}, d.yq.type());
        q.output("y");
        auto executor = Executor::compile(q.graph(), ExecutorOptions{2});
        QVERIFY2(executor, executor ? "" : executor.error().message.c_str());
        std::vector<NodeTiming> timings;
        auto fused = executor->run({{"x", d.x}}, {}, &timings);
        QVERIFY(fused);
        QVERIFY2(timings.size() == 1 && timings[0].opType == "DequantizeLinear+Conv+Relu+QuantizeLinear",
                 timings.empty() ? "no steps" : timings[0].opType.c_str());
        const NDArray wantRelu = convReference(c, d, 0.f, INFINITY);
        QCOMPARE(differing(fused->at("y"), wantRelu), int64_t(0));
        // Capturing a value inside the chain runs the float nodes: within one code of the int8 step.
        auto exact = executor->run({{"x", d.x}}, {"conv"});
        QVERIFY(exact);
        QVERIFY(exact->count("conv"));
        QVERIFY(maxAbsDiff(exact->at("y"), wantRelu) <= 1.f);
    }

    void qlinearMatMulIsBitExact_data() {
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("depth");
        QTest::addColumn<int>("cols");
        QTest::addColumn<bool>("xSigned");
        QTest::addColumn<bool>("wSigned");
        QTest::newRow("batch 1") << 1 << 300 << 100 << false << true;
        QTest::newRow("odd sizes") << 9 << 37 << 301 << true << true;
        QTest::newRow("u8 weights") << 70 << 64 << 10 << false << false;
        // Blocks of at most 24 rows and 256 columns at this depth: 3 x 3 even blocks (24 rows, 176 columns).
        QTest::newRow("several blocks") << 70 << 600 << 520 << false << true;
    }
    void qlinearMatMulIsBitExact() {
        QFETCH(int, rows);
        QFETCH(int, depth);
        QFETCH(int, cols);
        QFETCH(bool, xSigned);
        QFETCH(bool, wSigned);
        std::mt19937 rng(5);
        const Quant xq{0.03f, xSigned ? 4.f : 120.f, xSigned}, yq{1.7f, xSigned ? -6.f : 128.f, xSigned};
        const NDArray x = randomCodes({rows, depth}, xSigned, rng), w = randomCodes({depth, cols}, wSigned, rng);
        std::vector<float> wScale, wZero;
        std::uniform_real_distribution<float> scales(0.002f, 0.01f);
        std::uniform_int_distribution<int> zeros(-5, 5);
        for (int c = 0; c < cols; ++c) {
            wScale.push_back(scales(rng));
            wZero.push_back(float(zeros(rng) + (wSigned ? 0 : 128)));
        }
        GraphBuilder g;
        g.input("x");
        g.constant("xs", scalar(xq.scale));
        g.constant("xz", scalar(xq.zero), xq.type());
        g.constant("w", w, wSigned ? DType::Int8 : DType::UInt8);
        g.constant("ws", vector(wScale));
        g.constant("wz", vector(wZero), wSigned ? DType::Int8 : DType::UInt8);
        g.constant("ys", scalar(yq.scale));
        g.constant("yz", scalar(yq.zero), yq.type());
        g.node("QLinearMatMul", {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz"}, {"y"}, {}, yq.type());
        g.output("y");
        const NDArray got = lathe::test::runGraph(g.graph(), {{"x", x}}, 2);
        NDArray want({rows, cols}), viaFloat({rows, cols});
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c) {
                int64_t acc = 0;
                double real = 0;
                for (int k = 0; k < depth; ++k) {
                    const float a = x.data[size_t(r * depth + k)] - xq.zero,
                                b = w.data[size_t(k * cols + c)] - wZero[size_t(c)];
                    acc += int64_t(a) * int64_t(b);
                    real += double(a * xq.scale) * double(b * wScale[size_t(c)]);
                }
                want.data[size_t(r * cols + c)] =
                    requantizeReference(acc, xq.scale * wScale[size_t(c)] / yq.scale, 0.f, yq, -INFINITY, INFINITY);
                viaFloat.data[size_t(r * cols + c)] =
                    std::min(std::max(float(std::nearbyint(real / yq.scale)) + yq.zero, yq.lo()), yq.hi());
            }
        QCOMPARE(got.shape, want.shape);
        QCOMPARE(differing(got, want), int64_t(0));
        QVERIFY(maxAbsDiff(got, viaFloat) <= 1.f);
    }

    // DequantizeLinear(a) + DequantizeLinear(b) (→ Relu / Clip) → QuantizeLinear runs as one step on the codes with
    // the codes of the separate steps (the run that captures the float sum runs those steps).
    void quantizedAddIsTheFloatSteps_data() {
        QTest::addColumn<QString>("activation");
        QTest::addColumn<bool>("broadcast");
        QTest::addColumn<bool>("ySigned");
        QTest::newRow("relu") << "Relu" << false << false;
        QTest::newRow("plain s8 out") << "" << false << true;
        QTest::newRow("clip broadcast") << "Clip" << true << false;
    }
    void quantizedAddIsTheFloatSteps() {
        QFETCH(QString, activation);
        QFETCH(bool, broadcast);
        QFETCH(bool, ySigned);
        std::mt19937 rng(3);
        const Quant aq{0.031f, 9.f, false}, bq{0.017f, -4.f, true}, yq{0.043f, ySigned ? -2.f : 13.f, ySigned};
        const NDArray a = randomCodes({3, 5, 7, 9}, false, rng);
        const NDArray b =
            randomCodes(broadcast ? std::vector<int64_t>{1, 5, 1, 1} : std::vector<int64_t>{3, 5, 7, 9}, true, rng);
        GraphBuilder g;
        g.input("a");
        g.input("b");
        g.constant("as", scalar(aq.scale));
        g.constant("az", scalar(aq.zero), aq.type());
        g.constant("bs", scalar(bq.scale));
        g.constant("bz", scalar(bq.zero), bq.type());
        g.constant("ys", scalar(yq.scale));
        g.constant("yz", scalar(yq.zero), yq.type());
        g.node("DequantizeLinear", {"a", "as", "az"}, {"af"});
        g.node("DequantizeLinear", {"b", "bs", "bz"}, {"bf"});
        g.node("Add", {"af", "bf"}, {"sum"});
        std::string last = "sum";
        float low = -INFINITY, high = INFINITY;
        if (activation == "Relu") {
            g.node("Relu", {"sum"}, {"act"});
            last = "act";
            low = 0.f;
        } else if (activation == "Clip") {
            g.constant("lo", scalar(-0.4f));
            g.constant("hi", scalar(1.5f));
            g.node("Clip", {"sum", "lo", "hi"}, {"act"});
            last = "act";
            low = -0.4f;
            high = 1.5f;
        }
        g.node("QuantizeLinear", {last, "ys", "yz"}, {"y"}, {}, yq.type());
        g.output("y");
        auto executor = Executor::compile(g.graph(), ExecutorOptions{2});
        QVERIFY2(executor, executor ? "" : executor.error().message.c_str());
        std::vector<NodeTiming> timings;
        auto fused = executor->run({{"a", a}, {"b", b}}, {}, &timings);
        QVERIFY(fused);
        const std::string chain = "DequantizeLinear+DequantizeLinear+Add" +
                                  (activation.isEmpty() ? "" : "+" + activation.toStdString()) + "+QuantizeLinear";
        QVERIFY2(timings.size() == 1 && timings[0].opType == chain,
                 timings.empty() ? "none" : timings[0].opType.c_str());
        auto steps = executor->run({{"a", a}, {"b", b}}, {"sum"});
        QVERIFY(steps);
        QVERIFY(steps->count("sum"));
        const NDArray& y = fused->at("y");
        QCOMPARE(y.shape, a.shape);
        QCOMPARE(differing(y, steps->at("y")), int64_t(0));
        // And the documented formula, element by element.
        int64_t wrong = 0;
        for (int64_t i = 0; i < y.numel(); ++i) {
            const float bv = b.data[size_t(broadcast ? i / 63 % 5 : i)];
            const float realA = (a.data[size_t(i)] - aq.zero) * aq.scale, realB = (bv - bq.zero) * bq.scale;
            const float sum = std::min(std::max(realA + realB, low), high);
            wrong +=
                y.data[size_t(i)] != std::min(std::max(std::nearbyint(sum / yq.scale) + yq.zero, yq.lo()), yq.hi());
        }
        QCOMPARE(wrong, int64_t(0));
    }

    // A DequantizeLinear whose every reader became an int8 step on its codes is not run; a run that captures its
    // output still gets it.
    void unreadDequantizeIsDropped() {
        const ConvCase c{2, 4, 6, 1, 8, 8, 3, 1, 1, 1, false, true, false, false, true};
        const ConvData d = makeConvData(c, 7);
        GraphBuilder g;
        addConvConstants(g, c, d);
        std::map<std::string, Attribute> axis0{{"axis", intAttribute(0)}};
        g.node("DequantizeLinear", {"x", "xs", "xz"}, {"xf"});
        g.node("DequantizeLinear", {"w", "ws", "wz"}, {"wf"}, axis0);
        g.node("Conv", {"xf", "wf"}, {"c1"}, convAttributes(c));
        g.node("Conv", {"xf", "wf"}, {"c2"}, convAttributes(c));
        g.node("QuantizeLinear", {"c1", "ys", "yz"}, {"y1"}, {}, d.yq.type());
        g.node("QuantizeLinear", {"c2", "ys", "yz"}, {"y2"}, {}, d.yq.type());
        g.output("y1");
        g.output("y2");
        auto executor = Executor::compile(g.graph(), ExecutorOptions{2});
        QVERIFY2(executor, executor ? "" : executor.error().message.c_str());
        std::vector<NodeTiming> timings;
        auto fused = executor->run({{"x", d.x}}, {}, &timings);
        QVERIFY(fused);
        QCOMPARE(int(timings.size()), 2);
        for (const NodeTiming& t : timings) QCOMPARE(QString::fromStdString(t.opType), QString("Conv+QuantizeLinear"));
        const NDArray want = convReference(c, d, -INFINITY, INFINITY);
        QCOMPARE(differing(fused->at("y1"), want), int64_t(0));
        QCOMPARE(differing(fused->at("y2"), want), int64_t(0));
        auto captured = executor->run({{"x", d.x}}, {"xf"});
        QVERIFY(captured);
        QVERIFY(captured->count("xf"));
        QCOMPARE(captured->at("xf").data[5], (d.x.data[5] - d.xq.zero) * d.xq.scale);
    }

    // DequantizeLinear → MaxPool → Flatten → Gemm → QuantizeLinear: the DequantizeLinear moves past the MaxPool and
    // the Flatten, so the Gemm chain runs as one int8 step, with the codes of the graph written that way round.
    void dequantizeMovesPastMaxPool() {
        std::mt19937 rng(9);
        const Quant xq{0.05f, 3.f, false}, yq{0.7f, 6.f, false};
        const NDArray x = randomCodes({4, 3, 6, 6}, false, rng), w = randomCodes({27, 5}, true, rng);
        auto build = [&](bool dequantizeFirst) {
            GraphBuilder g;
            g.input("x");
            g.constant("xs", scalar(xq.scale));
            g.constant("xz", scalar(xq.zero), xq.type());
            g.constant("w", w, DType::Int8);
            g.constant("ws", scalar(0.01f));
            g.constant("ys", scalar(yq.scale));
            g.constant("yz", scalar(yq.zero), yq.type());
            std::map<std::string, Attribute> pool{{"kernel_shape", intsAttribute({2, 2})},
                                                  {"strides", intsAttribute({2, 2})}};
            g.node("DequantizeLinear", {"w", "ws"}, {"wf"});
            if (dequantizeFirst) {
                g.node("DequantizeLinear", {"x", "xs", "xz"}, {"xf"});
                g.node("MaxPool", {"xf"}, {"pooled"}, pool);
                g.node("Flatten", {"pooled"}, {"flat"});
            } else {
                g.node("MaxPool", {"x"}, {"pooledCodes"}, pool);
                g.node("Flatten", {"pooledCodes"}, {"flatCodes"});
                g.node("DequantizeLinear", {"flatCodes", "xs", "xz"}, {"flat"});
            }
            g.node("Gemm", {"flat", "wf"}, {"fc"});
            g.node("Relu", {"fc"}, {"relu"});
            g.node("QuantizeLinear", {"relu", "ys", "yz"}, {"y"}, {}, yq.type());
            g.output("y");
            return g.graph();
        };
        auto moved = Executor::compile(build(true), ExecutorOptions{2});
        auto written = Executor::compile(build(false), ExecutorOptions{2});
        QVERIFY(moved && written);
        std::vector<NodeTiming> timings;
        auto got = moved->run({{"x", x}}, {}, &timings);
        auto want = written->run({{"x", x}});
        QVERIFY(got && want);
        QVERIFY(std::any_of(timings.begin(), timings.end(), [](const NodeTiming& t) {
            return t.opType == "DequantizeLinear+Gemm+Relu+QuantizeLinear";
        }));
        QCOMPARE(got->at("y").shape, (std::vector<int64_t>{4, 5}));
        QCOMPARE(differing(got->at("y"), want->at("y")), int64_t(0));
        // The pooled floats are still there for a run that asks for them: the max of the dequantized window.
        auto captured = moved->run({{"x", x}}, {"pooled"});
        QVERIFY(captured);
        const NDArray& pooled = captured->at("pooled");
        QCOMPARE(pooled.shape, (std::vector<int64_t>{4, 3, 3, 3}));
        float top = -INFINITY;
        for (int i : {0, 1, 6, 7}) top = std::max(top, (x.data[size_t(i)] - xq.zero) * xq.scale);
        QCOMPARE(pooled.data[0], top);
    }
};

QTEST_APPLESS_MAIN(TestInt8Linear)
#include "test_int8_linear.moc"
