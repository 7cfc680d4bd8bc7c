"""Load Fashion-MNIST from the Debian package ``dataset-fashion-mnist``.

The package installs the original IDX files (gzip-compressed) in
/usr/share/datasets/fashion-mnist:

    train-images-idx3-ubyte.gz  (60000 x 28 x 28, uint8)
    train-labels-idx1-ubyte.gz  (60000, uint8)
    t10k-images-idx3-ubyte.gz   (10000 x 28 x 28, uint8)
    t10k-labels-idx1-ubyte.gz   (10000, uint8)

Both ``name`` and ``name.gz`` are accepted. No torchvision needed; only numpy.

Usage:
    from fashion_mnist import load
    x_train, y_train = load("train")   # uint8 [60000,28,28], uint8 [60000]
    x_test, y_test = load("test")      # uint8 [10000,28,28], uint8 [10000]

Run directly (`/usr/bin/python3 tools/fashion_mnist.py`) to print a summary.
"""
import gzip
import os
import struct

import numpy as np

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"

CLASS_NAMES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# IDX type codes -> numpy dtypes (big-endian on disk).
_IDX_DTYPES = {
    0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2",
    0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8",
}


def _open(path):
    if os.path.exists(path):
        return open(path, "rb")
    if os.path.exists(path + ".gz"):
        return gzip.open(path + ".gz", "rb")
    raise FileNotFoundError(f"neither {path} nor {path}.gz exists")


def read_idx(path):
    """Read one IDX file (optionally ``.gz``) into a numpy array."""
    with _open(path) as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an IDX file")
    type_code, ndim = data[2], data[3]
    if type_code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX type 0x{type_code:02x}")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_DTYPES[type_code])
    count = int(np.prod(dims)) if dims else 1
    offset = 4 + 4 * ndim
    if len(data) - offset != count * dtype.itemsize:
        raise ValueError(f"{path}: size mismatch for dims {dims}")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return arr.reshape(dims).astype(dtype.newbyteorder("="), copy=True)


def load(split="train", root=DEFAULT_DIR):
    """Return (images uint8 [N,28,28], labels uint8 [N]) for 'train' or 'test'."""
    if split not in _FILES:
        raise ValueError("split must be 'train' or 'test'")
    img_name, lbl_name = _FILES[split]
    images = read_idx(os.path.join(root, img_name))
    labels = read_idx(os.path.join(root, lbl_name))
    if images.shape[0] != labels.shape[0]:
        raise ValueError("image/label count mismatch")
    return images, labels


def preprocess(images):
    """The preprocessing used for lenet5_fashion.onnx: float32 pixel/255,
    NCHW [N,1,28,28], no mean subtraction, no normalisation."""
    return (images.astype(np.float32) / np.float32(255.0))[:, None, :, :]


if __name__ == "__main__":
    for split in ("train", "test"):
        x, y = load(split)
        print(f"{split}: images {x.shape} {x.dtype}, labels {y.shape} {y.dtype}, "
              f"classes {np.bincount(y).tolist()}")
