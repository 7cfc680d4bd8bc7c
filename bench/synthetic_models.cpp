#include "bench/synthetic_models.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <fstream>
#include <random>
#include <vector>

namespace lathe::bench {

namespace {

// Appends nodes and random initializers to a float32 ONNX graph with one [N, C, H, W] input.
class GraphWriter {
public:
    GraphWriter(const std::string& name, std::vector<int64_t> inputShape) : m_rng(7) {
        m_model.set_ir_version(7);
        m_model.set_producer_name("lathe bench");
        m_model.add_opset_import()->set_version(13);
        m_graph = m_model.mutable_graph();
        m_graph->set_name(name);
        addValueInfo(m_graph->add_input(), "input", inputShape);
        m_current = "input";
        m_channels = inputShape[1];
    }

    void conv(int64_t filters, int64_t kernel, int64_t groups = 1) {
        const std::string w =
            initializer({filters, m_channels / groups, kernel, kernel}, kernel * kernel * m_channels / groups);
        const std::string b = initializer({filters}, 0);
        onnx::NodeProto* node = add("Conv", {m_current, w, b});
        ints(node, "kernel_shape", {kernel, kernel});
        ints(node, "pads", std::vector<int64_t>(4, kernel / 2));
        integer(node, "group", groups);
        m_channels = filters;
    }
    void depthwise(int64_t kernel) { conv(m_channels, kernel, m_channels); }
    void batchNorm() {
        std::vector<std::string> inputs{m_current};
        for (int i = 0; i < 4; ++i) inputs.push_back(initializer({m_channels}, i == 3 ? -1 : 0));
        add("BatchNormalization", inputs);
    }
    void relu() { add("Relu", {m_current}); }
    void maxPool() {
        onnx::NodeProto* node = add("MaxPool", {m_current});
        ints(node, "kernel_shape", {2, 2});
        ints(node, "strides", {2, 2});
    }
    void flatten(int64_t features) {
        add("Flatten", {m_current});
        m_channels = features;
    }
    void dense(int64_t outputs) {
        onnx::NodeProto* node =
            add("Gemm", {m_current, initializer({outputs, m_channels}, m_channels), initializer({outputs}, 0)});
        integer(node, "transB", 1);
        m_channels = outputs;
    }
    void output() { addValueInfo(m_graph->add_output(), m_current, {-1, m_channels}); }
    void classifier(int64_t classes) {
        add("GlobalAveragePool", {m_current});
        add("Flatten", {m_current});
        onnx::NodeProto* node =
            add("Gemm", {m_current, initializer({classes, m_channels}, m_channels), initializer({classes}, 0)});
        integer(node, "transB", 1);
        addValueInfo(m_graph->add_output(), m_current, {-1, classes});
    }
    void save(const std::string& path) {
        std::ofstream out(path, std::ios::binary);
        m_model.SerializeToOstream(&out);
    }

private:
    static void addValueInfo(onnx::ValueInfoProto* info, const std::string& name, const std::vector<int64_t>& shape) {
        info->set_name(name);
        auto* tensor = info->mutable_type()->mutable_tensor_type();
        tensor->set_elem_type(onnx::TensorProto::FLOAT);
        for (int64_t d : shape) {
            auto* dim = tensor->mutable_shape()->add_dim();
            if (d < 0)
                dim->set_dim_param("N");
            else
                dim->set_dim_value(d);
        }
    }
    // fanIn > 0: He-initialised weights; 0: small values around 0; -1: positive values around 1 (variances).
    std::string initializer(const std::vector<int64_t>& shape, int64_t fanIn) {
        onnx::TensorProto* t = m_graph->add_initializer();
        t->set_name(std::string("w").append(std::to_string(m_graph->initializer_size())));
        t->set_data_type(onnx::TensorProto::FLOAT);
        int64_t count = 1;
        for (int64_t d : shape) {
            t->add_dims(d);
            count *= d;
        }
        std::normal_distribution<float> normal(0.f, fanIn > 0 ? std::sqrt(2.f / float(fanIn)) : 0.1f);
        for (int64_t i = 0; i < count; ++i)
            t->add_float_data(fanIn < 0 ? 1.f + std::abs(normal(m_rng)) : normal(m_rng));
        return t->name();
    }
    onnx::NodeProto* add(const std::string& op, const std::vector<std::string>& inputs) {
        onnx::NodeProto* node = m_graph->add_node();
        node->set_op_type(op);
        node->set_name(op + "_" + std::to_string(m_graph->node_size()));
        for (const std::string& in : inputs) node->add_input(in);
        m_current = node->name() + "_out";
        node->add_output(m_current);
        return node;
    }
    static void ints(onnx::NodeProto* node, const std::string& name, const std::vector<int64_t>& values) {
        auto* a = node->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INTS);
        for (int64_t v : values) a->add_ints(v);
    }
    static void integer(onnx::NodeProto* node, const std::string& name, int64_t value) {
        auto* a = node->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(value);
    }

    std::mt19937 m_rng;
    onnx::ModelProto m_model;
    onnx::GraphProto* m_graph = nullptr;
    std::string m_current;
    int64_t m_channels = 0;
};

}  // namespace

void writeVggBlock(const std::string& path) {
    GraphWriter g("vgg_block", {-1, 3, 64, 64});
    for (int64_t filters : {32, 64}) {
        g.conv(filters, 3);
        g.relu();
        g.conv(filters, 3);
        g.relu();
        g.maxPool();
    }
    g.classifier(10);
    g.save(path);
}

void writeMlp(const std::string& path) {
    GraphWriter g("mlp", {-1, 1, 28, 28});
    g.flatten(28 * 28);
    for (int64_t units : {300, 100}) {
        g.dense(units);
        g.relu();
    }
    g.dense(10);
    g.output();
    g.save(path);
}

void writeMobileBlock(const std::string& path) {
    GraphWriter g("mobile_block", {-1, 32, 56, 56});
    for (int block = 0; block < 3; ++block) {
        g.depthwise(3);
        g.batchNorm();
        g.relu();
        g.conv(64, 1);
        g.batchNorm();
        g.relu();
    }
    g.classifier(10);
    g.save(path);
}

}  // namespace lathe::bench
