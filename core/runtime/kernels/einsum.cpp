// Einsum with explicit or implicit output, ellipses, broadcasting of size-1 dimensions and repeated subscripts
// (diagonals). Operands are contracted pairwise, left to right: the labels both share and need later are batch
// dimensions, the labels nothing later needs are summed, and each pair becomes one batched GEMM after both operands
// are copied into [batch, rows, depth] and [batch, depth, cols] order. This covers the batched MatMul equations that
// attention blocks use ("bhid,bhjd->bhij"), transposes, traces, inner and outer products.
#include <omp.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/kernel_util.h"
#include "core/runtime/kernels/sgemm.h"

namespace lathe {

namespace {

// One term of the equation: letters, with '.' standing for the ellipsis.
struct Term {
    std::string letters;
    bool ellipsis = false;
};

// A labelled tensor: element at index (i_l for each label l) is data[offset + sum i_l * strides[l]].
struct View {
    const float* data = nullptr;
    std::vector<char> labels;
    std::vector<int64_t> dims, strides;
};

Result<Term> parseTerm(const std::string& text) {
    Term term;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '.') {
            if (term.ellipsis || text.compare(i, 3, "...") != 0)
                return invalidInput("malformed ellipsis in '" + text + "'");
            term.ellipsis = true;
            term.letters += '.';
            i += 2;
        } else if (std::isalpha(static_cast<unsigned char>(c))) {
            term.letters += c;
        } else {
            return invalidInput(std::string("subscript '") + c + "' is not a letter");
        }
    }
    return term;
}

// Labels of a term for an operand of rank `rank`, the ellipsis expanded to `ellipsisRank` right-aligned labels
// (bytes 1..ellipsisRank) of which the operand has the last `rank - letters` ones.
Result<std::vector<char>> expandTerm(const Term& term, size_t rank, size_t ellipsisRank) {
    const size_t letters = term.letters.size() - (term.ellipsis ? 1 : 0);
    if (term.ellipsis ? rank < letters : rank != letters)
        return invalidInput("term '" + term.letters + "' does not fit an operand of rank " + std::to_string(rank));
    std::vector<char> labels;
    for (char c : term.letters) {
        if (c != '.') {
            labels.push_back(c);
            continue;
        }
        const size_t own = rank - letters;
        for (size_t i = ellipsisRank - own; i < ellipsisRank; ++i) labels.push_back(char(1 + i));
    }
    return labels;
}

// Copies `view` into a contiguous array ordered by `order` (labels absent from the view broadcast with stride 0).
std::vector<float> pack(const View& view, const std::vector<char>& order, const std::map<char, int64_t>& sizes,
                        int threads) {
    std::vector<int64_t> shape, strides;
    for (char l : order) {
        shape.push_back(sizes.at(l));
        const auto it = std::find(view.labels.begin(), view.labels.end(), l);
        strides.push_back(it == view.labels.end() ? 0 : view.strides[size_t(it - view.labels.begin())]);
    }
    std::vector<float> out(size_t(shapeNumel(shape)));
    if (!out.empty()) stridedCopy(view.data, 0, strides, shape, out.data(), threads);
    return out;
}

int64_t product(const std::vector<char>& labels, const std::map<char, int64_t>& sizes) {
    int64_t p = 1;
    for (char l : labels) p *= sizes.at(l);
    return p;
}

class EinsumKernel final : public Kernel {
public:
    EinsumKernel(std::vector<Term> inputs, std::optional<Term> output)
        : m_inputs(std::move(inputs)), m_output(std::move(output)) {}

    Status forward(KernelIo& io) const override {
        if (io.inputCount() != m_inputs.size())
            return invalidInput("the equation has " + std::to_string(m_inputs.size()) + " terms for " +
                                std::to_string(io.inputCount()) + " inputs");
        size_t ellipsisRank = 0;
        for (size_t i = 0; i < m_inputs.size(); ++i)
            if (m_inputs[i].ellipsis)
                ellipsisRank = std::max(ellipsisRank, size_t(io.input(i).rank()) + 1 - m_inputs[i].letters.size());
        // Operand views with repeated labels merged (a diagonal), and every label's size.
        std::vector<View> views;
        std::map<char, int64_t> sizes;
        std::map<char, int> uses;  // occurrences of each letter in the whole left-hand side
        for (const Term& term : m_inputs)
            for (char c : term.letters)
                if (c != '.') ++uses[c];
        for (size_t i = 0; i < m_inputs.size(); ++i) {
            const NDArray& x = io.input(i);
            auto labels = expandTerm(m_inputs[i], x.shape.size(), ellipsisRank);
            if (!labels) return labels.error();
            const std::vector<int64_t> strides = rowMajorStrides(x.shape);
            View view;
            view.data = x.data.data();
            for (size_t d = 0; d < labels->size(); ++d) {
                const char l = (*labels)[d];
                const auto it = std::find(view.labels.begin(), view.labels.end(), l);
                if (it != view.labels.end()) {
                    const size_t k = size_t(it - view.labels.begin());
                    if (view.dims[k] != x.shape[d])
                        return invalidInput("repeated subscript '" + std::string(1, l) + "' spans dimensions of " +
                                            "different sizes in input " + std::to_string(i));
                    view.strides[k] += strides[d];
                    continue;
                }
                view.labels.push_back(l);
                view.dims.push_back(x.shape[d]);
                view.strides.push_back(strides[d]);
            }
            for (size_t k = 0; k < view.labels.size(); ++k) {
                int64_t& size = sizes[view.labels[k]];
                if (size > 1 && view.dims[k] != 1 && view.dims[k] != size)
                    return invalidInput("subscript '" + std::string(1, view.labels[k]) + "' has sizes " +
                                        std::to_string(size) + " and " + std::to_string(view.dims[k]));
                size = std::max(size, view.dims[k]);
                if (view.dims[k] == 1) view.strides[k] = 0;
            }
            views.push_back(std::move(view));
        }
        // Output labels: explicit, or the ellipsis then the letters used once, alphabetically.
        std::vector<char> outLabels;
        if (m_output) {
            auto labels = expandTerm(
                *m_output,
                m_output->letters.size() - (m_output->ellipsis ? 1 : 0) + (m_output->ellipsis ? ellipsisRank : 0),
                ellipsisRank);
            if (!labels) return labels.error();
            outLabels = std::move(labels.value());
        } else {
            for (size_t i = 0; i < ellipsisRank; ++i) outLabels.push_back(char(1 + i));
            for (const auto& [label, count] : uses)
                if (std::isalpha(static_cast<unsigned char>(label)) && count == 1) outLabels.push_back(label);
        }
        for (size_t i = 0; i < outLabels.size(); ++i) {
            if (!sizes.count(outLabels[i]))
                return invalidInput("output subscript '" + std::string(1, outLabels[i]) + "' is in no input");
            if (std::count(outLabels.begin(), outLabels.end(), outLabels[i]) > 1)
                return invalidInput("output subscript '" + std::string(1, outLabels[i]) + "' repeats");
        }
        // Fold the operands: `current` holds the running result (contiguous over currentLabels).
        std::vector<float> current;
        View acc = views[0];
        for (size_t next = 1; next <= views.size(); ++next) {
            std::vector<char> later = outLabels;
            for (size_t j = next + 1; j < views.size(); ++j)
                later.insert(later.end(), views[j].labels.begin(), views[j].labels.end());
            auto needed = [&](char l) { return std::find(later.begin(), later.end(), l) != later.end(); };
            const View* other = next < views.size() ? &views[next] : nullptr;
            auto inOther = [&](char l) {
                return other && std::find(other->labels.begin(), other->labels.end(), l) != other->labels.end();
            };
            std::vector<char> batch, rowsL, depth, colsL;
            for (char l : acc.labels) {
                if (!needed(l))
                    depth.push_back(l);
                else if (inOther(l))
                    batch.push_back(l);
                else
                    rowsL.push_back(l);
            }
            if (other)
                for (char l : other->labels) {
                    if (std::find(acc.labels.begin(), acc.labels.end(), l) != acc.labels.end()) continue;
                    (needed(l) ? colsL : depth).push_back(l);
                }
            std::vector<char> leftOrder = batch, rightOrder = batch;
            leftOrder.insert(leftOrder.end(), rowsL.begin(), rowsL.end());
            leftOrder.insert(leftOrder.end(), depth.begin(), depth.end());
            rightOrder.insert(rightOrder.end(), depth.begin(), depth.end());
            rightOrder.insert(rightOrder.end(), colsL.begin(), colsL.end());
            const int64_t batches = product(batch, sizes), m = product(rowsL, sizes), k = product(depth, sizes);
            const int64_t n = product(colsL, sizes);
            const std::vector<float> left = pack(acc, leftOrder, sizes, io.threads());
            std::vector<float> result(size_t(batches * m * n), 0.f);
            if (!other) {
                // Last step of a single remaining operand: sum the depth labels.
                for (int64_t r = 0; r < batches * m; ++r) {
                    double sum = 0;
                    for (int64_t j = 0; j < k; ++j) sum += left[size_t(r * k + j)];
                    result[size_t(r)] = float(sum);
                }
            } else if (!io.shapesOnly()) {
                const std::vector<float> right = pack(*other, rightOrder, sizes, io.threads());
                multiply(left.data(), right.data(), result.data(), batches, m, k, n, io);
            }
            current = std::move(result);
            acc = View{};
            acc.data = current.data();
            acc.labels = batch;
            acc.labels.insert(acc.labels.end(), rowsL.begin(), rowsL.end());
            acc.labels.insert(acc.labels.end(), colsL.begin(), colsL.end());
            for (char l : acc.labels) acc.dims.push_back(sizes.at(l));
            acc.strides = rowMajorStrides(acc.dims);
            if (!other) break;
        }
        std::vector<int64_t> outShape;
        for (char l : outLabels) outShape.push_back(sizes.at(l));
        NDArray& y = io.output(0, outShape);
        const std::vector<float> ordered = pack(acc, outLabels, sizes, io.threads());
        std::copy(ordered.begin(), ordered.end(), y.data.begin());
        return Ok{};
    }

private:
    // c[b] = a[b] (m x k) * b[b] (k x n) for every batch b, contiguous operands.
    static void multiply(const float* a, const float* b, float* c, int64_t batches, int64_t m, int64_t k, int64_t n,
                         KernelIo& io) {
        if (m == 0 || n == 0 || k == 0) return;
        Workspace& workspace = io.workspace();
        const size_t scratchSize =
            size_t(gemmScratchSize(GemmOperand(MatrixRef{a, m, k, k, 1}), GemmOperand(MatrixRef{b, k, n, n, 1})));
        if (batches == 1) {
            float* scratch = workspace.shared(scratchSize);
            gemmAccumulateParallel(GemmOperand(MatrixRef{a, m, k, k, 1}), GemmOperand(MatrixRef{b, k, n, n, 1}), c, n,
                                   scratch, io.threads());
            return;
        }
#pragma omp parallel for num_threads(io.threads()) if (worthParallel(batches * m * n * k))
        for (int64_t i = 0; i < batches; ++i) {
            float* scratch = workspace.scratch(omp_get_thread_num(), scratchSize);
            gemmAccumulate(GemmOperand(MatrixRef{a + i * m * k, m, k, k, 1}),
                           GemmOperand(MatrixRef{b + i * k * n, k, n, n, 1}), c + i * m * n, n, scratch);
        }
    }

    std::vector<Term> m_inputs;
    std::optional<Term> m_output;  // nullopt for the implicit form
};

}  // namespace

Result<std::unique_ptr<Kernel>> makeEinsumKernel(const KernelContext& context) {
    std::string equation;
    for (char c : context.node.attrString("equation")) {
        if (c != ' ') equation += c;
    }
    if (equation.empty()) return invalidInput("attribute 'equation' is required");
    const size_t arrow = equation.find("->");
    const std::string lhs = equation.substr(0, arrow);
    std::vector<Term> inputs;
    size_t start = 0;
    while (true) {
        const size_t comma = lhs.find(',', start);
        auto term = parseTerm(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (!term) return makeError(term.error().code, "equation '" + equation + "': " + term.error().message);
        inputs.push_back(std::move(term.value()));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    std::optional<Term> output;
    if (arrow != std::string::npos) {
        auto term = parseTerm(equation.substr(arrow + 2));
        if (!term) return makeError(term.error().code, "equation '" + equation + "': " + term.error().message);
        output = std::move(term.value());
    }
    if (inputs.size() != context.node.inputs.size())
        return invalidInput("equation '" + equation + "' has " + std::to_string(inputs.size()) + " terms for " +
                            std::to_string(context.node.inputs.size()) + " inputs");
    return std::unique_ptr<Kernel>(std::make_unique<EinsumKernel>(std::move(inputs), std::move(output)));
}

}  // namespace lathe
