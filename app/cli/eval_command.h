#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "core/eval/evaluator.h"

namespace lathe {

// `lathe-cli eval MODEL --data SPEC [options]` (arguments after "eval"; -h/--help prints the options). Returns the
// exit code: 0 done, 1 bad input or a model that cannot run (one line on stderr), 2 usage error.
int runEvalCommand(const std::vector<std::string>& args);

// The documented JSON object: top1, top5, macro_f1, n, folds{k, mean, std}, seconds, images_per_s, latency_ms,
// backend (accuracies in percent).
std::string evalJson(const EvalReport& report);
// Plain-text report: summary lines, per-class precision/recall/F1 and the confusion matrix.
void printEvalReport(std::ostream& out, const EvalReport& report, const std::vector<std::string>& classNames);

}  // namespace lathe
