#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz harnesses into tests/fuzz/corpus/<target>/ (deterministic; small files).

Run from anywhere: python3 tests/fuzz/make_corpus.py. ONNX models are encoded by hand (no onnx module needed);
JPEG/TIFF/WebP seeds are encoded by OpenCV through a throw-away C++ helper when a compiler is available.
"""
import gzip
import json
import os
import shutil
import struct
import subprocess
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- protobuf / ONNX -------------------------------------------------------------------------------------------
def varint(n):
    n &= (1 << 64) - 1
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def fv(field, n):  # varint field
    return varint(field << 3) + varint(n)


def fb(field, data):  # length-delimited field
    if isinstance(data, str):
        data = data.encode()
    return varint(field << 3 | 2) + varint(len(data)) + data


def attr_ints(name, values):
    return fb(1, name) + b"".join(fv(8, v) for v in values) + fv(20, 7)


def attr_int(name, v):
    return fb(1, name) + fv(3, v) + fv(20, 2)


def attr_float(name, v):
    return fb(1, name) + varint(2 << 3 | 5) + struct.pack("<f", v) + fv(20, 1)


def attr_string(name, s):
    return fb(1, name) + fb(4, s) + fv(20, 3)


def node(op, inputs, outputs, name, attrs=()):
    return (b"".join(fb(1, i) for i in inputs) + b"".join(fb(2, o) for o in outputs) + fb(3, name) + fb(4, op) +
            b"".join(fb(5, a) for a in attrs))


def tensor(name, dims, values=None, dtype=1, raw=None, external=None):
    t = b"".join(fv(1, d) for d in dims) + fv(2, dtype) + fb(8, name)
    if external is not None:
        for k, v in external:
            t += fb(13, fb(1, k) + fb(2, v))
        t += fv(14, 1)
    elif raw is not None:
        t += fb(9, raw)
    elif dtype == 7:
        t += b"".join(fv(7, v) for v in values)
    else:
        t += fb(4, struct.pack("<%df" % len(values), *values))
    return t


def value_info(name, dims, elem=1):
    dim = b"".join(fb(1, fv(1, d) if isinstance(d, int) else fb(2, d)) for d in dims)
    return fb(1, name) + fb(2, fb(1, fv(1, elem) + fb(2, dim)))


def model(nodes, inits, inputs, outputs, opset=13, ir=7):
    g = b"".join(fb(1, n) for n in nodes) + fb(2, "g") + b"".join(fb(5, t) for t in inits)
    g += b"".join(fb(11, i) for i in inputs) + b"".join(fb(12, o) for o in outputs)
    return fv(1, ir) + fb(2, "lathe-fuzz") + fb(7, g) + fb(8, fb(1, "") + fv(2, opset))


def weights(n, scale=0.1):
    return [((i * 37) % 17 - 8) * scale for i in range(n)]


def onnx_seeds():
    for name in ["bn_conv.onnx", "depthwise.onnx", "external_data.onnx", "matmul_opset7.onnx", "missing_external.onnx",
                 "residual.onnx", "unknown_op.onnx", "truncated.onnx", "not_onnx.onnx"]:
        shutil.copy(os.path.join(FIXTURES, name), os.path.join(CORPUS, "onnx", name))
    x = value_info("x", [1, 2, 8, 8])
    conv = node("Conv", ["x", "w", "b"], ["c"], "conv",
                [attr_ints("strides", [2, 2]), attr_ints("pads", [1, 1, 1, 1]), attr_ints("dilations", [1, 1]),
                 attr_ints("kernel_shape", [3, 3]), attr_int("group", 2)])
    pool = node("MaxPool", ["c"], ["p"], "pool", [attr_ints("kernel_shape", [2, 2]), attr_ints("strides", [2, 2])])
    avg = node("AveragePool", ["p"], ["a"], "avg",
               [attr_ints("kernel_shape", [2, 2]), attr_string("auto_pad", "SAME_UPPER"), attr_int("count_include_pad", 1)])
    write("onnx", "gen_conv_pool.onnx",
          model([conv, pool, avg], [tensor("w", [4, 1, 3, 3], weights(36)), tensor("b", [4], weights(4))], [x],
                [value_info("a", [])]))
    convt = node("ConvTranspose", ["x", "wt"], ["y"], "deconv",
                 [attr_ints("strides", [2, 2]), attr_ints("output_padding", [1, 1]), attr_int("group", 1)])
    lp = node("LpPool", ["y"], ["z"], "lp", [attr_ints("kernel_shape", [3, 3]), attr_int("p", 2)])
    write("onnx", "gen_convtranspose_lppool.onnx",
          model([convt, lp], [tensor("wt", [2, 3, 3, 3], weights(54))], [x], [value_info("z", [])]))
    d2s = node("DepthToSpace", ["x"], ["d"], "d2s", [attr_int("blocksize", 1)])
    s2d = node("SpaceToDepth", ["d"], ["s"], "s2d", [attr_int("blocksize", 2)])
    lrn = node("LRN", ["s"], ["l"], "lrn", [attr_int("size", 3), attr_float("alpha", 1e-4)])
    split = node("Split", ["l", "sp"], ["s1", "s2"], "split", [attr_int("axis", 1)])
    reshape = node("Reshape", ["s1", "shape"], ["r"], "reshape")
    gemm = node("Gemm", ["r", "gw"], ["out"], "gemm", [attr_int("transB", 1)])
    write("onnx", "gen_misc_ops.onnx",
          model([d2s, s2d, lrn, split, reshape, gemm],
                [tensor("sp", [2], [4, 4], dtype=7), tensor("shape", [2], [1, -1], dtype=7),
                 tensor("gw", [3, 64], weights(192))], [x], [value_info("out", [])]))
    gather = node("Gather", ["x", "idx"], ["gx"], "gather", [attr_int("axis", 2)])
    flatten = node("Flatten", ["gx"], ["f"], "flatten", [attr_int("axis", 1)])
    mm = node("MatMul", ["f", "mw"], ["m"], "matmul")
    write("onnx", "gen_gather_matmul.onnx",
          model([gather, flatten, mm],
                [tensor("idx", [2], [0, 3], dtype=7), tensor("mw", [32, 2], weights(64), raw=None),
                 tensor("h", [2, 2], raw=struct.pack("<4e", 1.0, -2.0, 0.5, 3.0), dtype=10)],
                [value_info("x", ["N", 2, 8, 8])], [value_info("m", [])]))
    ext = [("location", "external_data.bin"), ("offset", "0"), ("length", "512")]
    write("onnx", "gen_external_offsets.onnx",
          model([node("Gemm", ["x2", "ew", "eb"], ["y2"], "fc", [attr_int("transB", 1)])],
                [tensor("ew", [8, 16], external=ext),
                 tensor("eb", [8], external=[("location", "external_data.bin"), ("offset", "512"), ("length", "32")])],
                [value_info("x2", [1, 16])], [value_info("y2", [1, 8])]))


# --- recipes ---------------------------------------------------------------------------------------------------
def recipe_seeds():
    recipes = {
        "full.json": {"defaults": {"quant": {"bits": 8, "granularity": "per_channel", "symmetric": True}},
                      "layers": {"conv1": {"prune": {"sparsity": 0.5}},
                                 "conv2": {"prune": {"structured": {"keep": 30}}, "quant": {"bits": 4}},
                                 "fc1": {"lowrank": {"rank": 64}, "quant": {"rounding": "stochastic", "seed": 7}},
                                 "fc2.weight": {"prune": {"threshold": 0.01}, "quant": {"rounding": "kmeans"}}}},
        "global.json": {"global_prune": {"sparsity": 0.7, "correction": "least_squares", "samples": 256},
                        "layers": {"fc2": {"prune": {"sparsity": 0}}}},
        "activations.json": {"activations": {"mode": "static", "bits": 8, "calibration": "percentile",
                                             "samples": 128, "percentile": 99.9},
                             "defaults": {"lowrank": {"energy": 0.9}, "prune": {"structured": {"keep_fraction": 0.5}}}},
        "empty.json": {},
        "train.json": {"global_prune": {"sparsity": 0.9},
                       "train": {"epochs": 3, "lr": 0.01, "optimizer": "sgd", "momentum": 0.9, "weight_decay": 1e-4,
                                 "batch": 64, "schedule": "step", "step_epochs": 1, "gamma": 0.5, "seed": 3,
                                 "samples": 1000, "batchnorm": "train", "centroid_epochs": 1,
                                 "prune_schedule": {"from": 0.5, "epochs": 2}}},
        "train_l1.json": {"train": {"mode": "l1", "epochs": 5,
                                    "l1": {"lambda": 1e-4, "layers": {"fc1": 5e-4}, "target_sparsity": 0.9}}},
        "train_distill.json": {"train": {"mode": "distill", "init": "random", "epochs": 5,
                                         "distill": {"teacher": "teacher.onnx", "temperature": 4, "alpha": 0.7,
                                                     "hard": False}}},
        "evaluation_cv.json": {"evaluation": {"cross_validation": {"folds": 5, "epochs": 1, "seed": 2}},
                               "train": {"epochs": 2}},
    }
    for name, r in recipes.items():
        write("recipe", name, json.dumps(r, indent=1))
    write("recipe", "duplicate_key.json", '{"layers": {"fc1": {"quant": {"bits": 8}}, "fc1": {}}}')
    write("recipe", "huge_number.json", '{"global_prune": {"sparsity": 0.5, "samples": 1e400}}')


# --- .npy ------------------------------------------------------------------------------------------------------
def npy(descr, shape, payload, version=1):
    shape_text = "(" + "".join("%d, " % d for d in shape).rstrip(" ") + ")" if len(shape) != 1 else "(%d,)" % shape[0]
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    prefix = 10 if version == 1 else 12
    header += " " * ((64 - (prefix + len(header) + 1) % 64) % 64) + "\n"
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + size + header.encode() + payload


def npy_seeds():
    write("npy", "images_u8.npy", npy("|u1", [2, 2, 2], bytes(range(8))))
    write("npy", "images_f4_nchw.npy", npy("<f4", [2, 1, 2, 2], struct.pack("<8f", *[0, 255, 128, 3.5, 1, 2, 3, 4])))
    write("npy", "labels_i8.npy", npy("<i8", [2], struct.pack("<2q", 1, 0)))
    write("npy", "labels_i4_n1.npy", npy("<i4", [2, 1], struct.pack("<2i", 0, 3)))
    write("npy", "labels_u1_v2.npy", npy("|u1", [2], b"\x02\x00", version=2))
    write("npy", "images_f8.npy", npy("<f8", [1, 2, 2], struct.pack("<4d", 0.1, 0.2, 0.3, 0.4)))


# --- IDX -------------------------------------------------------------------------------------------------------
def idx_seeds():
    images = struct.pack(">IIII", 0x803, 2, 4, 4) + bytes(range(0, 256, 8))
    labels = struct.pack(">II", 0x801, 2) + b"\x00\x01"
    write("idx", "images_raw.idx", b"\x00" + images)
    write("idx", "images_gz.idx", b"\x01" + gzip.compress(images, mtime=0))
    write("idx", "labels_raw.idx", b"\x00" + labels)
    write("idx", "labels_gz.idx", b"\x01" + gzip.compress(labels, mtime=0))


# --- images ----------------------------------------------------------------------------------------------------
EXTENSIONS = [".png", ".jpg", ".bmp", ".pgm", ".ppm", ".pbm", ".tif", ".webp"]


def png(width, height, gray):
    channels = 1 if gray else 3
    raw = b"".join(b"\x00" + bytes((x * 40 + y * 20 + c * 60) % 256 for x in range(width) for c in range(channels))
                   for y in range(height))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0 if gray else 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def bmp(width, height):
    row = bytes((x * 30 + c * 70) % 256 for x in range(width) for c in range(3))
    row += b"\x00" * ((4 - len(row) % 4) % 4)
    pixels = row * height
    header = struct.pack("<2sIHHI", b"BM", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return header + info + pixels


def opencv_images():
    """JPEG, TIFF and WebP bytes encoded by OpenCV (empty when no compiler or OpenCV)."""
    source = r'''
#include <opencv2/imgcodecs.hpp>
#include <cstdio>
int main(int, char** argv) {
    cv::Mat m(10, 12, CV_8UC3);
    for (int y = 0; y < m.rows; ++y)
        for (int x = 0; x < m.cols; ++x) m.at<cv::Vec3b>(y, x) = cv::Vec3b(x * 20, y * 25, 128);
    for (const char* ext : {".jpg", ".tif", ".webp"}) cv::imwrite(std::string(argv[1]) + "/seed" + ext, m);
    return 0;
}
'''
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "encode.cpp")
        with open(src, "w") as f:
            f.write(source)
        try:
            flags = subprocess.run(["pkg-config", "--cflags", "--libs", "opencv4"], capture_output=True, text=True,
                                   check=True).stdout.split()
            subprocess.run(["c++", "-std=c++17", src, "-o", os.path.join(tmp, "encode")] + flags, check=True)
            subprocess.run([os.path.join(tmp, "encode"), tmp], check=True)
        except (OSError, subprocess.CalledProcessError):
            return out
        for ext in [".jpg", ".tif", ".webp"]:
            p = os.path.join(tmp, "seed" + ext)
            if os.path.exists(p):
                out[ext] = open(p, "rb").read()
    return out


def image_seeds():
    def put(name, ext, options, data):
        write("image_folder", name, bytes([EXTENSIONS.index(ext), options]) + data)

    put("png_rgb", ".png", 0, png(6, 5, False))
    put("png_gray_resize_crop", ".png", 1 | 2 | 4, png(16, 12, True))
    put("bmp", ".bmp", 8, bmp(5, 4))
    put("pgm", ".pgm", 1, b"P5\n4 3\n255\n" + bytes(range(0, 240, 20)))
    put("ppm", ".ppm", 2, b"P6\n2 2\n255\n" + bytes(range(12)))
    put("pbm", ".pbm", 0, b"P4\n8 2\n\xaa\x55")
    for ext, data in opencv_images().items():
        put(ext[1:], ext, 2 | 4, data)


# --- project files ---------------------------------------------------------------------------------------------
def project_seeds():
    layer = {"name": "fc1", "op": "Gemm", "original_shape": [500, 800], "channels": 0, "kept_channels": 0, "rank": 64,
             "full_rank": 500, "low_rank_error": 0.12, "threshold": 0.0, "sparsity": 0.0, "bits": 8,
             "rounding": "nearest", "granularity": "per_tensor", "symmetric": True, "rel_error": 0.2,
             "sqnr_db": None, "params": 83200, "bytes": 83200, "original_params": 400500,
             "original_bytes": 1602000, "notes": ["rank kept"]}
    metrics = {"top1": 91.2, "top5": 99.5, "macro_f1": 0.91, "fold_std": 0.3, "samples": 6, "latency_ms": 0.4,
               "backend": "builtin", "confusion": [[2, 0, 0], [1, 1, 0], [0, 0, 2]], "params": 431080,
               "weight_bytes": 431080, "onnx_bytes": 1725714, "zlib_bytes": 1600000, "macs": 2300000,
               "format": "float", "layers": [layer], "notes": ["a note"]}
    project = {"lathe_project": 1,
               "model": {"path": "/nonexistent/lenet5.onnx", "relative_path": "bn_conv.onnx", "sha256": "ab" * 32},
               "dataset": {"spec": "idx:/usr/share/datasets/fashion-mnist", "split": "test", "limit": 100,
                           "shuffle": True, "batch": 50, "folds": 5, "seed": 3, "backend": "auto",
                           "latency_samples": 10,
                           "preprocessing": {"resize": 0, "crop": 0, "mean": [0.5], "std": [0.25], "bgr": False,
                                             "gray": False, "scale": 0.00392}},
               "class_names": ["a", "b", "c"],
               "recipe": {"defaults": {"quant": {"bits": 8}}},
               "next_variant": 3,
               "variants": [{"id": "v1", "name": "baseline", "note": "", "baseline": True,
                             "created": "2026-01-02T03:04:05", "state": "done", "recipe": {}, "metrics": metrics},
                            {"id": "v2", "name": "int4", "note": "try", "baseline": False, "created": "",
                             "state": "failed", "error": "it failed",
                             "recipe": {"layers": {"fc1": {"quant": {"bits": 4}}},
                                        "global_prune": {"sparsity": 0.5}}}]}
    write("project", "full.latheproj", json.dumps(project, indent=1))
    write("project", "minimal.latheproj", '{"lathe_project": 1}')
    write("project", "wrong_type.latheproj", '{"lathe_project": 1, "variants": [{"id": 5}]}')


def main():
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    os.makedirs(os.path.join(CORPUS, "onnx"))
    onnx_seeds()
    recipe_seeds()
    npy_seeds()
    idx_seeds()
    image_seeds()
    project_seeds()
    for target in sorted(os.listdir(CORPUS)):
        print(target, len(os.listdir(os.path.join(CORPUS, target))), "files")


if __name__ == "__main__":
    main()
