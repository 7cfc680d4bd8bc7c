// Deep Compression's storage count on hand-made tensors (fillers, codes, codebooks) and on the demo model.
#include <QtTest>

#include "core/compress/apply_recipe.h"
#include "core/export/deep_compression_size.h"
#include "core/model/onnx_reader.h"

using namespace lathe;

class TestDeepCompressionSize : public QObject {
    Q_OBJECT

    static CompressedModel oneLayer(const std::string& op, std::vector<float> w) {
        CompressedModel m;
        Tensor t;
        t.name = "w";
        t.shape = {int64_t(w.size())};
        t.data.assign(w.begin(), w.end());
        m.graph.initializers["w"] = t;
        LayerReport r;
        r.name = "layer";
        r.opType = op;
        r.weights = {"w"};
        m.layers.push_back(r);
        m.originalBytes = 4 * t.numel();
        return m;
    }

private slots:
    // Gemm: 5-bit relative indices, so a run of 32 zeros needs one filler; float codes are 32 bits.
    void countsFillersAndCodes() {
        std::vector<float> w(100, 0.f);
        w[0] = 1.f;   // gap 0
        w[40] = 2.f;  // gap 39: one filler (39 / 32)
        w[99] = 3.f;  // gap 58: one filler
        CompressedModel m = oneLayer("Gemm", w);
        DeepCompressionSize s = deepCompressionSize(m);
        QCOMPARE(s.entries, int64_t(5));
        QCOMPARE(s.fillers, int64_t(2));
        QCOMPARE(s.bits, int64_t(5 * (32 + 5)));
        // Conv: 8-bit indices, no filler for these gaps.
        s = deepCompressionSize(oneLayer("Conv", w));
        QCOMPARE(s.entries, int64_t(3));
        QCOMPARE(s.bits, int64_t(3 * (32 + 8)));
        // Shared at 4 bits: 4-bit codes + a 16-entry codebook of floats.
        m.codebooks["w"] = CodebookTensor{"w", {100}, 4, true, std::vector<float>(16, 0.5f), {}};
        s = deepCompressionSize(m);
        QCOMPARE(s.bits, int64_t(5 * (4 + 5) + 16 * 32));
        QCOMPARE(s.originalBits, int64_t(3200));
    }

    void denseWeightsHaveNoIndex() {
        const DeepCompressionSize s = deepCompressionSize(oneLayer("Gemm", std::vector<float>(10, 1.f)));
        QCOMPARE(s.bits, int64_t(320));
        QCOMPARE(s.ratio(), 1.0);
    }

    // The demo model pruned by Deep Compression's per-layer rates and shared at 8 (conv) / 5 (fc) bits.
    void demoModelDeepCompressionRecipe() {
        auto g = readOnnxModel(LATHE_DEMO_MODEL);
        QVERIFY(g);
        auto recipe = parseRecipe(R"({"layers": {
            "conv1": {"prune": {"sparsity": 0.34}, "quant": {"bits": 8, "rounding": "kmeans"}},
            "conv2": {"prune": {"sparsity": 0.88}, "quant": {"bits": 8, "rounding": "kmeans"}},
            "fc1": {"prune": {"sparsity": 0.92}, "quant": {"bits": 5, "rounding": "kmeans"}},
            "fc2": {"prune": {"sparsity": 0.81}, "quant": {"bits": 5, "rounding": "kmeans"}}}})");
        QVERIFY(recipe);
        auto m = applyRecipe(*g, *recipe);
        QVERIFY(m);
        const DeepCompressionSize s = deepCompressionSize(*m);
        qInfo("demo LeNet-5 at Deep Compression's rates: %lld bytes, %.1fx", static_cast<long long>(s.bytes()),
              s.ratio());
        QVERIFY(s.ratio() > 30.0);
        QVERIFY(s.ratio() < 60.0);
    }
};

QTEST_GUILESS_MAIN(TestDeepCompressionSize)
#include "test_deep_compression_size.moc"
