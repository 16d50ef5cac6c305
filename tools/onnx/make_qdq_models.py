#!/usr/bin/python3
"""Writes the small quantised ONNX models under tests/onnx/ that
tests/test_fuse_qdq.c imports: QDQ models in the form ONNX Runtime's
quantize_static writes by default (QuantizeLinear / DequantizeLinear around
float Conv, Gemm and MatMul; u8 activations, i8 weights, i32 biases at
scale x_scale * w_scale), one QLinearMatMul with a constant B, and one model
whose layers the fuse-qdq pass must leave float. Run it from the repository
root with a Python that has the onnx package and numpy (no onnxruntime):

    /usr/bin/python3 tools/onnx/make_qdq_models.py

The output is deterministic; the tests do not need Python."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "onnx")
RNG = np.random.default_rng(13)


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


class Net:
    """Nodes and initializers of one graph, named in order."""

    def __init__(self):
        self.nodes, self.inits = [], []

    def const(self, name, value):
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def node(self, op, inputs, output, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def q(self, x, scale, zp, name):
        s = self.const(name + "_scale", np.array(scale, np.float32))
        z = self.const(name + "_zp", np.array(zp, np.uint8))
        return self.node("QuantizeLinear", [x, s, z], name)

    def dq(self, xq, scale, zp, name):
        s = self.const(name + "_scale", np.array(scale, np.float32))
        z = self.const(name + "_zp", np.array(zp, np.uint8))
        return self.node("DequantizeLinear", [xq, s, z], name)

    def qdq(self, x, scale, zp, name):
        return self.dq(self.q(x, scale, zp, name + "_q"), scale, zp, name + "_dq")

    def weights(self, shape, per_channel, name):
        """Symmetric i8 weights (zero point 0), per tensor or one scale
        per row (axis 0), as ONNX Runtime chooses them; the DQ node."""
        w = RNG.uniform(-1, 1, size=shape).astype(np.float32)
        rows = w.reshape(shape[0], -1)
        amax = np.abs(rows).max(axis=1) if per_channel else np.array([np.abs(w).max()])
        scale = (amax / 127).astype(np.float32)
        wq = np.clip(np.round(rows / scale.reshape(-1, 1) if per_channel else rows / scale[0]), -127, 127)
        wq = wq.astype(np.int8).reshape(shape)
        sname = self.const(name + "_scale", scale if per_channel else scale[0])
        zname = self.const(name + "_zp", np.zeros(len(scale), np.int8) if per_channel else np.array(0, np.int8))
        attrs = {"axis": 0} if per_channel else {}
        self.node("DequantizeLinear", [self.const(name + "_q", wq), sname, zname], name, **attrs)
        return name, scale

    def bias_dq(self, x_scale, w_scale, n, name):
        """An i32 bias at scale x_scale * w_scale, zero point 0."""
        scale = (np.float32(x_scale) * w_scale).astype(np.float32)
        bq = RNG.integers(-2000, 2000, size=n).astype(np.int32)
        s = self.const(name + "_scale", scale if len(scale) > 1 else scale[0])
        attrs = {"axis": 0} if len(scale) > 1 else {}
        return self.node("DequantizeLinear", [self.const(name + "_q", bq), s], name, **attrs)

    def save(self, file, inputs, outputs):
        g = helper.make_graph(self.nodes, "g", inputs, outputs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="make_qdq_models.py")
        m.ir_version = 8
        onnx.checker.check_model(m)
        with open(os.path.join(OUT, file), "wb") as f:
            f.write(m.SerializeToString())


def conv_chain(file, per_channel, int_bias, layers=3):
    """Two conv + relu layers on u8 integers, then a conv without relu whose
    output grid has zero point 128; or the first layer alone."""
    n = Net()
    x = n.qdq("x", 1 / 64, 128, "x")
    sx = 1 / 64
    w1, s1 = n.weights((8, 3, 3, 3), per_channel, "w1")
    b1 = n.bias_dq(sx, s1, 8, "b1") if int_bias else n.const("b1", RNG.uniform(-0.5, 0.5, 8).astype(np.float32))
    c1 = n.node("Conv", [x, w1, b1], "c1", pads=[1, 1, 1, 1])
    r1 = n.node("Relu", [c1], "r1")
    y1 = n.qdq(r1, 0.05, 0, "y1")
    if layers == 1:
        n.save(file, [vi("x", [1, 3, 10, 10])], [vi(y1, [1, 8, 10, 10])])
        return
    w2, _ = n.weights((8, 8, 3, 3), per_channel, "w2")
    c2 = n.node("Conv", [y1, w2], "c2", strides=[2, 2])
    r2 = n.node("Relu", [c2], "r2")
    y2 = n.qdq(r2, 0.1, 0, "y2")
    w3, _ = n.weights((4, 8, 1, 1), per_channel, "w3")
    c3 = n.node("Conv", [y2, w3], "c3")
    n.qdq(c3, 0.08, 128, "y")
    n.save(file, [vi("x", [1, 3, 10, 10])], [vi("y_dq", [1, 4, 4, 4])])


def fc(file="qdq_fc.onnx", layers=("gemm", "matmul")):
    """A Gemm (transB, float bias, relu) and a MatMul, each between DQ and Q;
    or one of them alone."""
    n = Net()
    x = n.qdq("x", 1 / 64, 128, "x")
    if layers == ("matmul",):
        wq = np.clip(np.round(RNG.uniform(-127, 127, size=(48, 10))), -127, 127).astype(np.int8)
        w = n.node("DequantizeLinear", [n.const("w_q", wq), n.const("w_scale", np.array(0.01, np.float32)),
                                        n.const("w_zp", np.array(0, np.int8))], "w")
        n.qdq(n.node("MatMul", [x, w], "m"), 0.1, 128, "y")
        n.save(file, [vi("x", [2, 48])], [vi("y_dq", [2, 10])])
        return
    w, _ = n.weights((24, 48), True, "w1")
    g = n.node("Gemm", [x, w, n.const("b1", RNG.uniform(-0.5, 0.5, 24).astype(np.float32))], "g1",
               transB=1)
    y1 = n.qdq(n.node("Relu", [g], "r1"), 0.05, 0, "y1")
    if layers == ("gemm",):
        n.save(file, [vi("x", [2, 48])], [vi(y1, [2, 24])])
        return
    wt, _ = n.weights((10, 24), False, "w2")  # MatMul's B is [K, N]: written transposed below
    n.nodes.pop()
    wq = [i for i in n.inits if i.name == "w2_q"][0]
    n.inits.remove(wq)
    n.const("w2_q", numpy_helper.to_array(wq).T.copy())
    n.node("DequantizeLinear", ["w2_q", "w2_scale", "w2_zp"], "w2")
    m = n.node("MatMul", [y1, "w2"], "m2")
    n.qdq(m, 0.1, 128, "y")
    n.save("qdq_fc.onnx", [vi("x", [2, 48])], [vi("y_dq", [2, 10])])


def qlinear_matmul():
    """QLinearMatMul with a constant i8 B, one scale per column."""
    n = Net()
    xq = n.q("x", 1 / 64, 128, "x_q")
    b = RNG.integers(-127, 128, size=(32, 6)).astype(np.int8)
    bs = (RNG.uniform(0.5, 1.5, 6) / 127).astype(np.float32)
    inputs = [xq, "x_q_scale", "x_q_zp", n.const("b", b), n.const("b_scale", bs),
              n.const("b_zp", np.zeros(6, np.int8)), n.const("yq_scale", np.array(0.02, np.float32)),
              n.const("yq_zp", np.array(128, np.uint8))]
    yq = n.node("QLinearMatMul", inputs, "y_q")
    n.dq(yq, 0.02, 128, "y")
    n.save("qlinear_matmul.onnx", [vi("x", [3, 32])], [vi("y", [3, 6])])


def refused():
    """What the pass must leave float: a MatMul of two activations, and a
    conv + relu whose output grid has zero point 10 (u8 saturation is not
    the relu)."""
    n = Net()
    x = n.qdq("x", 1 / 64, 128, "x")
    w, _ = n.weights((4, 3, 3, 3), False, "w")
    r = n.node("Relu", [n.node("Conv", [x, w], "c", pads=[1, 1, 1, 1])], "r")
    y = n.qdq(r, 0.05, 10, "y1")
    f = n.node("Flatten", [y], "f")
    t = n.node("Transpose", [f], "t")
    m = n.node("MatMul", [t, f], "m")
    n.qdq(m, 0.5, 128, "y")
    n.save("qdq_refused.onnx", [vi("x", [1, 3, 4, 4])], [vi("y_dq", [64, 64])])


def main():
    conv_chain("qdq_conv_per_tensor.onnx", per_channel=False, int_bias=False)
    conv_chain("qdq_conv_per_channel.onnx", per_channel=True, int_bias=True)
    fc()
    # One layer each: the bound of docs/quantization.md is per layer.
    conv_chain("qdq_conv1_per_tensor.onnx", per_channel=False, int_bias=False, layers=1)
    conv_chain("qdq_conv1_per_channel.onnx", per_channel=True, int_bias=True, layers=1)
    fc("qdq_gemm1.onnx", ("gemm",))
    fc("qdq_matmul1.onnx", ("matmul",))
    qlinear_matmul()
    refused()


if __name__ == "__main__":
    main()
