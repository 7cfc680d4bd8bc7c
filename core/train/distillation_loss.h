#pragma once
// The knowledge-distillation loss (no torch types here; the training loop uses the same code on tensors).

#include <cstdint>
#include <span>

#include "core/common/result.h"
#include "core/compress/recipe.h"

namespace lathe {

struct DistillationLossTerms {
    double total = 0;         // α·distillation + (1−α)·labels
    double distillation = 0;  // soft: T²·KL(softmax(t/T) ‖ softmax(s/T)); hard: CE(s, argmax t); batch means
    double labels = 0;        // CE(s, labels), batch mean
};

// The loss of a batch of `labels.size()` samples: `student` and `teacher` are row-major [samples, classes] logits.
Result<DistillationLossTerms> distillationLoss(std::span<const float> student, std::span<const float> teacher,
                                               std::span<const int64_t> labels, int64_t classes,
                                               const DistillSettings& settings);

}  // namespace lathe
