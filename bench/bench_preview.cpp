// Time of previewLayer (what the workbench runs on every slider move) on a 4,194,304-weight layer against a
// straightforward peer measured in the same run: copy, std::nth_element for the magnitude cut, then a scalar
// quantize/error loop. The budget is 50 ms per preview.
//
//   bench_preview [--threads N] [--repeats R]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "core/compress/layer_preview.h"
#include "core/compress/recipe.h"

using namespace lathe;

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// Wall time; `cpu` receives the process CPU time over all threads (on a busy machine the honest cost).
template <class F>
double milliseconds(F&& f, double* cpu = nullptr) {
    const std::clock_t c0 = std::clock();
    const auto start = std::chrono::steady_clock::now();
    f();
    if (cpu) *cpu = double(std::clock() - c0) * 1000.0 / CLOCKS_PER_SEC;
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// The obvious implementation: exact cut by nth_element on a copy of |w|, per-tensor symmetric nearest rounding.
double naivePreview(const Tensor& w, double sparsity, int bits) {
    std::vector<float> v(w.data.begin(), w.data.end());
    std::vector<float> mags(v.size());
    for (size_t i = 0; i < v.size(); ++i) mags[i] = std::fabs(v[i]);
    const auto k = size_t(std::llround(sparsity * double(v.size())));
    float cut = 0;
    if (k > 0) {
        std::nth_element(mags.begin(), mags.begin() + std::ptrdiff_t(k - 1), mags.end());
        cut = mags[k - 1];
    }
    float top = 0;
    for (float& x : v) {
        if (std::fabs(x) <= cut) x = 0;
        top = std::max(top, std::fabs(x));
    }
    const float qmax = float((1 << (bits - 1)) - 1), scale = top > 0 ? top / qmax : 1.f;
    double err = 0, norm = 0;
    for (size_t i = 0; i < v.size(); ++i) {
        const float q = std::round(v[i] / scale) * scale;
        err += double(w.data[i] - q) * double(w.data[i] - q);
        norm += double(w.data[i]) * double(w.data[i]);
    }
    return std::sqrt(err / norm);
}

}  // namespace

int main(int argc, char** argv) {
    int threads = omp_get_max_threads(), repeats = 15;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--threads"))
            threads = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--repeats"))
            repeats = std::max(1, std::atoi(argv[i + 1]));
    }
    omp_set_num_threads(threads);

    Tensor w;
    w.name = "bench.weight";
    w.shape = {2048, 2048};
    w.data.resize(size_t(w.numel()));
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.f, 0.05f);
    for (float& x : w.data) x = normal(rng);

    struct Case {
        const char* name;
        const char* recipe;
    };
    const Case cases[] = {
        {"sparsity 0.6 + int8 per-tensor", R"({"defaults": {"prune": {"sparsity": 0.6}, "quant": {"bits": 8}}})"},
        {"sparsity 0.6 + int4 per-channel",
         R"({"defaults": {"prune": {"sparsity": 0.6}, "quant": {"bits": 4, "granularity": "per_channel"}}})"},
        {"threshold + int8 asymmetric",
         R"({"defaults": {"prune": {"threshold": 0.02}, "quant": {"bits": 8, "symmetric": false}}})"},
        {"sparsity 0.9 + stochastic int6",
         R"({"defaults": {"prune": {"sparsity": 0.9}, "quant": {"bits": 6, "rounding": "stochastic"}}})"},
        {"k-means 4-bit", R"({"defaults": {"quant": {"bits": 4, "rounding": "kmeans"}}})"},
    };

    std::vector<double> peer, peerCpu;
    for (int r = 0; r < repeats; ++r) {
        double cpu = 0;
        peer.push_back(milliseconds([&] { naivePreview(w, 0.6, 8); }, &cpu));
        peerCpu.push_back(cpu);
    }
    const double peerMs = median(peer);
    std::printf(
        "previewLayer on %lld weights, %d OpenMP threads, median of %d runs; peer (nth_element + scalar "
        "int8): %.1f ms wall, %.1f ms CPU\n",
        static_cast<long long>(w.numel()), threads, repeats, peerMs, median(peerCpu));
    std::printf("%-34s %10s %10s %12s %10s\n", "settings", "wall ms", "CPU ms", "peer/ours", "budget");
    for (const Case& c : cases) {
        auto recipe = parseRecipe(c.recipe);
        if (!recipe) {
            std::printf("%s: %s\n", c.name, recipe.error().message.c_str());
            return 1;
        }
        const LayerSettings s = resolveLayerSettings(*recipe, "bench", "bench.weight");
        std::vector<double> times, cpus;
        for (int r = 0; r < repeats; ++r) {
            double cpu = 0;
            times.push_back(milliseconds([&] { previewLayer(w, s); }, &cpu));
            cpus.push_back(cpu);
        }
        const double ms = median(times);
        std::printf("%-34s %10.1f %10.1f %11.1fx %9s\n", c.name, ms, median(cpus), peerMs / ms,
                    ms <= 50.0 ? "ok" : "OVER");
    }
    return 0;
}
