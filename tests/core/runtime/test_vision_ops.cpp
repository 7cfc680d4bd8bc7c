// The ops exporters write for modern vision models (transformers, ConvNeXt, ShuffleNet, decoders) against naive loop
// references written here, on seeded random data: Gelu and its Erf decomposition, LayerNormalization and its
// ReduceMean/Sub/Pow/Sqrt/Div decomposition, Einsum, ConvTranspose, Resize, Where/Expand/Tile/Split, variadic Min/Max,
// Cast, Range, ArgMax. ONNX's node tests (test_onnx_node_conformance) check the same kernels against ONNX's outputs.
#include <QtTest>
#include <cmath>

#include "runtime_test_util.h"

using namespace lathe;
using namespace lathe::test;

namespace {

NDArray ints(std::vector<int64_t> values) {
    const int64_t n = int64_t(values.size());
    return NDArray({n}, std::vector<float>(values.begin(), values.end()));
}

NDArray scalar(float v) { return NDArray({}, {v}); }

std::vector<int64_t> strides(const std::vector<int64_t>& shape) {
    std::vector<int64_t> s(shape.size(), 1);
    for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
    return s;
}

// Runs a one-node graph whose inputs are all graph inputs (so nothing folds at compile time).
NDArray runOp(const std::string& op, const std::vector<std::pair<std::string, NDArray>>& inputs,
              std::map<std::string, Attribute> attributes = {}, int64_t opset = 17, DType outputType = DType::Float) {
    GraphBuilder g(opset);
    std::map<std::string, NDArray> feeds;
    std::vector<std::string> names;
    for (const auto& [name, value] : inputs) {
        g.input(name);
        feeds[name] = value;
        names.push_back(name);
    }
    g.node(op, names, {"y"}, std::move(attributes), outputType);
    g.output("y");
    return runGraph(g.graph(), feeds);
}

}  // namespace

class TestVisionOps : public QObject {
    Q_OBJECT
private slots:
    void geluMatchesErfFormAndTanhApproximation() {
        const NDArray x = randomArray({2, 3, 17}, 1, -4.f, 4.f);
        const NDArray exact = runOp("Gelu", {{"x", x}}, {}, 20);
        const NDArray tanh = runOp("Gelu", {{"x", x}}, {{"approximate", stringAttribute("tanh")}}, 20);
        // The decomposed form torch exports: x * 0.5 * (1 + erf(x / sqrt(2))).
        const NDArray decomposed = runGraph(decomposedGelu(), {{"x", x}});
        NDArray want(x.shape), wantTanh(x.shape);
        for (size_t i = 0; i < x.data.size(); ++i) {
            const double v = x.data[i];
            want.data[i] = float(0.5 * v * (1 + std::erf(v / std::sqrt(2.0))));
            wantTanh.data[i] = float(0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))));
        }
        QVERIFY2(mismatch(exact, want).isEmpty(), qPrintable(mismatch(exact, want)));
        QVERIFY2(mismatch(decomposed, want).isEmpty(), qPrintable(mismatch(decomposed, want)));
        QVERIFY2(mismatch(tanh, wantTanh).isEmpty(), qPrintable(mismatch(tanh, wantTanh)));
    }

    // The vectorised Erf (a series below 0.9, Abramowitz & Stegun 7.1.26 beyond) against the C library in double,
    // on a dense grid whose length leaves a partial last vector, and special values.
    void erfIsWithin4e7OfTheCLibrary() {
        std::vector<float> values;
        for (int i = -30000; i <= 30000; ++i) values.push_back(float(i) * 2e-4f);
        for (float v : {0.4999999f, 0.5f, 0.5000001f, 1e-30f, -1e-30f, 1e-6f, -0.f, 9.f, -40.f})
            values.push_back(v);
        values.push_back(std::numeric_limits<float>::infinity());
        values.push_back(-std::numeric_limits<float>::infinity());
        values.push_back(std::numeric_limits<float>::quiet_NaN());
        const NDArray got = runOp("Erf", {{"x", NDArray({int64_t(values.size())}, values)}}, {}, 13);
        QCOMPARE(got.data.size(), values.size());
        double worst = 0.0;
        for (size_t i = 0; i + 1 < values.size(); ++i) {
            const double want = std::erf(double(values[i]));
            const double error = std::abs(double(got.data[i]) - want) / std::max(std::abs(want), 1e-30);
            QVERIFY2(error <= 4e-7, qPrintable(QString("erf(%1) = %2, want %3").arg(double(values[i]), 0, 'g', 9)
                                                   .arg(double(got.data[i]), 0, 'g', 9).arg(want, 0, 'g', 9)));
            worst = std::max(worst, error);
        }
        QVERIFY(std::isnan(got.data.back()));
        qInfo("worst relative error %.3g", worst);
    }

    void layerNormMatchesDecomposedForm() {
        const NDArray x = randomArray({2, 5, 24}, 2, -3.f, 3.f);
        const NDArray scale = randomArray({24}, 3), bias = randomArray({24}, 4);
        GraphBuilder fused(17);
        fused.input("x");
        fused.constant("s", scale);
        fused.constant("b", bias);
        fused.node("LayerNormalization", {"x", "s", "b"}, {"y"}, {{"epsilon", floatAttribute(1e-6f)}});
        fused.output("y");
        const NDArray got = runGraph(fused.graph(), {{"x", x}});
        // torch 1.13's opset-13 export: ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul, Add.
        GraphBuilder g(13);
        g.input("x");
        g.constant("s", scale);
        g.constant("b", bias);
        g.constant("two", scalar(2.f));
        g.constant("eps", scalar(1e-6f));
        g.node("ReduceMean", {"x"}, {"mu"}, {{"axes", intsAttribute({-1})}});
        g.node("Sub", {"x", "mu"}, {"c"});
        g.node("Pow", {"c", "two"}, {"sq"});
        g.node("ReduceMean", {"sq"}, {"var"}, {{"axes", intsAttribute({-1})}});
        g.node("Add", {"var", "eps"}, {"ve"});
        g.node("Sqrt", {"ve"}, {"sd"});
        g.node("Div", {"c", "sd"}, {"n"});
        g.node("Mul", {"n", "s"}, {"ns"});
        g.node("Add", {"ns", "b"}, {"y"});
        g.output("y");
        const NDArray decomposed = runGraph(g.graph(), {{"x", x}});
        NDArray want(x.shape);
        for (int64_t r = 0; r < 10; ++r) {
            double mean = 0, var = 0;
            for (int64_t i = 0; i < 24; ++i) mean += x.data[size_t(r * 24 + i)];
            mean /= 24;
            for (int64_t i = 0; i < 24; ++i) var += std::pow(x.data[size_t(r * 24 + i)] - mean, 2);
            var /= 24;
            for (int64_t i = 0; i < 24; ++i)
                want.data[size_t(r * 24 + i)] =
                    float((x.data[size_t(r * 24 + i)] - mean) / std::sqrt(var + 1e-6) * scale.data[size_t(i)] +
                          bias.data[size_t(i)]);
        }
        QVERIFY2(mismatch(got, want).isEmpty(), qPrintable(mismatch(got, want)));
        QVERIFY2(mismatch(decomposed, want).isEmpty(), qPrintable(mismatch(decomposed, want)));
    }

    void einsum_data() {
        QTest::addColumn<QString>("equation");
        QTest::addColumn<QString>("shapeA");
        QTest::addColumn<QString>("shapeB");
        QTest::newRow("attention scores") << "bhid,bhjd->bhij"
                                          << "2,3,5,4"
                                          << "2,3,6,4";
        QTest::newRow("attention values") << "bhij,bhjd->bhid"
                                          << "2,3,5,6"
                                          << "2,3,6,4";
        QTest::newRow("matmul") << "ij,jk->ik"
                                << "7,9"
                                << "9,5";
        QTest::newRow("transposed output") << "bij,bjk->bki"
                                           << "3,4,5"
                                           << "3,5,6";
        QTest::newRow("ellipsis broadcast") << "...ij,...jk->...ik"
                                            << "2,1,3,4"
                                            << "5,4,2";
        QTest::newRow("implicit output") << "ij,jk"
                                         << "3,4"
                                         << "4,5";
        QTest::newRow("outer product") << "i,j->ij"
                                       << "4"
                                       << "6";
        QTest::newRow("sum out a free index") << "bij,bjk->bk"
                                              << "2,3,4"
                                              << "2,4,5";
    }

    void einsum() {
        QFETCH(QString, equation);
        QFETCH(QString, shapeA);
        QFETCH(QString, shapeB);
        auto parse = [](const QString& text) {
            std::vector<int64_t> shape;
            for (const QString& p : text.split(',')) shape.push_back(p.toLongLong());
            return shape;
        };
        const NDArray a = randomArray(parse(shapeA), 5), b = randomArray(parse(shapeB), 6);
        const NDArray got =
            runOp("Einsum", {{"a", a}, {"b", b}}, {{"equation", stringAttribute(equation.toStdString())}}, 12);
        // Naive reference: enumerate every assignment of all labels.
        std::string eq = equation.toStdString();
        const size_t arrow = eq.find("->");
        std::string lhs = eq.substr(0, arrow), out;
        std::string ta = lhs.substr(0, lhs.find(',')), tb = lhs.substr(lhs.find(',') + 1);
        // Expand ellipses into upper-case labels, right-aligned.
        const size_t ellipsisRank = std::max(ta.find("...") == std::string::npos ? 0 : a.shape.size() + 3 - ta.size(),
                                             tb.find("...") == std::string::npos ? 0 : b.shape.size() + 3 - tb.size());
        auto expand = [&](std::string t, size_t rank) {
            const size_t dots = t.find("...");
            if (dots == std::string::npos) return t;
            const size_t own = rank + 3 - t.size();
            std::string labels;
            for (size_t i = ellipsisRank - own; i < ellipsisRank; ++i) labels += char('A' + i);
            return t.replace(dots, 3, labels);
        };
        ta = expand(ta, a.shape.size());
        tb = expand(tb, b.shape.size());
        if (arrow != std::string::npos) {
            out = expand(eq.substr(arrow + 2), ellipsisRank + eq.size() - arrow - 5);
        } else {
            for (char c = 'a'; c <= 'z'; ++c)
                if (std::count(ta.begin(), ta.end(), c) + std::count(tb.begin(), tb.end(), c) == 1) out += c;
        }
        std::map<char, int64_t> size;
        for (size_t i = 0; i < ta.size(); ++i) size[ta[i]] = std::max(size[ta[i]], a.shape[i]);
        for (size_t i = 0; i < tb.size(); ++i) size[tb[i]] = std::max(size[tb[i]], b.shape[i]);
        std::vector<char> labels;
        for (const auto& [l, s] : size) labels.push_back(l);
        std::vector<int64_t> outShape;
        for (char c : out) outShape.push_back(size[c]);
        NDArray want(outShape);
        std::map<char, int64_t> index;
        for (char l : labels) index[l] = 0;
        const std::vector<int64_t> sa = strides(a.shape), sb = strides(b.shape), so = strides(outShape);
        while (true) {
            int64_t ia = 0, ib = 0, io = 0;
            for (size_t i = 0; i < ta.size(); ++i) ia += (a.shape[i] == 1 ? 0 : index[ta[i]]) * sa[i];
            for (size_t i = 0; i < tb.size(); ++i) ib += (b.shape[i] == 1 ? 0 : index[tb[i]]) * sb[i];
            for (size_t i = 0; i < out.size(); ++i) io += index[out[i]] * so[i];
            want.data[size_t(io)] += a.data[size_t(ia)] * b.data[size_t(ib)];
            size_t k = labels.size();
            while (k-- > 0) {
                if (++index[labels[k]] < size[labels[k]]) break;
                index[labels[k]] = 0;
            }
            if (k == size_t(-1)) break;
        }
        QVERIFY2(mismatch(got, want).isEmpty(), qPrintable(mismatch(got, want)));
    }

    void convTranspose_data() {
        QTest::addColumn<int>("group");
        QTest::addColumn<int>("stride");
        QTest::addColumn<int>("dilation");
        QTest::addColumn<int>("pad");
        QTest::addColumn<int>("outputPadding");
        QTest::addColumn<bool>("withBias");
        QTest::newRow("2x upsampling, k4 s2 p1") << 1 << 2 << 1 << 1 << 0 << true;
        QTest::newRow("k3 s1 p1") << 1 << 1 << 1 << 1 << 0 << false;
        QTest::newRow("grouped, dilated") << 2 << 1 << 2 << 0 << 0 << true;
        QTest::newRow("stride 3, output padding") << 1 << 3 << 1 << 0 << 1 << false;
    }

    void convTranspose() {
        QFETCH(int, group);
        QFETCH(int, stride);
        QFETCH(int, dilation);
        QFETCH(int, pad);
        QFETCH(int, outputPadding);
        QFETCH(bool, withBias);
        const int64_t n = 2, c = 4, h = 5, w = 6, mg = 3, k = stride == 2 ? 4 : 3;
        const NDArray x = randomArray({n, c, h, w}, 7), weight = randomArray({c, mg, k, k}, 8);
        const NDArray bias = randomArray({mg * group}, 9);
        const int64_t oh = stride * (h - 1) + outputPadding + (k - 1) * dilation + 1 - 2 * pad;
        const int64_t ow = stride * (w - 1) + outputPadding + (k - 1) * dilation + 1 - 2 * pad;
        std::map<std::string, Attribute> attributes{{"group", intAttribute(group)},
                                                    {"strides", intsAttribute({stride, stride})},
                                                    {"dilations", intsAttribute({dilation, dilation})},
                                                    {"pads", intsAttribute({pad, pad, pad, pad})},
                                                    {"output_padding", intsAttribute({outputPadding, outputPadding})}};
        std::vector<std::pair<std::string, NDArray>> inputs{{"x", x}, {"w", weight}};
        if (withBias) inputs.push_back({"b", bias});
        const NDArray got = runOp("ConvTranspose", inputs, attributes, 13);
        const int64_t m = mg * group, cg = c / group;
        NDArray want({n, m, oh, ow});
        for (int64_t b = 0; b < n; ++b)
            for (int64_t f = 0; f < m; ++f)
                for (int64_t i = 0; i < oh * ow; ++i)
                    want.data[size_t((b * m + f) * oh * ow + i)] = withBias ? bias.data[size_t(f)] : 0.f;
        for (int64_t b = 0; b < n; ++b)
            for (int64_t ch = 0; ch < c; ++ch)
                for (int64_t f = 0; f < mg; ++f)
                    for (int64_t i = 0; i < h; ++i)
                        for (int64_t j = 0; j < w; ++j)
                            for (int64_t u = 0; u < k; ++u)
                                for (int64_t v = 0; v < k; ++v) {
                                    const int64_t y = i * stride - pad + u * dilation;
                                    const int64_t z = j * stride - pad + v * dilation;
                                    if (y < 0 || y >= oh || z < 0 || z >= ow) continue;
                                    const int64_t filter = (ch / cg) * mg + f;
                                    want.data[size_t(((b * m + filter) * oh + y) * ow + z)] +=
                                        x.data[size_t(((b * c + ch) * h + i) * w + j)] *
                                        weight.data[size_t(((ch * mg + f) * k + u) * k + v)];
                                }
        QVERIFY2(mismatch(got, want).isEmpty(), qPrintable(mismatch(got, want)));
    }

    void resizeBilinearLikeTorch() {
        // torch.nn.functional.interpolate(scale_factor=2, mode="bilinear", align_corners=False) exports as Resize
        // with half_pixel (pytorch_half_pixel for sizes); source = (dst + 0.5) / 2 - 0.5 clamped at 0.
        const NDArray x = randomArray({1, 2, 3, 5}, 10);
        const NDArray got = runOp("Resize", {{"x", x}, {"roi", NDArray({0})}, {"scales", NDArray({4}, {1, 1, 2, 2})}},
                                  {{"mode", stringAttribute("linear")},
                                   {"coordinate_transformation_mode", stringAttribute("pytorch_half_pixel")}},
                                  13);
        NDArray want({1, 2, 6, 10});
        auto source = [](int64_t dst, int64_t in) {
            const double s = std::max(0.0, (dst + 0.5) / 2 - 0.5);
            const int64_t lo = std::min<int64_t>(int64_t(s), in - 1), hi = std::min<int64_t>(lo + 1, in - 1);
            return std::tuple{lo, hi, s - double(lo)};
        };
        for (int64_t ch = 0; ch < 2; ++ch)
            for (int64_t i = 0; i < 6; ++i)
                for (int64_t j = 0; j < 10; ++j) {
                    const auto [y0, y1, fy] = source(i, 3);
                    const auto [x0, x1, fx] = source(j, 5);
                    auto at = [&](int64_t y, int64_t z) { return double(x.data[size_t((ch * 3 + y) * 5 + z)]); };
                    want.data[size_t((ch * 6 + i) * 10 + j)] =
                        float((1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) +
                              fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1)));
                }
        QVERIFY2(mismatch(got, want).isEmpty(), qPrintable(mismatch(got, want)));
        // Nearest with sizes (asymmetric, floor) repeats each pixel.
        const NDArray nearest =
            runOp("Resize", {{"x", x}, {"roi", NDArray({0})}, {"scales", NDArray({0})}, {"sizes", ints({1, 2, 6, 15})}},
                  {{"mode", stringAttribute("nearest")},
                   {"coordinate_transformation_mode", stringAttribute("asymmetric")},
                   {"nearest_mode", stringAttribute("floor")}},
                  13);
        QCOMPARE(nearest.shape, (std::vector<int64_t>{1, 2, 6, 15}));
        for (int64_t ch = 0; ch < 2; ++ch)
            for (int64_t i = 0; i < 6; ++i)
                for (int64_t j = 0; j < 15; ++j)
                    QCOMPARE(nearest.data[size_t((ch * 6 + i) * 15 + j)], x.data[size_t((ch * 3 + i / 2) * 5 + j / 3)]);
    }

    void whereExpandTileSplit() {
        const NDArray cond({2, 1, 4}, {1, 0, 0, 1, 0, 1, 1, 0});
        const NDArray a = randomArray({3, 4}, 11), b = randomArray({2, 3, 1}, 12);
        const NDArray where = runOp("Where", {{"c", cond}, {"a", a}, {"b", b}});
        QCOMPARE(where.shape, (std::vector<int64_t>{2, 3, 4}));
        for (int64_t i = 0; i < 2; ++i)
            for (int64_t j = 0; j < 3; ++j)
                for (int64_t k = 0; k < 4; ++k)
                    QCOMPARE(where.data[size_t((i * 3 + j) * 4 + k)],
                             cond.data[size_t(i * 4 + k)] != 0 ? a.data[size_t(j * 4 + k)] : b.data[size_t(i * 3 + j)]);

        const NDArray x = randomArray({3, 1}, 13);
        const NDArray expanded = runOp("Expand", {{"x", x}, {"s", ints({2, 1, 5})}});
        QCOMPARE(expanded.shape, (std::vector<int64_t>{2, 3, 5}));
        for (int64_t i = 0; i < 30; ++i) QCOMPARE(expanded.data[size_t(i)], x.data[size_t(i / 5 % 3)]);

        const NDArray t = randomArray({2, 3}, 14);
        const NDArray tiled = runOp("Tile", {{"x", t}, {"r", ints({2, 3})}});
        QCOMPARE(tiled.shape, (std::vector<int64_t>{4, 9}));
        for (int64_t i = 0; i < 4; ++i)
            for (int64_t j = 0; j < 9; ++j) QCOMPARE(tiled.data[size_t(i * 9 + j)], t.data[size_t(i % 2 * 3 + j % 3)]);

        // Split into uneven parts along axis 1 (opset 13: sizes as an input).
        GraphBuilder g(13);
        g.input("x");
        g.constant("split", ints({1, 4, 2}), DType::Int64);
        g.node("Split", {"x", "split"}, {"p0", "p1", "p2"}, {{"axis", intAttribute(1)}});
        g.output("p1");
        g.output("p2");
        const NDArray s = randomArray({2, 7, 3}, 15);
        auto executor = Executor::compile(g.graph());
        QVERIFY2(executor.ok(), executor ? "" : executor.error().message.c_str());
        auto parts = executor->run({{"x", s}});
        QVERIFY(parts.ok());
        const NDArray& p1 = parts->at("p1");
        const NDArray& p2 = parts->at("p2");
        QCOMPARE(p1.shape, (std::vector<int64_t>{2, 4, 3}));
        QCOMPARE(p2.shape, (std::vector<int64_t>{2, 2, 3}));
        for (int64_t i = 0; i < 2; ++i)
            for (int64_t j = 0; j < 4; ++j)
                for (int64_t k = 0; k < 3; ++k)
                    QCOMPARE(p1.data[size_t((i * 4 + j) * 3 + k)], s.data[size_t((i * 7 + 1 + j) * 3 + k)]);
        QCOMPARE(p2.data.back(), s.data.back());
    }

    void variadicMinMaxBroadcast() {
        const NDArray a = randomArray({2, 1, 3}, 16), b = randomArray({4, 1}, 17), c = randomArray({3}, 18);
        const NDArray mx = runOp("Max", {{"a", a}, {"b", b}, {"c", c}});
        const NDArray mn = runOp("Min", {{"a", a}, {"b", b}, {"c", c}});
        const NDArray mean = runOp("Mean", {{"a", a}, {"b", b}, {"c", c}});
        QCOMPARE(mx.shape, (std::vector<int64_t>{2, 4, 3}));
        for (int64_t i = 0; i < 2; ++i)
            for (int64_t j = 0; j < 4; ++j)
                for (int64_t k = 0; k < 3; ++k) {
                    const float va = a.data[size_t(i * 3 + k)], vb = b.data[size_t(j)], vc = c.data[size_t(k)];
                    const size_t o = size_t((i * 4 + j) * 3 + k);
                    QCOMPARE(mx.data[o], std::max({va, vb, vc}));
                    QCOMPARE(mn.data[o], std::min({va, vb, vc}));
                    QVERIFY(std::abs(mean.data[o] - (va + vb + vc) / 3) < 1e-6f);
                }
    }

    void castRoundsToTheTargetType() {
        const NDArray x({8}, {-2.7f, -0.5f, 0.f, 0.4f, 1.9f, 200.f, 300.f, -129.f});
        auto cast = [&](DType to) {
            return runOp("Cast", {{"x", x}}, {{"to", intAttribute(int64_t(to))}}, 13, to).data;
        };
        QCOMPARE(cast(DType::Int64), (std::vector<float>{-2, -0.f, 0, 0, 1, 200, 300, -129}));
        QCOMPARE(cast(DType::Int8), (std::vector<float>{-2, 0, 0, 0, 1, -56, 44, 127}));
        QCOMPARE(cast(DType::UInt8), (std::vector<float>{254, 0, 0, 0, 1, 200, 44, 127}));
        QCOMPARE(cast(DType::Bool), (std::vector<float>{1, 1, 0, 1, 1, 1, 1, 1}));
        const FloatBuffer half = runOp("Cast", {{"x", NDArray({2}, {0.1f, 70000.f})}},
                                              {{"to", intAttribute(int64_t(DType::Float16))}}, 13, DType::Float16)
                                            .data;
        QCOMPARE(half[0], 0.0999755859375f);
        QVERIFY(std::isinf(half[1]));
        // Casting to a string is refused at compile time, naming the node.
        GraphBuilder g(13);
        g.input("x");
        g.node("Cast", {"x"}, {"y"}, {{"to", intAttribute(int64_t(DType::String))}});
        g.output("y");
        auto executor = Executor::compile(g.graph());
        QVERIFY(!executor.ok());
        QVERIFY2(executor.error().message.find("Cast_0") != std::string::npos, executor.error().message.c_str());
    }

    void rangeConstantOfShapeArgMax() {
        const NDArray r = runOp("Range", {{"s", scalar(1.f)}, {"l", scalar(2.f)}, {"d", scalar(0.25f)}});
        QCOMPARE(r.data, (std::vector<float>{1.f, 1.25f, 1.5f, 1.75f}));
        const NDArray down =
            runOp("Range", {{"s", scalar(10)}, {"l", scalar(4)}, {"d", scalar(-3)}}, {}, 13, DType::Int64);
        QCOMPARE(down.data, (std::vector<float>{10, 7}));

        GraphBuilder g(13);
        g.input("shape");
        Attribute value;
        value.kind = Attribute::Kind::Tensor;
        value.tensor = std::make_shared<Tensor>();
        value.tensor->dtype = DType::Float;
        value.tensor->shape = {1};
        value.tensor->data = {2.5f};
        g.node("ConstantOfShape", {"shape"}, {"y"}, {{"value", value}});
        g.output("y");
        const NDArray filled = runGraph(g.graph(), {{"shape", ints({2, 3})}});
        QCOMPARE(filled.shape, (std::vector<int64_t>{2, 3}));
        QCOMPARE(filled.data, std::vector<float>(6, 2.5f));

        const NDArray x({2, 3}, {1, 5, 5, 7, 2, 7});
        QCOMPARE(runOp("ArgMax", {{"x", x}}, {{"axis", intAttribute(1)}}, 13, DType::Int64).data,
                 (std::vector<float>{1, 0}));
        QCOMPARE(runOp("ArgMax", {{"x", x}}, {{"axis", intAttribute(1)}, {"select_last_index", intAttribute(1)}}, 13,
                       DType::Int64)
                     .data,
                 (std::vector<float>{2, 2}));
    }
};

QTEST_APPLESS_MAIN(TestVisionOps)
#include "test_vision_ops.moc"
