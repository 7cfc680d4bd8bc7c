"""Train two small "edge" CNNs with BatchNormalization on Fashion-MNIST -- a
MobileNet-style net (depthwise-separable convolutions, ReLU6, residual Adds)
and a ResNet-style net (BasicBlocks, 1x1 projection shortcuts) -- and export
them to ONNX as Lathe demo models that, unlike lenet5_fashion.onnx, have BN,
depthwise convolutions, Clip and residual Adds for the compression tools.

Run (from the repo root; Debian python, needs python3-torch, python3-onnx,
python3-numpy and dataset-fashion-mnist; no network, no pip):

    /usr/bin/python3 tools/train_edge_nets.py                  # both nets
    /usr/bin/python3 tools/train_edge_nets.py --only resnet --epochs 4
    /usr/bin/python3 tools/train_edge_nets.py --readme-only    # README section only

Outputs (defaults, per net NAME = mobilenet_fashion / resnet_fashion):
    resources/models/NAME.onnx   opset 13, input "input" float32 [N,1,28,28]
                                 (N dynamic), output "logits" float32 [N,10];
                                 BatchNormalization kept as separate nodes
    resources/models/NAME.json   test accuracy (of the ONNX file), params,
                                 MACs, epochs, seed and training settings
    resources/models/README.md   a section between the markers
                                 "<!-- BEGIN train_edge_nets.py -->" and
                                 "<!-- END train_edge_nets.py -->" is replaced
                                 (or appended); the rest of the file is kept.
                                 tools/train_lenet5.py rewrites the whole README,
                                 so rerun this script with --readme-only after it.
Runs on ONE thread (torch.set_num_threads(1), OMP/OpenBLAS limited to 1).
With the default 8 epochs each, training takes about 6.5 minutes per net on one
core of the 2-core machine (channels_last memory format, which is ~1.5x faster
than NCHW for these nets on CPU), plus ~0.5 minute per net for the numpy
check: about 15 minutes in total (881 s measured for both nets).

Preprocessing (identical to lenet5_fashion.onnx, via tools/fashion_mnist.py):
uint8 28x28 image -> float32 pixel / 255 in [0,1]; no mean subtraction, no std
normalisation; NCHW [N,1,28,28], row 0 = top row of the IDX image.
Training-only augmentation: random horizontal flip of each image (p = 0.5).

Architectures (all convolutions bias-free and followed by BatchNormalization):
  mobilenet_fashion (MobileNet-V1 blocks, linear bottleneck on residual blocks)
    stem    Conv 1->16 3x3/1 + BN + ReLU6 (Clip 0..6)          28x28
    block1  dw 3x3/1 (16) + BN + ReLU6, pw 16->32 + BN + ReLU6    28x28
    block2  dw 3x3/2 (32) + BN + ReLU6, pw 32->64 + BN + ReLU6    -> 14x14
    block3  dw 3x3/1 (64) + BN + ReLU6, pw 64->64 + BN, Add(x)    14x14
    block4  dw 3x3/2 (64) + BN + ReLU6, pw 64->128 + BN + ReLU6   -> 7x7
    block5  dw 3x3/1 (128) + BN + ReLU6, pw 128->128 + BN, Add(x) 7x7
    GlobalAveragePool -> Flatten -> fc Gemm 128->10 (logits)
  resnet_fashion (ResNet-8 style, one BasicBlock per stage)
    stem    Conv 1->16 3x3/1 + BN + ReLU                          28x28
    layer1  BasicBlock 16->16 stride 1, identity shortcut         28x28
    layer2  BasicBlock 16->32 stride 2, shortcut Conv 1x1/2 + BN  -> 14x14
    layer3  BasicBlock 32->64 stride 2, shortcut Conv 1x1/2 + BN  -> 7x7
    GlobalAveragePool -> Flatten -> fc Gemm 64->10 (logits)
    BasicBlock: Conv 3x3/s + BN + ReLU, Conv 3x3/1 + BN, Add(shortcut), ReLU.

Training: SGD momentum 0.9 (Nesterov), batch 128, lr 0.1 with a linear warmup
over the first 200 steps and cosine decay to 0 per step, weight decay 5e-4
(not on BN or biases), cross-entropy; seeded (torch, numpy) and run with
torch.use_deterministic_algorithms(True).

The test accuracy reported is computed on the full 10,000-image test split by
running the *exported ONNX file* through tools/onnx_numpy.py (a numpy
interpreter; onnxruntime is not available), and must agree with torch's
accuracy to within 0.05 points (the script fails otherwise).
"""
import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"  # before numpy/torch are imported: one thread only

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402
import onnx_numpy  # noqa: E402
import onnx_stats  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_DIR = os.path.join(REPO, "resources/models")
PREPROCESSING = "pixel/255, NCHW 1x28x28"
BEGIN_MARK = "<!-- BEGIN train_edge_nets.py -->"
END_MARK = "<!-- END train_edge_nets.py -->"
NETS = ("mobilenet", "resnet")


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------

class ConvBN(nn.Module):
    """Conv (no bias) + BatchNorm + optional activation ("relu6", "relu", None)."""

    def __init__(self, cin, cout, k, stride=1, groups=1, act="relu6"):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = act

    def forward(self, x):
        x = self.bn(self.conv(x))
        if self.act == "relu6":
            # == F.relu6, but exports as a single Clip (F.relu6 gives Relu + Clip).
            return F.hardtanh(x, 0.0, 6.0)
        if self.act == "relu":
            return F.relu(x)
        return x


class DepthwiseSeparable(nn.Module):
    """dw 3x3 (group=C) + BN + ReLU6, pw 1x1 + BN [+ ReLU6].

    When input and output shapes match (same channels, stride 1) the block is
    residual: the pointwise BN output is linear (no ReLU6) and x is added to it
    (MobileNet-V2's linear bottleneck)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.residual = cin == cout and stride == 1
        self.dw = ConvBN(cin, cin, 3, stride, groups=cin, act="relu6")
        self.pw = ConvBN(cin, cout, 1, act=None if self.residual else "relu6")

    def forward(self, x):
        y = self.pw(self.dw(x))
        return y + x if self.residual else y


class MobileNetFashion(nn.Module):
    SPEC = [(16, 32, 1), (32, 64, 2), (64, 64, 1), (64, 128, 2), (128, 128, 1)]

    def __init__(self):
        super().__init__()
        self.stem = ConvBN(1, 16, 3, 1, act="relu6")
        for i, (cin, cout, s) in enumerate(self.SPEC, 1):
            setattr(self, f"block{i}", DepthwiseSeparable(cin, cout, s))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.SPEC[-1][1], 10)

    def forward(self, x):
        x = self.stem(x)
        for i in range(1, len(self.SPEC) + 1):
            x = getattr(self, f"block{i}")(x)
        return self.fc(torch.flatten(self.pool(x), 1))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = ConvBN(cin, cout, 3, stride, act="relu")
        self.conv2 = ConvBN(cout, cout, 3, 1, act=None)
        self.shortcut = (ConvBN(cin, cout, 1, stride, act=None)
                         if cin != cout or stride != 1 else None)

    def forward(self, x):
        s = x if self.shortcut is None else self.shortcut(x)
        return F.relu(self.conv2(self.conv1(x)) + s)


class ResNetFashion(nn.Module):
    SPEC = [(16, 16, 1), (16, 32, 2), (32, 64, 2)]

    def __init__(self):
        super().__init__()
        self.stem = ConvBN(1, 16, 3, 1, act="relu")
        for i, (cin, cout, s) in enumerate(self.SPEC, 1):
            setattr(self, f"layer{i}", BasicBlock(cin, cout, s))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.SPEC[-1][1], 10)

    def forward(self, x):
        x = self.stem(x)
        for i in range(1, len(self.SPEC) + 1):
            x = getattr(self, f"layer{i}")(x)
        return self.fc(torch.flatten(self.pool(x), 1))


CONFIGS = {
    "mobilenet": dict(
        name="mobilenet_fashion", cls=MobileNetFashion,
        title="MobileNet-style (depthwise-separable convs, ReLU6, residual Adds)",
        arch=[
            "stem: Conv 1->16 3x3 stride 1 pad 1 + BatchNormalization + ReLU6 "
            "(exported as Clip 0..6), 28x28",
            "block1: depthwise Conv 3x3/1 (group 16) + BN + ReLU6, pointwise "
            "Conv 1x1 16->32 + BN + ReLU6, 28x28",
            "block2: depthwise Conv 3x3/2 (group 32) + BN + ReLU6, pointwise "
            "Conv 1x1 32->64 + BN + ReLU6, 28x28 -> 14x14",
            "block3: depthwise Conv 3x3/1 (group 64) + BN + ReLU6, pointwise "
            "Conv 1x1 64->64 + BN (linear), Add(block input), 14x14",
            "block4: depthwise Conv 3x3/2 (group 64) + BN + ReLU6, pointwise "
            "Conv 1x1 64->128 + BN + ReLU6, 14x14 -> 7x7",
            "block5: depthwise Conv 3x3/1 (group 128) + BN + ReLU6, pointwise "
            "Conv 1x1 128->128 + BN (linear), Add(block input), 7x7",
            "GlobalAveragePool -> Flatten -> fc (Gemm 128->10, transB=1) -> raw logits",
        ]),
    "resnet": dict(
        name="resnet_fashion", cls=ResNetFashion,
        title="ResNet-style (BasicBlocks, ResNet-8 depth)",
        arch=[
            "stem: Conv 1->16 3x3 stride 1 pad 1 + BatchNormalization + Relu, 28x28",
            "layer1: BasicBlock 16->16 stride 1 (Conv 3x3 + BN + Relu, Conv 3x3 "
            "+ BN, Add(identity), Relu), 28x28",
            "layer2: BasicBlock 16->32 stride 2, shortcut Conv 1x1/2 16->32 + BN, "
            "28x28 -> 14x14",
            "layer3: BasicBlock 32->64 stride 2, shortcut Conv 1x1/2 32->64 + BN, "
            "14x14 -> 7x7",
            "GlobalAveragePool -> Flatten -> fc (Gemm 64->10, transB=1) -> raw logits",
        ]),
}


# --------------------------------------------------------------------------
# Training, export, verification
# --------------------------------------------------------------------------

def evaluate_torch(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i:i + batch]).contiguous(memory_format=torch.channels_last)
            logits = model(xb)
            correct += int((logits.argmax(1).numpy() == y[i:i + batch]).sum())
    return 100.0 * correct / len(x)


def torch_logits(model, x, batch=1000):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(model(torch.from_numpy(x[i:i + batch])).numpy())
    return np.concatenate(out)


def train(model, xtr, ytr, xte, yte, args, label):
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    opt = torch.optim.SGD([{"params": decay, "weight_decay": args.wd},
                           {"params": no_decay, "weight_decay": 0.0}],
                          lr=args.lr, momentum=0.9, nesterov=True)
    steps_per_epoch = (len(xtr) + args.batch - 1) // args.batch
    total = max(1, args.epochs * steps_per_epoch)
    warm = min(args.warmup, total)

    def lr_at(step):
        if step < warm:
            return args.lr * (step + 1) / warm
        return 0.5 * args.lr * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))

    rng = np.random.default_rng(args.seed)
    xtr_t, ytr_t = torch.from_numpy(xtr), torch.from_numpy(ytr)
    model.to(memory_format=torch.channels_last)
    step, t0 = 0, time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.from_numpy(rng.permutation(len(xtr)))
        flip_all = torch.from_numpy(rng.random(len(xtr)) < 0.5)
        total_loss, correct = 0.0, 0
        for i in range(0, len(xtr), args.batch):
            idx = perm[i:i + args.batch]
            xb = xtr_t[idx]
            flip = flip_all[i:i + args.batch]
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            xb = xb.contiguous(memory_format=torch.channels_last)
            yb = ytr_t[idx]
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            total_loss += float(loss) * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
            if args.progress and (i // args.batch) % args.progress == 0 and i:
                print(f"  [{label}] epoch {epoch} {i:5d}/{len(xtr)}  loss {float(loss):.4f}  "
                      f"({time.time() - t0:.0f}s)", flush=True)
        acc = evaluate_torch(model, xte, yte)
        print(f"[{label}] epoch {epoch:2d}/{args.epochs}  loss {total_loss / len(xtr):.4f}  "
              f"train {100.0 * correct / len(xtr):.2f}%  test {acc:.2f}%  "
              f"lr {lr_at(step - 1):.4f}  ({time.time() - t0:.0f}s)", flush=True)
    model.to(memory_format=torch.contiguous_format)
    return time.time() - t0


def export_onnx(model, cfg, path):
    """Export in eval mode with BatchNormalization kept (see make_fixtures.py:
    TrainingMode.EVAL would run torch 1.13's eval peephole pass, which fuses
    Conv+BN even with do_constant_folding=False; PRESERVE with the module in
    eval mode exports BN in inference form, one output, running stats)."""
    model.eval()
    model.to(memory_format=torch.contiguous_format)
    buf = io.BytesIO()
    torch.onnx.export(
        model, torch.zeros(1, 1, 28, 28), buf,
        opset_version=13, input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
        do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    m = onnx.load_from_string(buf.getvalue())
    ops = [n.op_type for n in m.graph.node]
    n_bn = sum(isinstance(mod, nn.BatchNorm2d) for mod in model.modules())
    n_conv = sum(isinstance(mod, nn.Conv2d) for mod in model.modules())
    if ops.count("BatchNormalization") != n_bn or ops.count("Conv") != n_conv:
        raise RuntimeError(f"unexpected exported graph (BN folded?): {ops}")
    m.graph.name = cfg["name"]
    m.doc_string = (f"{cfg['title']} trained on Fashion-MNIST by tools/train_edge_nets.py. "
                    "Input: pixel/255 float32 NCHW [N,1,28,28]. Output: raw logits [N,10].")
    for k, v in (("preprocessing", PREPROCESSING),
                 ("class_names", ",".join(fashion_mnist.CLASS_NAMES))):
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    return m


def evaluate_onnx(model_proto, x, y, batch=500):
    correct, logits_all = 0, []
    for i in range(0, len(x), batch):
        logits = onnx_numpy.run_model(model_proto, {"input": x[i:i + batch]})["logits"]
        logits_all.append(logits)
        correct += int((logits.argmax(1) == y[i:i + batch]).sum())
    return 100.0 * correct / len(x), np.concatenate(logits_all)


# --------------------------------------------------------------------------
# README section
# --------------------------------------------------------------------------

def _net_section(key, models_dir):
    cfg = CONFIGS[key]
    onnx_path = os.path.join(models_dir, cfg["name"] + ".onnx")
    json_path = os.path.join(models_dir, cfg["name"] + ".json")
    if not (os.path.exists(onnx_path) and os.path.exists(json_path)):
        return None
    with open(json_path) as f:
        info = json.load(f)
    m = onnx.load(onnx_path)
    lines, params, macs = onnx_stats.summary_lines(m)
    ops = [n.op_type for n in m.graph.node]
    counts = ", ".join(f"{op} {ops.count(op)}" for op in sorted(set(ops), key=ops.index))
    size = os.path.getsize(onnx_path)
    arch = "\n".join(f"  - {a}" for a in cfg["arch"])
    return f"""## {cfg['name']}.onnx ({size:,} bytes)

{cfg['title']}
trained on Fashion-MNIST. ONNX opset 13 (IR {m.ir_version}), producer `{m.producer_name} {m.producer_version}`, all tensors float32.
Same input/output contract and preprocessing as lenet5_fashion.onnx: input `input`
float32 [N,1,28,28] (N dynamic), `pixel / 255` in [0,1], no normalisation;
output `logits` float32 [N,10], raw logits, same class order;
metadata_props `preprocessing` and `class_names` as for LeNet-5.

- architecture (every Conv is bias-free and followed by its own
  BatchNormalization node, kept unfused: exported with
  `do_constant_folding=False, training=TrainingMode.PRESERVE` from eval mode):
{arch}
- node counts: {counts}.
  ReLU6 is `Clip` with min/max given as `Constant` node inputs (0 and 6). Node and tensor names are torch's scoped names
  (`/block1/dw/conv/Conv`, `/block1/dw/bn/BatchNormalization`, ...);
  initializers are named after the torch parameters (`block1.dw.conv.weight`,
  `block1.dw.bn.running_mean`, ...).
- parameters: {info['parameters']:,} trainable (torch), {params:,} in the
  ONNX initializers (BN counts scale, B, mean and var); MACs per image
  **{macs:,}**.
- test top-1 on the full 10,000-image Fashion-MNIST test split:
  **{info['test_top1']:.2f}%** (computed from the exported ONNX file with
  tools/onnx_numpy.py; torch: {info['torch_test_top1']:.2f}%), after
  {info['train_epochs']} epochs, seed {info['seed']} ({info['optimizer']};
  {info['augmentation']}); training took {info['train_seconds']:.0f} s on
  {info['threads']} thread. See {cfg['name']}.json.

Parameters and MACs per weighted node (batch 1; Conv MACs =
Cout*Hout*Wout*(Cin/group)*kh*kw, Gemm MACs = M*N*K; BatchNormalization
counted as 4*C parameters and 0 MACs):

""" + "\n".join(l[2:] for l in lines) + "\n"


def write_readme(readme_path, models_dir):
    sections = [s for s in (_net_section(k, models_dir) for k in NETS) if s]
    block = (f"{BEGIN_MARK}\n"
             "<!-- This part is generated by `/usr/bin/python3 tools/train_edge_nets.py`\n"
             "     (`--readme-only` regenerates it from the .onnx/.json files).\n"
             "     tools/train_lenet5.py rewrites the whole README: run\n"
             "     `tools/train_edge_nets.py --readme-only` afterwards to restore it. -->\n\n"
             "# Edge models with BatchNormalization\n\n"
             "Generated by `/usr/bin/python3 tools/train_edge_nets.py` (seeded and\n"
             "deterministic, one thread; `--only mobilenet|resnet`, `--epochs N`).\n\n"
             + "\n".join(sections) + f"{END_MARK}\n")
    text = open(readme_path).read() if os.path.exists(readme_path) else "# Demo models\n"
    pat = re.compile(re.escape(BEGIN_MARK) + r".*?" + re.escape(END_MARK) + r"\n?", re.S)
    if pat.search(text):
        text = pat.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    with open(readme_path, "w") as f:
        f.write(text)


# --------------------------------------------------------------------------

def run_net(key, args, data):
    xtr, ytr, xte, yte = data
    cfg = CONFIGS[key]
    label = cfg["name"]
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    model = cfg["cls"]()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{label}: {n_params:,} trainable parameters, {args.epochs} epochs", flush=True)
    if args.max_train:
        xtr, ytr = xtr[:args.max_train], ytr[:args.max_train]
    train_s = train(model, xtr, ytr, xte, yte, args, label)

    torch_acc = evaluate_torch(model, xte, yte)
    onnx_path = os.path.join(args.out_dir, cfg["name"] + ".onnx")
    json_path = os.path.join(args.out_dir, cfg["name"] + ".json")
    export_onnx(model, cfg, onnx_path)
    size = os.path.getsize(onnx_path)
    print(f"[{label}] exported {onnx_path} ({size:,} bytes)", flush=True)

    m = onnx.load(onnx_path)
    onnx.checker.check_model(m, full_check=True)
    _, onnx_params, macs = onnx_stats.summary_lines(m)
    t0 = time.time()
    onnx_acc, logits = evaluate_onnx(m, xte, yte)
    ref = torch_logits(model, xte)
    diff = float(np.abs(ref - logits).max())
    print(f"[{label}] test top-1: torch {torch_acc:.2f}%, exported ONNX (numpy) "
          f"{onnx_acc:.2f}%, max |logit diff| {diff:.2e} ({time.time() - t0:.0f}s)", flush=True)
    if abs(torch_acc - onnx_acc) > 0.05:
        raise RuntimeError(f"torch ({torch_acc:.2f}%) and ONNX ({onnx_acc:.2f}%) disagree")

    info = {
        "test_top1": round(onnx_acc, 2),
        "torch_test_top1": round(torch_acc, 2),
        "max_abs_logit_diff_torch_vs_onnx": float(f"{diff:.3g}"),
        "train_epochs": args.epochs,
        "seed": args.seed,
        "preprocessing": PREPROCESSING,
        "augmentation": "random horizontal flip p=0.5",
        "optimizer": (f"SGD momentum 0.9 nesterov, lr {args.lr:g} (linear warmup "
                      f"{args.warmup} steps, cosine to 0 per step), weight decay "
                      f"{args.wd:g} (not on BN/bias), batch {args.batch}"),
        "batch": args.batch,
        "train_images": int(len(xtr)),
        "train_seconds": round(train_s, 1),
        "threads": 1,
        "parameters": n_params,
        "onnx_parameters": onnx_params,
        "macs": macs,
        "onnx_bytes": size,
        "opset": 13,
        "test_images": int(len(xte)),
        "torch": torch.__version__,
    }
    with open(json_path, "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print(json.dumps(info, indent=2), flush=True)
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=NETS, default=None, help="train just one net")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--warmup", type=int, default=200, help="linear warmup steps")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default=fashion_mnist.DEFAULT_DIR)
    ap.add_argument("--out-dir", default=MODELS_DIR)
    ap.add_argument("--readme", default=None, help="default: README.md in --out-dir")
    ap.add_argument("--readme-only", action="store_true",
                    help="only rewrite the README section from existing .onnx/.json files")
    ap.add_argument("--max-train", type=int, default=0,
                    help="use only the first N training images (smoke tests)")
    ap.add_argument("--progress", type=int, default=100,
                    help="print a progress line every N steps (0: per epoch only)")
    args = ap.parse_args()
    readme_path = args.readme or os.path.join(args.out_dir, "README.md")
    if args.readme_only:
        write_readme(readme_path, args.out_dir)
        print(f"wrote {readme_path}")
        return

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.use_deterministic_algorithms(True)
    xtr, ytr = fashion_mnist.load("train", args.data)
    xte, yte = fashion_mnist.load("test", args.data)
    xtr, xte = fashion_mnist.preprocess(xtr), fashion_mnist.preprocess(xte)
    data = (xtr, ytr.astype(np.int64), xte, yte.astype(np.int64))
    os.makedirs(args.out_dir, exist_ok=True)
    t0 = time.time()
    for key in ([args.only] if args.only else NETS):
        run_net(key, args, data)
        write_readme(readme_path, args.out_dir)
    print(f"wrote {readme_path}; total {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
