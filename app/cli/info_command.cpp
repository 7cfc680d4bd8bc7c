#include "app/cli/info_command.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <sstream>

namespace lathe {

std::string infoJson(const Graph& graph, const ModelSummary& summary) {
    nlohmann::ordered_json j;
    j["model"] = std::filesystem::path(graph.sourcePath).filename().string();
    j["opset"] = graph.opset;
    j["producer"] = graph.producerName + (graph.producerVersion.empty() ? "" : " " + graph.producerVersion);
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (const auto& layer : summary.layers) {
        nlohmann::ordered_json l;
        l["name"] = layer.name;
        l["op"] = layer.op;
        nlohmann::ordered_json weights = nlohmann::ordered_json::array();
        for (const auto& w : layer.weights)
            weights.push_back({{"name", w.name}, {"shape", w.shape}, {"dtype", std::string(dtypeName(w.dtype))}});
        l["weights"] = weights;
        l["params"] = layer.params;
        l["bytes"] = layer.bytes;
        l["macs"] = layer.macsKnown ? nlohmann::ordered_json(layer.macs) : nlohmann::ordered_json(nullptr);
        layers.push_back(l);
    }
    j["layers"] = layers;
    j["totals"] = {{"params", summary.totalParams},
                   {"bytes", summary.totalBytes},
                   {"macs", summary.totalMacs},
                   {"macs_complete", summary.unknownMacs.empty()}};
    if (!summary.unknownMacs.empty()) j["macs_unknown"] = summary.unknownMacs;
    return j.dump(2);
}

namespace {
std::string withThousands(int64_t v) {
    std::string digits = std::to_string(v < 0 ? -v : v);
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return v < 0 ? "-" + out : out;
}
}  // namespace

void printInfoTable(std::ostream& out, const Graph& graph, const ModelSummary& summary) {
    out << "model:    " << graph.sourcePath << '\n';
    out << "producer: " << graph.producerName << ' ' << graph.producerVersion << "   opset " << graph.opset
        << "   nodes " << graph.nodes.size() << '\n';
    size_t nameWidth = 5;
    for (const auto& l : summary.layers) nameWidth = std::max(nameWidth, l.name.size());
    nameWidth = std::min<size_t>(nameWidth, 48);
    auto row = [&](const std::string& name, const std::string& op, const std::string& shape, const std::string& params,
                   const std::string& bytes, const std::string& macs, const std::string& share) {
        out << std::left << std::setw(int(nameWidth) + 2) << name << std::setw(14) << op << std::setw(18) << shape
            << std::right << std::setw(12) << params << std::setw(13) << bytes << std::setw(15) << macs
            << std::setw(8) << share << '\n';
    };
    row("layer", "op", "weight shape", "params", "bytes", "MACs", "share");
    for (const auto& l : summary.layers) {
        std::string shape = l.weights.empty() ? "" : shapeToString(l.weights.front().shape);
        std::ostringstream share;
        share << std::fixed << std::setprecision(1)
              << (summary.totalParams ? 100.0 * double(l.params) / double(summary.totalParams) : 0.0) << '%';
        row(l.name, l.op, shape, withThousands(l.params), withThousands(l.bytes),
            l.macsKnown ? withThousands(l.macs) : "unknown", share.str());
    }
    row("total", "", "", withThousands(summary.totalParams), withThousands(summary.totalBytes),
        (summary.unknownMacs.empty() ? "" : ">= ") + withThousands(summary.totalMacs), "100.0%");
    if (!summary.unknownMacs.empty()) {
        out << "\nMACs unknown for " << summary.unknownMacs.size() << " node(s) (shapes not inferred or op not counted):";
        for (size_t i = 0; i < summary.unknownMacs.size() && i < 10; ++i) out << ' ' << summary.unknownMacs[i];
        if (summary.unknownMacs.size() > 10) out << " …";
        out << "; the total counts the others\n";
    }
}

}  // namespace lathe
