#include "app/gui/project_file.h"

#include <QDir>
#include <QFileInfo>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/eval/inference_backend.h"

namespace lathe {

namespace {

using json = nlohmann::json;

constexpr int kMaxClasses = 4096;
constexpr int64_t kMaxConfusionTotal = 100'000'000;

QString qs(const std::string& s) { return QString::fromStdString(s); }

std::string shortDump(const json& v) {
    std::string s = v.dump();
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

// A field of the wrong type or out of range: what parseProjectFile reports.
struct FieldError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw FieldError(path + ": " + what); }

std::string child(const std::string& path, const char* key) { return path.empty() ? key : path + "." + key; }

// Typed reads of optional members: absent gives the default, a present value of another type fails naming it.
const json* member(const json& object, const char* key) {
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
}

std::string string(const json& o, const char* key, const std::string& path, const std::string& fallback = {}) {
    const json* v = member(o, key);
    if (!v) return fallback;
    if (!v->is_string()) fail(child(path, key), "expected a string, got " + shortDump(*v));
    return v->get<std::string>();
}

bool boolean(const json& o, const char* key, const std::string& path, bool fallback) {
    const json* v = member(o, key);
    if (!v) return fallback;
    if (!v->is_boolean()) fail(child(path, key), "expected true or false, got " + shortDump(*v));
    return v->get<bool>();
}

double number(const json& o, const char* key, const std::string& path, double fallback) {
    const json* v = member(o, key);
    if (!v || v->is_null()) return fallback;
    if (!v->is_number()) fail(child(path, key), "expected a number, got " + shortDump(*v));
    return v->get<double>();
}

int64_t integerValue(const json& v, const std::string& path, int64_t min, int64_t max) {
    int64_t x = 0;
    if (v.is_number_unsigned()) {
        if (v.get<uint64_t>() > uint64_t(max)) fail(path, shortDump(v) + " is above " + std::to_string(max));
        x = int64_t(v.get<uint64_t>());
    } else if (v.is_number_integer()) {
        x = v.get<int64_t>();
    } else if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() &&
               std::fabs(v.get<double>()) < 9e15) {
        x = int64_t(v.get<double>());
    } else {
        fail(path, "expected an integer, got " + shortDump(v));
    }
    if (x < min || x > max)
        fail(path, std::to_string(x) + " is outside " + std::to_string(min) + ".." + std::to_string(max));
    return x;
}

int64_t integer(const json& o, const char* key, const std::string& path, int64_t fallback, int64_t min,
                int64_t max) {
    const json* v = member(o, key);
    return v ? integerValue(*v, child(path, key), min, max) : fallback;
}

const json& object(const json& o, const char* key, const std::string& path) {
    static const json empty = json::object();
    const json* v = member(o, key);
    if (!v) return empty;
    if (!v->is_object()) fail(child(path, key), "expected an object, got " + shortDump(*v));
    return *v;
}

const json& array(const json& o, const char* key, const std::string& path) {
    static const json empty = json::array();
    const json* v = member(o, key);
    if (!v) return empty;
    if (!v->is_array()) fail(child(path, key), "expected an array, got " + shortDump(*v));
    return *v;
}

std::string index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

std::vector<std::string> strings(const json& o, const char* key, const std::string& path) {
    std::vector<std::string> out;
    const json& a = array(o, key, path);
    for (size_t i = 0; i < a.size(); ++i) {
        if (!a[i].is_string()) fail(index(child(path, key), i), "expected a string, got " + shortDump(a[i]));
        out.push_back(a[i].get<std::string>());
    }
    return out;
}

std::vector<float> floats(const json& o, const char* key, const std::string& path) {
    std::vector<float> out;
    const json& a = array(o, key, path);
    for (size_t i = 0; i < a.size(); ++i) {
        if (!a[i].is_number()) fail(index(child(path, key), i), "expected a number, got " + shortDump(a[i]));
        const double v = a[i].get<double>();
        if (!(std::fabs(v) <= std::numeric_limits<float>::max()))
            fail(index(child(path, key), i), shortDump(a[i]) + " does not fit a float");
        out.push_back(float(v));
    }
    return out;
}

template <class E>
E choice(const json& o, const char* key, const std::string& path, E fallback, std::initializer_list<E> values) {
    const json* v = member(o, key);
    if (!v) return fallback;
    if (v->is_string())
        for (E e : values)
            if (v->get<std::string>() == toString(e)) return e;
    std::string names;
    for (E e : values) names += (names.empty() ? "" : ", ") + std::string(toString(e));
    fail(child(path, key), shortDump(*v) + " is not one of " + names);
}

LayerReport layerReportFromJson(const json& l, const std::string& path) {
    if (!l.is_object()) fail(path, "expected an object, got " + shortDump(l));
    constexpr int64_t kBig = std::numeric_limits<int64_t>::max();
    LayerReport r;
    r.name = string(l, "name", path);
    r.opType = string(l, "op", path);
    const json& shape = array(l, "original_shape", path);
    for (size_t i = 0; i < shape.size(); ++i)
        r.originalShape.push_back(integerValue(shape[i], index(child(path, "original_shape"), i), 0, kBig));
    r.channels = integer(l, "channels", path, 0, 0, kBig);
    r.keptChannels = integer(l, "kept_channels", path, 0, 0, kBig);
    r.rank = integer(l, "rank", path, 0, 0, kBig);
    r.fullRank = integer(l, "full_rank", path, 0, 0, kBig);
    r.lowRankMethod = choice(l, "lowrank_method", path, LowRankMethod::Channel,
                             {LowRankMethod::Channel, LowRankMethod::Tucker2, LowRankMethod::Spatial});
    r.rankIn = integer(l, "rank_in", path, 0, 0, kBig);
    r.fullRankIn = integer(l, "full_rank_in", path, 0, 0, kBig);
    r.lowRankError = number(l, "low_rank_error", path, 0.0);
    r.threshold = number(l, "threshold", path, 0.0);
    r.sparsity = number(l, "sparsity", path, 0.0);
    r.bits = int(integer(l, "bits", path, 32, 1, 64));
    r.rounding = choice(l, "rounding", path, Rounding::Nearest, {Rounding::Nearest, Rounding::Stochastic, Rounding::KMeans});
    r.granularity =
        choice(l, "granularity", path, Granularity::PerTensor, {Granularity::PerTensor, Granularity::PerChannel});
    r.symmetric = boolean(l, "symmetric", path, true);
    r.relError = number(l, "rel_error", path, 0.0);
    r.sqnrDb = number(l, "sqnr_db", path, std::numeric_limits<double>::infinity());
    r.params = integer(l, "params", path, 0, 0, kBig);
    r.bytes = integer(l, "bytes", path, 0, 0, kBig);
    r.originalParams = integer(l, "original_params", path, 0, 0, kBig);
    r.originalBytes = integer(l, "original_bytes", path, 0, 0, kBig);
    r.notes = strings(l, "notes", path);
    return r;
}

// The "confusion" member of `j` (rows of counts by true class), each count checked.
ConfusionMatrix confusionFromJson(const json& j, const std::string& path) {
    const std::string cp = child(path, "confusion");
    const json& confusion = array(j, "confusion", path);
    if (confusion.size() > size_t(kMaxClasses))
        fail(cp, "has " + std::to_string(confusion.size()) + " rows (at most " + std::to_string(kMaxClasses) +
                     " classes)");
    const int classes = int(confusion.size());
    ConfusionMatrix matrix(classes);
    int64_t total = 0;
    for (int t = 0; t < classes; ++t) {
        const std::string rp = index(cp, size_t(t));
        const json& row = confusion[size_t(t)];
        if (!row.is_array()) fail(rp, "expected an array of counts, got " + shortDump(row));
        if (row.size() > size_t(classes))
            fail(rp, "has " + std::to_string(row.size()) + " counts for " + std::to_string(classes) + " classes");
        for (int p = 0; p < int(row.size()); ++p) {
            const int64_t k = integerValue(row[size_t(p)], index(rp, size_t(p)), 0, kMaxConfusionTotal);
            total += k;
            if (total > kMaxConfusionTotal)
                fail(cp, "counts more than " + std::to_string(kMaxConfusionTotal) + " samples");
            for (int64_t n = 0; n < k; ++n) matrix.add(t, p);
        }
    }
    return matrix;
}

json confusionToJson(const ConfusionMatrix& m) {
    json confusion = json::array();
    for (int t = 0; t < m.numClasses(); ++t) {
        json row = json::array();
        for (int p = 0; p < m.numClasses(); ++p) row.push_back(m.count(t, p));
        confusion.push_back(std::move(row));
    }
    return confusion;
}

VariantMetrics metricsFromJson(const json& j, const std::string& path) {
    if (!j.is_object()) fail(path, "expected an object, got " + shortDump(j));
    constexpr int64_t kBig = std::numeric_limits<int64_t>::max();
    VariantMetrics m;
    m.top1 = number(j, "top1", path, 0.0);
    m.top5 = number(j, "top5", path, 0.0);
    m.macroF1 = number(j, "macro_f1", path, 0.0);
    m.foldStd = number(j, "fold_std", path, 0.0);
    m.samples = integer(j, "samples", path, 0, 0, kBig);
    m.latencyMs = number(j, "latency_ms", path, 0.0);
    m.backend = qs(string(j, "backend", path));
    m.confusion = confusionFromJson(j, path);
    m.params = integer(j, "params", path, 0, 0, kBig);
    m.weightBytes = integer(j, "weight_bytes", path, 0, 0, kBig);
    m.onnxBytes = integer(j, "onnx_bytes", path, 0, 0, kBig);
    m.zlibBytes = integer(j, "zlib_bytes", path, 0, 0, kBig);
    m.deepCompressionBytes = integer(j, "deep_compression_bytes", path, 0, 0, kBig);
    m.macs = integer(j, "macs", path, 0, 0, kBig);
    m.format = qs(string(j, "format", path, "float"));
    const json& layers = array(j, "layers", path);
    for (size_t i = 0; i < layers.size(); ++i)
        m.layers.push_back(layerReportFromJson(layers[i], index(child(path, "layers"), i)));
    for (const std::string& n : strings(j, "notes", path)) m.notes << qs(n);
    return m;
}

ProjectDataset datasetFromJson(const json& j, const std::string& path) {
    ProjectDataset s;
    s.specText = qs(string(j, "spec", path));
    s.trainSpecText = qs(string(j, "train_spec", path));
    // A spec that does not parse is kept as text: the data set panel reports it under its field.
    if (auto spec = parseDatasetSpec(s.specText.toStdString())) s.spec = *spec;
    if (s.spec.kind == DatasetKind::Idx) {
        const std::string split = string(j, "split", path, "test");
        if (split != "test" && split != "train") fail(child(path, "split"), "\"" + split + "\" is not test or train");
        s.dataset.split = split == "train" ? Split::Train : Split::Test;
    }
    constexpr int64_t kBig = std::numeric_limits<int64_t>::max();
    s.eval.limit = integer(j, "limit", path, 0, 0, kBig);
    s.eval.shuffle = boolean(j, "shuffle", path, false);
    s.eval.batchSize = int(integer(j, "batch", path, 100, 1, 1 << 20));
    s.eval.folds = int(integer(j, "folds", path, 5, 1, 1000));
    const json* seed = member(j, "seed");
    if (seed) {
        if (!seed->is_number_integer() || (!seed->is_number_unsigned() && seed->get<int64_t>() < 0))
            fail(child(path, "seed"), "expected a non-negative integer, got " + shortDump(*seed));
        s.eval.seed = seed->get<uint64_t>();
    }
    s.eval.latencySamples = int(integer(j, "latency_samples", path, 50, 0, 100'000));
    s.eval.backend = BackendKind::Auto;
    const std::string backend = string(j, "backend", path, "auto");
    bool known = false;
    for (BackendKind k : {BackendKind::Auto, BackendKind::Builtin, BackendKind::OpenCv})
        if (backend == backendName(k)) {
            s.eval.backend = k;
            known = true;
        }
    if (!known) fail(child(path, "backend"), "\"" + backend + "\" is not auto, builtin or opencv");
    const std::string pp = child(path, "preprocessing");
    const json& pre = object(j, "preprocessing", path);
    Preprocessing& p = s.dataset.preprocessing;
    p.resize = int(integer(pre, "resize", pp, 0, 0, 1 << 16));
    p.crop = int(integer(pre, "crop", pp, 0, 0, 1 << 16));
    p.mean = floats(pre, "mean", pp);
    p.stddev = floats(pre, "std", pp);
    p.bgr = boolean(pre, "bgr", pp, false);
    p.gray = boolean(pre, "gray", pp, false);
    if (const json* scale = member(pre, "scale"); scale && !scale->is_null()) {
        const double v = number(pre, "scale", pp, 1.0);
        if (!(std::fabs(v) <= std::numeric_limits<float>::max())) fail(child(pp, "scale"), "does not fit a float");
        p.scale = float(v);
    }
    return s;
}

Recipe recipeAt(const json& j, const std::string& path) {
    auto recipe = recipeFromJson(j);
    if (!recipe) {
        // Each line of the recipe's message is one problem with its own field path.
        std::string message, line;
        const std::string& text = recipe.error().message;
        for (size_t begin = 0; begin <= text.size();) {
            size_t end = text.find('\n', begin);
            if (end == std::string::npos) end = text.size();
            line = text.substr(begin, end - begin);
            if (line.starts_with("recipe: ")) line = line.substr(8);
            message += (message.empty() ? "" : "\n") + path + "." + line;
            begin = end + 1;
        }
        throw FieldError(message);
    }
    return *recipe;
}

std::vector<EpochRecord> historyFromJson(const json& j, const std::string& path);

// A cross-validated figure ("cross_validation"), each field checked; throws FieldError naming the field.
CrossValidationFigure crossValidationFromJson(const json& j, const std::string& path) {
    if (!j.is_object()) fail(path, "expected an object, got " + shortDump(j));
    CrossValidationFigure f;
    f.folds = int(integer(j, "folds", path, 0, 2, 1000));
    f.epochs = int(integer(j, "epochs", path, 1, 1, 100000));
    const auto meanStd = [&](const char* key, double& mean, double& std) {
        const std::string at = child(path, key);
        const json& o = object(j, key, path);
        mean = number(o, "mean", at, -1);
        std = number(o, "std", at, -1);
        if (mean < 0 || mean > 100 || std < 0 || std > 100) fail(at, "mean or std out of range [0, 100]");
    };
    meanStd("top1", f.meanTop1, f.stdTop1);
    meanStd("macro_f1", f.meanF1, f.stdF1);
    return f;
}

// The float model's evaluation ("evaluation"), each field checked; throws FieldError naming the field.
BaselineEvaluation baselineEvaluationFromJson(const json& j, const std::string& path) {
    if (!j.is_object()) fail(path, "expected an object, got " + shortDump(j));
    constexpr int64_t kBig = std::numeric_limits<int64_t>::max();
    BaselineEvaluation e;
    e.dataset = datasetFromJson(object(j, "dataset", path), child(path, "dataset"));
    for (const std::string& c : strings(j, "class_names", path)) e.classNames << qs(c);
    const std::string rp = child(path, "report");
    const json& r = object(j, "report", path);
    EvalReport& report = e.report;
    report.backend = string(r, "backend", rp);
    report.n = integer(r, "n", rp, 0, 0, kBig);
    report.top1 = number(r, "top1", rp, 0.0);
    report.top5 = number(r, "top5", rp, 0.0);
    report.macroF1 = number(r, "macro_f1", rp, 0.0);
    if (report.top1 < 0 || report.top1 > 100 || report.top5 < 0 || report.top5 > 100 || report.macroF1 < 0 ||
        report.macroF1 > 100)
        fail(rp, "top1, top5 or macro_f1 outside [0, 100]");
    report.confusion = confusionFromJson(r, rp);
    report.perClass = perClassMetrics(report.confusion);
    const std::string fp = child(rp, "folds");
    const json& folds = object(r, "folds", rp);
    report.folds.k = int(integer(folds, "k", fp, 0, 0, 1000));
    report.folds.mean = number(folds, "mean", fp, 0.0);
    report.folds.stddev = number(folds, "std", fp, 0.0);
    for (float a : floats(folds, "accuracies", fp)) report.folds.accuracies.push_back(double(a));
    report.seconds = number(r, "seconds", rp, 0.0);
    report.imagesPerSecond = number(r, "images_per_second", rp, 0.0);
    report.latencyMs = number(r, "latency_ms", rp, 0.0);
    report.notes = strings(r, "notes", rp);
    return e;
}

ProjectFile parse(const json& j, const QString& projectDir) {
    ProjectFile f;
    if (!j.is_object() || !j.contains("lathe_project"))
        throw FieldError("not a Lathe project (no \"lathe_project\" field)");
    f.version = int(integer(j, "lathe_project", "", 0, 1, std::numeric_limits<int>::max()));
    if (f.version > ProjectFile::kVersion)
        throw FieldError("made by a newer Lathe (project version " + std::to_string(f.version) + "; this one reads " +
                         std::to_string(ProjectFile::kVersion) + ")");
    const json& model = object(j, "model", "");
    f.modelPath = qs(string(model, "path", "model"));
    const QString relative = qs(string(model, "relative_path", "model"));
    if (!QFileInfo::exists(f.modelPath) && !relative.isEmpty() && QFileInfo::exists(QDir(projectDir).filePath(relative)))
        f.modelPath = QDir(projectDir).filePath(relative);
    f.modelSha256 = qs(string(model, "sha256", "model"));
    f.dataset = datasetFromJson(object(j, "dataset", ""), "dataset");
    for (const std::string& c : strings(j, "class_names", "")) f.classNames << qs(c);
    f.recipe = recipeAt(object(j, "recipe", ""), "recipe");
    const json& variants = array(j, "variants", "");
    for (size_t i = 0; i < variants.size(); ++i) {
        const std::string path = index("variants", i);
        const json& v = variants[i];
        if (!v.is_object()) fail(path, "expected an object, got " + shortDump(v));
        ProjectVariant x;
        x.id = qs(string(v, "id", path));
        if (x.id.isEmpty()) fail(path, "no \"id\"");
        x.name = qs(string(v, "name", path));
        x.note = qs(string(v, "note", path));
        x.baseline = boolean(v, "baseline", path, false);
        x.created = QDateTime::fromString(qs(string(v, "created", path)), Qt::ISODate);
        x.error = qs(string(v, "error", path));
        x.recipe = recipeAt(object(v, "recipe", path), path + ".recipe");
        if (const json* metrics = member(v, "metrics")) x.metrics = metricsFromJson(*metrics, child(path, "metrics"));
        x.parentId = qs(string(v, "parent", path));
        if (const json* history = member(v, "train_history"))
            x.history = historyFromJson(*history, child(path, "train_history"));
        if (const json* cv = member(v, "cross_validation"))
            x.crossValidation = crossValidationFromJson(*cv, child(path, "cross_validation"));
        x.failed = string(v, "state", path, "not_evaluated") == "failed";
        f.variants.push_back(std::move(x));
    }
    f.nextVariant = int(integer(j, "next_variant", "", int64_t(f.variants.size()) + 1, 1,
                                std::numeric_limits<int>::max()));
    if (const json* evaluation = member(j, "evaluation"))
        f.evaluation = baselineEvaluationFromJson(*evaluation, "evaluation");
    const json& view = object(j, "view", "");
    const std::string axis = string(view, "size_axis", "view", "onnx");
    if (axis != "onnx" && axis != "zlib") fail("view.size_axis", "\"" + axis + "\" is not onnx or zlib");
    f.sizeAxis = axis == "zlib" ? PlotSizeAxis::Zlib : PlotSizeAxis::Onnx;
    if (const json* sensitivity = member(j, "sensitivity")) {
        if (!sensitivity->is_object()) fail("sensitivity", "expected an object, got " + shortDump(*sensitivity));
        const json* result = member(*sensitivity, "result");
        if (!result) fail("sensitivity", "no \"result\"");
        auto parsed = sensitivityFromJson(*result);
        if (!parsed) fail("sensitivity.result", parsed.error().message);
        f.sensitivity = ProjectSensitivity{qs(string(*sensitivity, "key", "sensitivity")), std::move(*parsed)};
    }
    return f;
}

json layerReportToJson(const LayerReport& r) {
    json l = {{"name", r.name},         {"op", r.opType},           {"original_shape", r.originalShape},
              {"channels", r.channels}, {"kept_channels", r.keptChannels}, {"rank", r.rank},
              {"full_rank", r.fullRank}, {"lowrank_method", toString(r.lowRankMethod)}, {"rank_in", r.rankIn},
              {"full_rank_in", r.fullRankIn}, {"low_rank_error", r.lowRankError}, {"threshold", r.threshold},
              {"sparsity", r.sparsity}, {"bits", r.bits},           {"rounding", toString(r.rounding)},
              {"granularity", toString(r.granularity)}, {"symmetric", r.symmetric}, {"rel_error", r.relError},
              {"sqnr_db", std::isfinite(r.sqnrDb) ? json(r.sqnrDb) : json(nullptr)},
              {"params", r.params},     {"bytes", r.bytes},         {"original_params", r.originalParams},
              {"original_bytes", r.originalBytes}};
    if (!r.notes.empty()) l["notes"] = r.notes;
    return l;
}

// A training history ("train_history"), each field checked; throws FieldError naming the field.
std::vector<EpochRecord> historyFromJson(const json& j, const std::string& path) {
    if (!j.is_array()) fail(path, "expected an array, got " + shortDump(j));
    std::vector<EpochRecord> history;
    constexpr double kHuge = std::numeric_limits<double>::max();
    for (size_t i = 0; i < j.size(); ++i) {
        const std::string at = index(path, i);
        const json& e = j[i];
        if (!e.is_object()) fail(at, "expected an object, got " + shortDump(e));
        EpochRecord r;
        r.epoch = int(integer(e, "epoch", at, int64_t(i) + 1, 1, 1'000'000));
        r.phase = string(e, "phase", at, "fine-tune");
        r.loss = number(e, "loss", at, 0);
        r.top1 = number(e, "top1", at, -1);
        r.sparsity = number(e, "sparsity", at, 0);
        r.lr = number(e, "lr", at, 0);
        r.seconds = number(e, "seconds", at, 0);
        r.imagesPerSecond = number(e, "images_per_second", at, 0);
        r.penalty = number(e, "penalty", at, 0);
        if (const json* d = member(e, "distillation"); d && !d->is_null())
            r.distillation = number(e, "distillation", at, 0);
        // Per-layer sparsity as stored: an object, so in name order.
        for (const auto& [layer, value] : object(e, "layers", at).items()) {
            if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > 1)
                fail(child(child(at, "layers"), layer.c_str()),
                     "expected a fraction in [0, 1], got " + shortDump(value));
            r.layerSparsity.emplace_back(layer, value.get<double>());
        }
        if (r.top1 > 100 || r.sparsity < 0 || r.sparsity > 1 || r.seconds < 0 || r.seconds > kHuge)
            fail(at, "top1, sparsity or seconds out of range");
        history.push_back(std::move(r));
    }
    return history;
}

}  // namespace

Result<ProjectFile> parseProjectFile(std::string_view bytes, const QString& projectDir) {
    auto j = parseStrictJson(bytes, "project");
    if (!j) {
        std::string message = j.error().message;
        if (message.starts_with("project: ")) message = message.substr(9);
        return makeError(ErrorCode::Parse, message);
    }
    try {
        return parse(*j, projectDir);
    } catch (const std::exception& e) {
        return makeError(ErrorCode::InvalidArgument, e.what());
    }
}

json variantMetricsToJson(const VariantMetrics& m) {
    const json confusion = confusionToJson(m.confusion);
    json layers = json::array();
    for (const LayerReport& r : m.layers) layers.push_back(layerReportToJson(r));
    json notes = json::array();
    for (const QString& n : m.notes) notes.push_back(n.toStdString());
    return {{"top1", m.top1},
            {"top5", m.top5},
            {"macro_f1", m.macroF1},
            {"fold_std", m.foldStd},
            {"samples", m.samples},
            {"latency_ms", m.latencyMs},
            {"backend", m.backend.toStdString()},
            {"confusion", confusion},
            {"params", m.params},
            {"weight_bytes", m.weightBytes},
            {"onnx_bytes", m.onnxBytes},
            {"zlib_bytes", m.zlibBytes},
            {"deep_compression_bytes", m.deepCompressionBytes},
            {"macs", m.macs},
            {"format", m.format.toStdString()},
            {"layers", layers},
            {"notes", notes}};
}

json projectDatasetToJson(const ProjectDataset& s) {
    const Preprocessing& p = s.dataset.preprocessing;
    json pre = {{"resize", p.resize}, {"crop", p.crop}, {"mean", p.mean}, {"std", p.stddev},
                {"bgr", p.bgr},       {"gray", p.gray}};
    if (p.scale) pre["scale"] = *p.scale;
    json out = {{"spec", s.specText.toStdString()},
            {"split", s.dataset.split.value_or(Split::Test) == Split::Train ? "train" : "test"},
            {"limit", s.eval.limit},
            {"shuffle", s.eval.shuffle},
            {"batch", s.eval.batchSize},
            {"folds", s.eval.folds},
            {"seed", s.eval.seed},
            {"backend", std::string(backendName(s.eval.backend))},
            {"latency_samples", s.eval.latencySamples},
            {"preprocessing", pre}};
    if (!s.trainSpecText.isEmpty()) out["train_spec"] = s.trainSpecText.toStdString();
    return out;
}

json crossValidationFigureToJson(const CrossValidationFigure& f) {
    return {{"folds", f.folds},
            {"epochs", f.epochs},
            {"top1", {{"mean", f.meanTop1}, {"std", f.stdTop1}}},
            {"macro_f1", {{"mean", f.meanF1}, {"std", f.stdF1}}}};
}

json baselineEvaluationToJson(const BaselineEvaluation& e) {
    const EvalReport& r = e.report;
    json classNames = json::array();
    for (const QString& c : e.classNames) classNames.push_back(c.toStdString());
    const json folds = {{"k", r.folds.k}, {"mean", r.folds.mean}, {"std", r.folds.stddev},
                        {"accuracies", r.folds.accuracies}};
    const json report = {{"backend", r.backend},
                         {"n", r.n},
                         {"top1", r.top1},
                         {"top5", r.top5},
                         {"macro_f1", r.macroF1},
                         {"confusion", confusionToJson(r.confusion)},
                         {"folds", folds},
                         {"seconds", r.seconds},
                         {"images_per_second", r.imagesPerSecond},
                         {"latency_ms", r.latencyMs},
                         {"notes", r.notes}};
    return {{"dataset", projectDatasetToJson(e.dataset)}, {"class_names", classNames}, {"report", report}};
}

}  // namespace lathe
