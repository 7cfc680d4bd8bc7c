#include "core/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/eval/dataset.h"

namespace lathe {

ConfusionMatrix::ConfusionMatrix(int numClasses)
    : m_numClasses(numClasses), m_counts(size_t(numClasses) * size_t(numClasses), 0) {}

void ConfusionMatrix::add(int truth, int predicted) {
    ++m_counts[size_t(truth) * size_t(m_numClasses) + size_t(predicted)];
}

int64_t ConfusionMatrix::count(int truth, int predicted) const {
    return m_counts[size_t(truth) * size_t(m_numClasses) + size_t(predicted)];
}

int64_t ConfusionMatrix::total() const { return std::accumulate(m_counts.begin(), m_counts.end(), int64_t(0)); }

int64_t ConfusionMatrix::correct() const {
    int64_t sum = 0;
    for (int c = 0; c < m_numClasses; ++c) sum += count(c, c);
    return sum;
}

double accuracy(const ConfusionMatrix& confusion) {
    int64_t total = confusion.total();
    return total ? double(confusion.correct()) / double(total) : 0.0;
}

std::vector<ClassMetrics> perClassMetrics(const ConfusionMatrix& confusion) {
    const int k = confusion.numClasses();
    std::vector<ClassMetrics> out(static_cast<size_t>(k));
    for (int c = 0; c < k; ++c) {
        ClassMetrics& m = out[size_t(c)];
        for (int o = 0; o < k; ++o) {
            m.support += confusion.count(c, o);
            m.predicted += confusion.count(o, c);
        }
        double tp = double(confusion.count(c, c));
        m.precision = m.predicted ? tp / double(m.predicted) : 0.0;
        m.recall = m.support ? tp / double(m.support) : 0.0;
        m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0.0;
    }
    return out;
}

double macroF1(const ConfusionMatrix& confusion) {
    double sum = 0;
    int present = 0;
    for (const ClassMetrics& m : perClassMetrics(confusion)) {
        if (m.support == 0 && m.predicted == 0) continue;
        sum += m.f1;
        ++present;
    }
    return present ? sum / present : 0.0;
}

int argmax(std::span<const float> scores) {
    return int(std::max_element(scores.begin(), scores.end()) - scores.begin());
}

bool inTopK(std::span<const float> scores, int label, int k) {
    const float s = scores[size_t(label)];
    int better = 0;
    for (int i = 0; i < int(scores.size()); ++i)
        if (scores[size_t(i)] > s || (scores[size_t(i)] == s && i < label)) ++better;
    return better < k;
}

Status checkFoldCount(int k, int64_t n) {
    if (k < 1 || k > n)
        return makeError(ErrorCode::InvalidArgument, "folds: k = " + std::to_string(k) + " must lie in 1.." +
                                                         std::to_string(n) + " (the number of evaluated samples)");
    return Ok{};
}

Result<FoldStats> kFoldAccuracy(std::span<const uint8_t> correct, int k, uint64_t seed) {
    const int64_t n = int64_t(correct.size());
    if (auto valid = checkFoldCount(k, n); !valid) return valid.error();
    std::vector<int64_t> order = shuffledIndices(n, seed);
    FoldStats stats;
    stats.k = k;
    for (int f = 0; f < k; ++f) {
        int64_t begin = n * f / k, end = n * (f + 1) / k, hits = 0;
        for (int64_t i = begin; i < end; ++i) hits += correct[size_t(order[size_t(i)])] ? 1 : 0;
        stats.accuracies.push_back(double(hits) / double(end - begin));
    }
    stats.mean = std::accumulate(stats.accuracies.begin(), stats.accuracies.end(), 0.0) / k;
    if (k > 1) {
        double ss = 0;
        for (double a : stats.accuracies) ss += (a - stats.mean) * (a - stats.mean);
        stats.stddev = std::sqrt(ss / (k - 1));
    }
    return stats;
}

double median(std::vector<double> values) {
    if (values.empty()) return 0.0;
    std::sort(values.begin(), values.end());
    size_t mid = values.size() / 2;
    return values.size() % 2 ? values[mid] : 0.5 * (values[mid - 1] + values[mid]);
}

}  // namespace lathe
