// ONNX model files: the input is written as model.onnx next to a copy of the external_data.bin fixture (so
// external-data references, offsets and lengths are reachable) and read with readOnnxModel as the app does; the
// summary and the channel groups the window computes on open run on what it reads.
#include <cstdlib>

#include "core/compress/prune/channel_groups.h"
#include "core/model/model_summary.h"
#include "core/model/onnx_payloads.h"
#include "core/model/onnx_reader.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace lathe;
    static const std::filesystem::path dir = [] {
        const auto& d = fuzz::scratchDir();
        fuzz::writeFile(d / "external_data.bin", fuzz::readFile(std::string(LATHE_FIXTURES_DIR) + "/external_data.bin"));
        return d;
    }();
    // The reader's payload splitter with every raw_data cut (the reader cuts only those of 64 KB and more, which
    // small inputs rarely reach): what it cuts lies inside the input.
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    if (const auto split = splitInitializerPayloads(bytes, 1))
        for (const InitializerPayload& p : split->payloads)
            if (p.initializer < 0 || p.bytes.data() < bytes.data() ||
                p.bytes.data() + p.bytes.size() > bytes.data() + bytes.size())
                std::abort();
    const std::filesystem::path model = dir / "model.onnx";
    fuzz::writeFile(model, data, size);
    auto graph = readOnnxModel(model.string());
    if (!graph) {
        if (graph.error().message.empty()) std::abort();
        return 0;
    }
    // What the reader promises the rest of Lathe: numeric initializers hold exactly numel() values.
    for (const auto& [name, t] : graph->initializers) {
        if (t.dtype == DType::String) continue;
        for (int64_t d : t.shape)
            if (d < 0) std::abort();
        if (int64_t(t.data.size()) != t.numel()) std::abort();
        if (isIntegerType(t.dtype) && int64_t(t.ints.size()) != t.numel()) std::abort();
    }
    // What the window computes on every model it opens: the summary and the channel groups (and their savings).
    summarizeModel(*graph);
    const ChannelGroups groups = findChannelGroups(*graph);
    for (const auto& g : groups.groups)
        if (g.blocker.empty()) {
            channelSaving(*graph, g, g.channels / 2);
            channelImportance(*graph, g, ChannelImportance::L1);
        }
    return 0;
}
