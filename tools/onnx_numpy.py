"""A tiny numpy reference interpreter for the ONNX subset used by Lathe's
demo model and test fixtures (onnxruntime is not available here).

Supported ops: Conv (group, pads, strides, dilations, auto_pad), MaxPool,
GlobalAveragePool, Relu, Clip (min/max as inputs, opset >= 11, or as
attributes, opset < 11), Flatten, Gemm, MatMul, Add, BatchNormalization
(inference), Transpose, Reshape, Softmax (2-D), Identity, Constant (value).

Usage:
    from onnx_numpy import run_model
    outputs = run_model(onnx.load(path), {"input": x})   # dict name -> array

It is deliberately simple (im2col convolution, float32 in / float32 out) and
is used only to cross-check torch and to compute reference outputs.
"""
import numpy as np
import onnx
from onnx import numpy_helper


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _same_pads(in_sizes, kernel, strides, dilations, upper):
    pads_begin, pads_end = [], []
    for n, k, s, d in zip(in_sizes, kernel, strides, dilations):
        out = -(-n // s)
        eff = (k - 1) * d + 1
        total = max(0, (out - 1) * s + eff - n)
        small, big = total // 2, total - total // 2
        pads_begin.append(small if upper else big)
        pads_end.append(big if upper else small)
    return pads_begin + pads_end


def _resolve_pads(a, spatial, kernel, strides, dilations):
    auto_pad = a.get("auto_pad", b"NOTSET")
    if isinstance(auto_pad, bytes):
        auto_pad = auto_pad.decode()
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        return _same_pads(spatial, kernel, strides, dilations, auto_pad == "SAME_UPPER")
    if auto_pad == "VALID":
        return [0] * (2 * len(spatial))
    return list(a.get("pads", [0] * (2 * len(spatial))))


def _windows(x, kernel, strides, dilations, pads, pad_value):
    """x: [N,C,H,W] -> patches [N,C,kh,kw,Ho,Wo]."""
    n, c, h, w = x.shape
    kh, kw = kernel
    sh, sw = strides
    dh, dw = dilations
    pt, pl, pb, pr = pads
    xp = np.full((n, c, h + pt + pb, w + pl + pr), pad_value, dtype=x.dtype)
    xp[:, :, pt:pt + h, pl:pl + w] = x
    ho = (h + pt + pb - ((kh - 1) * dh + 1)) // sh + 1
    wo = (w + pl + pr - ((kw - 1) * dw + 1)) // sw + 1
    cols = np.empty((n, c, kh, kw, ho, wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                                  j * dw:j * dw + sw * (wo - 1) + 1:sw]
    return cols, ho, wo


def conv(x, w, b=None, a=None):
    a = a or {}
    kernel = list(w.shape[2:])
    strides = list(a.get("strides", [1, 1]))
    dilations = list(a.get("dilations", [1, 1]))
    group = int(a.get("group", 1))
    pads = _resolve_pads(a, x.shape[2:], kernel, strides, dilations)
    cols, ho, wo = _windows(x, kernel, strides, dilations, pads, 0.0)
    n, cin = x.shape[:2]
    cout = w.shape[0]
    cin_g, cout_g = cin // group, cout // group
    y = np.empty((n, cout, ho, wo), dtype=np.float32)
    for g in range(group):
        c = cols[:, g * cin_g:(g + 1) * cin_g]           # N,Cg,kh,kw,Ho,Wo
        c = c.reshape(n, -1, ho * wo)                     # N,K,P
        wg = w[g * cout_g:(g + 1) * cout_g].reshape(cout_g, -1)  # Co,K
        y[:, g * cout_g:(g + 1) * cout_g] = np.einsum(
            "ok,nkp->nop", wg, c, optimize=True).reshape(n, cout_g, ho, wo)
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def maxpool(x, a):
    kernel = list(a["kernel_shape"])
    strides = list(a.get("strides", [1, 1]))
    dilations = list(a.get("dilations", [1, 1]))
    pads = _resolve_pads(a, x.shape[2:], kernel, strides, dilations)
    if a.get("ceil_mode", 0):
        raise NotImplementedError("ceil_mode")
    cols, _, _ = _windows(x, kernel, strides, dilations, pads, -np.inf)
    return cols.max(axis=(2, 3))


def gemm(a_, b_, c_=None, at=None):
    at = at or {}
    if at.get("transA", 0):
        a_ = a_.T
    if at.get("transB", 0):
        b_ = b_.T
    y = at.get("alpha", 1.0) * (a_ @ b_)
    if c_ is not None:
        y = y + at.get("beta", 1.0) * c_
    return y.astype(np.float32)


def _default_opset(model):
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return imp.version
    return 1


def run_model(model, feeds):
    """Evaluate ``model`` (onnx.ModelProto) on ``feeds``; return {output: array}."""
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env.update(feeds)
    for node in model.graph.node:
        a = _attrs(node)
        ins = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Conv":
            out = conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)
        elif op == "MaxPool":
            out = maxpool(ins[0], a)
        elif op == "Relu":
            out = np.maximum(ins[0], 0).astype(np.float32)
        elif op == "Flatten":
            ax = a.get("axis", 1)
            out = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        elif op == "Gemm":
            out = gemm(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)
        elif op == "MatMul":
            out = (ins[0] @ ins[1]).astype(np.float32)
        elif op == "Add":
            out = (ins[0] + ins[1]).astype(np.float32)
        elif op == "BatchNormalization":
            x, scale, bias, mean, var = ins[:5]
            eps = a.get("epsilon", 1e-5)
            shp = (1, -1) + (1,) * (x.ndim - 2)
            out = ((x - mean.reshape(shp)) / np.sqrt(var.reshape(shp) + eps)
                   * scale.reshape(shp) + bias.reshape(shp)).astype(np.float32)
        elif op == "GlobalAveragePool":
            out = ins[0].mean(axis=tuple(range(2, ins[0].ndim)), keepdims=True)
        elif op == "Transpose":
            out = np.transpose(ins[0], a.get("perm"))
        elif op == "Reshape":
            shape = [int(s) for s in ins[1]]
            shape = [ins[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
            out = ins[0].reshape(shape)
        elif op == "Softmax":
            ax = a.get("axis", -1 if _default_opset(model) >= 13 else 1)
            z = ins[0] - ins[0].max(axis=ax, keepdims=True)
            e = np.exp(z)
            out = e / e.sum(axis=ax, keepdims=True)
        elif op == "Identity":
            out = ins[0]
        elif op == "Clip":
            if _default_opset(model) >= 11:
                lo = ins[1] if len(ins) > 1 and ins[1] is not None else None
                hi = ins[2] if len(ins) > 2 and ins[2] is not None else None
            else:
                lo, hi = a.get("min"), a.get("max")
            out = ins[0]
            if lo is not None:
                out = np.maximum(out, np.float32(lo))
            if hi is not None:
                out = np.minimum(out, np.float32(hi))
        elif op == "Constant":
            if "value" not in a:
                raise NotImplementedError(f"Constant without 'value' ({node.name})")
            env[node.output[0]] = numpy_helper.to_array(a["value"])  # keeps its dtype
            continue
        else:
            raise NotImplementedError(f"op {op} ({node.name})")
        env[node.output[0]] = np.ascontiguousarray(out, dtype=np.float32)
    return {o.name: env[o.name] for o in model.graph.output}
