"""Parameter and MAC counts for small ONNX models, with the arithmetic
written out, in the conventions Lathe's tests check against.

Run: /usr/bin/python3 tools/onnx_stats.py MODEL.onnx [...]

Conventions (batch 1; a symbolic batch dim such as "N" is taken as 1):
  * parameters of a node = element count of its float initializer inputs
    (weight + bias; for BatchNormalization scale, B, mean and var, i.e. 4*C,
    of which 2*C are trainable). int64 shape constants are not parameters.
  * Conv MACs  = Cout * Hout * Wout * (Cin/group) * kh * kw
  * Gemm/MatMul MACs = M * N * K
  * everything else (bias Add, BatchNormalization, Relu, pooling, ...) = 0 MACs.
"""
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

MAC_OPS = ("Conv", "Gemm", "MatMul")


def _dims(vi):
    out = []
    for d in vi.type.tensor_type.shape.dim:
        out.append(d.dim_value if d.HasField("dim_value") else 1)
    return out


def _fmt(n):
    return f"{n:,}"


def layer_stats(model):
    """Return a list of dicts: name, op, params, params_expr, macs, macs_expr."""
    inferred = shape_inference.infer_shapes(model)
    g = inferred.graph
    shapes = {vi.name: _dims(vi) for vi in list(g.input) + list(g.value_info) + list(g.output)}
    inits = {t.name: t for t in g.initializer}
    for t in g.initializer:
        shapes[t.name] = list(t.dims)
    rows = []
    for node in g.node:
        weights = [inits[i] for i in node.input
                   if i in inits and inits[i].data_type == onnx.TensorProto.FLOAT]
        if not weights and node.op_type not in MAC_OPS:
            continue
        sizes = [int(np.prod(w.dims)) for w in weights]
        p_terms = ["*".join(str(d) for d in w.dims) for w in weights]
        params = sum(sizes)
        params_expr = " + ".join(p_terms) + (f" = {_fmt(params)}" if weights else "0")
        macs, macs_expr = 0, "0 (not counted)"
        a = {at.name: onnx.helper.get_attribute_value(at) for at in node.attribute}
        if node.op_type == "Conv":
            w = shapes[node.input[1]]
            cin = shapes[node.input[0]][1]
            group = int(a.get("group", 1))
            _, cout, ho, wo = shapes[node.output[0]]
            kh, kw = w[2], w[3]
            macs = cout * ho * wo * (cin // group) * kh * kw
            macs_expr = (f"{cout}*{ho}*{wo}*({cin}/{group})*{kh}*{kw} = {_fmt(macs)}")
        elif node.op_type == "Gemm":
            A, B = shapes[node.input[0]], shapes[node.input[1]]
            M, K = (A[1], A[0]) if a.get("transA", 0) else (A[0], A[1])
            N = B[0] if a.get("transB", 0) else B[1]
            macs = M * N * K
            macs_expr = f"M*N*K = {M}*{N}*{K} = {_fmt(macs)}"
        elif node.op_type == "MatMul":
            A, B = shapes[node.input[0]], shapes[node.input[1]]
            M = int(np.prod(A[:-1]))
            K, N = A[-1], B[-1]
            macs = M * N * K
            macs_expr = f"M*N*K = {M}*{N}*{K} = {_fmt(macs)}"
        rows.append(dict(name=node.name, op=node.op_type, params=params,
                         params_expr=params_expr, macs=macs, macs_expr=macs_expr))
    return rows


def summary_lines(model):
    rows = layer_stats(model)
    lines = []
    for r in rows:
        lines.append(f"  - `{r['name']}` ({r['op']}): params {r['params_expr']}; "
                     f"MACs {r['macs_expr']}")
    if not rows:
        lines.append("  - total: no weighted layers; params **0**; MACs **0**")
        return lines, 0, 0
    tp = sum(r["params"] for r in rows)
    tm = sum(r["macs"] for r in rows)
    p_sum = " + ".join(_fmt(r["params"]) for r in rows if r["params"]) or "0"
    m_sum = " + ".join(_fmt(r["macs"]) for r in rows if r["macs"]) or "0"
    lines.append(f"  - total: params {p_sum} = **{_fmt(tp)}**; MACs {m_sum} = **{_fmt(tm)}**")
    return lines, tp, tm


if __name__ == "__main__":
    for path in sys.argv[1:]:
        m = onnx.load(path, load_external_data=False)
        if any(t.data_location == onnx.TensorProto.EXTERNAL for t in m.graph.initializer):
            onnx.load_external_data_for_model(m, os.path.dirname(os.path.abspath(path)))
        lines, _, _ = summary_lines(m)
        print(path)
        print("\n".join(lines))
