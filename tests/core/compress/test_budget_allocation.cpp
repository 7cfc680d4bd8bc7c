// Allocation under a budget: the knapsack on hand-made curves (known optimum), budgets as text, and on real
// Fashion-MNIST curves of the demo model, mixed precision at the bits of uniform 4-bit measured against uniform 4-bit.
#include <QtTest>
#include <nlohmann/json.hpp>

#include "core/compress/apply_recipe.h"
#include "core/compress/budget_allocation.h"
#include "core/compress/compressible_layer.h"
#include "core/compress/sensitivity_scan.h"
#include "core/eval/dataset.h"
#include "core/eval/incremental_evaluator.h"
#include "core/model/onnx_reader.h"

using namespace lathe;

namespace {
template <class T>
const char* messageOf(const Result<T>& r) {
    return r.ok() ? "" : r.error().message.c_str();
}

// Curves of every layer of `graph`: bits 8..2 cost nothing down to 4 bits, then `cliff` points per bit below; the
// layer named `fragile` loses 10 points per bit below 8 instead.
SensitivityResult handMade(const Graph& graph, const std::string& fragile, double cliff) {
    SensitivityResult r;
    r.baselineTop1 = 90;
    for (const LayerWeight& l : compressibleLayers(graph)) {
        LayerSensitivity s;
        s.name = l.nodeName;
        for (int b = 8; b >= 2; --b) {
            const double drop = l.nodeName == fragile ? 10.0 * (8 - b) : b >= 4 ? 0.0 : cliff * (4 - b);
            s.bits.emplace_back(b, r.baselineTop1 - drop);
        }
        r.layers.push_back(s);
    }
    return r;
}
}  // namespace

class TestBudgetAllocation : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        auto graph = readOnnxModel(LATHE_DEMO_MODEL);
        QVERIFY2(graph.ok(), messageOf(graph));
        m_lenet = std::move(*graph);
    }

    // The fragile layer keeps 8 bits; the rest is paid for by the others going lower, and the plan fits the budget.
    void knapsackProtectsTheFragileLayer() {
        const std::vector<LayerWeight> layers = compressibleLayers(m_lenet);
        const std::string fragile = layers.front().nodeName;  // conv1: 500 weights, cheap to keep at 8 bits
        const SensitivityResult curves = handMade(m_lenet, fragile, 3.0);
        AllocationOptions options;
        options.target = BudgetTarget::Bits;
        options.budget = 4.0 * double(compressibleWeights(m_lenet));
        auto a = allocateBudget(m_lenet, curves, options);
        QVERIFY2(a.ok(), messageOf(a));
        const AllocationPlan& best = a->candidates.front();
        QVERIFY(best.cost <= options.budget);
        QCOMPARE(best.layers.front().name, fragile);
        QVERIFY(best.layers.front().bits >= 8);  // 8 bits, or float when the budget allows it at the same drop
        // The others: 4 bits costs nothing, and the budget leaves room for the 150 weights at 8 bits only if some
        // other layer goes below 4 bits (costing 3 points): the optimum takes that from the layer with the fewest
        // weights that still covers 2,000 bits.
        double drop = 0;
        for (const LayerChoice& c : best.layers) drop += c.predictedDrop;
        QCOMPARE(best.predictedTop1, 90.0 - drop);
        QVERIFY2(drop <= 3.0 + 1e-9, qPrintable(QString("predicted drop %1").arg(drop)));
        // Uniform 4-bit would lose 40 points on the fragile layer alone.
        QVERIFY(best.predictedTop1 > 90.0 - 40.0);

        // Pareto front: cost and accuracy both rise.
        QVERIFY(a->pareto.size() >= 3);
        for (size_t i = 1; i < a->pareto.size(); ++i) {
            QVERIFY(a->pareto[i].cost >= a->pareto[i - 1].cost);
            QVERIFY(a->pareto[i].predictedTop1 > a->pareto[i - 1].predictedTop1);  // no loss curves: top-1 ranks
        }
        QCOMPARE(a->pareto.back().predictedTop1, 90.0);

        // The recipe says what the plan says.
        const Recipe recipe = best.recipe();
        const LayerChoice& other = best.layers.back();
        if (other.bits < 32) {
            QCOMPARE(recipe.layers.at(other.name).quant->bits.value(), other.bits);
            QVERIFY(recipe.layers.at(other.name).quant->granularity.value() == Granularity::PerChannel);
        }
    }

    void budgetBelowReachIsRefused() {
        const SensitivityResult curves = handMade(m_lenet, "", 1.0);
        AllocationOptions options;
        options.budget = 1.5 * double(compressibleWeights(m_lenet));
        auto a = allocateBudget(m_lenet, curves, options);
        QVERIFY(!a.ok());
        QVERIFY(a.error().message.find("below the least") != std::string::npos);
    }

    void budgetText() {
        const int64_t weights = compressibleWeights(m_lenet);
        QCOMPARE(weights, int64_t(20 * 25 + 50 * 20 * 25 + 500 * 800 + 10 * 500));
        QCOMPARE(*parseBudget("4bit", BudgetTarget::Bits, 32.0 * weights, weights), 4.0 * weights);
        QCOMPARE(*parseBudget("50%", BudgetTarget::Macs, 1000, weights), 500.0);
        QCOMPARE(*parseBudget("1234", BudgetTarget::Bytes, 1e6, weights), 1234.0);
        QVERIFY(!parseBudget("4bit", BudgetTarget::Bytes, 1e6, weights).ok());
        QVERIFY(!parseBudget("-3", BudgetTarget::Bytes, 1e6, weights).ok());
        QVERIFY(!parseBudget("lots", BudgetTarget::Bytes, 1e6, weights).ok());
        QCOMPARE(modelCost(m_lenet, BudgetTarget::Bits), 32.0 * weights);
        QCOMPARE(modelCost(m_lenet, BudgetTarget::Nonzeros), double(weights));
    }

    // Real curves on 1,000 seeded Fashion-MNIST test images: mixed precision at the weight bits of uniform 4-bit is
    // at least as accurate as uniform 4-bit on the same subset, and 50 % of the weights pruned by the allocation
    // stays within a point of float.
    void realCurvesOnTheDemoModel() {
        auto data = openDataset({DatasetKind::Idx, "/usr/share/datasets/fashion-mnist", ""}, {});
        if (!data.ok()) QSKIP("needs /usr/share/datasets/fashion-mnist");
        IncrementalEvalOptions eo;
        eo.limit = 1000;
        auto evaluator = IncrementalEvaluator::create(m_lenet, *data, eo);
        QVERIFY2(evaluator.ok(), messageOf(evaluator));
        SensitivityOptions so;
        so.rankFractions = {};
        auto scan = scanSensitivity(m_lenet, **evaluator, so);
        QVERIFY2(scan.ok(), messageOf(scan));

        AllocationOptions bits;
        bits.target = BudgetTarget::Bits;
        bits.budget = 4.0 * double(compressibleWeights(m_lenet));
        auto mixed = allocateBudget(m_lenet, *scan, bits);
        QVERIFY2(mixed.ok(), messageOf(mixed));
        QVERIFY(measureCandidates(m_lenet, *mixed, **evaluator).ok());
        Recipe uniform;
        uniform.defaults.quant = QuantEntry{};
        uniform.defaults.quant->bits = 4;
        uniform.defaults.quant->granularity = Granularity::PerChannel;
        auto u = applyRecipe(m_lenet, uniform);
        QVERIFY(u.ok());
        auto uniformTop1 = (*evaluator)->evaluate(u->graph);
        QVERIFY(uniformTop1.ok());
        const AllocationPlan& best = mixed->candidates.front();
        qInfo("float %.2f, uniform 4-bit %.2f, mixed %.2f (predicted %.2f) at %.0f of %.0f bits",
              (*evaluator)->baseline().top1, uniformTop1->top1, *best.measuredTop1, best.predictedTop1, best.cost,
              bits.budget);
        QVERIFY(best.cost <= bits.budget);
        QVERIFY(*best.measuredTop1 >= uniformTop1->top1);

        AllocationOptions sparse;
        sparse.target = BudgetTarget::Nonzeros;
        sparse.budget = 0.5 * double(compressibleWeights(m_lenet));
        auto pruned = allocateBudget(m_lenet, *scan, sparse);
        QVERIFY2(pruned.ok(), messageOf(pruned));
        QVERIFY(measureCandidates(m_lenet, *pruned, **evaluator).ok());
        qInfo("50%% of the weights pruned: %.2f (float %.2f)", *pruned->candidates.front().measuredTop1,
              (*evaluator)->baseline().top1);
        QVERIFY(pruned->candidates.front().cost <= sparse.budget);
        QVERIFY(*pruned->candidates.front().measuredTop1 >= (*evaluator)->baseline().top1 - 1.0);
        QVERIFY(!pruned->candidates.front().recipe().layerPruneCorrection);

        // Refit plans ask for prune_correction in their recipe and are measured with it: the same masks, so at least
        // as accurate on the subset as the plain cut here; a plan that does not prune asks for nothing.
        sparse.refitPruned = true;
        auto refit = allocateBudget(m_lenet, *scan, sparse);
        QVERIFY2(refit.ok(), messageOf(refit));
        QVERIFY(refit->candidates.front().recipe().layerPruneCorrection == PruneCorrection::LeastSquares);
        auto train = openDataset({DatasetKind::Idx, "/usr/share/datasets/fashion-mnist", ""}, {Split::Train, {}});
        QVERIFY(train.ok());
        ApplyOptions apply;
        apply.calibration = *train;
        QVERIFY(measureCandidates(m_lenet, *refit, **evaluator, {}, apply).ok());
        qInfo("50%% pruned and refit: %.2f", *refit->candidates.front().measuredTop1);
        QVERIFY(*refit->candidates.front().measuredTop1 >= *pruned->candidates.front().measuredTop1);
        AllocationOptions bitsRefit = bits;
        bitsRefit.refitPruned = true;
        auto quantOnly = allocateBudget(m_lenet, *scan, bitsRefit);
        QVERIFY2(quantOnly.ok(), messageOf(quantOnly));
        QVERIFY(quantOnly->candidates.front().refitPruned);
        QVERIFY(!quantOnly->candidates.front().recipe().layerPruneCorrection);
    }

    // The latency target: the scan times every layer at every scanned rank in the executor (batch 1), the profile
    // survives the scan's JSON, and the allocation spends the budget on ranks only, its cost adding up the profile.
    void latencyTarget() {
        auto data = openDataset({DatasetKind::Idx, "/usr/share/datasets/fashion-mnist", ""}, {});
        if (!data.ok()) QSKIP("needs /usr/share/datasets/fashion-mnist");
        IncrementalEvalOptions eo;
        eo.limit = 200;
        auto evaluator = IncrementalEvaluator::create(m_lenet, *data, eo);
        QVERIFY2(evaluator.ok(), messageOf(evaluator));
        SensitivityOptions so;
        so.sparsities = {};
        so.bits = {};
        so.latency.runs = 5;
        auto scan = scanSensitivity(m_lenet, **evaluator, so);
        QVERIFY2(scan.ok(), messageOf(scan));
        QVERIFY2(scan->latency.has_value(), scan->latencyNote.c_str());
        const LatencyProfile& p = *scan->latency;
        QCOMPARE(p.layers.size(), compressibleLayers(m_lenet).size());
        double layersMs = 0;
        for (const LayerLatency& l : p.layers) {
            const auto curve = std::find_if(scan->layers.begin(), scan->layers.end(),
                                            [&](const LayerSensitivity& s) { return s.name == l.name; });
            QVERIFY(curve != scan->layers.end());
            QVERIFY2(l.floatMs > 0, l.name.c_str());
            QCOMPARE(l.rankMs.size(), curve->rank.size());  // every scanned rank timed
            for (const auto& [rank, ms] : l.rankMs) QVERIFY2(ms > 0, l.name.c_str());
            layersMs += l.floatMs;
        }
        // LeNet's pools, ReLUs and reshape run outside the four layers: their steps are timed as the rest (a profile that
        // gave the layers every step would leave nothing there).
        QVERIFY2(p.otherMs > 0, qPrintable(QString("other %1 ms, layers %2 ms").arg(p.otherMs).arg(layersMs)));

        auto reread = sensitivityFromJson(sensitivityToJson(*scan));
        QVERIFY2(reread.ok(), messageOf(reread));
        QVERIFY(reread->latency.has_value());
        QCOMPARE(reread->latency->layers.size(), p.layers.size());
        QVERIFY(std::abs(reread->latency->layers[1].rankMs[0].second - p.layers[1].rankMs[0].second) < 1e-5);

        AllocationOptions options;
        options.target = BudgetTarget::Latency;
        options.budget = modelCost(m_lenet, BudgetTarget::Latency, &p);
        QCOMPARE(options.budget, p.totalMs);
        auto whole = allocateBudget(m_lenet, *scan, options);
        QVERIFY2(whole.ok(), messageOf(whole));
        options.budget = 0.5 * (whole->minimumCost + whole->floatCost);
        auto a = allocateBudget(m_lenet, *scan, options);
        QVERIFY2(a.ok(), messageOf(a));
        const AllocationPlan& best = a->candidates.front();
        QVERIFY(best.cost <= options.budget + 1e-9);
        double predicted = p.otherMs;
        for (const LayerChoice& c : best.layers) {
            QCOMPARE(c.bits, 32);  // the latency target lowers ranks only (pruned, quantized weights run dense here)
            QCOMPARE(c.sparsity, 0.0);
            predicted += *p.layerMs(c.name, c.rank);
        }
        QVERIFY(std::abs(best.cost - predicted) < 1e-9);
        QVERIFY(std::any_of(best.layers.begin(), best.layers.end(), [](const LayerChoice& c) { return c.rank > 0; }));

        // Without a profile the target says what is missing; a damaged profile names its field.
        SensitivityResult noProfile = *scan;
        noProfile.latency.reset();
        auto refused = allocateBudget(m_lenet, noProfile, options);
        QVERIFY(!refused.ok());
        QVERIFY2(refused.error().message.find("latency profile") != std::string::npos, messageOf(refused));
        auto bad = latencyProfileFromJson(nlohmann::json::parse(
            R"({"total_ms": 1, "other_ms": 0, "layers": [{"name": "a", "float_ms": 1, "rank_ms": [[0, 1]]}]})"));
        QVERIFY(!bad.ok());
        QVERIFY2(bad.error().message.find("latency.layers[0].rank_ms") != std::string::npos, messageOf(bad));
        auto measured = measureLatencyMs(m_lenet);
        QVERIFY2(measured.ok(), messageOf(measured));
        QVERIFY(*measured > 0);
    }

private:
    Graph m_lenet;
};

QTEST_APPLESS_MAIN(TestBudgetAllocation)
#include "test_budget_allocation.moc"
