#include "core/train/distillation_loss.h"

#include <string>
#include <vector>

#include "core/train/torch_losses.h"

namespace lathe {

namespace train {

LossTerms distillationLoss(const torch::Tensor& student, const torch::Tensor& teacher, const torch::Tensor& labels,
                           const DistillSettings& s) {
    LossTerms terms;
    const torch::Tensor t = teacher.detach();
    terms.labels = torch::cross_entropy_loss(student, labels);
    if (s.hard) {
        terms.distillation = torch::cross_entropy_loss(student, t.argmax(1));
    } else {
        const double T = s.temperature;
        const torch::Tensor logStudent = torch::log_softmax(student / T, 1);
        const torch::Tensor logTeacher = torch::log_softmax(t / T, 1);
        // KL(p_t ‖ p_s) = Σ p_t (log p_t − log p_s), mean over the batch; T² keeps the gradients' scale (Hinton 2015).
        terms.distillation = (logTeacher.exp() * (logTeacher - logStudent)).sum(1).mean() * (T * T);
    }
    // α = 1 or 0 leaves the other term out of the graph, so a pure hard-label run is a plain label run.
    if (s.alpha >= 1) terms.total = terms.distillation;
    else if (s.alpha <= 0) terms.total = terms.labels;
    else terms.total = s.alpha * terms.distillation + (1.0 - s.alpha) * terms.labels;
    return terms;
}

}  // namespace train

Result<DistillationLossTerms> distillationLoss(std::span<const float> student, std::span<const float> teacher,
                                               std::span<const int64_t> labels, int64_t classes,
                                               const DistillSettings& settings) {
    const int64_t n = int64_t(labels.size());
    if (classes < 1 || int64_t(student.size()) != n * classes || int64_t(teacher.size()) != n * classes)
        return makeError(ErrorCode::InvalidArgument,
                         "distillation loss: " + std::to_string(student.size()) + " student and " +
                             std::to_string(teacher.size()) + " teacher logits for " + std::to_string(n) +
                             " samples of " + std::to_string(classes) + " classes");
    for (int64_t y : labels)
        if (y < 0 || y >= classes)
            return makeError(ErrorCode::InvalidArgument, "distillation loss: label " + std::to_string(y) +
                                                             " is outside 0.." + std::to_string(classes - 1));
    torch::NoGradGuard noGrad;
    auto tensor = [&](std::span<const float> v) {
        return torch::from_blob(const_cast<float*>(v.data()), {n, classes}, torch::kFloat).to(torch::kDouble);
    };
    const std::vector<int64_t> y(labels.begin(), labels.end());
    const train::LossTerms t =
        train::distillationLoss(tensor(student), tensor(teacher), torch::tensor(y, torch::kLong), settings);
    return DistillationLossTerms{t.total.item<double>(), t.distillation.item<double>(), t.labels.item<double>()};
}

}  // namespace lathe
