// BatchNormalization folded into the Conv/Gemm before it: the folded graph computes what the original computes (run
// by the executor on random inputs), the cases that cannot fold stay as they were, and applyRecipe folds only for
// static activation quantization.
#include <QtTest>

#include <algorithm>
#include <cmath>

#include "compress_test_util.h"
#include "core/compress/apply_recipe.h"
#include "core/compress/quantize/fold_batch_norm.h"
#include "core/runtime/executor.h"

using namespace lathe;
using namespace lathe::testing;

namespace {

// x [2,3,8,8] → conv1 (bias) → bn1 → Relu → conv2 (no bias) → bn2 → Flatten → fc1 (transB, alpha 0.5, beta 2)
// → bn3 → fc2 (no transB) → bn4; and conv3 whose output bn5 normalises but an Add also reads (cannot fold).
Graph makeNet() {
    GraphBuilder b(11);
    const auto x = b.input("x", {2, 3, 8, 8});
    auto h = b.batchNorm("bn1", b.conv("conv1", x, 6, 3, 1, 1));
    h = b.unary("Relu", "relu1", h);
    h = b.batchNorm("bn2", b.conv("conv2", h, 5, 3, 1, 0, false));
    const auto c3 = b.conv("conv3", x, 5, 3, 1, 0);
    h = b.binary("Add", "add", h, b.binary("Add", "add3", b.batchNorm("bn5", c3), c3));
    h = b.flatten("flatten", h);
    const auto fc1 = b.gemm("fc1", h, 7);
    Node& gemm = b.graph.nodes.back();
    gemm.attributes["alpha"] = floatAttribute(0.5f);
    gemm.attributes["beta"] = floatAttribute(2.f);
    h = b.batchNorm("bn3", fc1);
    h = b.batchNorm("bn4", b.gemm("fc2", h, 4, false));
    b.output(h);
    return b.graph;
}

NDArray run(const Graph& g) {
    auto executor = Executor::compile(g);
    if (!executor) qFatal("%s", executor.error().message.c_str());
    const Array in = randomInput({2, 3, 8, 8}, 5);
    NDArray x(in.shape);
    x.data.assign(in.data.begin(), in.data.end());
    auto out = executor->run({{"x", x}}, {g.outputs[0]});
    if (!out) qFatal("%s", out.error().message.c_str());
    return out->at(g.outputs[0]);
}

int countOps(const Graph& g, const std::string& op) {
    return int(std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.opType == op; }));
}

}  // namespace

class TestFoldBatchNorm : public QObject {
    Q_OBJECT
private slots:
    void foldedGraphComputesTheSame() {
        const Graph original = makeNet();
        Graph folded = original;
        const auto report = foldBatchNorms(folded);
        QCOMPARE(report.size(), size_t(4));
        QCOMPARE(report[0].batchNorm, std::string("bn1"));
        QCOMPARE(report[0].layer, std::string("conv1"));
        QCOMPARE(countOps(folded, "BatchNormalization"), 1);  // bn5: conv3's output has a second reader
        QVERIFY(folded.nodeIndex("bn5") >= 0);
        QVERIFY(!folded.initializers.count("bn1.running_mean"));  // parameters no node reads are gone
        const Node& conv2 = folded.nodes[size_t(folded.nodeIndex("conv2"))];
        QCOMPARE(conv2.inputs.size(), size_t(3));  // a bias made for it
        QCOMPARE(conv2.outputs[0], std::string("bn2_out"));
        const Node& fc1 = folded.nodes[size_t(folded.nodeIndex("fc1"))];
        QVERIFY(!fc1.attribute("alpha") && !fc1.attribute("beta"));

        const NDArray want = run(original), got = run(folded);
        QCOMPARE(got.shape, want.shape);
        double worst = 0;
        for (size_t i = 0; i < want.data.size(); ++i)
            worst = std::max(worst, std::fabs(double(got.data[i]) - want.data[i]) / (1.0 + std::fabs(want.data[i])));
        QVERIFY2(worst < 1e-5, qPrintable(QString::number(worst)));
        double spread = 0;
        for (float v : want.data) spread = std::max(spread, double(std::fabs(v)));
        QVERIFY(spread > 0.1);  // not a degenerate all-zero output
    }

    void sharedWeightIsNotFolded() {
        Graph g = makeNet();
        // conv1's weight also read by another node: folding would change that node too.
        Node extra = GraphBuilder::node("conv1b", "Conv", {"x", "conv1.weight"});
        extra.attributes = g.nodes[size_t(g.nodeIndex("conv1"))].attributes;
        g.nodes.push_back(extra);
        g.outputs.push_back("conv1b_out");
        const auto report = foldBatchNorms(g);
        QVERIFY(std::none_of(report.begin(), report.end(), [](const auto& f) { return f.batchNorm == "bn1"; }));
        QVERIFY(g.nodeIndex("bn1") >= 0);
    }

    void applyRecipeFoldsForStaticActivations() {
        const Graph g = makeNet();
        auto weightsOnly = parseRecipe(R"({"defaults": {"quant": {"bits": 8}}})");
        QVERIFY(weightsOnly.ok());
        auto kept = applyRecipe(g, *weightsOnly);
        QVERIFY(kept.ok());
        QCOMPARE(countOps(kept->graph, "BatchNormalization"), 5);

        auto staticInt8 = parseRecipe(
            R"({"defaults": {"quant": {"bits": 8, "granularity": "per_channel"}}, "activations": {"mode": "static"}})");
        QVERIFY2(staticInt8.ok(), staticInt8.ok() ? "" : staticInt8.error().message.c_str());
        auto folded = applyRecipe(g, *staticInt8);
        QVERIFY2(folded.ok(), folded.ok() ? "" : folded.error().message.c_str());
        QCOMPARE(countOps(folded->graph, "BatchNormalization"), 1);
        const auto conv1 = std::find_if(folded->layers.begin(), folded->layers.end(),
                                        [](const LayerReport& r) { return r.name == "conv1"; });
        QVERIFY(conv1 != folded->layers.end());
        QVERIFY(std::any_of(conv1->notes.begin(), conv1->notes.end(),
                            [](const std::string& n) { return n.find("'bn1' folded") != std::string::npos; }));
        // The weights quantized are the folded ones: 8-bit per channel keeps the folded layer close.
        QVERIFY2(conv1->relError < 0.01, qPrintable(QString::number(conv1->relError)));
    }
};

QTEST_GUILESS_MAIN(TestFoldBatchNorm)
#include "test_fold_batch_norm.moc"
