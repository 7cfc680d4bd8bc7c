// Recipe JSON: parsed, validated against the demo model (LeNet-5) and resolved for every node, as the CLI and the
// workbench do before applying it. The same bytes as a saved sensitivity scan (lathe-cli allocate --sensitivity):
// read, written back, and allocated under a bits, non-zeros and MACs budget.
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/compress/budget_allocation.h"
#include "core/compress/recipe.h"
#include "core/compress/sensitivity_scan.h"
#include "core/model/onnx_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace lathe;
    static const Graph graph = [] {
        auto g = readOnnxModel(LATHE_DEMO_MODEL);
        if (!g) std::abort();
        return std::move(g).value();
    }();
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto json = parseStrictJson(text, "scan.json")) {
        if (auto scan = sensitivityFromJson(*json)) {
            auto again = sensitivityFromJson(sensitivityToJson(*scan));
            if (!again || again->layers.size() != scan->layers.size()) std::abort();
            for (BudgetTarget target : {BudgetTarget::Bits, BudgetTarget::Nonzeros, BudgetTarget::Macs}) {
                AllocationOptions options;
                options.target = target;
                options.budget = 0.5 * modelCost(graph, target);
                if (auto a = allocateBudget(graph, *scan, options))
                    for (const AllocationPlan& plan : a->candidates)
                        if (plan.cost > options.budget + 1e-6 * options.budget) std::abort();
            }
        } else if (scan.error().message.empty()) {
            std::abort();
        }
    }
    auto recipe = parseRecipe(text);
    if (!recipe) {
        if (recipe.error().message.empty()) std::abort();
        return 0;
    }
    (void)validateRecipe(*recipe, graph);
    for (int i = 0; i < int(graph.nodes.size()); ++i) (void)resolveLayerSettings(*recipe, graph, i);
    // What it writes back reads back the same.
    auto again = parseRecipe(writeRecipe(*recipe));
    if (!again || writeRecipe(*again) != writeRecipe(*recipe)) std::abort();
    return 0;
}
