#pragma once

#include <string>
#include <vector>

namespace lathe {

// `lathe-cli sensitivity MODEL --data SPEC [options]`: per-layer accuracy curves over sparsity, bits and rank.
// Exit codes as lathe-cli eval (0 done, 1 bad input, 2 usage, 3 an op no runtime here can run).
int runSensitivityCommand(const std::vector<std::string>& args);
// `lathe-cli allocate MODEL --data SPEC --target T --budget X -o R.json`: per-layer settings within a budget, chosen
// from the sensitivity curves, measured, written as a recipe.
int runAllocateCommand(const std::vector<std::string>& args);

}  // namespace lathe
