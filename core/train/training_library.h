#pragma once
// The training engine as a library loaded when it is first needed. liblathe_train links libtorch, whose start-up
// (loading ~280 shared libraries and registering its operators) takes ~0.7 s: a program that links it directly pays
// that before main() even when the user never trains. The GUI calls training through this table instead; lathe-cli and
// the tests link lathe_train and call its functions directly. No torch types here.

#include "core/common/result.h"
#include "core/train/cross_validation.h"
#include "core/train/fine_tune.h"

namespace lathe {

struct TrainingLibrary {
    decltype(&lathe::trainRecipe) trainRecipe = nullptr;
    decltype(&lathe::crossValidate) crossValidate = nullptr;
};

// Loads liblathe_train (from the folder of liblathe_core.so, where the build puts both) on the first call and returns its
// table; later calls return the same table or the same error, which names the library and the loader's reason.
// Thread-safe; the first call blocks for the load, so callers make it from a worker thread.
Result<const TrainingLibrary*> loadTrainingLibrary();

}  // namespace lathe

// The entry point liblathe_train exports for loadTrainingLibrary().
extern "C" const lathe::TrainingLibrary* lathe_training_library();
