// The channel-dependency graph: groups found on hand-made graphs and on the fixtures (checked by hand), and pruned
// graphs that compute what the original computes once the removed channels' readers ignore them.
#include <QtTest>
#include <filesystem>

#include "compress_test_util.h"
#include "core/compress/prune/channel_groups.h"
#include "core/model/model_summary.h"
#include "core/model/onnx_reader.h"
#include "core/runtime/executor.h"

using namespace lathe;
using namespace lathe::testing;

namespace {

std::string fixture(const char* name) { return std::string(LATHE_FIXTURES_DIR) + "/" + name; }

QStringList names(const std::vector<std::string>& v) {
    QStringList out;
    for (const auto& s : v) out << QString::fromStdString(s);
    return out;
}

// Zeroes index `index` along `axis` of tensor t.
void zeroSlice(Tensor& t, int axis, int64_t index) {
    const int64_t inner = innerSize(t.shape, axis), dim = t.shape[size_t(axis)];
    for (size_t i = 0; i < t.data.size(); ++i)
        if ((int64_t(i) / inner) % dim == index) t.data[i] = 0.f;
}

// The original graph with every reader of the removed channels ignoring them: what the pruned graph must compute.
Graph zeroedReference(const Graph& original, const ChannelGroup& group, const std::vector<int64_t>& kept) {
    Graph g = original;
    for (int64_t c = 0; c < group.channels; ++c) {
        if (std::binary_search(kept.begin(), kept.end(), c)) continue;
        for (const auto& p : group.params[size_t(c)])
            if (p.role == ChannelParam::Role::Input)
                zeroSlice(g.initializers.at(group.tensors[size_t(p.tensor)]), p.axis, p.index);
    }
    return g;
}

std::vector<int64_t> everyOther(int64_t n) {
    std::vector<int64_t> v;
    for (int64_t c = 0; c < n; c += 2) v.push_back(c);
    return v;
}

// input → convA(8) → BN → Relu → dw(8) → Relu → convB(8) → Add(with the BN's Relu) → Concat(with convC(4) of the
// input) → GAP → Flatten → Gemm(5) → output.
Graph makeCoupled() {
    GraphBuilder b(21);
    const std::string x = b.input("input", {2, 3, 6, 6});
    std::string a = b.conv("convA", x, 8, 3, 1, 1);
    a = b.batchNorm("bn", a);
    a = b.unary("Relu", "relu1", a);
    std::string d = b.conv("dw", a, 8, 3, 8, 1);
    d = b.unary("Relu", "relu2", d);
    d = b.conv("convB", d, 8, 1);
    d = b.binary("Add", "add", d, a);
    const std::string c = b.conv("convC", x, 4, 3, 1, 1);
    std::string y = b.concat("cat", {d, c});
    y = b.globalAveragePool("pool", y);
    y = b.flatten("flatten", y);
    b.output(b.gemm("fc", y, 5));
    return b.graph;
}

const ChannelGroup* madeBy(const ChannelGroups& groups, const std::string& node) {
    const int g = groups.groupMadeBy(node);
    return g < 0 ? nullptr : &groups.groups[size_t(g)];
}

}  // namespace

class TestChannelGroups : public QObject {
    Q_OBJECT
private slots:
    void ranksChannelsByImportance() {
        Tensor w;
        w.shape = {4, 2};
        w.data = {1, -1, 0.5f, 0.5f, -2, 1, 2, 0};
        QCOMPARE(filterL1Norms(w), (std::vector<double>{2, 1, 3, 2}));
        QCOMPARE(strongestChannels(filterL1Norms(w), 2), (std::vector<int64_t>{0, 2}));  // tie 0/3: lower index
        QCOMPARE(strongestChannels(filterL1Norms(w), 3), (std::vector<int64_t>{0, 2, 3}));
    }

    void residualAddDepthwiseAndConcat() {
        const Graph g = makeCoupled();
        const ChannelGroups groups = findChannelGroups(g);
        // convA, the depthwise conv and convB make one group through BN, Relu, the depthwise conv and the Add.
        const ChannelGroup* main = madeBy(groups, "convA");
        QVERIFY(main);
        QCOMPARE(madeBy(groups, "dw"), main);
        QCOMPARE(madeBy(groups, "convB"), main);
        QCOMPARE(names(main->makers), (QStringList{"convA", "dw", "convB"}));
        QCOMPARE(names(main->layers), (QStringList{"convA", "dw", "convB", "bn", "fc"}));
        QCOMPARE(main->channels, int64_t(8));
        QCOMPARE(QString::fromStdString(main->blocker), QString());
        QCOMPARE(names(main->members), (QStringList{"convA_out", "bn_out", "relu1_out", "dw_out", "relu2_out",
                                                    "convB_out", "add_out", "cat_out", "pool_out", "flatten_out"}));
        // Channel 3: every weight entry that goes with it, by role.
        int filters = 0, biases = 0, norms = 0, scales = 0;
        QStringList inputs;
        for (const auto& p : main->params[3]) {
            QCOMPARE(p.index, int64_t(3));
            filters += p.role == ChannelParam::Role::Filter;
            biases += p.role == ChannelParam::Role::Bias;
            norms += p.role == ChannelParam::Role::Norm;
            scales += p.role == ChannelParam::Role::NormScale;
            if (p.role == ChannelParam::Role::Input)
                inputs << QString("%1/%2").arg(QString::fromStdString(main->tensors[size_t(p.tensor)])).arg(p.axis);
        }
        QCOMPARE(filters, 3);  // convA, dw, convB weights
        QCOMPARE(biases, 3);
        QCOMPARE(scales, 1);
        QCOMPARE(norms, 3);  // B, mean, var
        // convB's input column (it reads the depthwise output) and fc's column 3 (transB: [out, in]; pool → flatten
        // keeps one feature per channel).
        QCOMPARE(inputs, (QStringList{"convB.weight/1", "fc.weight/1"}));

        // convC's 4 channels are the concat's 8..11 and fc's columns 8..11.
        const ChannelGroup* side = madeBy(groups, "convC");
        QVERIFY(side && side != main);
        QCOMPARE(side->channels, int64_t(4));
        QCOMPARE(names(side->layers), (QStringList{"convC", "fc"}));
        for (const auto& p : side->params[1])
            if (p.role == ChannelParam::Role::Input) QCOMPARE(p.index, int64_t(9));
        for (const auto& e : side->elements[1])
            if (side->members[size_t(e.member)] == "cat_out") QCOMPARE(e.index, int64_t(9));
        // fc's outputs reach the graph output; the input is the graph's.
        const ChannelGroup* out = madeBy(groups, "fc");
        QVERIFY(out);
        QVERIFY2(out->blocker.find("graph output") != std::string::npos, out->blocker.c_str());
        QCOMPARE(groups.depthwise, (std::vector<std::string>{"dw"}));
    }

    void prunedGraphComputesTheSameFunction() {
        const Graph original = makeCoupled();
        Graph g = original;
        const ChannelGroups groups = findChannelGroups(g);
        const int main = groups.groupMadeBy("convA"), side = groups.groupMadeBy("convC");
        const std::vector<int64_t> keptMain = {1, 2, 5, 6, 7}, keptSide = {0, 3};
        auto r = pruneChannelGroups(g, groups, {{main, keptMain}, {side, keptSide}});
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QCOMPARE(r->removedChannels, int64_t(3 + 2));
        QCOMPARE(g.initializers.at("convA.weight").shape, (std::vector<int64_t>{5, 3, 3, 3}));
        QCOMPARE(g.initializers.at("dw.weight").shape, (std::vector<int64_t>{5, 1, 3, 3}));
        QCOMPARE(g.nodes[size_t(g.nodeIndex("dw"))].attrInt("group", 0), int64_t(5));
        // convB reads the depthwise output, which is in its own group: it loses input and output channels alike.
        QCOMPARE(g.initializers.at("convB.weight").shape, (std::vector<int64_t>{5, 5, 1, 1}));
        QCOMPARE(g.initializers.at("bn.running_var").shape, (std::vector<int64_t>{5}));
        QCOMPARE(g.initializers.at("convC.weight").shape, (std::vector<int64_t>{2, 3, 3, 3}));
        QCOMPARE(g.initializers.at("fc.weight").shape, (std::vector<int64_t>{5, 7}));
        QCOMPARE(g.value("cat_out")->shape, (std::vector<int64_t>{2, 7, 6, 6}));

        Graph reference = zeroedReference(original, groups.groups[size_t(main)], keptMain);
        reference = zeroedReference(reference, groups.groups[size_t(side)], keptSide);
        const auto inputs = std::map<std::string, Array>{{"input", randomInput({2, 3, 6, 6})}};
        auto env = evaluate(g, inputs);
        QCOMPARE(QString::fromStdString(checkShapes(g, env)), QString());
        const Array expected = evaluate(reference, inputs).at("fc_out");
        QVERIFY2(maxAbsDiff(env.at("fc_out"), expected) < 1e-5f * std::max(1.f, maxAbs(expected)),
                 qPrintable(QString::number(maxAbsDiff(env.at("fc_out"), expected))));
    }

    void importanceSumsTheGroup() {
        const Graph g = makeCoupled();
        const ChannelGroups groups = findChannelGroups(g);
        const ChannelGroup& main = groups.groups[size_t(groups.groupMadeBy("convA"))];
        const auto l1 = channelImportance(g, main, ChannelImportance::L1);
        QCOMPARE(l1.size(), size_t(8));
        double expected = 0;
        for (const char* w : {"convA.weight", "dw.weight", "convB.weight"}) {
            const Tensor& t = g.initializers.at(w);
            const int64_t inner = t.numel() / t.shape[0];
            for (int64_t i = 0; i < inner; ++i) expected += std::fabs(t.data[size_t(2 * inner + i)]);
        }
        QVERIFY(std::fabs(l1[2] - expected) < 1e-9 * expected);
        const auto bn = channelImportance(g, main, ChannelImportance::BnScale);
        QCOMPARE(bn[4], std::fabs(double(g.initializers.at("bn.weight").data[4])));
        // A group without normalization falls back to L1.
        const ChannelGroup& side = groups.groups[size_t(groups.groupMadeBy("convC"))];
        QCOMPARE(channelImportance(g, side, ChannelImportance::BnScale), channelImportance(g, side, ChannelImportance::L1));
    }

    void lenetGroupsFollowFlattenIntoGemm() {
        const Graph original = makeLeNet(7, 2);
        const ChannelGroups groups = findChannelGroups(original);
        const ChannelGroup* conv2 = madeBy(groups, "conv2");
        QVERIFY(conv2);
        QCOMPARE(names(conv2->layers), (QStringList{"conv2", "fc1"}));
        QCOMPARE(conv2->channels, int64_t(50));
        // Each conv2 channel is 16 fc1 columns (4×4 after pool2).
        int columns = 0;
        for (const auto& p : conv2->params[7])
            if (p.role == ChannelParam::Role::Input) {
                QVERIFY(p.index >= 7 * 16 && p.index < 8 * 16);
                ++columns;
            }
        QCOMPARE(columns, 16);
        const ChannelGroup* fc1 = madeBy(groups, "fc1");
        QVERIFY(fc1 && fc1->blocker.empty());
        QCOMPARE(names(fc1->layers), (QStringList{"fc1", "fc2"}));

        Graph g = original;
        auto r = pruneChannelGroups(g, groups,
                                    {{groups.groupMadeBy("conv1"), everyOther(20)},
                                     {groups.groupMadeBy("conv2"), everyOther(50)},
                                     {groups.groupMadeBy("fc1"), everyOther(500)}});
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QCOMPARE(g.initializers.at("conv2.weight").shape, (std::vector<int64_t>{25, 10, 5, 5}));
        QCOMPARE(g.initializers.at("fc1.weight").shape, (std::vector<int64_t>{250, 400}));
        QCOMPARE(g.initializers.at("fc2.weight").shape, (std::vector<int64_t>{10, 250}));
        Graph reference = original;
        for (const char* layer : {"conv1", "conv2", "fc1"})
            reference = zeroedReference(reference, groups.groups[size_t(groups.groupMadeBy(layer))],
                                        everyOther(groups.groups[size_t(groups.groupMadeBy(layer))].channels));
        const auto inputs = std::map<std::string, Array>{{"input", randomInput({2, 1, 28, 28})}};
        auto env = evaluate(g, inputs);
        QCOMPARE(QString::fromStdString(checkShapes(g, env)), QString());
        const Array expected = evaluate(reference, inputs).at(g.outputs[0]);
        QVERIFY(maxAbsDiff(env.at(g.outputs[0]), expected) < 1e-5f * std::max(1.f, maxAbs(expected)));
    }

    // The saving shown while a slider moves is what cutting the graph and counting again gives.
    void savingMatchesTheCutGraph() {
        for (const char* layer : {"conv2", "fc1", "conv1"}) {
            const Graph original = makeLeNet(7, 1);
            const ChannelGroups groups = findChannelGroups(original);
            const int gi = groups.groupMadeBy(layer);
            const ChannelGroup& group = groups.groups[size_t(gi)];
            const int64_t keep = group.channels * 2 / 5;
            const ChannelSaving saving = channelSaving(original, group, group.channels - keep);
            Graph cut = original;
            QVERIFY(pruneChannelGroups(cut, groups, {{gi, strongestChannels(channelImportance(original, group,
                                                                                               ChannelImportance::L1),
                                                                             keep)}})
                        .ok());
            const ModelSummary before = summarizeModel(original), after = summarizeModel(cut);
            QCOMPARE(saving.macs, before.totalMacs - after.totalMacs);
            QCOMPARE(saving.params, before.totalParams - after.totalParams);
            QVERIFY(saving.macs > 0);
        }
        // conv2 by hand: 25 of 50 channels halve conv2 (50·8·8·20·25 MACs) and fc1 (500·800).
        const Graph g = makeLeNet(7, 1);
        const ChannelGroups groups = findChannelGroups(g);
        const ChannelSaving conv2 = channelSaving(g, groups.groups[size_t(groups.groupMadeBy("conv2"))], 25);
        QCOMPARE(conv2.macs, int64_t(800000 + 200000));
        QCOMPARE(conv2.params, int64_t(12500 + 25 + 200000));
    }

    void refusesWhatItCannotFollow() {
        const Graph g = makeCoupled();
        const ChannelGroups groups = findChannelGroups(g);
        Graph copy = g;
        const int out = groups.groupMadeBy("fc");
        auto r = pruneChannelGroups(copy, groups, {{out, {0, 1}}});
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("graph output") != std::string::npos, r.error().message.c_str());
        QVERIFY(!pruneChannelGroups(copy, groups, {{groups.groupMadeBy("convA"), {}}}).ok());
        QVERIFY(!pruneChannelGroups(copy, groups, {{groups.groupMadeBy("convA"), {3, 2}}}).ok());
        QVERIFY(!pruneChannelGroups(copy, groups, {{groups.groupMadeBy("convA"), {8}}}).ok());
        QCOMPARE(copy.initializers.at("convA.weight").shape, g.initializers.at("convA.weight").shape);

        // A Softmax (no channel rule) blocks the group it touches, naming the node.
        GraphBuilder b;
        std::string x = b.input("x", {1, 3, 5, 5});
        x = b.conv("conv", x, 6, 3);
        x = b.unary("Softmax", "soft", x);
        x = b.conv("conv2", x, 4, 1);
        b.output(x);
        const ChannelGroups blocked = findChannelGroups(b.graph);
        const ChannelGroup* conv = madeBy(blocked, "conv");
        QVERIFY(conv);
        QVERIFY2(conv->blocker.find("Softmax node 'soft'") != std::string::npos, conv->blocker.c_str());
    }

    void fixturesCheckedByHand() {
        // residual.onnx: conv2's channels are added to the graph input: that group is blocked; conv1's is free.
        auto residual = readOnnxModel(fixture("residual.onnx"));
        QVERIFY2(residual.ok(), residual.ok() ? "" : residual.error().message.c_str());
        ChannelGroups groups = findChannelGroups(*residual);
        const ChannelGroup* conv2 = madeBy(groups, "/conv2/Conv");
        QVERIFY(conv2);
        QVERIFY2(conv2->blocker.find("graph input 'input'") != std::string::npos, conv2->blocker.c_str());
        const ChannelGroup* conv1 = madeBy(groups, "/conv1/Conv");
        QVERIFY(conv1 && conv1->blocker.empty());
        QCOMPARE(names(conv1->layers), (QStringList{"/conv1/Conv", "/conv2/Conv"}));

        // depthwise.onnx: the depthwise conv reads the graph input, so its channels cannot go; pw reaches the output.
        auto depthwise = readOnnxModel(fixture("depthwise.onnx"));
        QVERIFY(depthwise.ok());
        groups = findChannelGroups(*depthwise);
        const ChannelGroup* dw = madeBy(groups, "/dw/Conv");
        QVERIFY(dw && !dw->blocker.empty());
        QCOMPARE(names(dw->layers), (QStringList{"/dw/Conv", "/pw/Conv"}));
        QVERIFY(!madeBy(groups, "/pw/Conv")->blocker.empty());

        // bn_conv.onnx: Conv → BN → Relu → GAP → Flatten → Gemm is one prunable group; run it in the executor.
        auto bn = readOnnxModel(fixture("bn_conv.onnx"));
        QVERIFY(bn.ok());
        groups = findChannelGroups(*bn);
        const int conv = groups.groupMadeBy("/conv/Conv");
        QVERIFY(conv >= 0 && groups.groups[size_t(conv)].blocker.empty());
        QCOMPARE(names(groups.groups[size_t(conv)].layers),
                 (QStringList{"/conv/Conv", "/bn/BatchNormalization", "/fc/Gemm"}));
        Graph pruned = *bn;
        const std::vector<int64_t> kept = {0, 2, 3, 7};
        QVERIFY(pruneChannelGroups(pruned, groups, {{conv, kept}}).ok());
        const Graph reference = zeroedReference(*bn, groups.groups[size_t(conv)], kept);
        auto a = Executor::compile(pruned);
        auto b = Executor::compile(reference);
        QVERIFY2(a.ok(), a.ok() ? "" : a.error().message.c_str());
        QVERIFY(b.ok());
        const Array x = randomInput({1, 3, 16, 16});
        const std::map<std::string, NDArray> in = {{"input", NDArray(x.shape, x.data)}};
        auto ya = a->run(in);
        auto yb = b->run(in);
        QVERIFY(ya.ok() && yb.ok());
        float diff = 0;
        for (size_t i = 0; i < ya->at("output").data.size(); ++i)
            diff = std::max(diff, std::fabs(ya->at("output").data[i] - yb->at("output").data[i]));
        QVERIFY2(diff < 1e-5f, qPrintable(QString::number(diff)));

        // tf_nhwc.onnx: Conv → Relu → Transpose(NHWC) → Reshape → MatMul: the channel is the innermost feature.
        auto nhwc = readOnnxModel(fixture("tf_nhwc.onnx"));
        QVERIFY(nhwc.ok());
        groups = findChannelGroups(*nhwc);
        const ChannelGroup* tconv = madeBy(groups, "StatefulPartitionedCall/model/conv2d/Conv2D");
        QVERIFY(tconv);
        QVERIFY2(tconv->blocker.empty(), tconv->blocker.c_str());
        const int64_t channels = tconv->channels;
        std::vector<int64_t> features;
        for (const auto& p : tconv->params[1])
            if (p.role == ChannelParam::Role::Input) features.push_back(p.index);
        QVERIFY(features.size() > 1);
        for (int64_t f : features) QCOMPARE(f % channels, int64_t(1));
    }
};

QTEST_APPLESS_MAIN(TestChannelGroups)
#include "test_channel_groups.moc"
