"""Write the half-width LeNet-5 student of the distillation tests and benchmarks:
tests/fixtures/lenet5_half_student.onnx.

Run from the repo root (Debian python with python3-onnx, python3-numpy):

    /usr/bin/python3 tools/make_student.py

Same graph as the demo model (resources/models/lenet5_fashion.onnx: input `input`
[N,1,28,28], output `logits` [N,10], the same metadata) at half width: Conv 1->10 5x5,
MaxPool 2, Conv 10->25 5x5, MaxPool 2, Flatten, Gemm 400->250, Relu, Gemm 250->10.
Randomly initialised with PyTorch's defaults (weights and biases uniform in
±1/sqrt(fan_in)), seed 0: the file is byte-identical on every run. Never trained.
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASS_NAMES = "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"


def uniform(rng, shape, fan_in):
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def make_student(seed=0):
    rng = np.random.default_rng(seed)
    shapes = {"conv1": ((10, 1, 5, 5), 25), "conv2": ((25, 10, 5, 5), 250),
              "fc1": ((250, 400), 400), "fc2": ((10, 250), 250)}
    inits = []
    for name, (shape, fan_in) in shapes.items():
        inits.append(numpy_helper.from_array(uniform(rng, shape, fan_in), f"{name}.weight"))
        inits.append(numpy_helper.from_array(uniform(rng, (shape[0],), fan_in), f"{name}.bias"))
    conv = dict(dilations=[1, 1], group=1, kernel_shape=[5, 5], pads=[0, 0, 0, 0], strides=[1, 1])
    pool = dict(ceil_mode=0, kernel_shape=[2, 2], pads=[0, 0, 0, 0], strides=[2, 2])
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["conv1_out"], "conv1", **conv),
        helper.make_node("MaxPool", ["conv1_out"], ["pool1_out"], "pool1", **pool),
        helper.make_node("Conv", ["pool1_out", "conv2.weight", "conv2.bias"], ["conv2_out"], "conv2", **conv),
        helper.make_node("MaxPool", ["conv2_out"], ["pool2_out"], "pool2", **pool),
        helper.make_node("Flatten", ["pool2_out"], ["flatten_out"], "flatten", axis=1),
        helper.make_node("Gemm", ["flatten_out", "fc1.weight", "fc1.bias"], ["fc1_out"], "fc1",
                         alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Relu", ["fc1_out"], ["relu1_out"], "relu1"),
        helper.make_node("Gemm", ["relu1_out", "fc2.weight", "fc2.bias"], ["logits"], "fc2",
                         alpha=1.0, beta=1.0, transB=1),
    ]
    graph = helper.make_graph(
        nodes, "lenet5_half_student",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7,
                              producer_name="lathe tools/make_student.py")
    for key, value in (("preprocessing", "pixel/255, NCHW 1x28x28"), ("class_names", CLASS_NAMES)):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(REPO, "tests/fixtures/lenet5_half_student.onnx"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    model = make_student(args.seed)
    tmp = args.out + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, args.out)
    params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    print(f"{args.out}: {params} parameters, {os.path.getsize(args.out)} bytes")


if __name__ == "__main__":
    main()
