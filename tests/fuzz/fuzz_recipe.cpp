// Recipe JSON: parsed, validated against the demo model (LeNet-5) and resolved for every node, as the CLI and the
// workbench do before applying it.
#include <cstdlib>
#include <string_view>

#include "core/compress/recipe.h"
#include "core/model/onnx_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace lathe;
    static const Graph graph = [] {
        auto g = readOnnxModel(LATHE_DEMO_MODEL);
        if (!g) std::abort();
        return std::move(g).value();
    }();
    auto recipe = parseRecipe(std::string_view(reinterpret_cast<const char*>(data), size));
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
