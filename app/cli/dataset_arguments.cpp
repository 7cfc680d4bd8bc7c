#include "app/cli/dataset_arguments.h"

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <sstream>

namespace lathe::cli {

namespace {

BackendKind parseBackend(const std::string& text) {
    for (BackendKind kind : {BackendKind::Auto, BackendKind::Builtin, BackendKind::OpenCv})
        if (text == backendName(kind)) return kind;
    throw UsageError{"--backend is auto, builtin or opencv, got '" + text + "'"};
}

Split parseSplit(const std::string& text) {
    if (text != "test" && text != "train") throw UsageError{"--split is test or train, got '" + text + "'"};
    return text == "train" ? Split::Train : Split::Test;
}

}  // namespace

float parseFloat(const std::string& option, const std::string& text) {
    char* end = nullptr;
    const float value = std::strtof(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value))
        throw UsageError{option + " needs a number, got '" + text + "'"};
    return value;
}

std::vector<float> parseFloats(const std::string& option, const std::string& text) {
    std::vector<float> values;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) values.push_back(parseFloat(option, item));
    if (values.size() != 1 && values.size() != 3)
        throw UsageError{option + " needs 1 or 3 comma-separated numbers, got '" + text + "'"};
    return values;
}

OptionSetters datasetOptionSetters(DatasetArguments& out) {
    return {
        {"--data", [&out](auto&, auto& v) { out.data = v; }},
        {"--split", [&out](auto&, auto& v) { out.datasetOptions.split = parseSplit(v); }},
        {"--limit", [&eval = out.evalOptions](auto& o, auto& v) { eval.limit = parseInteger<int64_t>(o, v, 1); }},
        {"--backend", [&eval = out.evalOptions](auto&, auto& v) { eval.backend = parseBackend(v); }},
        {"--batch", [&eval = out.evalOptions](auto& o, auto& v) { eval.batchSize = parseInteger<int>(o, v, 1); }},
        {"--threads", [&eval = out.evalOptions](auto& o, auto& v) { eval.threads = parseInteger<int>(o, v, 1); }},
        {"--scale", [&pre = out.datasetOptions.preprocessing](auto& o, auto& v) { pre.scale = parseFloat(o, v); }},
        {"--mean", [&pre = out.datasetOptions.preprocessing](auto& o, auto& v) { pre.mean = parseFloats(o, v); }},
        {"--std", [&pre = out.datasetOptions.preprocessing](auto& o, auto& v) { pre.stddev = parseFloats(o, v); }},
    };
}

std::string parseCommandLine(const std::vector<std::string>& args, const OptionSwitches& switches,
                             const OptionSetters& setters) {
    std::string model;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (auto s = switches.find(a); s != switches.end()) {
            s->second();
        } else if (auto v = setters.find(a); v != setters.end()) {
            if (i + 1 >= args.size()) throw UsageError{a + " needs a value"};
            v->second(a, args[++i]);
        } else if (!a.empty() && a[0] == '-') {
            throw UsageError{"unknown option '" + a + "'"};
        } else if (model.empty()) {
            model = a;
        } else {
            throw UsageError{"more than one model given ('" + model + "', '" + a + "')"};
        }
    }
    if (model.empty()) throw UsageError{"no model given"};
    return model;
}

std::optional<int> parseCommand(const std::string& command, const char* usage, const std::vector<std::string>& args,
                                const std::function<void()>& parse) {
    if (args.size() == 1 && (args[0] == "-h" || args[0] == "--help")) {
        std::cout << usage;
        return 0;
    }
    try {
        parse();
    } catch (const UsageError& e) {
        std::cerr << "lathe-cli " << command << ": " << e.message << '\n' << usage;
        return 2;
    }
    return std::nullopt;
}

std::optional<DatasetSpec> datasetSpec(const DatasetArguments& args) {
    if (args.data.empty()) {
        if (args.datasetOptions.split || args.evalOptions.limit) throw UsageError{"--split and --limit need --data"};
        return std::nullopt;
    }
    auto spec = parseDatasetSpec(args.data);
    if (!spec) throw UsageError{spec.error().message};
    if (auto valid = validateDatasetOptions(*spec, args.datasetOptions); !valid)
        throw UsageError{valid.error().message};
    return *spec;
}

}  // namespace lathe::cli
