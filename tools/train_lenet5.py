"""Train the Caffe LeNet-5 (as in the Deep Compression paper) on Fashion-MNIST
and export it to ONNX as Lathe's demo model.

Run (from the repo root; Debian python, needs python3-torch, python3-onnx,
python3-numpy and dataset-fashion-mnist):

    /usr/bin/python3 tools/train_lenet5.py

Outputs (defaults):
    resources/models/lenet5_fashion.onnx   opset 13, input "input" [N,1,28,28]
                                           float32, output "logits" [N,10]
    resources/models/lenet5_fashion.json   test accuracy and training settings
    resources/models/README.md             description, params and MACs
Takes about 6 minutes on 2 cores. `--readme-only` rewrites only the README.

Preprocessing (what a C++ loader must reproduce): take the uint8 28x28 image,
convert to float32 and divide by 255 (x = pixel / 255.0f), so values are in
[0,1]; no mean subtraction, no std normalisation; layout NCHW [N,1,28,28],
row-major, row 0 = top of the image as stored in the IDX file.

Architecture (Caffe "lenet" prototxt; note: no ReLU after the convolutions):
    conv1  Conv 1->20, 5x5, stride 1, no padding      28x28 -> 24x24
    pool1  MaxPool 2x2 stride 2                        24x24 -> 12x12
    conv2  Conv 20->50, 5x5, stride 1, no padding      12x12 -> 8x8
    pool2  MaxPool 2x2 stride 2                        8x8   -> 4x4
    flatten                                            50*4*4 = 800
    fc1    Gemm 800->500 (transB=1)
    relu1  Relu
    fc2    Gemm 500->10  (transB=1) -> raw logits, no softmax
Parameters: 520 + 25,050 + 400,500 + 5,010 = 431,080.

The test accuracy reported is computed on the full 10,000-image test split by
running the *exported ONNX file* through tools/onnx_numpy.py (a numpy
interpreter; onnxruntime is not available), and cross-checked against torch.
"""
import argparse
import io
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402
import onnx_numpy  # noqa: E402
import onnx_stats  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE_NAMES = ["conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "relu1", "fc2"]
NODE_OPS = ["Conv", "MaxPool", "Conv", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm"]
PREPROCESSING = "pixel/255, NCHW 1x28x28"


class LeNet5(nn.Module):
    """Caffe LeNet-5. ``onnx_form`` selects how fc1/fc2 are computed:

    * True  (export): flatten + nn.Linear, exported as Flatten + Gemm(transB=1).
    * False (training): the same weights applied as convolutions
      (fc1 = 500@50x4x4 conv, fc2 = 10@500x1x1 conv). Mathematically identical
      (flatten order c*16+h*4+w matches weight.view(500,50,4,4)), but runs
      through oneDNN instead of Debian's default reference BLAS, which makes
      training ~3x faster and independent of the BLAS alternative installed.
    """

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.fc1 = nn.Linear(800, 500)
        self.fc2 = nn.Linear(500, 10)
        self.onnx_form = False

    def forward(self, x):
        x = F.max_pool2d(self.conv1(x), 2, 2)
        x = F.max_pool2d(self.conv2(x), 2, 2)
        if self.onnx_form:
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            return self.fc2(x)
        x = F.relu(F.conv2d(x, self.fc1.weight.view(500, 50, 4, 4), self.fc1.bias))
        x = F.conv2d(x, self.fc2.weight.view(10, 500, 1, 1), self.fc2.bias)
        return torch.flatten(x, 1)


def evaluate_torch(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = model(torch.from_numpy(x[i:i + batch]))
            correct += int((logits.argmax(1).numpy() == y[i:i + batch]).sum())
    return 100.0 * correct / len(x)


def export_onnx(model, path):
    model.eval()
    model.onnx_form = True
    buf = io.BytesIO()
    torch.onnx.export(
        model, torch.zeros(1, 1, 28, 28), buf,
        opset_version=13, input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
        do_constant_folding=True)
    model.onnx_form = False
    m = onnx.load_from_string(buf.getvalue())
    g = m.graph
    ops = [n.op_type for n in g.node]
    if ops != NODE_OPS:
        raise RuntimeError(f"unexpected exported graph: {ops}")
    torch_names = [n.name for n in g.node]
    # Rename nodes to the Caffe layer names, and intermediate tensors to
    # "<node>_out" (graph input/output and initializer names are kept).
    keep = {v.name for v in g.input} | {v.name for v in g.output} \
        | {t.name for t in g.initializer}
    rename = {}
    for node, name in zip(g.node, NODE_NAMES):
        node.name = name
        for i, out in enumerate(node.output):
            if out not in keep:
                rename[out] = f"{name}_out" if i == 0 else f"{name}_out{i}"
    for node in g.node:
        node.input[:] = [rename.get(s, s) for s in node.input]
        node.output[:] = [rename.get(s, s) for s in node.output]
    for vi in g.value_info:
        vi.name = rename.get(vi.name, vi.name)
    g.name = "lenet5_fashion"
    m.doc_string = ("Caffe LeNet-5 trained on Fashion-MNIST. Input: pixel/255 "
                    "float32 NCHW [N,1,28,28]. Output: raw logits [N,10].")
    for k, v in (("preprocessing", PREPROCESSING),
                 ("class_names", ",".join(fashion_mnist.CLASS_NAMES))):
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    return m, torch_names


def evaluate_onnx(model_proto, x, y, batch=1000):
    correct, logits_all = 0, []
    for i in range(0, len(x), batch):
        logits = onnx_numpy.run_model(model_proto, {"input": x[i:i + batch]})["logits"]
        logits_all.append(logits)
        correct += int((logits.argmax(1) == y[i:i + batch]).sum())
    return 100.0 * correct / len(x), np.concatenate(logits_all)


def write_readme(onnx_path, info, readme_path):
    m = onnx.load(onnx_path)
    lines, params, macs = onnx_stats.summary_lines(m)
    assert params == 431080 and macs == 2293000, (params, macs)
    size = os.path.getsize(onnx_path)
    text = f"""# Demo models

Generated by `/usr/bin/python3 tools/train_lenet5.py` (do not edit by hand;
rerun the script, or `--readme-only` to rewrite just this file). Training is
seeded and deterministic: with Debian's python3-torch 1.13.1 a rerun gives
byte-identical files (about 6 minutes on an idle 2-core machine).

## lenet5_fashion.onnx ({size:,} bytes)

Caffe LeNet-5 (the network of the Deep Compression paper) trained on
Fashion-MNIST. ONNX opset 13 (IR {m.ir_version}), producer `{m.producer_name} {m.producer_version}`,
all tensors float32.

- input `input` float32 [N,1,28,28] (N dynamic); preprocessing: uint8 pixel
  -> float32 `pixel / 255` in [0,1], no mean subtraction or std scaling, NCHW,
  row 0 = top row of the IDX image.
- output `logits` float32 [N,10], raw logits (no softmax); class order
  {", ".join(fashion_mnist.CLASS_NAMES)}.
- nodes: conv1 (Conv 20@5x5) -> pool1 (MaxPool 2x2/2) -> conv2 (Conv 50@5x5)
  -> pool2 (MaxPool 2x2/2) -> flatten (Flatten axis 1) -> fc1 (Gemm 800->500,
  transB=1) -> relu1 (Relu) -> fc2 (Gemm 500->10, transB=1). No ReLU after
  the convolutions (as in Caffe's lenet prototxt). Intermediate tensors are
  named `<node>_out` (conv1_out ... relu1_out); torch's original node names
  (/conv1/Conv, /MaxPool, ...) were replaced after export.
- metadata_props: `preprocessing` = "{PREPROCESSING}", `class_names` =
  comma-separated class names.
- initializers: conv1.weight [20,1,5,5], conv1.bias [20], conv2.weight
  [50,20,5,5], conv2.bias [50], fc1.weight [500,800], fc1.bias [500],
  fc2.weight [10,500], fc2.bias [10].
- test top-1 on the full 10,000-image Fashion-MNIST test split:
  **{info["test_top1"]:.2f}%** (computed from the exported ONNX file with a numpy
  interpreter, tools/onnx_numpy.py), after {info["train_epochs"]} epochs,
  seed {info["seed"]} ({info.get("optimizer", "")}). See lenet5_fashion.json.

Parameters and MACs per weighted layer (batch 1; Conv MACs =
Cout*Hout*Wout*(Cin/group)*kh*kw, Gemm MACs = M*N*K):

""" + "\n".join(l[2:] for l in lines) + "\n"
    with open(readme_path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(REPO, "resources/models/lenet5_fashion.onnx"))
    ap.add_argument("--json", default=None, help="default: --out with .json")
    ap.add_argument("--data", default=fashion_mnist.DEFAULT_DIR)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--readme", default=None,
                    help="default: README.md next to --out")
    ap.add_argument("--readme-only", action="store_true",
                    help="only rewrite the README from an existing --out and --json")
    args = ap.parse_args()
    json_path = args.json or os.path.splitext(args.out)[0] + ".json"
    readme_path = args.readme or os.path.join(os.path.dirname(os.path.abspath(args.out)),
                                              "README.md")
    if args.readme_only:
        with open(json_path) as f:
            write_readme(args.out, json.load(f), readme_path)
        print(f"wrote {readme_path}")
        return

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)

    xtr, ytr = fashion_mnist.load("train", args.data)
    xte, yte = fashion_mnist.load("test", args.data)
    xtr, xte = fashion_mnist.preprocess(xtr), fashion_mnist.preprocess(xte)
    ytr, yte = ytr.astype(np.int64), yte.astype(np.int64)

    model = LeNet5()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"LeNet-5: {n_params:,} parameters")
    assert n_params == 431080, n_params

    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    # Cosine decay of the learning rate to 5% of its start value, per step.
    steps_per_epoch = (len(xtr) + args.batch - 1) // args.batch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=args.epochs * steps_per_epoch, eta_min=args.lr * 0.05)
    xtr_t, ytr_t = torch.from_numpy(xtr), torch.from_numpy(ytr)
    t0 = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.from_numpy(rng.permutation(len(xtr)))
        total_loss = 0.0
        for i in range(0, len(xtr), args.batch):
            idx = perm[i:i + args.batch]
            loss = F.cross_entropy(model(xtr_t[idx]), ytr_t[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total_loss += float(loss) * len(idx)
        acc = evaluate_torch(model, xte, yte)
        print(f"epoch {epoch:2d}/{args.epochs}  loss {total_loss / len(xtr):.4f}  "
              f"test {acc:.2f}%  ({time.time() - t0:.0f}s)", flush=True)

    torch_acc = evaluate_torch(model, xte, yte)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    m, torch_names = export_onnx(model, args.out)
    print(f"exported {args.out} ({os.path.getsize(args.out):,} bytes); torch node names "
          f"{torch_names} renamed to {NODE_NAMES}")

    m = onnx.load(args.out)
    onnx.checker.check_model(m, full_check=True)
    onnx_acc, logits = evaluate_onnx(m, xte, yte)
    with torch.no_grad():
        ref = model(torch.from_numpy(xte)).numpy()
    print(f"test top-1: torch {torch_acc:.2f}%, exported ONNX (numpy) {onnx_acc:.2f}%, "
          f"max |logit diff| {np.abs(ref - logits).max():.2e}")

    info = {
        "test_top1": round(onnx_acc, 2),
        "train_epochs": args.epochs,
        "seed": args.seed,
        "preprocessing": PREPROCESSING,
        "optimizer": f"Adam lr={args.lr} cosine->{args.lr * 0.05:g}, batch {args.batch}",
        "parameters": n_params,
        "opset": 13,
        "test_images": int(len(xte)),
    }
    with open(json_path, "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print(json.dumps(info, indent=2))
    write_readme(args.out, info, readme_path)
    print(f"wrote {json_path} and {readme_path}")


if __name__ == "__main__":
    main()
