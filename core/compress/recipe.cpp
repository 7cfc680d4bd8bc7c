#include "core/compress/recipe.h"

#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/compress/compressible_layer.h"
#include "core/compress/lowrank/decompose_layer.h"
#include "core/compress/prune/channel_groups.h"

namespace lathe {

using nlohmann::json;

std::string_view toString(Granularity g) { return g == Granularity::PerChannel ? "per_channel" : "per_tensor"; }

std::string_view toString(Rounding r) {
    switch (r) {
        case Rounding::Stochastic:
            return "stochastic";
        case Rounding::KMeans:
            return "kmeans";
        case Rounding::Nearest:
            break;
    }
    return "nearest";
}

std::string_view toString(ActivationMode m) {
    switch (m) {
        case ActivationMode::Dynamic:
            return "dynamic";
        case ActivationMode::Static:
            return "static";
        case ActivationMode::None:
            break;
    }
    return "none";
}

std::string_view toString(Calibration c) {
    switch (c) {
        case Calibration::Percentile:
            return "percentile";
        case Calibration::Entropy:
            return "entropy";
        case Calibration::MinMax:
            break;
    }
    return "minmax";
}

std::string_view toString(PruneCorrection c) { return c == PruneCorrection::LeastSquares ? "least_squares" : "none"; }

bool recipeRefitsPruning(const Recipe& recipe) {
    const bool global = recipe.globalPruneSparsity && *recipe.globalPruneSparsity > 0 &&
                        recipe.globalPruneCorrection.value_or(PruneCorrection::LeastSquares) != PruneCorrection::None;
    return global || recipe.layerPruneCorrection == PruneCorrection::LeastSquares;
}
std::string_view toString(TrainOptimizer o) { return o == TrainOptimizer::Adam ? "adam" : "sgd"; }
std::string_view toString(LrSchedule s) {
    return s == LrSchedule::Cosine ? "cosine" : s == LrSchedule::Step ? "step" : "constant";
}
std::string_view toString(BatchNormTraining b) { return b == BatchNormTraining::Train ? "train" : "frozen"; }
std::string_view toString(TrainObjective m) {
    return m == TrainObjective::L1 ? "l1" : m == TrainObjective::Distill ? "distill" : "finetune";
}
std::string_view toString(WeightInit w) { return w == WeightInit::Random ? "random" : "model"; }
std::string_view toString(StructuredImportance i) {
    return i == StructuredImportance::L2 ? "l2" : i == StructuredImportance::BnScale ? "bn_scale" : "l1";
}
std::string_view toString(LowRankMethod m) {
    return m == LowRankMethod::Tucker2 ? "tucker2" : m == LowRankMethod::Spatial ? "spatial" : "channel";
}

namespace {

std::string formatNumber(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
    std::string s;
    for (size_t i = 0; i < items.size(); ++i) s += (i ? sep : "") + items[i];
    return s;
}

// A JSON value for messages, cut to a readable length.
std::string shortDump(const json& v) {
    std::string s = v.dump();
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

constexpr int kMaxJsonDepth = 64;

// A problem found while parsing: `where` is the field path ("" for the top level).
struct StrictJsonError : std::runtime_error {
    StrictJsonError(std::string where, const std::string& what) : std::runtime_error(what), where(std::move(where)) {}
    std::string where;
};

// Where the parser is, as a field path ("layers.fc1.quant", "variants[2].recipe").
class JsonPathTracker {
public:
    bool operator()(int depth, json::parse_event_t event, json& parsed) {
        switch (event) {
            case json::parse_event_t::object_start:
            case json::parse_event_t::array_start:
                if (depth >= kMaxJsonDepth)
                    throw StrictJsonError(where(), "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
                m_frames.push_back(Frame{event == json::parse_event_t::array_start, 0, {}, {}});
                break;
            case json::parse_event_t::key: {
                Frame& f = m_frames.back();
                std::string key = parsed.get<std::string>();
                if (!f.seen.insert(key).second)
                    throw StrictJsonError(where(false),
                                          "duplicate key \"" + key + "\" (each key may appear once per object)");
                f.key = std::move(key);
                break;
            }
            case json::parse_event_t::object_end:
            case json::parse_event_t::array_end:
                m_frames.pop_back();
                elementDone();
                break;
            case json::parse_event_t::value:
                elementDone();
                break;
        }
        return true;
    }

    // The path of the value being parsed; without the innermost object's current key: the path of that object.
    std::string where(bool innermostKey = true) const {
        std::string s;
        for (size_t i = 0; i < m_frames.size(); ++i) {
            const Frame& f = m_frames[i];
            if (f.array)
                s += "[" + std::to_string(f.index) + "]";
            else if (!f.seen.empty() && (innermostKey || i + 1 < m_frames.size()))
                s += (s.empty() ? "" : ".") + f.key;
        }
        return s;
    }

private:
    struct Frame {
        bool array = false;
        int64_t index = 0;
        std::string key;
        std::set<std::string> seen;
    };
    void elementDone() {
        if (!m_frames.empty() && m_frames.back().array) ++m_frames.back().index;
    }
    std::vector<Frame> m_frames;
};

template <class E>
std::optional<E> enumFrom(const std::string& s, std::initializer_list<E> values) {
    for (E e : values)
        if (toString(e) == s) return e;
    return std::nullopt;
}

// Collects every problem in the document; fields are read only when their type is right.
class Parser {
public:
    std::vector<std::string> errors;

    void fail(const std::string& path, const std::string& message) { errors.push_back(path + ": " + message); }

    bool object(const json& j, const std::string& path) {
        if (j.is_object()) return true;
        fail(path, "expected an object, got " + shortDump(j));
        return false;
    }

    void keys(const json& j, const std::string& path, std::initializer_list<const char*> allowed) {
        for (const auto& [key, value] : j.items()) {
            bool known = false;
            for (const char* a : allowed) known |= key == a;
            if (known) continue;
            std::vector<std::string> names;
            for (const char* a : allowed) names.emplace_back(a);
            fail(path.empty() ? key : path + "." + key, "unknown key (expected one of " + join(names, ", ") + ")");
        }
    }

    std::optional<double> number(const json& j, const char* key, const std::string& path) {
        if (!j.contains(key)) return std::nullopt;
        const json& v = j.at(key);
        if (!v.is_number()) {
            fail(path + "." + key, "expected a number, got " + shortDump(v));
            return std::nullopt;
        }
        return v.get<double>();
    }

    std::optional<int64_t> integer(const json& j, const char* key, const std::string& path) {
        if (!j.contains(key)) return std::nullopt;
        const json& v = j.at(key);
        if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) {
            fail(path + "." + key, shortDump(v) + " is too large");
            return std::nullopt;
        }
        if (v.is_number_integer()) return v.get<int64_t>();
        if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() && std::fabs(v.get<double>()) < 9e15)
            return int64_t(v.get<double>());
        fail(path + "." + key, "expected an integer, got " + shortDump(v));
        return std::nullopt;
    }

    std::optional<bool> boolean(const json& j, const char* key, const std::string& path) {
        if (!j.contains(key)) return std::nullopt;
        const json& v = j.at(key);
        if (v.is_boolean()) return v.get<bool>();
        fail(path + "." + key, "expected true or false, got " + shortDump(v));
        return std::nullopt;
    }

    std::optional<uint64_t> seed(const json& j, const std::string& path) {
        if (!j.contains("seed")) return std::nullopt;
        const json& v = j.at("seed");
        if (v.is_number_unsigned()) return v.get<uint64_t>();
        if (v.is_number_integer() && v.get<int64_t>() >= 0) return uint64_t(v.get<int64_t>());
        fail(path + ".seed", "expected a non-negative integer, got " + shortDump(v));
        return std::nullopt;
    }

    template <class E>
    std::optional<E> choice(const json& j, const char* key, const std::string& path, std::initializer_list<E> values) {
        if (!j.contains(key)) return std::nullopt;
        const json& v = j.at(key);
        if (v.is_string())
            if (auto e = enumFrom(v.get<std::string>(), values)) return e;
        std::vector<std::string> names;
        for (E e : values) names.emplace_back(toString(e));
        fail(path + "." + key, shortDump(v) + " is not one of " + join(names, ", "));
        return std::nullopt;
    }

    std::optional<PruneEntry> prune(const json& j, const std::string& path) {
        if (!object(j, path)) return std::nullopt;
        keys(j, path, {"sparsity", "threshold", "structured"});
        PruneEntry e;
        e.sparsity = number(j, "sparsity", path);
        e.threshold = number(j, "threshold", path);
        if (j.contains("structured")) {
            const std::string sp = path + ".structured";
            const json& s = j.at("structured");
            if (object(s, sp)) {
                keys(s, sp, {"keep", "keep_fraction", "importance"});
                e.keep = integer(s, "keep", sp);
                e.keepFraction = number(s, "keep_fraction", sp);
                e.importance = importance(s, sp);
            }
        }
        return e;
    }

    std::optional<StructuredImportance> importance(const json& j, const std::string& path) {
        return choice(j, "importance", path,
                      {StructuredImportance::L1, StructuredImportance::L2, StructuredImportance::BnScale});
    }

    std::optional<LowRankEntry> lowrank(const json& j, const std::string& path) {
        if (!object(j, path)) return std::nullopt;
        keys(j, path, {"method", "rank", "rank_out", "rank_in", "energy"});
        LowRankEntry e;
        e.method = choice(j, "method", path, {LowRankMethod::Channel, LowRankMethod::Tucker2, LowRankMethod::Spatial});
        e.rank = integer(j, "rank", path);
        e.rankOut = integer(j, "rank_out", path);
        e.rankIn = integer(j, "rank_in", path);
        e.energy = number(j, "energy", path);
        return e;
    }

    std::optional<QuantEntry> quant(const json& j, const std::string& path) {
        if (!object(j, path)) return std::nullopt;
        keys(j, path, {"bits", "granularity", "symmetric", "rounding", "seed"});
        QuantEntry e;
        if (auto b = integer(j, "bits", path)) e.bits = int(std::clamp<int64_t>(*b, -1'000'000, 1'000'000));
        e.granularity = choice(j, "granularity", path, {Granularity::PerTensor, Granularity::PerChannel});
        e.symmetric = boolean(j, "symmetric", path);
        e.rounding = choice(j, "rounding", path, {Rounding::Nearest, Rounding::Stochastic, Rounding::KMeans});
        e.seed = seed(j, path);
        return e;
    }

    LayerEntry entry(const json& j, const std::string& path) {
        LayerEntry e;
        if (!object(j, path)) return e;
        keys(j, path, {"prune", "lowrank", "quant"});
        if (j.contains("prune")) e.prune = prune(j.at("prune"), path + ".prune");
        if (j.contains("lowrank")) e.lowrank = lowrank(j.at("lowrank"), path + ".lowrank");
        if (j.contains("quant")) e.quant = quant(j.at("quant"), path + ".quant");
        return e;
    }

    std::optional<ActivationSettings> activations(const json& j) {
        const std::string path = "activations";
        if (!object(j, path)) return std::nullopt;
        keys(j, path, {"mode", "bits", "calibration", "samples", "percentile"});
        ActivationSettings a;
        if (auto m = choice(j, "mode", path, {ActivationMode::None, ActivationMode::Dynamic, ActivationMode::Static}))
            a.mode = *m;
        if (auto b = integer(j, "bits", path)) a.bits = int(std::clamp<int64_t>(*b, -1'000'000, 1'000'000));
        if (auto c =
                choice(j, "calibration", path, {Calibration::MinMax, Calibration::Percentile, Calibration::Entropy}))
            a.calibration = *c;
        if (auto s = integer(j, "samples", path)) a.samples = *s;
        a.percentile = number(j, "percentile", path);
        return a;
    }

    std::optional<RecipeEvaluation> evaluation(const json& j) {
        const std::string path = "evaluation";
        if (!object(j, path)) return std::nullopt;
        keys(j, path, {"cross_validation"});
        RecipeEvaluation e;
        if (j.contains("cross_validation") && object(j.at("cross_validation"), path + ".cross_validation")) {
            const json& c = j.at("cross_validation");
            const std::string cp = path + ".cross_validation";
            keys(c, cp, {"folds", "epochs", "seed"});
            CrossValidationSettings cv;
            if (auto v = integer(c, "folds", cp)) cv.folds = int(std::clamp<int64_t>(*v, -1, 1'000'000));
            if (auto v = integer(c, "epochs", cp)) cv.epochs = int(std::clamp<int64_t>(*v, -1, 1'000'000));
            if (auto v = seed(c, cp)) cv.seed = *v;
            e.crossValidation = cv;
        }
        return e;
    }

    std::optional<TrainSettings> train(const json& j) {
        const std::string path = "train";
        if (!object(j, path)) return std::nullopt;
        keys(j, path, {"mode", "l1", "distill", "init", "epochs", "lr", "optimizer", "momentum", "weight_decay", "batch", "schedule", "step_epochs",
                       "gamma", "seed", "samples", "batchnorm", "prune_schedule", "centroid_epochs"});
        TrainSettings t;
        if (auto v = choice(j, "mode", path, {TrainObjective::FineTune, TrainObjective::L1, TrainObjective::Distill}))
            t.mode = *v;
        if (auto v = choice(j, "init", path, {WeightInit::Model, WeightInit::Random})) t.init = *v;
        if (j.contains("distill") && object(j.at("distill"), path + ".distill")) {
            const json& d = j.at("distill");
            const std::string dp = path + ".distill";
            keys(d, dp, {"teacher", "temperature", "alpha", "hard"});
            DistillSettings s;
            if (d.contains("teacher")) {
                if (d.at("teacher").is_string())
                    s.teacher = d.at("teacher").get<std::string>();
                else
                    fail(dp + ".teacher", "expected \"baseline\" or the path of an ONNX file, got " +
                                              shortDump(d.at("teacher")));
            }
            if (auto v = number(d, "temperature", dp)) s.temperature = *v;
            if (auto v = number(d, "alpha", dp)) s.alpha = *v;
            if (auto v = boolean(d, "hard", dp)) s.hard = *v;
            t.distill = s;
        }
        if (j.contains("l1") && object(j.at("l1"), path + ".l1")) {
            const json& l = j.at("l1");
            const std::string lp = path + ".l1";
            keys(l, lp, {"lambda", "layers", "target_sparsity", "threshold", "final_epochs"});
            L1Settings s;
            if (auto v = number(l, "lambda", lp)) s.lambda = *v;
            if (l.contains("layers") && object(l.at("layers"), lp + ".layers"))
                for (const auto& [name, value] : l.at("layers").items()) {
                    if (value.is_number())
                        s.layers[name] = value.get<double>();
                    else
                        fail(lp + ".layers." + name, "expected a number (lambda of the layer), got " + shortDump(value));
                }
            s.targetSparsity = number(l, "target_sparsity", lp);
            s.threshold = number(l, "threshold", lp);
            if (auto v = integer(l, "final_epochs", lp)) s.finalEpochs = int(std::clamp<int64_t>(*v, -1, 1'000'000));
            t.l1 = s;
        }
        auto small = [](int64_t v) { return int(std::clamp<int64_t>(v, -1'000'000, 1'000'000)); };
        if (auto v = integer(j, "epochs", path)) t.epochs = small(*v);
        if (auto v = number(j, "lr", path)) t.lr = *v;
        if (auto v = choice(j, "optimizer", path, {TrainOptimizer::Sgd, TrainOptimizer::Adam})) t.optimizer = *v;
        if (auto v = number(j, "momentum", path)) t.momentum = *v;
        if (auto v = number(j, "weight_decay", path)) t.weightDecay = *v;
        if (auto v = integer(j, "batch", path)) t.batch = small(*v);
        if (auto v = choice(j, "schedule", path, {LrSchedule::Constant, LrSchedule::Step, LrSchedule::Cosine}))
            t.schedule = *v;
        if (auto v = integer(j, "step_epochs", path)) t.stepEpochs = small(*v);
        if (auto v = number(j, "gamma", path)) t.gamma = *v;
        if (auto v = seed(j, path)) t.seed = *v;
        if (auto v = integer(j, "samples", path)) t.samples = *v;
        if (auto v = choice(j, "batchnorm", path, {BatchNormTraining::Frozen, BatchNormTraining::Train}))
            t.batchNorm = *v;
        if (auto v = integer(j, "centroid_epochs", path)) t.centroidEpochs = small(*v);
        if (j.contains("prune_schedule") && object(j.at("prune_schedule"), path + ".prune_schedule")) {
            const json& ps = j.at("prune_schedule");
            const std::string pp = path + ".prune_schedule";
            keys(ps, pp, {"from", "epochs"});
            PruneSchedule schedule;
            if (auto v = number(ps, "from", pp)) schedule.from = *v;
            if (auto v = integer(ps, "epochs", pp)) schedule.epochs = small(*v);
            t.pruneSchedule = schedule;
        }
        return t;
    }
};

constexpr int64_t kMaxSamples = 1'000'000;
constexpr int64_t kMaxCount = int64_t(1) << 31;

bool validBits(int bits) { return bits == 32 || (bits >= 2 && bits <= 8); }

// Range checks that need no model.
void checkEntry(const LayerEntry& e, const std::string& path, std::vector<std::string>& errors) {
    auto fail = [&](const std::string& field, const std::string& message) {
        errors.push_back(path + "." + field + ": " + message);
    };
    if (e.prune) {
        const PruneEntry& p = *e.prune;
        if (p.sparsity && !(*p.sparsity >= 0 && *p.sparsity < 1))
            fail("prune.sparsity", formatNumber(*p.sparsity) + " is outside [0, 1)");
        if (p.threshold && !(*p.threshold >= 0 && std::isfinite(*p.threshold)))
            fail("prune.threshold", formatNumber(*p.threshold) + " must be a finite magnitude >= 0");
        if (p.sparsity && p.threshold) fail("prune", "set either sparsity or threshold, not both");
        if (p.keep && *p.keep < 1)
            fail("prune.structured.keep", std::to_string(*p.keep) + " must keep at least 1 channel");
        if (p.keep && *p.keep > kMaxCount)
            fail("prune.structured.keep", std::to_string(*p.keep) + " is more than " + std::to_string(kMaxCount) +
                                              " channels; no layer has that many");
        if (p.keepFraction && !(*p.keepFraction > 0 && *p.keepFraction <= 1))
            fail("prune.structured.keep_fraction", formatNumber(*p.keepFraction) + " is outside (0, 1]");
        if (p.keep && p.keepFraction) fail("prune.structured", "set either keep or keep_fraction, not both");
    }
    if (e.lowrank) {
        const LowRankEntry& l = *e.lowrank;
        for (auto [field, rank] : {std::pair{"lowrank.rank", l.rank}, std::pair{"lowrank.rank_out", l.rankOut},
                                   std::pair{"lowrank.rank_in", l.rankIn}}) {
            if (rank && *rank < 1) fail(field, std::to_string(*rank) + " must be at least 1");
            if (rank && *rank > kMaxCount)
                fail(field, std::to_string(*rank) + " is more than " + std::to_string(kMaxCount) +
                                "; no layer has that rank");
        }
        if (l.energy && !(*l.energy > 0 && *l.energy <= 1))
            fail("lowrank.energy", formatNumber(*l.energy) + " is outside (0, 1]");
        const bool tucker = l.method == LowRankMethod::Tucker2;
        if (tucker) {
            if (l.rank) fail("lowrank.rank", "tucker2 has a rank per mode: set rank_out and rank_in (or energy)");
            if ((l.rankOut || l.rankIn) && l.energy) fail("lowrank", "set either rank_out/rank_in or energy, not both");
            if (bool(l.rankOut) != bool(l.rankIn))
                fail(l.rankOut ? "lowrank.rank_in" : "lowrank.rank_out",
                     "tucker2 needs both rank_out and rank_in (or energy)");
        } else {
            if (l.rankOut || l.rankIn)
                fail(l.rankOut ? "lowrank.rank_out" : "lowrank.rank_in",
                     "per-mode ranks belong to \"method\": \"tucker2\"; " +
                         std::string(toString(l.method.value_or(LowRankMethod::Channel))) + " takes rank or energy");
            if (l.rank && l.energy) fail("lowrank", "set either rank or energy, not both");
        }
    }
    if (e.quant && e.quant->bits && !validBits(*e.quant->bits))
        fail("quant.bits", std::to_string(*e.quant->bits) + " is not a valid bit-width (2–8, or 32 for float)");
}

void checkIntrinsic(const Recipe& r, std::vector<std::string>& errors) {
    checkEntry(r.defaults, "defaults", errors);
    for (const auto& [name, e] : r.layers) checkEntry(e, "layers." + name, errors);
    if (r.globalPruneSparsity) {
        const double s = *r.globalPruneSparsity;
        if (!(s >= 0 && s < 1)) errors.push_back("global_prune.sparsity: " + formatNumber(s) + " is outside [0, 1)");
        if (r.globalPruneSamples && *r.globalPruneSamples < 1)
            errors.push_back("global_prune.samples: " + std::to_string(*r.globalPruneSamples) +
                             " must be >= 1 (calibration samples of the least-squares correction)");
        if (r.globalPruneSamples && *r.globalPruneSamples > kMaxSamples)
            errors.push_back("global_prune.samples: " + std::to_string(*r.globalPruneSamples) + " is above " +
                             std::to_string(kMaxSamples) + " (calibration samples of the least-squares correction)");
        if (r.defaults.prune && (r.defaults.prune->sparsity || r.defaults.prune->threshold))
            errors.push_back(std::string("global_prune: conflicts with defaults.prune.") +
                             (r.defaults.prune->sparsity ? "sparsity" : "threshold") +
                             "; use one of them (layers' own prune settings still override global_prune)");
    }
    if (r.layerPruneSamples && (*r.layerPruneSamples < 1 || *r.layerPruneSamples > kMaxSamples))
        errors.push_back("prune_correction.samples: " + std::to_string(*r.layerPruneSamples) + " is outside [1, " +
                         std::to_string(kMaxSamples) + "] (calibration samples of the least-squares correction)");
    if (r.globalStructuredKeep && !(*r.globalStructuredKeep > 0 && *r.globalStructuredKeep <= 1))
        errors.push_back("global_structured.keep_fraction: " + formatNumber(*r.globalStructuredKeep) +
                         " is outside (0, 1]");
    if (r.globalStructuredKeep && r.defaults.prune && (r.defaults.prune->keep || r.defaults.prune->keepFraction))
        errors.push_back("global_structured: conflicts with defaults.prune.structured; use one of them (layers' own "
                         "structured settings still override global_structured)");
    if (r.activations) {
        const ActivationSettings& a = *r.activations;
        if (a.bits < 2 || a.bits > 8)
            errors.push_back("activations.bits: " + std::to_string(a.bits) + " is not a valid bit-width (2–8)");
        if (a.samples < 1) errors.push_back("activations.samples: " + std::to_string(a.samples) + " must be >= 1");
        if (a.samples > kMaxSamples)
            errors.push_back("activations.samples: " + std::to_string(a.samples) + " is above " +
                             std::to_string(kMaxSamples) + " (calibration samples)");
        if (a.percentile && !(*a.percentile > 0 && *a.percentile <= 100))
            errors.push_back("activations.percentile: " + formatNumber(*a.percentile) + " is outside (0, 100]");
    }
    if (r.evaluation && r.evaluation->crossValidation) {
        const CrossValidationSettings& cv = *r.evaluation->crossValidation;
        if (cv.folds < 2 || cv.folds > 100)
            errors.push_back("evaluation.cross_validation.folds: " + std::to_string(cv.folds) + " is outside 2..100");
        if (cv.epochs && (*cv.epochs < 1 || *cv.epochs > 10'000))
            errors.push_back("evaluation.cross_validation.epochs: " + std::to_string(*cv.epochs) +
                             " is outside 1..10000");
    }
    if (r.train) {
        const TrainSettings& t = *r.train;
        auto fail = [&](const std::string& field, const std::string& message) {
            errors.push_back("train." + field + ": " + message);
        };
        if (t.epochs < 1 || t.epochs > 10'000) fail("epochs", std::to_string(t.epochs) + " is outside 1..10000");
        if (!(t.lr > 0 && t.lr <= 10)) fail("lr", formatNumber(t.lr) + " is outside (0, 10]");
        if (!(t.momentum >= 0 && t.momentum < 1)) fail("momentum", formatNumber(t.momentum) + " is outside [0, 1)");
        if (!(t.weightDecay >= 0 && t.weightDecay < 1))
            fail("weight_decay", formatNumber(t.weightDecay) + " is outside [0, 1)");
        if (t.batch < 1 || t.batch > 65'536) fail("batch", std::to_string(t.batch) + " is outside 1..65536");
        if (t.samples < 0 || t.samples > kMaxCount) fail("samples", std::to_string(t.samples) + " is outside 0..2^31");
        if (t.stepEpochs < 1) fail("step_epochs", std::to_string(t.stepEpochs) + " must be >= 1");
        if (!(t.gamma > 0 && t.gamma <= 1)) fail("gamma", formatNumber(t.gamma) + " is outside (0, 1]");
        if (t.centroidEpochs < 0 || t.centroidEpochs > 10'000)
            fail("centroid_epochs", std::to_string(t.centroidEpochs) + " is outside 0..10000");
        if (t.l1 && t.mode != TrainObjective::L1) fail("l1", "set \"mode\": \"l1\" to use these settings");
        if (t.distill && t.mode != TrainObjective::Distill)
            fail("distill", "set \"mode\": \"distill\" to use these settings");
        if (t.distill) {
            const DistillSettings& d = *t.distill;
            if (d.teacher.empty()) fail("distill.teacher", "is empty; use \"baseline\" or the path of an ONNX file");
            if (!(d.temperature > 0 && d.temperature <= 100))
                fail("distill.temperature", formatNumber(d.temperature) + " is outside (0, 100]");
            if (!(d.alpha >= 0 && d.alpha <= 1)) fail("distill.alpha", formatNumber(d.alpha) + " is outside [0, 1]");
        }
        if (t.l1) {
            const L1Settings& l = *t.l1;
            if (!(l.lambda >= 0 && l.lambda < 1)) fail("l1.lambda", formatNumber(l.lambda) + " is outside [0, 1)");
            for (const auto& [name, lambda] : l.layers)
                if (!(lambda >= 0 && lambda < 1))
                    fail("l1.layers." + name, formatNumber(lambda) + " is outside [0, 1)");
            if (l.targetSparsity && !(*l.targetSparsity >= 0 && *l.targetSparsity < 1))
                fail("l1.target_sparsity", formatNumber(*l.targetSparsity) + " is outside [0, 1)");
            if (l.threshold && !(*l.threshold >= 0 && std::isfinite(*l.threshold)))
                fail("l1.threshold", formatNumber(*l.threshold) + " must be a finite number >= 0");
            if (l.targetSparsity && l.threshold) fail("l1", "set either target_sparsity or threshold, not both");
            if (l.finalEpochs < 0 || l.finalEpochs >= t.epochs)
                fail("l1.final_epochs", std::to_string(l.finalEpochs) + " is outside 0..epochs-1 (" +
                                            std::to_string(t.epochs - 1) + ")");
        }
        if (t.pruneSchedule) {
            if (!(t.pruneSchedule->from >= 0 && t.pruneSchedule->from < 1))
                fail("prune_schedule.from", formatNumber(t.pruneSchedule->from) + " is outside [0, 1)");
            if (t.pruneSchedule->epochs < 1 || t.pruneSchedule->epochs > t.epochs)
                fail("prune_schedule.epochs", std::to_string(t.pruneSchedule->epochs) + " is outside 1..epochs (" +
                                                  std::to_string(t.epochs) + ")");
        }
    }
}

Status fromErrors(const std::vector<std::string>& errors) {
    if (errors.empty()) return Ok{};
    return makeError(ErrorCode::InvalidArgument, join(errors, "\n"));
}

json entryToJson(const LayerEntry& e) {
    json j = json::object();
    if (e.prune) {
        json p = json::object();
        if (e.prune->sparsity) p["sparsity"] = *e.prune->sparsity;
        if (e.prune->threshold) p["threshold"] = *e.prune->threshold;
        if (e.prune->keep || e.prune->keepFraction) {
            json s = json::object();
            if (e.prune->keep) s["keep"] = *e.prune->keep;
            if (e.prune->keepFraction) s["keep_fraction"] = *e.prune->keepFraction;
            if (e.prune->importance) s["importance"] = toString(*e.prune->importance);
            p["structured"] = s;
        }
        j["prune"] = p;
    }
    if (e.lowrank) {
        json l = json::object();
        if (e.lowrank->method) l["method"] = toString(*e.lowrank->method);
        if (e.lowrank->rank) l["rank"] = *e.lowrank->rank;
        if (e.lowrank->rankOut) l["rank_out"] = *e.lowrank->rankOut;
        if (e.lowrank->rankIn) l["rank_in"] = *e.lowrank->rankIn;
        if (e.lowrank->energy) l["energy"] = *e.lowrank->energy;
        j["lowrank"] = l;
    }
    if (e.quant) {
        json q = json::object();
        if (e.quant->bits) q["bits"] = *e.quant->bits;
        if (e.quant->granularity) q["granularity"] = toString(*e.quant->granularity);
        if (e.quant->symmetric) q["symmetric"] = *e.quant->symmetric;
        if (e.quant->rounding) q["rounding"] = toString(*e.quant->rounding);
        if (e.quant->seed) q["seed"] = *e.quant->seed;
        j["quant"] = q;
    }
    return j;
}

const LayerEntry* findEntry(const Recipe& recipe, const std::string& nodeName, const std::string& weightName) {
    auto it = recipe.layers.find(nodeName);
    if (it != recipe.layers.end()) return &it->second;
    it = recipe.layers.find(weightName);
    return it != recipe.layers.end() ? &it->second : nullptr;
}

std::string layerList(const Graph& graph) {
    auto layers = compressibleLayers(graph);
    std::vector<std::string> names;
    for (size_t i = 0; i < layers.size() && i < 6; ++i) names.push_back(layers[i].nodeName);
    std::string s = join(names, ", ");
    if (layers.size() > 6) s += ", … (" + std::to_string(layers.size()) + " in all)";
    return layers.empty() ? "the model has no compressible layers" : "layers are " + s + " (node or weight names)";
}

}  // namespace

Result<Recipe> recipeFromJson(const json& j) {
    try {
        Parser p;
        Recipe r;
        if (!j.is_object()) return makeError(ErrorCode::Parse, "recipe: expected a JSON object, got " + shortDump(j));
        p.keys(j, "", {"defaults", "layers", "global_prune", "prune_correction", "global_structured", "activations",
                       "train", "evaluation"});
        if (j.contains("defaults")) r.defaults = p.entry(j.at("defaults"), "defaults");
        if (j.contains("layers") && p.object(j.at("layers"), "layers"))
            for (const auto& [name, e] : j.at("layers").items()) r.layers[name] = p.entry(e, "layers." + name);
        if (j.contains("global_prune") && p.object(j.at("global_prune"), "global_prune")) {
            const json& gp = j.at("global_prune");
            p.keys(gp, "global_prune", {"sparsity", "correction", "samples"});
            r.globalPruneSparsity = p.number(gp, "sparsity", "global_prune");
            if (!r.globalPruneSparsity) p.fail("global_prune.sparsity", "missing");
            r.globalPruneCorrection =
                p.choice(gp, "correction", "global_prune", {PruneCorrection::None, PruneCorrection::LeastSquares});
            r.globalPruneSamples = p.integer(gp, "samples", "global_prune");
        }
        if (j.contains("prune_correction") && p.object(j.at("prune_correction"), "prune_correction")) {
            const json& pc = j.at("prune_correction");
            p.keys(pc, "prune_correction", {"method", "samples"});
            r.layerPruneCorrection = p.choice(pc, "method", "prune_correction",
                                              {PruneCorrection::None, PruneCorrection::LeastSquares});
            if (!pc.contains("method")) p.fail("prune_correction.method", "missing");
            r.layerPruneSamples = p.integer(pc, "samples", "prune_correction");
        }
        if (j.contains("global_structured") && p.object(j.at("global_structured"), "global_structured")) {
            const json& gs = j.at("global_structured");
            p.keys(gs, "global_structured", {"keep_fraction", "importance"});
            r.globalStructuredKeep = p.number(gs, "keep_fraction", "global_structured");
            if (!r.globalStructuredKeep) p.fail("global_structured.keep_fraction", "missing");
            r.globalStructuredImportance = p.importance(gs, "global_structured");
        }
        if (j.contains("activations")) r.activations = p.activations(j.at("activations"));
        if (j.contains("train")) r.train = p.train(j.at("train"));
        if (j.contains("evaluation")) r.evaluation = p.evaluation(j.at("evaluation"));
        checkIntrinsic(r, p.errors);
        if (!p.errors.empty()) return makeError(ErrorCode::InvalidArgument, join(p.errors, "\n"));
        return r;
    } catch (const std::exception& e) {
        // The parser checks every type before reading it; this keeps a missed case an error, not an abort.
        return makeError(ErrorCode::Parse, std::string("recipe: cannot read it (") + e.what() + ")");
    }
}

Result<json> parseStrictJson(std::string_view text, const std::string& document) {
    JsonPathTracker tracker;
    try {
        return json::parse(text.begin(), text.end(), std::ref(tracker));
    } catch (const StrictJsonError& e) {
        return makeError(ErrorCode::Parse, document + ": " + (e.where.empty() ? "" : e.where + ": ") + e.what());
    } catch (const json::out_of_range& e) {
        const std::string at = tracker.where();
        return makeError(ErrorCode::Parse, document + ": " + (at.empty() ? std::string() : at + ": ") +
                                               "a number does not fit a double (" + e.what() + ")");
    } catch (const json::exception& e) {
        const std::string at = tracker.where();
        return makeError(ErrorCode::Parse, document + ": not valid JSON" + (at.empty() ? "" : " in " + at) + " (" +
                                               e.what() + ")");
    } catch (const std::exception& e) {
        return makeError(ErrorCode::Parse, document + ": cannot read it (" + e.what() + ")");
    }
}

Result<Recipe> parseRecipe(std::string_view text) {
    auto j = parseStrictJson(text, "recipe");
    if (!j) return j.error();
    return recipeFromJson(*j);
}

json recipeToJson(const Recipe& r) {
    json j = json::object();
    json d = entryToJson(r.defaults);
    if (!d.empty()) j["defaults"] = d;
    if (!r.layers.empty()) {
        json layers = json::object();
        for (const auto& [name, e] : r.layers) layers[name] = entryToJson(e);
        j["layers"] = layers;
    }
    if (r.globalPruneSparsity) {
        json gp = {{"sparsity", *r.globalPruneSparsity}};
        if (r.globalPruneCorrection) gp["correction"] = toString(*r.globalPruneCorrection);
        if (r.globalPruneSamples) gp["samples"] = *r.globalPruneSamples;
        j["global_prune"] = gp;
    }
    if (r.layerPruneCorrection) {
        json pc = {{"method", toString(*r.layerPruneCorrection)}};
        if (r.layerPruneSamples) pc["samples"] = *r.layerPruneSamples;
        j["prune_correction"] = pc;
    }
    if (r.globalStructuredKeep) {
        json gs = {{"keep_fraction", *r.globalStructuredKeep}};
        if (r.globalStructuredImportance) gs["importance"] = toString(*r.globalStructuredImportance);
        j["global_structured"] = gs;
    }
    if (r.activations) {
        const ActivationSettings& a = *r.activations;
        json act = {{"mode", toString(a.mode)},
                    {"bits", a.bits},
                    {"calibration", toString(a.calibration)},
                    {"samples", a.samples}};
        if (a.percentile) act["percentile"] = *a.percentile;
        j["activations"] = act;
    }
    if (r.train) {
        const TrainSettings& t = *r.train;
        json train = {{"mode", toString(t.mode)},
                      {"epochs", t.epochs},
                      {"lr", t.lr},
                      {"optimizer", toString(t.optimizer)},
                      {"batch", t.batch},
                      {"schedule", toString(t.schedule)},
                      {"seed", t.seed},
                      {"batchnorm", toString(t.batchNorm)}};
        if (t.optimizer == TrainOptimizer::Sgd) train["momentum"] = t.momentum;
        if (t.weightDecay > 0) train["weight_decay"] = t.weightDecay;
        if (t.schedule == LrSchedule::Step) {
            train["step_epochs"] = t.stepEpochs;
            train["gamma"] = t.gamma;
        }
        if (t.pruneSchedule) train["prune_schedule"] = {{"from", t.pruneSchedule->from}, {"epochs", t.pruneSchedule->epochs}};
        if (t.centroidEpochs > 0) train["centroid_epochs"] = t.centroidEpochs;
        if (t.samples > 0) train["samples"] = t.samples;
        if (t.l1) {
            json l1 = {{"lambda", t.l1->lambda}};
            if (!t.l1->layers.empty()) l1["layers"] = t.l1->layers;
            if (t.l1->targetSparsity) l1["target_sparsity"] = *t.l1->targetSparsity;
            if (t.l1->threshold) l1["threshold"] = *t.l1->threshold;
            if (t.l1->finalEpochs > 0) l1["final_epochs"] = t.l1->finalEpochs;
            train["l1"] = l1;
        }
        if (t.mode == TrainObjective::Distill) {
            const DistillSettings d = t.distill.value_or(DistillSettings{});
            train["distill"] = {{"teacher", d.teacher}, {"temperature", d.temperature}, {"alpha", d.alpha}, {"hard", d.hard}};
        }
        if (t.init == WeightInit::Random) train["init"] = "random";
        j["train"] = train;
    }
    if (r.evaluation) {
        json evaluation = json::object();
        if (r.evaluation->crossValidation) {
            const CrossValidationSettings& cv = *r.evaluation->crossValidation;
            json c = {{"folds", cv.folds}, {"seed", cv.seed}};
            if (cv.epochs) c["epochs"] = *cv.epochs;
            evaluation["cross_validation"] = c;
        }
        j["evaluation"] = evaluation;
    }
    return j;
}

std::string writeRecipe(const Recipe& recipe) { return recipeToJson(recipe).dump(2); }

Status validateRecipe(const Recipe& recipe, const Graph& graph) {
    std::vector<std::string> errors;
    checkIntrinsic(recipe, errors);
    if (recipe.train && recipe.train->l1)
        for (const auto& [name, lambda] : recipe.train->l1->layers)
            if (findLayerNode(graph, name) < 0)
                errors.push_back("train.l1.layers." + name + ": no layer named '" + name + "' in the model; " +
                                 layerList(graph));
    std::map<int, std::string> claimed;
    std::optional<ChannelGroups> groups;                          // found when a structured entry needs them
    std::map<int, std::pair<std::string, std::string>> groupSetting;  // group → (entry, its setting)
    for (const auto& [name, e] : recipe.layers) {
        const std::string path = "layers." + name;
        const int idx = findLayerNode(graph, name);
        if (idx < 0) {
            const int any = graph.nodeIndex(name);
            if (any >= 0)
                errors.push_back(path + ": node '" + name + "' (" + graph.nodes[size_t(any)].opType +
                                 ") has no weight to compress; " + layerList(graph));
            else
                errors.push_back(path + ": no layer named '" + name + "' in the model; " + layerList(graph));
            continue;
        }
        if (auto [it, fresh] = claimed.emplace(idx, name); !fresh) {
            errors.push_back(path + ": names the same layer as layers." + it->second);
            continue;
        }
        const Node& node = graph.nodes[size_t(idx)];
        if (e.prune && (e.prune->keep || e.prune->keepFraction)) {
            if (!groups) groups = findChannelGroups(graph);
            const int gi = groups->groupMadeBy(node.name);
            const ChannelGroup* g = gi < 0 ? nullptr : &groups->groups[size_t(gi)];
            const std::string setting = e.prune->keep ? "keep " + std::to_string(*e.prune->keep)
                                                      : "keep_fraction " + formatNumber(*e.prune->keepFraction);
            if (!g) {
                errors.push_back(path + ".prune.structured: " + node.name + " (" + node.opType +
                                 ") makes no channels that structured pruning can follow");
            } else if (!g->blocker.empty()) {
                errors.push_back(path + ".prune.structured: the channels of " + node.name + " cannot be removed: " +
                                 g->blocker);
            } else if (e.prune->keep && *e.prune->keep > g->channels) {
                errors.push_back(path + ".prune.structured.keep: " + std::to_string(*e.prune->keep) +
                                 " is more than the " + std::to_string(g->channels) + " channels of " + node.name +
                                 "'s channel group");
            } else if (auto [it, fresh] = groupSetting.emplace(gi, std::pair{name, setting});
                       !fresh && it->second.second != setting) {
                errors.push_back(path + ".prune.structured: " + node.name + " shares its channels with layers." +
                                 it->second.first + " (one channel group), which sets " + it->second.second +
                                 "; set the group once");
            }
        }
        if (e.lowrank && e.lowrank->requested()) {
            const LayerSettings s = resolveLayerSettings(recipe, node.name, node.inputs[1]);
            if (const std::string why = decompositionRefusal(graph, idx, s.lowRankMethod); !why.empty()) {
                errors.push_back(path + ".lowrank: " + why);
            } else {
                for (auto& error : checkDecompositionRanks(graph, idx, s, path + ".lowrank"))
                    errors.push_back(std::move(error));
            }
        }
    }
    return fromErrors(errors);
}

LayerSettings resolveLayerSettings(const Recipe& recipe, const std::string& nodeName, const std::string& weightName) {
    LayerSettings s;
    const LayerEntry* e = findEntry(recipe, nodeName, weightName);
    const LayerEntry& d = recipe.defaults;

    const bool ownPrune = e && e->prune && (e->prune->sparsity || e->prune->threshold);
    if (ownPrune) {
        s.sparsity = e->prune->sparsity;
        s.threshold = e->prune->threshold;
    } else if (recipe.globalPruneSparsity) {
        s.globalPrune = true;
    } else if (d.prune) {
        s.sparsity = d.prune->sparsity;
        s.threshold = d.prune->threshold;
    }
    if (e && e->prune && (e->prune->keep || e->prune->keepFraction)) {
        s.keep = e->prune->keep;
        s.keepFraction = e->prune->keepFraction;
        s.importance = e->prune->importance.value_or(StructuredImportance::L1);
        s.explicitStructured = true;
    } else if (recipe.globalStructuredKeep) {
        s.globalStructured = true;
        s.importance = recipe.globalStructuredImportance.value_or(StructuredImportance::L1);
    } else if (d.prune) {
        s.keep = d.prune->keep;
        s.keepFraction = d.prune->keepFraction;
        s.importance = d.prune->importance.value_or(StructuredImportance::L1);
    }
    const bool ownLowRank = e && e->lowrank && e->lowrank->requested();
    if (const LowRankEntry* l = ownLowRank ? &*e->lowrank : d.lowrank ? &*d.lowrank : nullptr) {
        s.lowRankMethod = l->method.value_or(LowRankMethod::Channel);
        s.rank = l->rank;
        s.rankOut = l->rankOut;
        s.rankIn = l->rankIn;
        s.energy = l->energy;
        s.explicitLowRank = ownLowRank;
    }
    for (const LayerEntry* src : {&d, e}) {
        if (!src || !src->quant) continue;
        const QuantEntry& q = *src->quant;
        if (q.bits) s.bits = *q.bits;
        if (q.granularity) s.granularity = *q.granularity;
        if (q.symmetric) s.symmetric = *q.symmetric;
        if (q.rounding) s.rounding = *q.rounding;
        if (q.seed) s.seed = *q.seed;
    }
    return s;
}

LayerSettings resolveLayerSettings(const Recipe& recipe, const Graph& graph, int nodeIndex) {
    auto lw = layerWeight(graph, nodeIndex);
    if (!lw)
        return resolveLayerSettings(
            recipe,
            nodeIndex >= 0 && nodeIndex < int(graph.nodes.size()) ? graph.nodes[size_t(nodeIndex)].name : std::string(),
            std::string());
    return resolveLayerSettings(recipe, lw->nodeName, lw->weight);
}

}  // namespace lathe
