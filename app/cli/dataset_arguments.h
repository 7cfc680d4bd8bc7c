#pragma once

#include <charconv>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/eval/dataset.h"
#include "core/eval/evaluator.h"

// Command-line parsing shared by `lathe-cli eval` and `lathe-cli apply`: the data set (--data, --split), its
// preprocessing, the evaluation options and the usage errors.
namespace lathe::cli {

// A command line that cannot run; the message names the option or argument, the command adds its usage.
struct UsageError {
    std::string message;
};

// --data SPEC ("" when not given), how to read it and how to evaluate on it.
struct DatasetArguments {
    std::string data;
    std::optional<DatasetSpec> spec;  // `data` parsed, set from datasetSpec()
    DatasetOptions datasetOptions;
    EvalOptions evalOptions;
};

using OptionSwitches = std::map<std::string, std::function<void()>>;
using OptionSetters = std::map<std::string, std::function<void(const std::string& option, const std::string& value)>>;

// `text` as an integer >= `min`; throws UsageError naming `option`.
template <class T>
T parseInteger(const std::string& option, const std::string& text, T min) {
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min)
        throw UsageError{option + " needs an integer >= " + std::to_string(min) + ", got '" + text + "'"};
    return value;
}
// `text` as a finite number; throws UsageError naming `option`.
float parseFloat(const std::string& option, const std::string& text);
// 1 or 3 comma-separated numbers; throws UsageError naming `option`.
std::vector<float> parseFloats(const std::string& option, const std::string& text);

// Setters of the options both commands take, writing into `out`: --data, --split, --limit, --backend, --batch,
// --threads, --scale, --mean, --std.
OptionSetters datasetOptionSetters(DatasetArguments& out);
// Runs the switch or setter of every option in `args` and returns the one positional argument (the model); throws
// UsageError on an unknown option, an option without its value, a second model or none.
std::string parseCommandLine(const std::vector<std::string>& args, const OptionSwitches& switches,
                             const OptionSetters& setters);
// The usage protocol of a command: `-h` or `--help` alone prints `usage` to stdout (exit code 0); a UsageError thrown
// by `parse` prints "lathe-cli <command>: <message>" and `usage` to stderr (exit code 2). nullopt: parsed, go on.
std::optional<int> parseCommand(const std::string& command, const char* usage, const std::vector<std::string>& args,
                                const std::function<void()>& parse);
// --data parsed and checked against the data-set options; nullopt without --data (then --split and --limit are
// usage errors). Throws UsageError.
std::optional<DatasetSpec> datasetSpec(const DatasetArguments& args);

}  // namespace lathe::cli
