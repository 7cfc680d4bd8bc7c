// historyToJson (fine_tune.h) needs no torch: it is part of lathe_core, so the GUI saves training histories without
// loading the training engine (training_library.h).
#include <nlohmann/json.hpp>

#include "core/train/fine_tune.h"

namespace lathe {

nlohmann::json historyToJson(const std::vector<EpochRecord>& history) {
    nlohmann::json out = nlohmann::json::array();
    for (const EpochRecord& e : history) {
        nlohmann::json j = {{"epoch", e.epoch},     {"phase", e.phase},       {"loss", e.loss},
                            {"sparsity", e.sparsity}, {"lr", e.lr},          {"seconds", e.seconds},
                            {"images_per_second", e.imagesPerSecond}};
        j["top1"] = e.top1 >= 0 ? nlohmann::json(e.top1) : nlohmann::json(nullptr);
        nlohmann::json layers = nlohmann::json::object();
        for (const auto& [name, s] : e.layerSparsity) layers[name] = s;
        j["layers"] = layers;
        if (e.penalty > 0) j["penalty"] = e.penalty;
        if (e.distillation) j["distillation"] = *e.distillation;
        if (e.top1 >= 0) j["evaluated"] = e.evaluated;
        out.push_back(j);
    }
    return out;
}

}  // namespace lathe
