// Training images/s of Lathe's engine (core/train: the ONNX graph translated op by op) against the same network
// written directly in libtorch (torch::nn modules), same weights, data, batch, optimizer and threads, interleaved in
// one run; prints the median of each and the ratio. The demo LeNet-5 on Fashion-MNIST's training split. Then the
// distillation teacher's logits: Lathe's executor (core/train/teacher_logits, what distillation uses) against the same
// forward pass in libtorch (no grad, batch 256), over the same images.
//
//   bench_train [--threads N] [--images N] [--repeats R]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include "core/eval/dataset.h"
#include "core/model/onnx_reader.h"
#include "core/train/fine_tune.h"
#include "core/train/teacher_logits.h"

using namespace lathe;

namespace {

struct LeNetImpl : torch::nn::Module {
    torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
    torch::nn::Linear fc1{nullptr}, fc2{nullptr};

    explicit LeNetImpl(const Graph& g) {
        conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 20, 5)));
        conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(20, 50, 5)));
        fc1 = register_module("fc1", torch::nn::Linear(800, 500));
        fc2 = register_module("fc2", torch::nn::Linear(500, 10));
        torch::NoGradGuard noGrad;
        auto load = [&](torch::Tensor& t, const std::string& name) {
            const Tensor& src = g.initializers.at(name);
            t.copy_(torch::from_blob(const_cast<float*>(src.data.data()), {int64_t(src.data.size())}, torch::kFloat)
                        .reshape(src.shape));
        };
        load(conv1->weight, "conv1.weight");
        load(conv1->bias, "conv1.bias");
        load(conv2->weight, "conv2.weight");
        load(conv2->bias, "conv2.bias");
        load(fc1->weight, "fc1.weight");
        load(fc1->bias, "fc1.bias");
        load(fc2->weight, "fc2.weight");
        load(fc2->bias, "fc2.bias");
    }

    torch::Tensor forward(torch::Tensor x) {
        x = torch::max_pool2d(conv1(x), 2);
        x = torch::max_pool2d(conv2(x), 2);
        return fc2(torch::relu(fc1(x.flatten(1))));
    }
};
TORCH_MODULE(LeNet);

// One epoch over `data` as core/train runs it: shuffled batches read through Dataset::batch, SGD with momentum.
double directImagesPerSecond(const Graph& g, const Dataset& data, int batch, uint64_t seed) {
    LeNet net(g);
    torch::optim::SGD optimizer(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
    const std::vector<int64_t> order = shuffledIndices(data.size(), seed);
    const auto start = std::chrono::steady_clock::now();
    for (int64_t first = 0; first < data.size(); first += batch) {
        const int64_t count = std::min<int64_t>(batch, data.size() - first);
        std::span<const int64_t> indices(order.data() + first, size_t(count));
        auto images = data.batch(indices);
        if (!images) std::exit(1);
        const torch::Tensor x = torch::from_blob(images->data.data(), images->shape, torch::kFloat);
        std::vector<int64_t> labels;
        for (int64_t i : indices) labels.push_back(data.label(i));
        optimizer.zero_grad();
        const torch::Tensor loss = torch::cross_entropy_loss(net->forward(x), torch::tensor(labels, torch::kLong));
        loss.backward();
        optimizer.step();
    }
    return double(data.size()) / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Teacher logits of every image by libtorch inference, batches of 256 read through Dataset::batch.
double directLogitsPerSecond(const Graph& g, const Dataset& data) {
    LeNet net(g);
    net->eval();
    torch::NoGradGuard noGrad;
    const auto start = std::chrono::steady_clock::now();
    std::vector<float> logits;
    std::vector<int64_t> indices;
    for (int64_t first = 0; first < data.size(); first += 256) {
        indices.resize(size_t(std::min<int64_t>(256, data.size() - first)));
        std::iota(indices.begin(), indices.end(), first);
        auto images = data.batch(indices);
        if (!images) std::exit(1);
        const torch::Tensor y = net->forward(torch::from_blob(images->data.data(), images->shape, torch::kFloat)).contiguous();
        logits.insert(logits.end(), y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
    }
    return double(data.size()) / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double latheLogitsPerSecond(const Graph& g, const Dataset& data, int threads) {
    clearTeacherCache();
    const auto start = std::chrono::steady_clock::now();
    auto logits = teacherLogits(g, data, threads);
    if (!logits) std::exit(1);
    return double(data.size()) / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    int threads = 2, repeats = 3;
    int64_t images = 12800;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--threads") threads = std::atoi(argv[i + 1]);
        else if (a == "--images") images = std::atoll(argv[i + 1]);
        else if (a == "--repeats") repeats = std::atoi(argv[i + 1]);
    }
    auto graph = readOnnxModel(LATHE_DEMO_MODEL);
    auto train = openDataset({DatasetKind::Idx, "/usr/share/datasets/fashion-mnist", ""}, {Split::Train, {}});
    if (!graph || !train) {
        std::fprintf(stderr, "bench_train: cannot read the demo model or /usr/share/datasets/fashion-mnist\n");
        return 1;
    }
    const auto data = calibrationSubset(*train, images, 0);
    Recipe recipe;
    recipe.train = TrainSettings{};
    recipe.train->epochs = 1;
    recipe.train->batch = 64;
    TrainData trainData;
    trainData.train = data;
    trainData.threads = threads;
    torch::set_num_threads(threads);
    std::vector<double> lathe, direct;
    for (int r = 0; r < repeats; ++r) {
        auto trained = trainRecipe(*graph, recipe, trainData, ApplyOptions{});
        if (!trained) {
            std::fprintf(stderr, "bench_train: %s\n", trained.error().message.c_str());
            return 1;
        }
        lathe.push_back(trained->history.at(0).imagesPerSecond);
        torch::set_num_threads(threads);
        direct.push_back(directImagesPerSecond(*graph, *data, 64, uint64_t(r)));
    }
    std::printf("LeNet-5 fine-tuning, batch 64, %d threads, %lld images, median of %d\n", threads,
                static_cast<long long>(images), repeats);
    std::printf("  lathe (ONNX graph translated)  %8.0f images/s\n", median(lathe));
    std::printf("  libtorch written directly      %8.0f images/s\n", median(direct));
    std::printf("  ratio lathe / direct           %8.2f  (target >= 0.90)\n", median(lathe) / median(direct));
    std::vector<double> latheLogits, directLogits;
    for (int r = 0; r < repeats; ++r) {
        latheLogits.push_back(latheLogitsPerSecond(*graph, *data, threads));
        torch::set_num_threads(threads);
        directLogits.push_back(directLogitsPerSecond(*graph, *data));
    }
    std::printf("teacher logits (distillation), %lld images, median of %d, content hashing included for lathe\n",
                static_cast<long long>(images), repeats);
    std::printf("  lathe executor                 %8.0f images/s\n", median(latheLogits));
    std::printf("  libtorch inference             %8.0f images/s\n", median(directLogits));
    std::printf("  ratio lathe / libtorch         %8.2f\n", median(latheLogits) / median(directLogits));
    return 0;
}
