#pragma once
// Internal to core/train (torch types): the training losses.

#include <torch/torch.h>

#include "core/compress/recipe.h"

namespace lathe::train {

struct LossTerms {
    torch::Tensor total;
    torch::Tensor distillation;
    torch::Tensor labels;
};

// distillation_loss.h's loss on [batch, classes] logits (teacher detached) and long labels.
LossTerms distillationLoss(const torch::Tensor& student, const torch::Tensor& teacher, const torch::Tensor& labels,
                           const DistillSettings& settings);

}  // namespace lathe::train
