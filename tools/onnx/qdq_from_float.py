#!/usr/bin/python3
"""Writes a QDQ model from a float ONNX convolutional network, in the form
ONNX Runtime's quantize_static writes by default (QuantFormat.QDQ,
activations u8 with a zero point, weights i8 symmetric per tensor, biases
i32 at scale x_scale * w_scale, calibrated by min-max), for machines without
onnxruntime. Every activation that a Conv, Gemm, Add or MaxPool reads gets a
QuantizeLinear / DequantizeLinear pair; the ranges come from running the
float model with NumPy on the calibration data (Conv, Relu, MaxPool, Add,
GlobalAveragePool, Flatten and Gemm: what torchvision's ResNets use).

    /usr/bin/python3 tools/onnx/qdq_from_float.py MODEL.onnx CALIB.npy OUT.onnx [--per-channel]

dnnc's fuse-qdq pass (-O2) runs the result's conv and fc layers on integers
(docs/quantization.md)."""
import sys

import numpy as np
import onnx
from numpy.lib.stride_tricks import sliding_window_view
from onnx import helper, numpy_helper


def attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def windows(x, node, fill):
    k = attr(node, "kernel_shape", None)
    s = attr(node, "strides", [1, 1])
    p = attr(node, "pads", [0, 0, 0, 0])
    x = np.pad(x, ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])), constant_values=fill)
    return sliding_window_view(x, k, axis=(2, 3))[:, :, ::s[0], ::s[1]]


def conv(x, w, b, node):
    assert attr(node, "group", 1) == 1 and attr(node, "dilations", [1, 1]) == [1, 1]
    node_k = helper.make_attribute("kernel_shape", list(w.shape[2:]))
    probe = helper.make_node("Conv", [], [], strides=attr(node, "strides", [1, 1]),
                             pads=attr(node, "pads", [0, 0, 0, 0]))
    probe.attribute.append(node_k)
    win = windows(x, probe, 0)  # N C OH OW kh kw
    n, _, oh, ow = win.shape[:4]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, -1)
    y = cols @ w.reshape(w.shape[0], -1).T + (b if b is not None else 0)
    return y.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2).astype(np.float32)


def run(model, x):
    """Every tensor's value on x (float32)."""
    v = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    v[model.graph.input[0].name] = x
    for n in model.graph.node:
        a = [v[i] if i else None for i in n.input]
        if n.op_type == "Conv":
            y = conv(a[0], a[1], a[2] if len(a) > 2 else None, n)
        elif n.op_type == "Relu":
            y = np.maximum(a[0], 0)
        elif n.op_type == "MaxPool":
            y = windows(a[0], n, -np.inf).max(axis=(4, 5))
        elif n.op_type == "Add":
            y = a[0] + a[1]
        elif n.op_type == "GlobalAveragePool":
            y = a[0].mean(axis=(2, 3), keepdims=True)
        elif n.op_type == "Flatten":
            y = a[0].reshape(a[0].shape[0], -1)
        elif n.op_type == "Gemm":
            w = a[1].T if attr(n, "transB", 0) else a[1]
            y = a[0] @ w + (a[2] if len(a) > 2 else 0)
        else:
            raise SystemExit(f"{n.op_type} is not supported by this script")
        v[n.output[0]] = y.astype(np.float32)
    return v


def act_params(t):
    lo, hi = min(float(t.min()), 0.0), max(float(t.max()), 0.0)
    scale = (hi - lo) / 255 if hi > lo else 1.0
    return np.float32(scale), np.uint8(np.clip(np.round(-lo / scale), 0, 255))


def weight_params(w, per_channel):
    rows = w.reshape(w.shape[0], -1)
    amax = np.abs(rows).max(axis=1) if per_channel else np.array([np.abs(w).max()])
    scale = np.where(amax > 0, amax / 127, 1).astype(np.float32)
    q = np.clip(np.round(rows / scale.reshape(-1, 1) if per_channel else rows / scale[0]), -127, 127)
    return q.astype(np.int8).reshape(w.shape), scale


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    per_channel = "--per-channel" in sys.argv
    model = onnx.load(sys.argv[1])
    values = run(model, np.load(sys.argv[2]).astype(np.float32))
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    nodes, new_inits, qdq = [], [], {}

    def const(name, value):
        new_inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def dequantized(t):
        """t's QDQ pair, added once: readers read t's DequantizeLinear."""
        if t not in qdq:
            s, z = act_params(values[t])
            sn, zn = const(t + "_scale", s), const(t + "_zp", z)
            nodes.append(helper.make_node("QuantizeLinear", [t, sn, zn], [t + "_q"], name=t + "_q"))
            nodes.append(helper.make_node("DequantizeLinear", [t + "_q", sn, zn], [t + "_dq"], name=t + "_dq"))
            qdq[t] = float(s)
        return t + "_dq"

    for n in model.graph.node:
        ins = list(n.input)
        if n.op_type in ("Conv", "Gemm", "Add", "MaxPool"):
            ins[0] = dequantized(ins[0])
        if n.op_type == "Add":
            ins[1] = dequantized(ins[1])
        if n.op_type in ("Conv", "Gemm"):
            w = inits[ins[1]]
            if n.op_type == "Gemm" and not attr(n, "transB", 0):
                raise SystemExit("Gemm without transB is not supported by this script")
            q, scale = weight_params(w, per_channel)
            zp = np.zeros(len(scale), np.int8) if per_channel else np.int8(0)
            sw = scale if per_channel else scale[0]
            kw = {"axis": 0} if per_channel else {}
            name = ins[1]
            nodes.append(helper.make_node("DequantizeLinear", [const(name + "_q", q), const(name + "_scale", sw),
                                                               const(name + "_zp", zp)], [name + "_dq"], **kw))
            ins[1] = name + "_dq"
            if len(ins) > 2 and ins[2]:
                bscale = (np.float32(qdq[n.input[0]]) * scale).astype(np.float32)
                bq = np.round(inits[ins[2]] / bscale).astype(np.int32)
                nodes.append(helper.make_node(
                    "DequantizeLinear", [const(ins[2] + "_q", bq),
                                         const(ins[2] + "_scale", bscale if per_channel else bscale[0])],
                    [ins[2] + "_dq"], **kw))
                ins[2] = ins[2] + "_dq"
        nodes.append(helper.make_node(n.op_type, ins, list(n.output), name=n.name, domain=n.domain))
        nodes[-1].attribute.extend(n.attribute)
    # The last output as integers and back, as quantize_static leaves it.
    out = model.graph.output[0].name
    dq = dequantized(out)
    g = helper.make_graph(nodes, model.graph.name, list(model.graph.input),
                          [helper.make_tensor_value_info(dq, onnx.TensorProto.FLOAT, None)], new_inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="qdq_from_float.py")
    m.ir_version = model.ir_version
    onnx.save(m, sys.argv[3])


if __name__ == "__main__":
    main()
