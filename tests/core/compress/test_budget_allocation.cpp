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
    }

private:
    Graph m_lenet;
};

QTEST_APPLESS_MAIN(TestBudgetAllocation)
#include "test_budget_allocation.moc"
