#pragma once

#include <string>
#include <vector>

namespace lathe {

// `lathe-cli apply MODEL --recipe R.json -o OUT.onnx [options]` (arguments after "apply"; -h/--help prints the
// options): compresses MODEL by the recipe, calibrates static activations on --data, writes OUT.onnx in the chosen
// format and, with --data, evaluates the written file reloaded. Returns 0 done, 1 bad input (one line on stderr
// naming the file or field), 2 usage error.
int runApplyCommand(const std::vector<std::string>& args);

}  // namespace lathe
