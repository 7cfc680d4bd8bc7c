#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/common/result.h"

namespace lathe {

// Counts of (true class, predicted class) pairs; rows are true classes, columns predictions.
class ConfusionMatrix {
public:
    explicit ConfusionMatrix(int numClasses = 0);

    // Both classes must lie in [0, numClasses()).
    void add(int truth, int predicted);
    int64_t count(int truth, int predicted) const;
    int numClasses() const { return m_numClasses; }
    int64_t total() const;
    int64_t correct() const;  // the diagonal

private:
    int m_numClasses = 0;
    std::vector<int64_t> m_counts;
};

// Fractions in [0,1]. A class never predicted has precision 0; a class with no true samples has recall 0.
struct ClassMetrics {
    double precision = 0;
    double recall = 0;
    double f1 = 0;
    int64_t support = 0;    // true samples of the class
    int64_t predicted = 0;  // samples predicted as the class
};

// correct / total; 0 for an empty matrix.
double accuracy(const ConfusionMatrix& confusion);
std::vector<ClassMetrics> perClassMetrics(const ConfusionMatrix& confusion);
// Unweighted mean F1 over the classes that occur as a true label or a prediction (scikit-learn's "macro").
double macroF1(const ConfusionMatrix& confusion);

// Index of the largest score; the first one on ties (as numpy.argmax).
int argmax(std::span<const float> scores);
// Whether `label` is among the k best scores, ties ranked by index like argmax (k=1 is argmax == label).
bool inTopK(std::span<const float> scores, int label, int k);

// k-fold estimate for a trained model: the evaluated samples are split into k disjoint folds (seeded shuffle, sizes
// differing by at most one) and accuracy is measured per fold. Nothing is retrained: mean is (about) the overall
// accuracy and std shows how much accuracy varies between samples of n/k images - a variability estimate. Fractions.
struct FoldStats {
    int k = 0;
    double mean = 0;
    double stddev = 0;  // sample standard deviation (n-1) over folds; 0 for k = 1
    std::vector<double> accuracies;
};

// Fails unless 1 <= k <= n.
Status checkFoldCount(int k, int64_t n);
// `correct[i]` is 1 when sample i was classified right. Fails as checkFoldCount(k, correct.size()).
Result<FoldStats> kFoldAccuracy(std::span<const uint8_t> correct, int k, uint64_t seed);

// Median (mean of the two middle values for even sizes); 0 for no values.
double median(std::vector<double> values);

}  // namespace lathe
