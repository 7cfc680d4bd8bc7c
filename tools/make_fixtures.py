"""Generate the small ONNX test fixtures in tests/fixtures/ (and their
reference inputs/outputs in tests/fixtures/reference_outputs/).

Run from the repo root (Debian python with python3-torch, python3-onnx):

    /usr/bin/python3 tools/make_fixtures.py

Everything is deterministic (fixed seeds); rerunning produces byte-identical
files. Random weights, no training. All tensors are float32 except int64
shape initializers. tests/fixtures/README.md is regenerated with per-layer
parameter and MAC counts (see tools/onnx_stats.py for the conventions).

Fixtures:
  bn_conv.onnx          torch: Conv -> BatchNormalization -> Relu -> GAP -> Flatten -> Gemm
  depthwise.onnx        torch: depthwise Conv (group=4) -> Relu -> 1x1 Conv -> GAP
  residual.onnx         torch: Conv -> Relu -> Conv -> Add(skip) -> Relu -> GAP -> Flatten -> Gemm
  tf_nhwc.onnx          onnx.helper, tf2onnx style (NHWC input, Transposes, MatMul+Add, Softmax), opset 11
  matmul_opset7.onnx    onnx.helper, opset 7 / IR 3 (initializers also listed as graph inputs)
  external_data.onnx    Gemm with weights in external_data.bin
  unknown_op.onnx       Relu -> com.example::FancyNorm -> Relu
  empty.onnx, truncated.onnx, not_onnx.onnx, missing_external.onnx: bad inputs
"""
import argparse
import hashlib
import io
import os
import shutil
import sys
import tempfile

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_numpy  # noqa: E402
import onnx_stats  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_OPSET = 13
MAX_FIXTURE_BYTES = 200 * 1024


# ---------------------------------------------------------------- torch models
class BnConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = self.pool(self.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(x, 1))


class Depthwise(nn.Module):
    def __init__(self):
        super().__init__()
        self.dw = nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.relu = nn.ReLU()
        self.pw = nn.Conv2d(4, 6, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.pool(self.pw(self.relu(self.dw(x))))


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        y = self.conv2(self.relu1(self.conv1(x)))
        y = self.relu2(y + x)
        return self.fc(torch.flatten(self.pool(y), 1))


def export_torch(module, input_shape, seed):
    """Export ``module`` (weights already seeded) in eval mode; return ModelProto.

    Note: with training=TrainingMode.EVAL, torch 1.13 runs an "eval peephole"
    pass that fuses Conv+BatchNormalization even with do_constant_folding=False.
    The module is therefore put in eval mode by hand and exported with
    TrainingMode.PRESERVE, which skips that pass; BatchNormalization is still
    exported in inference form (one output, running statistics).
    """
    module.eval()
    buf = io.BytesIO()
    torch.onnx.export(
        module, torch.zeros(*input_shape), buf, opset_version=TORCH_OPSET,
        input_names=["input"], output_names=["output"],
        do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    m = onnx.load_from_string(buf.getvalue())
    m.doc_string = f"Lathe test fixture (torch.onnx.export, seed {seed})"
    return m


def make_bn_conv():
    torch.manual_seed(1)
    net = BnConv()
    with torch.no_grad():  # non-trivial BN statistics so BN is not an identity
        net.bn.weight.uniform_(0.5, 1.5)
        net.bn.bias.uniform_(-0.5, 0.5)
        net.bn.running_mean.uniform_(-0.2, 0.2)
        net.bn.running_var.uniform_(0.5, 2.0)
    m = export_torch(net, (1, 3, 16, 16), 1)
    ops = [n.op_type for n in m.graph.node]
    if "BatchNormalization" not in ops:
        raise RuntimeError(f"BatchNormalization was folded away: {ops}")
    return net, m


def make_depthwise():
    torch.manual_seed(2)
    net = Depthwise()
    return net, export_torch(net, (1, 4, 8, 8), 2)


def make_residual():
    torch.manual_seed(3)
    net = Residual()
    return net, export_torch(net, (1, 4, 8, 8), 3)


# ---------------------------------------------------------- onnx.helper models
def make_tf_nhwc():
    rng = np.random.default_rng(4)
    p = "StatefulPartitionedCall/model"
    w_conv = (rng.standard_normal((4, 3, 3, 3)) * 0.3).astype(np.float32)  # OIHW
    b_conv = (rng.standard_normal(4) * 0.1).astype(np.float32)
    w_fc = (rng.standard_normal((256, 10)) * 0.1).astype(np.float32)
    b_fc = (rng.standard_normal(10) * 0.1).astype(np.float32)
    inits = [
        numpy_helper.from_array(w_conv, f"{p}/conv2d/Conv2D/ReadVariableOp:0"),
        numpy_helper.from_array(b_conv, f"{p}/conv2d/BiasAdd/ReadVariableOp:0"),
        numpy_helper.from_array(np.array([-1, 256], dtype=np.int64), "const_fold_opt__15"),
        numpy_helper.from_array(w_fc, f"{p}/dense/MatMul/ReadVariableOp:0"),
        numpy_helper.from_array(b_fc, f"{p}/dense/BiasAdd/ReadVariableOp:0"),
    ]
    nodes = [
        helper.make_node("Transpose", ["input:0"], [f"{p}/conv2d/Conv2D__6:0"],
                         name=f"{p}/conv2d/Conv2D__6", perm=[0, 3, 1, 2]),
        helper.make_node("Conv", [f"{p}/conv2d/Conv2D__6:0", inits[0].name, inits[1].name],
                         [f"{p}/conv2d/BiasAdd:0"], name=f"{p}/conv2d/Conv2D",
                         auto_pad="SAME_UPPER", dilations=[1, 1], kernel_shape=[3, 3],
                         strides=[1, 1], group=1),
        helper.make_node("Relu", [f"{p}/conv2d/BiasAdd:0"], [f"{p}/conv2d/Relu:0"],
                         name=f"{p}/conv2d/Relu"),
        helper.make_node("Transpose", [f"{p}/conv2d/Relu:0"], [f"{p}/conv2d/Relu__9:0"],
                         name=f"{p}/conv2d/Relu__9", perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", [f"{p}/conv2d/Relu__9:0", "const_fold_opt__15"],
                         [f"{p}/flatten/Reshape:0"], name=f"{p}/flatten/Reshape"),
        helper.make_node("MatMul", [f"{p}/flatten/Reshape:0", inits[3].name],
                         [f"{p}/dense/MatMul:0"], name=f"{p}/dense/MatMul"),
        helper.make_node("Add", [f"{p}/dense/MatMul:0", inits[4].name],
                         [f"{p}/dense/BiasAdd:0"], name=f"{p}/dense/BiasAdd"),
        helper.make_node("Softmax", [f"{p}/dense/BiasAdd:0"], ["Identity:0"],
                         name=f"{p}/dense/Softmax"),
    ]
    graph = helper.make_graph(
        nodes, "tf2onnx",
        [helper.make_tensor_value_info("input:0", TensorProto.FLOAT, ["N", 8, 8, 3])],
        [helper.make_tensor_value_info("Identity:0", TensorProto.FLOAT, ["N", 10])],
        initializer=inits)
    m = helper.make_model(graph, producer_name="tf2onnx", producer_version="1.9.3",
                          opset_imports=[helper.make_opsetid("", 11)])
    m.ir_version = 6  # what tf2onnx writes for opset 11
    m.doc_string = "Lathe test fixture in tf2onnx style (NHWC input), seed 4"
    return m


def make_matmul_opset7():
    rng = np.random.default_rng(5)
    w1 = (rng.standard_normal((6, 5)) * 0.5).astype(np.float32)
    b1 = (rng.standard_normal(5) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((5, 2)) * 0.5).astype(np.float32)
    inits = [numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(b1, "B1"),
             numpy_helper.from_array(w2, "W2")]
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["h0"], name="matmul1"),
        helper.make_node("Add", ["h0", "B1"], ["h1"], name="add1"),
        helper.make_node("Relu", ["h1"], ["h2"], name="relu1"),
        helper.make_node("MatMul", ["h2", "W2"], ["y"], name="matmul2"),
    ]
    # IR version 3 (ONNX 1.2 era, matching opset 7): initializers must also be
    # declared as graph inputs, as old exporters did.
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6])] + [
        helper.make_tensor_value_info(t.name, TensorProto.FLOAT, list(t.dims)) for t in inits]
    graph = helper.make_graph(
        nodes, "matmul_opset7", inputs,
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], initializer=inits)
    m = helper.make_model(graph, producer_name="lathe-fixtures", producer_version="1",
                          opset_imports=[helper.make_opsetid("", 7)])
    m.ir_version = 3
    return m


def make_gemm_model():
    rng = np.random.default_rng(6)
    w = (rng.standard_normal((8, 16)) * 0.25).astype(np.float32)
    b = (rng.standard_normal(8) * 0.1).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["input", "fc.weight", "fc.bias"], ["output"],
                          name="fc", transB=1)],
        "external_data",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 8])],
        initializer=[numpy_helper.from_array(w, "fc.weight"),
                     numpy_helper.from_array(b, "fc.bias")])
    m = helper.make_model(graph, producer_name="lathe-fixtures", producer_version="1",
                          opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    return m


def make_unknown_op():
    nodes = [
        helper.make_node("Relu", ["input"], ["r0"], name="relu_in"),
        helper.make_node("FancyNorm", ["r0"], ["f0"], name="fancy",
                         domain="com.example", epsilon=1e-3, mode="fancy"),
        helper.make_node("Relu", ["f0"], ["output"], name="relu_out"),
    ]
    graph = helper.make_graph(
        nodes, "unknown_op",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4])])
    m = helper.make_model(graph, producer_name="lathe-fixtures", producer_version="1",
                          opset_imports=[helper.make_opsetid("", 13),
                                         helper.make_opsetid("com.example", 1)])
    m.ir_version = 7
    return m


# ------------------------------------------------------------------- checking
def check_float32(m, name):
    for t in m.graph.initializer:
        if t.data_type == TensorProto.INT64 and len(t.dims) == 1:
            continue  # shape constants
        if t.data_type != TensorProto.FLOAT:
            raise RuntimeError(f"{name}: initializer {t.name} is not float32")
    for vi in list(m.graph.input) + list(m.graph.output) + list(m.graph.value_info):
        if vi.type.tensor_type.elem_type != TensorProto.FLOAT:
            raise RuntimeError(f"{name}: value {vi.name} is not float32")
    for n in m.graph.node:
        if n.op_type == "Constant":
            raise RuntimeError(f"{name}: unexpected Constant node {n.name}")


def save(m, path, check=True):
    if check:
        onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(REPO, "tests/fixtures"),
                    help="fixture directory (default: tests/fixtures)")
    args = ap.parse_args()
    out = args.out
    ref_dir = os.path.join(out, "reference_outputs")
    os.makedirs(ref_dir, exist_ok=True)
    torch.set_num_threads(2)
    P = lambda f: os.path.join(out, f)  # noqa: E731
    notes = {}

    # --- torch-exported fixtures (+ torch reference outputs)
    torch_fixtures = {"bn_conv": (make_bn_conv, (1, 3, 16, 16), 11),
                      "depthwise": (make_depthwise, (1, 4, 8, 8), 12),
                      "residual": (make_residual, (1, 4, 8, 8), 13)}
    models = {}
    for name, (fn, shape, input_seed) in torch_fixtures.items():
        net, m = fn()
        check_float32(m, name)
        save(m, P(f"{name}.onnx"))
        models[name] = m
        x = np.random.default_rng(input_seed).standard_normal(shape).astype(np.float32)
        with torch.no_grad():
            y = net(torch.from_numpy(x)).numpy().astype(np.float32)
        y_np = onnx_numpy.run_model(m, {"input": x})["output"]
        diff = float(np.abs(y - y_np).max())
        if diff > 1e-5:
            raise RuntimeError(f"{name}: torch vs numpy-ONNX mismatch {diff}")
        np.save(os.path.join(ref_dir, f"{name}_input.npy"), x)
        np.save(os.path.join(ref_dir, f"{name}_output.npy"), y)
        notes[name] = f"torch vs numpy-on-ONNX max diff {diff:.1e}"
        print(f"{name}: nodes {[(n.name, n.op_type) for n in m.graph.node]}")

    # --- tf2onnx-style NHWC model; reference from the numpy interpreter,
    #     cross-checked with an independent torch computation.
    m = make_tf_nhwc()
    check_float32(m, "tf_nhwc")
    save(m, P("tf_nhwc.onnx"))
    models["tf_nhwc"] = m
    x = np.random.default_rng(14).standard_normal((1, 8, 8, 3)).astype(np.float32)
    y = onnx_numpy.run_model(m, {"input:0": x})["Identity:0"]
    init = {t.name: numpy_helper.to_array(t).copy() for t in m.graph.initializer}
    pre = "StatefulPartitionedCall/model/"
    with torch.no_grad():
        t = torch.from_numpy(x).permute(0, 3, 1, 2)
        t = torch.relu(torch.nn.functional.conv2d(
            t, torch.from_numpy(init[pre + "conv2d/Conv2D/ReadVariableOp:0"]),
            torch.from_numpy(init[pre + "conv2d/BiasAdd/ReadVariableOp:0"]), padding=1))
        t = t.permute(0, 2, 3, 1).reshape(-1, 256)
        t = t @ torch.from_numpy(init[pre + "dense/MatMul/ReadVariableOp:0"])
        t = torch.softmax(t + torch.from_numpy(init[pre + "dense/BiasAdd/ReadVariableOp:0"]), 1)
    diff = float(np.abs(t.numpy() - y).max())
    if diff > 1e-5:
        raise RuntimeError(f"tf_nhwc: torch vs numpy mismatch {diff}")
    np.save(os.path.join(ref_dir, "tf_nhwc_input.npy"), x)
    np.save(os.path.join(ref_dir, "tf_nhwc_output.npy"), y.astype(np.float32))
    notes["tf_nhwc"] = f"numpy-on-ONNX vs torch max diff {diff:.1e}"

    # --- opset 7
    m = make_matmul_opset7()
    check_float32(m, "matmul_opset7")
    save(m, P("matmul_opset7.onnx"))
    models["matmul_opset7"] = m
    x = np.random.default_rng(15).standard_normal((1, 6)).astype(np.float32)
    np.save(os.path.join(ref_dir, "matmul_opset7_input.npy"), x)
    np.save(os.path.join(ref_dir, "matmul_opset7_output.npy"),
            onnx_numpy.run_model(m, {"x": x})["y"])

    # --- external data (and the same model pointing at a missing file)
    m = make_gemm_model()
    check_float32(m, "external_data")
    models["external_data"] = onnx.ModelProto.FromString(m.SerializeToString())
    x = np.random.default_rng(16).standard_normal((1, 16)).astype(np.float32)
    np.save(os.path.join(ref_dir, "external_data_input.npy"), x)
    np.save(os.path.join(ref_dir, "external_data_output.npy"),
            onnx_numpy.run_model(m, {"input": x})["output"])
    onnx.checker.check_model(m, full_check=True)
    for f in ("external_data.onnx", "external_data.bin"):
        if os.path.exists(P(f)):
            os.remove(P(f))
    onnx.save_model(onnx.ModelProto.FromString(m.SerializeToString()),
                    P("external_data.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="external_data.bin",
                    size_threshold=0)
    onnx.checker.check_model(P("external_data.onnx"))  # path form resolves external data
    with tempfile.TemporaryDirectory() as tmp:
        onnx.save_model(onnx.ModelProto.FromString(m.SerializeToString()),
                        os.path.join(tmp, "missing_external.onnx"),
                        save_as_external_data=True, all_tensors_to_one_file=True,
                        location="missing_external.bin", size_threshold=0)
        shutil.copyfile(os.path.join(tmp, "missing_external.onnx"), P("missing_external.onnx"))
    if os.path.exists(P("missing_external.bin")):
        os.remove(P("missing_external.bin"))

    # --- unknown op in a custom domain
    m = make_unknown_op()
    check_float32(m, "unknown_op")
    try:
        onnx.checker.check_model(m, full_check=True)
        notes["unknown_op"] = "passes onnx.checker (unknown domains are not schema-checked)"
    except Exception as e:  # pragma: no cover - depends on onnx version
        notes["unknown_op"] = f"onnx.checker rejects it: {e}"
    onnx.save(m, P("unknown_op.onnx"))
    models["unknown_op"] = m

    # --- bad inputs
    open(P("empty.onnx"), "wb").close()
    data = open(P("bn_conv.onnx"), "rb").read()
    with open(P("truncated.onnx"), "wb") as f:
        f.write(data[:int(len(data) * 0.6)])
    with open(P("not_onnx.onnx"), "w") as f:
        f.write("this is not a model\n")

    for f in sorted(os.listdir(out)):
        if os.path.isfile(P(f)) and os.path.getsize(P(f)) > MAX_FIXTURE_BYTES:
            raise RuntimeError(f"{f} is larger than {MAX_FIXTURE_BYTES} bytes")
    write_readme(out, models, notes, len(data))
    for f in sorted(os.listdir(out)) + ["reference_outputs/" + g for g in sorted(os.listdir(ref_dir))]:
        path = P(f)
        if os.path.isfile(path):
            digest = hashlib.sha256(open(path, "rb").read()).hexdigest()[:12]
            print(f"{f:45s} {os.path.getsize(path):8,d} bytes  sha256 {digest}")
    for k, v in notes.items():
        print(f"{k}: {v}")


DESCRIPTIONS = {
    "bn_conv": "torch.onnx.export (opset 13, module in eval mode, do_constant_folding=False, "
               "training=PRESERVE so torch does not fuse BN into the Conv): "
               "input `input` [1,3,16,16] -> Conv(3->8, 3x3, pad 1) -> BatchNormalization "
               "(kept as a separate node, non-trivial running stats, eps 1e-5) -> Relu -> "
               "GlobalAveragePool -> Flatten -> Gemm(8->4, transB=1) -> `output` [1,4]",
    "depthwise": "torch.onnx.export (opset 13): input `input` [1,4,8,8] -> Conv(4->4, 3x3, "
                 "group=4, pad 1) -> Relu -> Conv(4->6, 1x1) -> GlobalAveragePool -> "
                 "`output` [1,6,1,1]",
    "residual": "torch.onnx.export (opset 13): input `input` [1,4,8,8] -> Conv(4->4, 3x3, "
                "pad 1) -> Relu -> Conv(4->4, 3x3, pad 1) -> Add(with input) -> Relu -> "
                "GlobalAveragePool -> Flatten -> Gemm(4->3, transB=1) -> `output` [1,3]",
    "tf_nhwc": "onnx.helper in tf2onnx style (producer `tf2onnx` 1.9.3, opset 11, IR 6): "
               "input `input:0` [N,8,8,3] NHWC -> Transpose(perm 0,3,1,2) -> Conv(3->4, 3x3, "
               "auto_pad SAME_UPPER) -> Relu -> Transpose(perm 0,2,3,1) -> Reshape([-1,256], "
               "int64 initializer `const_fold_opt__15`) -> MatMul [256,10] -> Add bias [10] -> "
               "Softmax (opset-11 default axis 1) -> `Identity:0` [N,10]. Node names like "
               "`StatefulPartitionedCall/model/conv2d/Conv2D`",
    "matmul_opset7": "onnx.helper, opset 7, **IR version 3**, producer `lathe-fixtures`: "
                     "input `x` [1,6] -> MatMul W1 [6,5] -> Add B1 [5] -> Relu -> MatMul "
                     "W2 [5,2] -> `y` [1,2]. As in old exporters, the initializers W1, B1, W2 "
                     "are *also listed as graph inputs* (required for IR < 4); the only real "
                     "input is `x`",
    "external_data": "onnx.helper, opset 13: input `input` [1,16] -> Gemm(fc.weight [8,16], "
                     "transB=1, fc.bias [8]) -> `output` [1,8]; both initializers stored in "
                     "`external_data.bin` (onnx.save_model save_as_external_data, "
                     "all_tensors_to_one_file, size_threshold=0)",
    "unknown_op": "onnx.helper, opsets ai.onnx 13 + com.example 1: input `input` [1,4] -> "
                  "Relu -> `com.example::FancyNorm` (attributes epsilon=0.001, mode=\"fancy\") "
                  "-> Relu -> `output` [1,4]. No weights",
}


def write_readme(out, models, notes, bn_size):
    sizes = {f: os.path.getsize(os.path.join(out, f)) for f in os.listdir(out)
             if os.path.isfile(os.path.join(out, f))}
    L = ["# Test fixtures", "",
         "Generated by `/usr/bin/python3 tools/make_fixtures.py` (deterministic; do not",
         "edit by hand). All tensors are float32 except int64 shape initializers.", "",
         "Counting conventions (batch 1): parameters = elements of the float",
         "initializers a node uses (weight + bias; for BatchNormalization scale, B,",
         "mean, var = 4*C, of which 2*C are trainable). MACs: Conv = Cout*Hout*Wout*",
         "(Cin/group)*kh*kw; Gemm/MatMul = M*N*K; bias Add, BatchNormalization, Relu,",
         "pooling, Transpose, Softmax etc. count 0 MACs.", "",
         "## Valid models", ""]
    for name in ("bn_conv", "depthwise", "residual", "tf_nhwc", "matmul_opset7",
                 "external_data", "unknown_op"):
        fname = f"{name}.onnx"
        extra = f" + external_data.bin ({sizes['external_data.bin']:,} bytes)" \
            if name == "external_data" else ""
        L.append(f"- **{fname}** ({sizes[fname]:,} bytes{extra}): {DESCRIPTIONS[name]}.")
        if name in notes:
            L.append(f"  - check: {notes[name]}")
        lines, _, _ = onnx_stats.summary_lines(models[name])
        L.extend(lines)
    L += ["", "## Bad inputs (reader error paths)", "",
          "- **empty.onnx** (0 bytes): empty file. Note: zero bytes *is* a valid "
          "protobuf encoding of an empty ModelProto (python onnx.load accepts it: "
          "ir_version 0, no graph, no opset_import), so a reader must reject it "
          "explicitly.",
          f"- **truncated.onnx** ({sizes['truncated.onnx']:,} bytes): the first 60% of "
          f"bn_conv.onnx ({bn_size:,} bytes * 0.6, rounded down); protobuf parsing "
          "fails (DecodeError in python).",
          f"- **not_onnx.onnx** ({sizes['not_onnx.onnx']} bytes): the text "
          "`this is not a model\\n`; protobuf parsing fails.",
          f"- **missing_external.onnx** ({sizes['missing_external.onnx']:,} bytes): same "
          "model as external_data.onnx, but its initializers point at "
          "`missing_external.bin`, which deliberately does not exist.",
          "", "## reference_outputs/", "",
          "`<fixture>_input.npy` / `<fixture>_output.npy` (float32, numpy .npy v1) for",
          "bn_conv, depthwise, residual, tf_nhwc, matmul_opset7 and external_data:",
          "a seeded standard-normal input in the model's input shape and the",
          "expected output. For the torch fixtures the output is torch's forward",
          "pass (checked against a numpy run of the ONNX file, tools/onnx_numpy.py);",
          "for tf_nhwc it is the numpy run of the ONNX file (checked against torch);",
          "the other two come from the numpy run. Agreement is within 1e-5;",
          "compare with a tolerance (e.g. 1e-4 abs), not bit-exactly.", ""]
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
