// lathe-cli: headless front end of the Lathe workbench.
#include <iostream>
#include <string>
#include <vector>

#include "app/cli/apply_command.h"
#include "app/cli/eval_command.h"
#include "app/cli/info_command.h"
#include "app/cli/sensitivity_command.h"
#include "core/model/onnx_reader.h"
#include "core/runtime/shape_probe.h"

namespace {

constexpr const char* kUsage =
    "usage: lathe-cli <command> [options]\n"
    "commands:\n"
    "  info MODEL [--json]   per-layer weights, parameters, bytes and MACs of an ONNX model\n"
    "  eval MODEL --data SPEC [options]   accuracy, F1, split spread, speed on a data set (eval --help)\n"
    "  apply MODEL --recipe R.json -o OUT.onnx [options]   compress, export, measure (apply --help)\n"
    "  sensitivity MODEL --data SPEC [options]   per-layer accuracy against sparsity, bits and rank\n"
    "  allocate MODEL --data SPEC --target T --budget X -o R.json   per-layer settings within a budget\n";

int runInfo(const std::vector<std::string>& args) {
    std::string model;
    bool json = false;
    for (const auto& a : args) {
        if (a == "--json") json = true;
        else if (!a.empty() && a[0] == '-') {
            std::cerr << "lathe-cli info: unknown option '" << a << "'\n";
            return 2;
        } else if (model.empty()) model = a;
        else {
            std::cerr << "lathe-cli info: more than one model given ('" << model << "', '" << a << "')\n";
            return 2;
        }
    }
    if (model.empty()) {
        std::cerr << "lathe-cli info: no model given\n" << kUsage;
        return 2;
    }
    auto graph = lathe::readOnnxModel(model);
    if (!graph) {
        std::cerr << "error: " << graph.error().message << '\n';
        return 1;
    }
    lathe::completeShapesByExecution(*graph);  // shapes static inference left unknown, from one run on zeros
    auto summary = lathe::summarizeModel(*graph);
    if (json) std::cout << lathe::infoJson(*graph, summary) << '\n';
    else lathe::printInfoTable(std::cout, *graph, summary);
    for (const auto& w : graph->warnings) std::cerr << "warning: " << w << '\n';
    // An op nobody can execute is reported as a failure after the (still useful) report.
    return graph->unknownOps().empty() ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "-h" || args[0] == "--help") {
        std::cout << kUsage;
        return args.empty() ? 2 : 0;
    }
    std::string command = args[0];
    args.erase(args.begin());
    if (command == "info") return runInfo(args);
    if (command == "eval") return lathe::runEvalCommand(args);
    if (command == "apply") return lathe::runApplyCommand(args);
    if (command == "sensitivity") return lathe::runSensitivityCommand(args);
    if (command == "allocate") return lathe::runAllocateCommand(args);
    std::cerr << "lathe-cli: unknown command '" << command << "'\n" << kUsage;
    return 2;
}
