#!/usr/bin/env python3
"""Exports torchvision's classification architectures to ONNX with random weights, for Lathe's tests.

Uses Debian's python3-torchvision (weights=None: no download) with a fixed seed, so every run writes the same
weights. Each model is exported in eval mode at its evaluation resolution with a free batch dimension
(input "input" [N, 3, H, W] -> output "logits" [N, 1000]). A model whose .onnx file already exists is skipped, so a
test run after the first only pays for what is missing. Writes DIR/manifest.json:
  {"models": [{"name", "file", "input_shape", "published_gmacs", "opset"}, ...]}
where published_gmacs is the "GFLOPS" column of torchvision's model table (multiply-accumulates, in billions).

(--manifest NAME writes DIR/NAME instead, so that two tests exporting different sets at once do not read each other's).

usage: export_torchvision.py --out DIR [--models resnet18,vit_b_16,...] [--seed 0] [--opset 14] [--manifest NAME]
"""
import argparse
import json
import os
import sys
import tempfile

# name: (input resolution, published GMACs from https://pytorch.org/vision/0.14/models.html)
ARCHITECTURES = {
    "resnet18": (224, 1.81),
    "resnet50": (224, 4.09),
    "resnext50_32x4d": (224, 4.23),
    "densenet121": (224, 2.83),
    "regnet_y_400mf": (224, 0.40),
    "mnasnet0_5": (224, 0.10),
    "googlenet": (224, 1.50),
    "alexnet": (224, 0.71),
    "mobilenet_v2": (224, 0.30),
    "mobilenet_v3_small": (224, 0.06),
    "mobilenet_v3_large": (224, 0.22),
    "squeezenet1_1": (224, 0.35),
    "shufflenet_v2_x0_5": (224, 0.04),
    "efficientnet_b0": (224, 0.39),
    "efficientnet_v2_s": (384, 8.37),
    "convnext_tiny": (224, 4.46),
    "vit_b_16": (224, 17.56),
    "swin_t": (224, 4.49),
}


def export(name, resolution, path, seed, opset):
    import torch
    import torchvision

    torch.manual_seed(seed)
    kwargs = {"weights": None}
    if name == "googlenet":
        kwargs.update(aux_logits=False, init_weights=True)
    model = getattr(torchvision.models, name)(**kwargs).eval()
    # torchvision zero-initialises some classifier heads (ViT), which would make every logit equal to the bias and
    # a comparison of outputs meaningless: such all-zero weight matrices get small random values instead.
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() >= 2 and torch.count_nonzero(parameter) == 0:
                torch.nn.init.normal_(parameter, std=0.02)
    dummy = torch.randn(1, 3, resolution, resolution, generator=torch.Generator().manual_seed(seed))
    # Written next to the target and renamed, so an interrupted run never leaves a truncated model behind.
    fd, partial = tempfile.mkstemp(suffix=".onnx.part", dir=os.path.dirname(path))
    os.close(fd)
    try:
        # Gradients stay enabled: under no_grad, nn.MultiheadAttention (ViT) takes a fused fast path that has no ONNX
        # export.
        torch.onnx.export(model, dummy, partial, opset_version=opset, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder for the .onnx files and manifest.json")
    parser.add_argument("--models", default=",".join(ARCHITECTURES), help="comma-separated torchvision names")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--opset", type=int, default=14)
    parser.add_argument("--manifest", default="manifest.json", help="file name of the manifest inside --out")
    args = parser.parse_args()
    names = [n for n in args.models.split(",") if n]
    unknown = [n for n in names if n not in ARCHITECTURES]
    if unknown:
        sys.exit("export_torchvision.py: unknown model(s) %s; known: %s" % (", ".join(unknown), ", ".join(ARCHITECTURES)))
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError as e:
        sys.exit("export_torchvision.py: %s (install Debian's python3-torchvision)" % e)
    os.makedirs(args.out, exist_ok=True)
    entries = []
    for name in names:
        resolution, gmacs = ARCHITECTURES[name]
        path = os.path.join(args.out, "%s_seed%d_opset%d.onnx" % (name, args.seed, args.opset))
        if not os.path.exists(path):
            print("exporting %s (%dx%d)" % (name, resolution, resolution), flush=True)
            export(name, resolution, path, args.seed, args.opset)
        entries.append({"name": name, "file": os.path.basename(path), "input_shape": [1, 3, resolution, resolution],
                        "published_gmacs": gmacs, "opset": args.opset})
    manifest = os.path.join(args.out, os.path.basename(args.manifest))
    with open(manifest + ".part", "w") as f:
        json.dump({"seed": args.seed, "models": entries}, f, indent=1)
    os.replace(manifest + ".part", manifest)


if __name__ == "__main__":
    main()
