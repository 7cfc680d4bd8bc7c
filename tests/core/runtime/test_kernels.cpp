// Every kernel family against a naive loop implementation written here, on seeded random data (ncnn test_layer
// style). Weights are fed both as initializers (pre-packed at compile time) and as run-time inputs.
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/runtime/kernels/sgemm.h"
#include "runtime_test_util.h"

using namespace lathe;
using namespace lathe::test;

namespace {

int64_t dimProduct(const std::vector<int64_t>& shape, size_t begin, size_t end) {
    int64_t p = 1;
    for (size_t i = begin; i < end; ++i) p *= shape[i];
    return p;
}

std::vector<int64_t> parseShape(const QString& text) {
    std::vector<int64_t> shape;
    for (const QString& part : text.split(',', Qt::SkipEmptyParts)) shape.push_back(part.trimmed().toLongLong());
    return shape;
}

// Feeds `name` as an initializer when `constant`, else as a graph input added to `feeds`.
void addOperand(GraphBuilder& g, std::map<std::string, NDArray>& feeds, const std::string& name, const NDArray& value,
                bool constant) {
    if (constant) {
        g.constant(name, value);
    } else {
        g.input(name);
        feeds[name] = value;
    }
}

struct Conv2dParams {
    int64_t n, c, h, w, m, kh, kw, sh, sw, dh, dw, padTop, padLeft, padBottom, padRight, group;
};

NDArray naiveConv2d(const NDArray& x, const NDArray& w, const NDArray* b, const Conv2dParams& p) {
    const int64_t oh = (p.h + p.padTop + p.padBottom - ((p.kh - 1) * p.dh + 1)) / p.sh + 1;
    const int64_t ow = (p.w + p.padLeft + p.padRight - ((p.kw - 1) * p.dw + 1)) / p.sw + 1;
    const int64_t cg = p.c / p.group, mg = p.m / p.group;
    NDArray y({p.n, p.m, oh, ow});
    for (int64_t n = 0; n < p.n; ++n)
        for (int64_t m = 0; m < p.m; ++m)
            for (int64_t i = 0; i < oh; ++i)
                for (int64_t j = 0; j < ow; ++j) {
                    double acc = b ? b->data[size_t(m)] : 0.0;
                    for (int64_t c = 0; c < cg; ++c)
                        for (int64_t u = 0; u < p.kh; ++u)
                            for (int64_t v = 0; v < p.kw; ++v) {
                                const int64_t ih = i * p.sh - p.padTop + u * p.dh;
                                const int64_t iw = j * p.sw - p.padLeft + v * p.dw;
                                if (ih < 0 || ih >= p.h || iw < 0 || iw >= p.w) continue;
                                const int64_t channel = (m / mg) * cg + c;
                                acc += double(x.data[size_t(((n * p.c + channel) * p.h + ih) * p.w + iw)]) *
                                       w.data[size_t(((m * cg + c) * p.kh + u) * p.kw + v)];
                            }
                    y.data[size_t(((n * p.m + m) * oh + i) * ow + j)] = float(acc);
                }
    return y;
}

// Pads for auto_pad SAME_UPPER / SAME_LOWER along one axis.
std::pair<int64_t, int64_t> samePads(int64_t in, int64_t k, int64_t stride, int64_t dilation, bool upper) {
    const int64_t out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>(0, (out - 1) * stride + (k - 1) * dilation + 1 - in);
    return upper ? std::pair{total / 2, total - total / 2} : std::pair{total - total / 2, total / 2};
}

NDArray naiveGemm(const NDArray& a, const NDArray& b, const NDArray* c, bool transA, bool transB, float alpha,
                  float beta) {
    const int64_t m = transA ? a.shape[1] : a.shape[0], k = transA ? a.shape[0] : a.shape[1];
    const int64_t n = transB ? b.shape[0] : b.shape[1];
    NDArray y({m, n});
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double acc = 0;
            for (int64_t p = 0; p < k; ++p)
                acc += double(transA ? a.data[size_t(p * m + i)] : a.data[size_t(i * k + p)]) *
                       (transB ? b.data[size_t(j * k + p)] : b.data[size_t(p * n + j)]);
            double bias = 0;
            if (c) {
                const int64_t rows = c->rank() == 2 ? c->shape[0] : 1;
                const int64_t cols = c->rank() >= 1 ? c->shape.back() : 1;
                bias = c->data[size_t((rows == 1 ? 0 : i) * cols + (cols == 1 ? 0 : j))];
            }
            y.data[size_t(i * n + j)] = float(alpha * acc + beta * bias);
        }
    return y;
}

// Element index of `out`'s flat index `i` inside an operand of shape `shape` broadcast to `out` (numpy rules).
int64_t broadcastIndex(int64_t i, const std::vector<int64_t>& out, const std::vector<int64_t>& shape) {
    int64_t index = 0, stride = 1;
    for (size_t d = 0; d < out.size(); ++d) {
        const size_t back = out.size() - 1 - d;
        const int64_t coordinate = i % out[back];
        i /= out[back];
        if (d < shape.size()) {
            const int64_t dim = shape[shape.size() - 1 - d];
            index += (dim == 1 ? 0 : coordinate) * stride;
            stride *= dim;
        }
    }
    return index;
}

std::vector<int64_t> broadcastShape(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    std::vector<int64_t> out(std::max(a.size(), b.size()), 1);
    for (size_t d = 0; d < out.size(); ++d) {
        const int64_t da = d < a.size() ? a[a.size() - 1 - d] : 1, db = d < b.size() ? b[b.size() - 1 - d] : 1;
        out[out.size() - 1 - d] = std::max(da, db);
    }
    return out;
}

NDArray naiveMatMul(const NDArray& a, const NDArray& b) {
    std::vector<int64_t> as = a.shape, bs = b.shape;
    if (as.size() == 1) as.insert(as.begin(), 1);
    if (bs.size() == 1) bs.push_back(1);
    const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
    const std::vector<int64_t> batch = broadcastShape({as.begin(), as.end() - 2}, {bs.begin(), bs.end() - 2});
    std::vector<int64_t> outShape = batch;
    if (a.shape.size() > 1) outShape.push_back(m);
    if (b.shape.size() > 1) outShape.push_back(n);
    NDArray y(outShape);
    const int64_t batches = shapeNumel(batch);
    for (int64_t t = 0; t < batches; ++t) {
        const int64_t ai = broadcastIndex(t, batch, {as.begin(), as.end() - 2});
        const int64_t bi = broadcastIndex(t, batch, {bs.begin(), bs.end() - 2});
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
                double acc = 0;
                for (int64_t p = 0; p < k; ++p)
                    acc += double(a.data[size_t(ai * m * k + i * k + p)]) * b.data[size_t(bi * k * n + p * n + j)];
                y.data[size_t(t * m * n + i * n + j)] = float(acc);
            }
    }
    return y;
}

struct Pool2dParams {
    int64_t kh, kw, sh, sw, padTop, padLeft, padBottom, padRight, dh, dw;
    bool ceil, countIncludePad;
};

int64_t poolOutSize(int64_t in, int64_t k, int64_t s, int64_t d, int64_t begin, int64_t end, bool ceil) {
    const int64_t span = in + begin + end - ((k - 1) * d + 1);
    int64_t out = (ceil ? (span + s - 1) / s : span / s) + 1;
    if (ceil && (out - 1) * s >= in + begin) --out;
    return out;
}

NDArray naivePool2d(const NDArray& x, const Pool2dParams& p, bool isMax) {
    const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
    const int64_t oh = poolOutSize(h, p.kh, p.sh, p.dh, p.padTop, p.padBottom, p.ceil);
    const int64_t ow = poolOutSize(w, p.kw, p.sw, p.dw, p.padLeft, p.padRight, p.ceil);
    NDArray y({n, c, oh, ow});
    for (int64_t plane = 0; plane < n * c; ++plane)
        for (int64_t i = 0; i < oh; ++i)
            for (int64_t j = 0; j < ow; ++j) {
                double acc = isMax ? -INFINITY : 0.0;
                int64_t valid = 0, padded = 0;
                for (int64_t u = 0; u < p.kh; ++u)
                    for (int64_t v = 0; v < p.kw; ++v) {
                        const int64_t ih = i * p.sh - p.padTop + u * p.dh, iw = j * p.sw - p.padLeft + v * p.dw;
                        if (ih >= -p.padTop && ih < h + p.padBottom && iw >= -p.padLeft && iw < w + p.padRight)
                            ++padded;
                        if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                        ++valid;
                        const double value = x.data[size_t((plane * h + ih) * w + iw)];
                        acc = isMax ? std::max(acc, value) : acc + value;
                    }
                if (!isMax) acc /= double(p.countIncludePad ? padded : valid);
                y.data[size_t((plane * oh + i) * ow + j)] = float(acc);
            }
    return y;
}

std::map<std::string, Attribute> poolAttributes(const Pool2dParams& p, bool isMax) {
    std::map<std::string, Attribute> a{{"kernel_shape", intsAttribute({p.kh, p.kw})},
                                       {"strides", intsAttribute({p.sh, p.sw})},
                                       {"pads", intsAttribute({p.padTop, p.padLeft, p.padBottom, p.padRight})},
                                       {"ceil_mode", intAttribute(p.ceil)}};
    if (isMax)
        a["dilations"] = intsAttribute({p.dh, p.dw});
    else
        a["count_include_pad"] = intAttribute(p.countIncludePad);
    return a;
}

// The executor's `op` (MaxPool or AveragePool) with `params` (as pool_data) on x against naivePool2d: empty when equal.
QString poolMismatch(const QString& op, const QString& params, const NDArray& x) {
    const std::vector<int64_t> v = parseShape(params);
    const Pool2dParams p{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10] != 0, v[11] != 0};
    const bool isMax = op == "MaxPool";
    GraphBuilder g;
    g.input("x");
    g.node(op.toStdString(), {"x"}, {"y"}, poolAttributes(p, isMax));
    g.output("y");
    return mismatch(runGraph(g.graph(), {{"x", x}}), naivePool2d(x, p, isMax));
}

}  // namespace

class TestKernels : public QObject {
    Q_OBJECT
private slots:
    void conv_data() {
        QTest::addColumn<QString>("shape");   // N, C, H, W, M, kh, kw
        QTest::addColumn<QString>("window");  // sh, sw, dh, dw, padTop, padLeft, padBottom, padRight, group
        QTest::addColumn<QString>("autoPad");
        QTest::addColumn<bool>("constantWeights");
        QTest::addColumn<bool>("bias");
        QTest::newRow("3x3 pad 1") << "2,3,9,9,4,3,3"
                                   << "1,1,1,1,1,1,1,1,1"
                                   << "" << true << true;
        QTest::newRow("3x3 pad 1 runtime weights") << "2,3,9,9,4,3,3"
                                                   << "1,1,1,1,1,1,1,1,1"
                                                   << "" << false << true;
        QTest::newRow("groups 2") << "2,4,8,7,6,3,3"
                                  << "1,1,1,1,1,1,1,1,2"
                                  << "" << true << true;
        QTest::newRow("depthwise") << "2,6,9,9,6,3,3"
                                   << "1,1,1,1,1,1,1,1,6"
                                   << "" << true << true;
        QTest::newRow("depthwise stride 2 multiplier 2") << "1,4,10,9,8,3,3"
                                                         << "2,2,1,1,1,1,1,1,4"
                                                         << "" << true << false;
        QTest::newRow("depthwise wide, dilation 2") << "2,6,12,21,6,3,3"
                                                    << "1,1,2,2,2,2,2,2,6"
                                                    << "" << true << true;
        QTest::newRow("depthwise 5x5 wide") << "1,4,9,30,4,5,5"
                                            << "1,1,1,1,2,2,2,2,4"
                                            << "" << true << true;
        QTest::newRow("depthwise 28 wide stride 2") << "2,8,28,28,8,3,3"
                                                    << "2,2,1,1,1,1,1,1,8"
                                                    << "" << true << true;
        QTest::newRow("depthwise 7x7") << "3,5,7,7,5,3,3"
                                       << "1,1,1,1,1,1,1,1,5"
                                       << "" << true << true;
        QTest::newRow("depthwise stride 3 dilation 2 asymmetric") << "1,3,17,23,6,3,3"
                                                                  << "3,3,2,2,0,1,2,0,3"
                                                                  << "" << true << true;
        // Square 3x3 and 5x5 windows with stride 1 or 2 run the direct kernel on CPUs with AVX-512 (groups of seven
        // output rows, 16 columns per vector): partial groups, several column chunks, asymmetric pads.
        QTest::newRow("depthwise direct 7x7 32 channels") << "2,32,7,7,32,3,3"
                                                          << "1,1,1,1,1,1,1,1,32"
                                                          << "" << true << true;
        QTest::newRow("depthwise direct stride 2 asymmetric pads") << "1,16,14,13,16,3,3"
                                                                   << "2,2,1,1,0,1,1,0,16"
                                                                   << "" << true << true;
        QTest::newRow("depthwise direct stride 2 output 19 wide") << "1,3,9,37,3,3,3"
                                                                  << "2,2,1,1,1,1,1,1,3"
                                                                  << "" << true << true;
        QTest::newRow("depthwise direct 5x5 stride 2 asymmetric") << "2,4,17,40,4,5,5"
                                                                  << "2,2,1,1,1,2,2,1,4"
                                                                  << "" << true << true;
        // Output rows of at most 8 run 16 channels at a time with the channels in the lanes on AVX-512: a partial
        // last group of channels, 5x5 windows, stride 2 with asymmetric pads, several filters per channel.
        QTest::newRow("depthwise lanes 5x5, 20 channels, 8 wide") << "2,20,13,8,20,5,5"
                                                                  << "1,1,1,1,2,2,2,2,20"
                                                                  << "" << true << true;
        QTest::newRow("depthwise lanes 5x5 stride 2 asymmetric, 17 channels") << "2,17,15,12,17,5,5"
                                                                              << "2,2,1,1,1,2,2,1,17"
                                                                              << "" << true << true;
        QTest::newRow("depthwise lanes multiplier 3, 24 filters") << "1,8,6,7,24,3,3"
                                                                  << "1,1,1,1,1,1,1,1,8"
                                                                  << "" << true << false;
        QTest::newRow("depthwise 5x5 dilation 2 (not direct)") << "1,48,11,9,48,5,5"
                                                               << "1,1,2,2,4,4,3,3,48"
                                                               << "" << true << false;
        QTest::newRow("depthwise runtime weights") << "2,5,7,7,5,3,3"
                                                   << "1,1,1,1,1,1,1,1,5"
                                                   << "" << false << true;
        QTest::newRow("stride 2") << "2,3,11,11,5,3,3"
                                  << "2,2,1,1,0,0,0,0,1"
                                  << "" << true << true;
        QTest::newRow("dilation 2") << "1,3,12,12,4,3,3"
                                    << "1,1,2,2,2,2,2,2,1"
                                    << "" << true << true;
        QTest::newRow("asymmetric pads") << "2,2,8,9,3,3,2"
                                         << "1,2,1,1,0,1,2,1,1"
                                         << "" << true << false;
        QTest::newRow("lenet 5x5") << "3,1,28,28,20,5,5"
                                   << "1,1,1,1,0,0,0,0,1"
                                   << "" << true << true;
        QTest::newRow("pointwise 1x1") << "2,16,6,5,8,1,1"
                                       << "1,1,1,1,0,0,0,0,1"
                                       << "" << true << true;
        QTest::newRow("pointwise 7x7: 49 columns in place, the last pair masked") << "3,24,7,7,20,1,1"
                                                                                  << "1,1,1,1,0,0,0,0,1"
                                                                                  << "" << true << true;
        QTest::newRow("pointwise stride 2") << "2,8,7,7,8,1,1"
                                            << "2,2,1,1,0,0,0,0,1"
                                            << "" << true << true;
        // Strided 1x1 convolutions gather the pixels they read into a block, then run as pointwise ones.
        QTest::newRow("1x1 stride 2, ResNet shortcut: 196 columns") << "2,16,28,28,32,1,1"
                                                                    << "2,2,1,1,0,0,0,0,1"
                                                                    << "" << true << true;
        QTest::newRow("1x1 strides 3 and 2, odd sizes") << "1,6,20,9,10,1,1"
                                                        << "3,2,1,1,0,0,0,0,1"
                                                        << "" << true << false;
        QTest::newRow("deep: K > 256, M not a multiple of 6") << "2,40,12,12,70,3,3"
                                                              << "1,1,1,1,1,1,1,1,1"
                                                              << "" << true << true;
        // At least 16 input channels and 32 filters run the direct kernel on CPUs with AVX-512 (filters in the
        // lanes, rows cut into segments of at most 14 positions): a lone last vector, uneven rows, K blocks.
        QTest::newRow("direct: 40 filters, 30-wide rows (10 + 10 + 10)") << "2,16,6,30,40,3,3"
                                                                         << "1,1,1,1,1,1,1,1,1"
                                                                         << "" << true << true;
        QTest::newRow("direct stride 2 dilation 2 asymmetric, K > 256, 33 filters") << "1,32,13,17,33,3,3"
                                                                                    << "2,2,2,2,2,1,1,2,1"
                                                                                    << "" << true << true;
        QTest::newRow("direct 5x5 stride (1, 2), 29 wide") << "2,16,9,58,32,5,5"
                                                           << "1,2,1,1,2,2,2,1,1"
                                                           << "" << true << false;
        // Fewer filters and at least 8 channels at stride 1 run with the positions in the lanes (numbered across the
        // padded width, 48 per tile, 8 filters per pass).
        QTest::newRow("plane: 16 filters, 28 wide") << "2,16,28,28,16,3,3"
                                                    << "1,1,1,1,1,1,1,1,1"
                                                    << "" << true << true;
        QTest::newRow("plane: 11 filters, K > 256, dilation 2, asymmetric") << "1,40,9,5,11,3,3"
                                                                            << "1,1,2,2,2,1,1,2,1"
                                                                            << "" << true << true;
        QTest::newRow("plane: 20 filters, 5x5, 61-wide rows") << "1,8,7,61,20,5,5"
                                                              << "1,1,1,1,2,2,2,2,1"
                                                              << "" << true << false;
        QTest::newRow("wide rows: OW > 16") << "1,3,5,37,7,3,3"
                                            << "1,1,1,1,1,1,1,1,1"
                                            << "" << true << true;
        QTest::newRow("SAME_UPPER stride 2") << "2,3,10,10,4,3,3"
                                             << "2,2,1,1,0,0,0,0,1"
                                             << "SAME_UPPER" << true << true;
        QTest::newRow("SAME_LOWER even kernel") << "1,3,7,7,4,4,4"
                                                << "1,1,1,1,0,0,0,0,1"
                                                << "SAME_LOWER" << true << true;
        QTest::newRow("SAME_UPPER even kernel") << "1,3,7,7,4,4,4"
                                                << "1,1,1,1,0,0,0,0,1"
                                                << "SAME_UPPER" << true << true;
        QTest::newRow("VALID") << "2,3,9,8,4,3,3"
                               << "2,1,1,1,0,0,0,0,1"
                               << "VALID" << true << true;
        // Output widths that are multiples of 8 take the implicit-GEMM path (no im2col) on AVX2 machines.
        QTest::newRow("implicit 3x3 pad 1") << "2,5,8,16,7,3,3"
                                            << "1,1,1,1,1,1,1,1,1"
                                            << "" << true << true;
        QTest::newRow("implicit runtime weights") << "2,5,8,16,7,3,3"
                                                  << "1,1,1,1,1,1,1,1,1"
                                                  << "" << false << true;
        QTest::newRow("implicit two rows per tile") << "2,6,10,8,9,3,3"
                                                    << "1,1,1,1,1,1,1,1,1"
                                                    << "" << true << true;
        QTest::newRow("implicit stride (2,1) dilation 2") << "1,3,12,16,4,3,3"
                                                          << "2,1,2,2,2,2,2,2,1"
                                                          << "" << true << true;
        // W stride 2: the implicit GEMM reads a copy of the input rows split into even and odd columns.
        QTest::newRow("implicit stride 2, output width 8") << "2,4,16,16,6,3,3"
                                                           << "2,2,1,1,1,1,1,1,1"
                                                           << "" << true << true;
        QTest::newRow("implicit stride 2 dilation 2 asymmetric") << "1,3,13,17,4,3,3"
                                                                 << "2,2,2,2,2,1,1,2,1"
                                                                 << "" << true << true;
        QTest::newRow("implicit stride 2, 4x4 kernel, groups") << "2,4,12,15,6,4,4"
                                                               << "1,2,1,1,1,2,2,1,2"
                                                               << "" << false << true;
        QTest::newRow("implicit asymmetric pads") << "1,2,6,15,3,2,3"
                                                  << "1,1,1,1,1,0,0,2,1"
                                                  << "" << true << false;
        QTest::newRow("implicit K > 256") << "1,40,10,16,13,3,3"
                                          << "1,1,1,1,1,1,1,1,1"
                                          << "" << true << true;
        QTest::newRow("implicit groups") << "2,4,6,8,6,3,3"
                                         << "1,1,1,1,1,1,1,1,2"
                                         << "" << true << true;
        QTest::newRow("implicit pointwise") << "2,12,5,16,10,1,1"
                                            << "1,1,1,1,0,0,0,0,1"
                                            << "" << true << true;
        // More filters than output positions at batch 1: the team splits the filters (ranges of 6-row panels).
        QTest::newRow("filter split wide 3x3") << "1,8,4,5,40,3,3"
                                               << "1,1,1,1,1,1,1,1,1"
                                               << "" << true << true;
        QTest::newRow("filter split implicit") << "1,8,3,8,50,3,3"
                                               << "1,1,1,1,1,1,1,1,1"
                                               << "" << true << true;
        QTest::newRow("filter split stride 2 im2col") << "1,6,7,7,40,3,3"
                                                      << "2,2,1,1,1,1,1,1,1"
                                                      << "" << true << true;
        QTest::newRow("filter split pointwise") << "1,32,3,5,64,1,1"
                                                << "1,1,1,1,0,0,0,0,1"
                                                << "" << true << true;
    }

    void conv() {
        QFETCH(QString, shape);
        QFETCH(QString, window);
        QFETCH(QString, autoPad);
        QFETCH(bool, constantWeights);
        QFETCH(bool, bias);
        const std::vector<int64_t> s = parseShape(shape), w = parseShape(window);
        Conv2dParams p{s[0], s[1], s[2], s[3], s[4], s[5], s[6], w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]};
        if (!autoPad.isEmpty() && autoPad != "VALID") {
            const bool upper = autoPad == "SAME_UPPER";
            std::tie(p.padTop, p.padBottom) = samePads(p.h, p.kh, p.sh, p.dh, upper);
            std::tie(p.padLeft, p.padRight) = samePads(p.w, p.kw, p.sw, p.dw, upper);
        }
        const NDArray x = randomArray({p.n, p.c, p.h, p.w}, 1);
        const NDArray weights = randomArray({p.m, p.c / p.group, p.kh, p.kw}, 2);
        const NDArray b = randomArray({p.m}, 3);
        GraphBuilder g;
        std::map<std::string, NDArray> feeds{{"x", x}};
        g.input("x");
        addOperand(g, feeds, "w", weights, constantWeights);
        std::vector<std::string> inputs{"x", "w"};
        if (bias) {
            addOperand(g, feeds, "b", b, constantWeights);
            inputs.push_back("b");
        }
        std::map<std::string, Attribute> attributes{{"kernel_shape", intsAttribute({p.kh, p.kw})},
                                                    {"strides", intsAttribute({p.sh, p.sw})},
                                                    {"dilations", intsAttribute({p.dh, p.dw})},
                                                    {"group", intAttribute(p.group)}};
        if (autoPad.isEmpty())
            attributes["pads"] = intsAttribute({p.padTop, p.padLeft, p.padBottom, p.padRight});
        else
            attributes["auto_pad"] = stringAttribute(autoPad.toStdString());
        g.node("Conv", inputs, {"y"}, attributes);
        g.output("y");
        const NDArray got = runGraph(g.graph(), feeds);
        const QString miss = mismatch(got, naiveConv2d(x, weights, bias ? &b : nullptr, p));
        QVERIFY2(miss.isEmpty(), qPrintable(miss));
    }

    // Two depthwise layers in a row share the thread's scratch: the first (no padding) fills its copy of the input
    // with values where the second keeps its zero padding, so the second must write its padding, not assume it.
    void depthwiseLanesReuseScratch() {
        const NDArray x = randomArray({1, 16, 9, 8}, 31), w1 = randomArray({16, 1, 3, 3}, 32);
        const NDArray w2 = randomArray({16, 1, 3, 3}, 33);
        GraphBuilder g;
        g.input("x");
        g.constant("w1", w1);
        g.constant("w2", w2);
        g.node("Conv", {"x", "w1"}, {"a"}, {{"group", intAttribute(16)}});
        g.node("Conv", {"a", "w2"}, {"y"}, {{"group", intAttribute(16)}, {"pads", intsAttribute({1, 1, 1, 1})}});
        g.output("y");
        const NDArray got = runGraph(g.graph(), {{"x", x}}, 1);
        const NDArray a = naiveConv2d(x, w1, nullptr, Conv2dParams{1, 16, 9, 8, 16, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 16});
        const NDArray want =
            naiveConv2d(a, w2, nullptr, Conv2dParams{1, 16, 7, 6, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 16});
        const QString miss = mismatch(got, want);
        QVERIFY2(miss.isEmpty(), qPrintable(miss));
    }

    // Conv -> BatchNormalization -> Relu compiles to one step (the epilogue runs as C is stored); it must match the
    // three ops done one after another, including when K spans several GEMM depth blocks.
    void convFusedWithBatchNormAndRelu_data() {
        QTest::addColumn<QString>("shape");  // N, C, H, W, M, kh, kw
        QTest::addColumn<int>("group");
        QTest::newRow("implicit GEMM, K > 256") << "2,40,6,16,13,3,3" << 1;
        QTest::newRow("im2col, K > 256") << "2,40,6,9,13,3,3" << 1;
        QTest::newRow("depthwise") << "2,6,9,17,6,3,3" << 6;
        QTest::newRow("depthwise 32 channels") << "2,32,7,7,32,3,3" << 32;
    }

    void convFusedWithBatchNormAndRelu() {
        QFETCH(QString, shape);
        QFETCH(int, group);
        const std::vector<int64_t> s = parseShape(shape);
        const Conv2dParams p{s[0], s[1], s[2], s[3], s[4], s[5], s[6], 1, 1, 1, 1, 1, 1, 1, 1, group};
        const NDArray x = randomArray({p.n, p.c, p.h, p.w}, 22);
        const NDArray w = randomArray({p.m, p.c / p.group, p.kh, p.kw}, 23), b = randomArray({p.m}, 24);
        const NDArray scale = randomArray({p.m}, 25), shift = randomArray({p.m}, 26), mean = randomArray({p.m}, 27);
        const NDArray var = randomArray({p.m}, 28, 0.5f, 2.f);
        GraphBuilder g;
        g.input("x");
        for (const auto& [name, value] : std::map<std::string, NDArray>{
                 {"w", w}, {"b", b}, {"scale", scale}, {"shift", shift}, {"mean", mean}, {"var", var}})
            g.constant(name, value);
        g.node("Conv", {"x", "w", "b"}, {"conv"},
               {{"pads", intsAttribute({1, 1, 1, 1})}, {"group", intAttribute(p.group)}});
        g.node("BatchNormalization", {"conv", "scale", "shift", "mean", "var"}, {"bn"});
        g.node("Relu", {"bn"}, {"y"});
        g.output("y");
        auto executor = Executor::compile(g.graph());
        QVERIFY(executor.ok());
        std::vector<NodeTiming> timings;
        auto outputs = executor->run({{"x", x}}, {}, &timings);
        QVERIFY(outputs.ok());
        QCOMPARE(int(timings.size()), 1);
        NDArray want = naiveConv2d(x, w, &b, p);
        const int64_t plane = want.shape[2] * want.shape[3];
        for (size_t i = 0; i < want.data.size(); ++i) {
            const size_t c = size_t(int64_t(i) / plane % p.m);
            const float normalized =
                scale.data[c] * (want.data[i] - mean.data[c]) / std::sqrt(var.data[c] + 1e-5f) + shift.data[c];
            want.data[i] = std::max(normalized, 0.f);
        }
        const QString miss = mismatch(outputs->at("y"), want);
        QVERIFY2(miss.isEmpty(), qPrintable(miss));
    }

    void conv1d() {
        const NDArray x = randomArray({2, 3, 20}, 4), w = randomArray({5, 3, 4}, 5);
        GraphBuilder g;
        g.input("x");
        g.constant("w", w);
        g.node("Conv", {"x", "w"}, {"y"}, {{"strides", intsAttribute({2})}, {"pads", intsAttribute({1, 2})}});
        g.output("y");
        const NDArray got = runGraph(g.graph(), {{"x", x}});
        NDArray x2 = x, w2 = w;
        x2.shape = {2, 3, 1, 20};
        w2.shape = {5, 3, 1, 4};
        NDArray want = naiveConv2d(x2, w2, nullptr, {2, 3, 1, 20, 5, 1, 4, 1, 2, 1, 1, 0, 1, 0, 2, 1});
        want.shape = {want.shape[0], want.shape[1], want.shape[3]};
        const QString miss = mismatch(got, want);
        QVERIFY2(miss.isEmpty(), qPrintable(miss));
    }

    void gemm_data() {
        QTest::addColumn<int>("m");
        QTest::addColumn<int>("k");
        QTest::addColumn<int>("n");
        QTest::addColumn<bool>("transA");
        QTest::addColumn<bool>("transB");
        QTest::addColumn<float>("alpha");
        QTest::addColumn<float>("beta");
        QTest::addColumn<QString>("cShape");  // empty: no C
        QTest::addColumn<bool>("constantB");
        QTest::newRow("plain") << 4 << 5 << 3 << false << false << 1.f << 1.f << "3" << true;
        QTest::newRow("transB (Linear)") << 7 << 33 << 17 << false << true << 1.f << 1.f << "17" << true;
        QTest::newRow("transB runtime B") << 7 << 33 << 17 << false << true << 1.f << 1.f << "17" << false;
        QTest::newRow("transA") << 6 << 9 << 5 << true << false << 1.f << 1.f << "1,5" << true;
        QTest::newRow("transA transB") << 6 << 9 << 5 << true << true << 1.f << 1.f << "6,5" << false;
        QTest::newRow("alpha beta column C") << 5 << 8 << 4 << false << false << 0.5f << 2.f << "5,1" << true;
        QTest::newRow("scalar C") << 3 << 4 << 6 << false << true << 1.f << 0.25f << "1" << true;
        QTest::newRow("no C") << 3 << 4 << 6 << false << false << 2.f << 1.f << "" << true;
        QTest::newRow("big: panels and K blocks") << 70 << 300 << 40 << false << true << 1.f << 1.f << "40" << true;
        QTest::newRow("batch 1 GEMV") << 1 << 800 << 500 << false << true << 1.f << 1.f << "500" << true;
        QTest::newRow("K = 0: the bias alone") << 3 << 0 << 5 << false << true << 1.f << 1.f << "5" << true;
    }

    void gemm() {
        QFETCH(int, m);
        QFETCH(int, k);
        QFETCH(int, n);
        QFETCH(bool, transA);
        QFETCH(bool, transB);
        QFETCH(float, alpha);
        QFETCH(float, beta);
        QFETCH(QString, cShape);
        QFETCH(bool, constantB);
        const NDArray a = randomArray(transA ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k}, 6);
        const NDArray b = randomArray(transB ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n}, 7);
        const NDArray c = randomArray(parseShape(cShape), 8);
        GraphBuilder g;
        std::map<std::string, NDArray> feeds{{"a", a}};
        g.input("a");
        addOperand(g, feeds, "b", b, constantB);
        std::vector<std::string> inputs{"a", "b"};
        if (!cShape.isEmpty()) {
            g.constant("c", c);
            inputs.push_back("c");
        }
        g.node("Gemm", inputs, {"y"},
               {{"transA", intAttribute(transA)},
                {"transB", intAttribute(transB)},
                {"alpha", floatAttribute(alpha)},
                {"beta", floatAttribute(beta)}});
        g.output("y");
        const NDArray got = runGraph(g.graph(), feeds);
        const QString miss =
            mismatch(got, naiveGemm(a, b, cShape.isEmpty() ? nullptr : &c, transA, transB, alpha, beta));
        QVERIFY2(miss.isEmpty(), qPrintable(miss));
    }

    // The packed GEMM (AVX2 6x16 tiles, or pairs of them in AVX-512 registers where the CPU has it;
    // test_kernels_avx2_path runs this with LATHE_NO_AVX512) sums every element's products with FMAs in k order within
    // each 256-deep block and adds the blocks to C in order: the same bits as that scalar sum, for 13 rows (a partial
    // 6-row panel), 300 deep (two K blocks) and 100 columns (three panel pairs, then a single 4-column panel).
    void packedGemmBitsAreTheFmaSum() {
        if (!gemmUsesPackedKernel()) QSKIP("no AVX2: the Eigen path");
        const int64_t m = 13, k = 300, n = 100;
        const NDArray a = randomArray({m, k}, 61), b = randomArray({k, n}, 62), c0 = randomArray({m, n}, 63);
        const PackedMatrix packed(MatrixRef{b.data.data(), k, n, n, 1}, PackedMatrix::Side::Right);
        std::vector<float> c = values(c0);
        std::vector<float> scratch(
            size_t(gemmScratchSize(GemmOperand(MatrixRef{a.data.data(), m, k, k, 1}), GemmOperand(packed))));
        gemmAccumulate(GemmOperand(MatrixRef{a.data.data(), m, k, k, 1}), GemmOperand(packed), c.data(), n,
                       scratch.data());
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
                float want = c0.data[size_t(i * n + j)];
                for (int64_t block = 0; block < k; block += 256) {
                    float sum = 0.f;
                    for (int64_t p = block; p < std::min(k, block + 256); ++p)
                        sum = std::fma(a.data[size_t(i * k + p)], b.data[size_t(p * n + j)], sum);
                    want = sum + want;
                }
                const float got = c[size_t(i * n + j)];
                QVERIFY2(std::memcmp(&got, &want, sizeof got) == 0,
                         qPrintable(QString("C[%1][%2] = %3, the FMA sum is %4")
                                        .arg(i)
                                        .arg(j)
                                        .arg(got, 0, 'g', 9)
                                        .arg(want, 0, 'g', 9)));
            }
    }

    // The implicit-GEMM convolution (3x3, output width a multiple of 8: patch rows read straight from the padded
    // input, one or two 16-column tiles at a time) gives the bits of the scalar FMA sum over (channel, ky, kx) plus
    // the bias, for 13 filters over 16 channels (144-deep patches) on a 5x40 image.
    void implicitConvBitsAreTheFmaSum() {
        if (!gemmUsesPackedKernel()) QSKIP("no AVX2: the Eigen path");
        const int64_t cin = 16, cout = 13, h = 5, w = 40;
        const NDArray x = randomArray({1, cin, h, w}, 71), weight = randomArray({cout, cin, 3, 3}, 72),
                      bias = randomArray({cout}, 73);
        GraphBuilder g;
        g.input("x");
        g.constant("w", weight);
        g.constant("b", bias);
        g.node("Conv", {"x", "w", "b"}, {"y"}, {{"pads", intsAttribute({1, 1, 1, 1})}});
        g.output("y");
        const NDArray got = runGraph(g.graph(), {{"x", x}}, 1);
        QCOMPARE(got.shape, (std::vector<int64_t>{1, cout, h, w}));
        for (int64_t f = 0; f < cout; ++f)
            for (int64_t y = 0; y < h; ++y)
                for (int64_t xo = 0; xo < w; ++xo) {
                    float sum = 0.f;
                    for (int64_t c = 0; c < cin; ++c)
                        for (int64_t ky = 0; ky < 3; ++ky)
                            for (int64_t kx = 0; kx < 3; ++kx) {
                                const int64_t yi = y + ky - 1, xi = xo + kx - 1;
                                const float v = yi < 0 || yi >= h || xi < 0 || xi >= w
                                                    ? 0.f
                                                    : x.data[size_t((c * h + yi) * w + xi)];
                                sum = std::fma(weight.data[size_t(((f * cin + c) * 3 + ky) * 3 + kx)], v, sum);
                            }
                    const float want = sum + bias.data[size_t(f)];
                    const float value = got.data[size_t((f * h + y) * w + xo)];
                    QVERIFY2(std::memcmp(&value, &want, sizeof value) == 0,
                             qPrintable(QString("y[%1][%2][%3] = %4, the FMA sum is %5")
                                            .arg(f)
                                            .arg(y)
                                            .arg(xo)
                                            .arg(value, 0, 'g', 9)
                                            .arg(want, 0, 'g', 9)));
                }
    }

    void matMul_data() {
        QTest::addColumn<QString>("aShape");
        QTest::addColumn<QString>("bShape");
        QTest::addColumn<bool>("constantB");
        QTest::newRow("2-D") << "5,7"
                             << "7,4" << true;
        QTest::newRow("batched A, 2-D B") << "2,3,5,7"
                                          << "7,4" << true;
        QTest::newRow("batched both") << "3,5,7"
                                      << "3,7,4" << false;
        QTest::newRow("broadcast batches") << "2,1,5,7"
                                           << "3,7,4" << false;
        QTest::newRow("vector x matrix") << "7"
                                         << "7,4" << true;
        QTest::newRow("matrix x vector") << "5,7"
                                         << "7" << false;
        QTest::newRow("large") << "2,50,130"
                               << "130,90" << false;
    }

    void matMul() {
        QFETCH(QString, aShape);
        QFETCH(QString, bShape);
        QFETCH(bool, constantB);
        const NDArray a = randomArray(parseShape(aShape), 9), b = randomArray(parseShape(bShape), 10);
        GraphBuilder g;
        std::map<std::string, NDArray> feeds{{"a", a}};
        g.input("a");
        addOperand(g, feeds, "b", b, constantB);
        g.node("MatMul", {"a", "b"}, {"y"});
        g.output("y");
        const QString miss = mismatch(runGraph(g.graph(), feeds), naiveMatMul(a, b));
        QVERIFY2(miss.isEmpty(), qPrintable(miss));
    }

    void pool_data() {
        QTest::addColumn<QString>("op");
        QTest::addColumn<QString>(
            "params");  // kh, kw, sh, sw, padTop, padLeft, padBottom, padRight, dh, dw, ceil, incl
        QTest::newRow("max 2x2/2") << "MaxPool"
                                   << "2,2,2,2,0,0,0,0,1,1,0,0";
        QTest::newRow("max 3x3/2 pad 1") << "MaxPool"
                                         << "3,3,2,2,1,1,1,1,1,1,0,0";
        QTest::newRow("max dilation 2") << "MaxPool"
                                        << "2,2,1,1,0,0,0,0,2,2,0,0";
        QTest::newRow("max ceil mode") << "MaxPool"
                                       << "3,3,2,2,0,0,0,0,1,1,1,0";
        QTest::newRow("max asymmetric") << "MaxPool"
                                        << "3,2,1,2,1,0,0,1,1,1,0,0";
        QTest::newRow("avg 2x2/2") << "AveragePool"
                                   << "2,2,2,2,0,0,0,0,1,1,0,0";
        QTest::newRow("avg pads exclude") << "AveragePool"
                                          << "3,3,1,1,1,1,1,1,1,1,0,0";
        QTest::newRow("avg pads include") << "AveragePool"
                                          << "3,3,2,2,1,1,1,1,1,1,0,1";
        QTest::newRow("avg ceil mode") << "AveragePool"
                                       << "3,3,2,2,0,0,0,0,1,1,1,0";
    }

    void pool() {
        QFETCH(QString, op);
        QFETCH(QString, params);
        const QString miss = poolMismatch(op, params, randomArray({2, 3, 9, 10}, 11));
        QVERIFY2(miss.isEmpty(), qPrintable(miss));
    }

    // MaxPool 2x2/2 on rows long enough for whole 16-output vectors and a tail, odd sizes (the last row and column
    // unread), infinities and NaNs: the same values as the general passes.
    void maxPool2x2Rows() {
        NDArray x = randomArray({2, 3, 9, 71}, 14);
        x.data[5] = NAN;
        x.data[71 + 40] = NAN;
        x.data[300] = -INFINITY;
        x.data[301] = INFINITY;
        const Pool2dParams p{2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false, false};
        GraphBuilder g;
        g.input("x");
        g.node("MaxPool", {"x"}, {"y"}, poolAttributes(p, true));
        g.output("y");
        const NDArray got = runGraph(g.graph(), {{"x", x}});
        QCOMPARE(got.shape, (std::vector<int64_t>{2, 3, 4, 35}));
        // poolPlane's order: std::max(std::max(-inf, a), b) down, then across.
        auto maxOf = [](float a, float b) { return std::max(std::max(-INFINITY, a), b); };
        int64_t wrong = 0;
        for (int64_t plane = 0; plane < 6; ++plane)
            for (int64_t oh = 0; oh < 4; ++oh)
                for (int64_t ow = 0; ow < 35; ++ow) {
                    const float* r0 = x.data.data() + plane * 9 * 71 + 2 * oh * 71 + 2 * ow;
                    const float want = maxOf(maxOf(r0[0], r0[71]), maxOf(r0[1], r0[72]));
                    const float have = got.data[size_t((plane * 4 + oh) * 35 + ow)];
                    wrong += !(have == want || (std::isnan(have) && std::isnan(want)));
                }
        QCOMPARE(wrong, int64_t(0));
    }

    // Stride-2 max pools on rows wider than one 16-output vector: the windows inside the row run in 16 lanes, the
    // padded or cut ones at the ends one by one (3x3/2 with padding as ResNet's stem, 3x3/2 in ceil mode, 2x1/2).
    void maxPoolStride2WideRows_data() {
        QTest::addColumn<QString>("params");  // as pool_data
        QTest::newRow("3x3/2 pad 1") << "3,3,2,2,1,1,1,1,1,1,0,0";
        QTest::newRow("3x3/2 ceil") << "3,3,2,2,0,0,0,0,1,1,1,0";
        QTest::newRow("1x2/2") << "1,2,1,2,0,0,0,0,1,1,0,0";
    }
    void maxPoolStride2WideRows() {
        QFETCH(QString, params);
        const QString miss = poolMismatch("MaxPool", params, randomArray({2, 2, 7, 75}, 15));
        QVERIFY2(miss.isEmpty(), qPrintable(miss));
    }

    void globalPool_data() {
        QTest::addColumn<QString>("op");
        QTest::newRow("average") << "GlobalAveragePool";
        QTest::newRow("max") << "GlobalMaxPool";
    }

    void globalPool() {
        QFETCH(QString, op);
        const NDArray x = randomArray({3, 4, 5, 6}, 12);
        GraphBuilder g;
        g.input("x");
        g.node(op.toStdString(), {"x"}, {"y"});
        g.output("y");
        NDArray want({3, 4, 1, 1});
        for (int64_t p = 0; p < 12; ++p) {
            const auto first = x.data.begin() + p * 30, last = first + 30;
            want.data[size_t(p)] =
                op == "GlobalMaxPool" ? *std::max_element(first, last) : float(std::accumulate(first, last, 0.0) / 30);
        }
        const QString miss = mismatch(runGraph(g.graph(), {{"x", x}}), want);
        QVERIFY2(miss.isEmpty(), qPrintable(miss));
    }

    void softmax_data() {
        QTest::addColumn<QString>("op");
        QTest::addColumn<int>("opset");
        QTest::addColumn<int>("axis");
        QTest::newRow("last axis") << "Softmax" << 13 << -1;
        QTest::newRow("channel axis") << "Softmax" << 13 << 1;
        QTest::newRow("opset 11 coerced to 2-D at 1") << "Softmax" << 11 << 1;
        QTest::newRow("opset 11 coerced to 2-D at 2") << "Softmax" << 11 << 2;
        QTest::newRow("log, axis 0") << "LogSoftmax" << 13 << 0;
        QTest::newRow("log, opset 11") << "LogSoftmax" << 11 << 1;
    }

    void softmax() {
        QFETCH(QString, op);
        QFETCH(int, opset);
        QFETCH(int, axis);
        const NDArray x = randomArray({2, 3, 4, 5}, 13, -5.f, 5.f);
        GraphBuilder g(opset);
        g.input("x");
        g.node(op.toStdString(), {"x"}, {"y"}, {{"axis", intAttribute(axis)}});
        g.output("y");
        // Reference: normalise over the elements sharing every coordinate outside the reduced axes.
        const int64_t a = axis < 0 ? axis + 4 : axis;
        const int64_t outer = dimProduct(x.shape, 0, size_t(a));
        const int64_t length = opset < 13 ? dimProduct(x.shape, size_t(a), 4) : x.shape[size_t(a)];
        const int64_t inner = opset < 13 ? 1 : dimProduct(x.shape, size_t(a) + 1, 4);
        NDArray want(x.shape);
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t i = 0; i < inner; ++i) {
                double sum = 0;
                for (int64_t l = 0; l < length; ++l)
                    sum += std::exp(double(x.data[size_t((o * length + l) * inner + i)]));
                for (int64_t l = 0; l < length; ++l) {
                    const size_t index = size_t((o * length + l) * inner + i);
                    want.data[index] = op == "Softmax" ? float(std::exp(double(x.data[index])) / sum)
                                                       : float(double(x.data[index]) - std::log(sum));
                }
            }
        const QString miss = mismatch(runGraph(g.graph(), {{"x", x}}), want);
        QVERIFY2(miss.isEmpty(), qPrintable(miss));
    }

    void batchNorm_data() {
        QTest::addColumn<bool>("constantParameters");
        QTest::newRow("folded at compile time") << true;
        QTest::newRow("parameters at run time") << false;
    }

    void batchNorm() {
        QFETCH(bool, constantParameters);
        const NDArray x = randomArray({2, 5, 4, 3}, 14);
        const NDArray scale = randomArray({5}, 15), bias = randomArray({5}, 16), mean = randomArray({5}, 17);
        const NDArray var = randomArray({5}, 18, 0.1f, 2.f);
        GraphBuilder g;
        std::map<std::string, NDArray> feeds{{"x", x}};
        g.input("x");
        addOperand(g, feeds, "scale", scale, constantParameters);
        addOperand(g, feeds, "bias", bias, constantParameters);
        addOperand(g, feeds, "mean", mean, constantParameters);
        addOperand(g, feeds, "var", var, constantParameters);
        g.node("BatchNormalization", {"x", "scale", "bias", "mean", "var"}, {"y"},
               {{"epsilon", floatAttribute(1e-3f)}});
        g.output("y");
        NDArray want(x.shape);
        for (size_t i = 0; i < x.data.size(); ++i) {
            const size_t c = (i / 12) % 5;
            want.data[i] = scale.data[c] * (x.data[i] - mean.data[c]) / std::sqrt(var.data[c] + 1e-3f) + bias.data[c];
        }
        const QString miss = mismatch(runGraph(g.graph(), feeds), want);
        QVERIFY2(miss.isEmpty(), qPrintable(miss));
    }

    void binary_data() {
        QTest::addColumn<QString>("op");
        QTest::addColumn<QString>("aShape");
        QTest::addColumn<QString>("bShape");
        for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
            QTest::addRow("%s same shape", op) << op << "2,3,4"
                                               << "2,3,4";
            QTest::addRow("%s channel bias", op) << op << "2,3,4,5"
                                                 << "3,1,1";
            QTest::addRow("%s scalar right", op) << op << "4,5"
                                                 << "1";
            QTest::addRow("%s scalar left", op) << op << ""
                                                << "3,2";
            QTest::addRow("%s both broadcast", op) << op << "2,1,4"
                                                   << "1,3,1";
            QTest::addRow("%s column", op) << op << "4,1"
                                           << "3";
        }
        // Rows longer than the 16384-value pieces the team splits them into: several pieces and a shorter last one,
        // with both operands in step, one broadcast along the row, and rows of a broadcast outer axis.
        QTest::newRow("Add same shape, 3 pieces") << "Add"
                                                  << "3,7,1700"
                                                  << "3,7,1700";
        QTest::newRow("Mul scalar right, 2 pieces") << "Mul"
                                                    << "20000"
                                                    << "1";
        QTest::newRow("Sub rows of 2 pieces, broadcast outer axis") << "Sub"
                                                                    << "3,20000"
                                                                    << "1,20000";
        QTest::newRow("Add empty rows") << "Add"
                                        << "2,3,0"
                                        << "2,3,0";
    }

    void binary() {
        QFETCH(QString, op);
        QFETCH(QString, aShape);
        QFETCH(QString, bShape);
        const NDArray a = randomArray(parseShape(aShape), 19);
        const NDArray b = randomArray(parseShape(bShape), 20, 0.5f, 2.f);
        GraphBuilder g;
        g.input("a");
        g.input("b");
        g.node(op.toStdString(), {"a", "b"}, {"y"});
        g.output("y");
        const std::vector<int64_t> outShape = broadcastShape(a.shape, b.shape);
        NDArray want(outShape);
        for (int64_t i = 0; i < want.numel(); ++i) {
            const float x = a.data[size_t(broadcastIndex(i, outShape, a.shape))];
            const float y = b.data[size_t(broadcastIndex(i, outShape, b.shape))];
            want.data[size_t(i)] = op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : x / y;
        }
        const QString miss = mismatch(runGraph(g.graph(), {{"a", a}, {"b", b}}), want);
        QVERIFY2(miss.isEmpty(), qPrintable(miss));
    }

    // An in-place op whose input has another reader copies it first (KernelIo::outputFrom), in pieces over the team:
    // a tensor of several pieces and a shorter last one, read by two Relu-family ops.
    void inPlaceOpsCopyAnInputOthersRead() {
        const NDArray x = randomArray({3, 7, 1700}, 41);
        GraphBuilder g;
        g.input("x");
        g.node("Relu", {"x"}, {"r"});
        g.node("Neg", {"x"}, {"n"});
        g.node("Add", {"r", "n"}, {"y"});
        g.output("y");
        NDArray want(x.shape);
        for (size_t i = 0; i < x.data.size(); ++i) want.data[i] = std::max(x.data[i], 0.f) - x.data[i];
        const QString miss = mismatch(runGraph(g.graph(), {{"x", x}}, 2), want);
        QVERIFY2(miss.isEmpty(), qPrintable(miss));
    }

    void activations_data() {
        QTest::addColumn<QString>("op");
        QTest::addColumn<int>("opset");
        for (const char* op : {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish"})
            QTest::newRow(op) << op << 14;
        QTest::newRow("Clip attributes (opset 6)") << "Clip" << 6;
        QTest::newRow("Clip inputs (opset 13)") << "Clip" << 13;
    }

    void activations() {
        QFETCH(QString, op);
        QFETCH(int, opset);
        const NDArray x = randomArray({3, 50, 7}, 21, -6.f, 6.f);
        GraphBuilder g(opset);
        g.input("x");
        std::vector<std::string> inputs{"x"};
        std::map<std::string, Attribute> attributes;
        if (op == "LeakyRelu") attributes["alpha"] = floatAttribute(0.1f);
        if (op == "HardSigmoid") attributes = {{"alpha", floatAttribute(0.25f)}, {"beta", floatAttribute(0.4f)}};
        if (op == "Clip" && opset < 11) attributes = {{"min", floatAttribute(-1.5f)}, {"max", floatAttribute(2.f)}};
        if (op == "Clip" && opset >= 11) {
            g.constant("low", NDArray({}, {-1.5f}));
            g.constant("high", NDArray({}, {2.f}));
            inputs = {"x", "low", "high"};
        }
        g.node(op.toStdString(), inputs, {"y"}, attributes);
        g.output("y");
        NDArray want(x.shape);
        for (size_t i = 0; i < x.data.size(); ++i) {
            const double v = x.data[i];
            double r = 0;
            if (op == "Relu") r = std::max(v, 0.0);
            if (op == "LeakyRelu") r = v >= 0 ? v : 0.1 * v;
            if (op == "Sigmoid") r = 1 / (1 + std::exp(-v));
            if (op == "Tanh") r = std::tanh(v);
            if (op == "HardSigmoid") r = std::clamp(0.25 * v + 0.4, 0.0, 1.0);
            if (op == "HardSwish") r = v * std::clamp(v / 6 + 0.5, 0.0, 1.0);
            if (op == "Clip") r = std::clamp(v, -1.5, 2.0);
            want.data[i] = float(r);
        }
        const QString miss = mismatch(runGraph(g.graph(), {{"x", x}}), want, 1e-5f, 1e-5f);
        QVERIFY2(miss.isEmpty(), qPrintable(miss));
    }
};

QTEST_APPLESS_MAIN(TestKernels)
#include "test_kernels.moc"
