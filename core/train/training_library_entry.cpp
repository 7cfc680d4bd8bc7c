// liblathe_train's entry point for loadTrainingLibrary() (core/train/training_library.h).
#include "core/train/training_library.h"

extern "C" const lathe::TrainingLibrary* lathe_training_library() {
    static const lathe::TrainingLibrary library{&lathe::trainRecipe, &lathe::crossValidate};
    return &library;
}
