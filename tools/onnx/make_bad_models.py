#!/usr/bin/python3
"""Writes the small ONNX models under tests/onnx/ that tests/test_onnx_import.c
imports: one valid Conv+Relu+Gemm network and one model per error the
importer must report. Run it with a Python that has the onnx package
(Debian: /usr/bin/python3 with python3-onnx) from the repository root:

    /usr/bin/python3 tools/onnx/make_bad_models.py

The output is deterministic; the tests do not need Python. Each model is
written with onnx.save without running the checker, since most are invalid
on purpose."""
import itertools
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "onnx")


def f32(shape, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def model(nodes, inputs, outputs, inits=(), opset=13, opsets=None):
    g = helper.make_graph(list(nodes), "g", list(inputs), list(outputs), list(inits))
    if opsets is None:
        opsets = [helper.make_opsetid("", opset)]
    m = helper.make_model(g, opset_imports=opsets, producer_name="make_bad_models.py")
    m.ir_version = 8
    return m


def save(name, m):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(m.SerializeToString())
    return path


def relu_model(**kw):
    return model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x", [1, 4])],
                 [vi("y", [1, 4])], **kw)


def main():
    os.makedirs(OUT, exist_ok=True)

    # The valid network: x[1,1,4,4] -> Conv(2 filters 3x3, pad 1) -> Relu ->
    # Flatten -> Gemm(3 units, transB). Names with dots and '::' exercise the
    # name sanitising.
    w = f32([2, 1, 3, 3], 1)
    b = f32([2], 2)
    fw = f32([3, 32], 3)
    fb = f32([3], 4)
    tiny = model(
        [
            helper.make_node("Conv", ["input.1", "conv.weight", "conv.bias"], ["onnx::Relu_5"],
                             name="Conv_0", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["onnx::Relu_5"], ["6"], name="Relu_1"),
            helper.make_node("Flatten", ["6"], ["7"], name="Flatten_2", axis=1),
            helper.make_node("Gemm", ["7", "fc.weight", "fc.bias"], ["output"], name="Gemm_3",
                             transB=1),
        ],
        [vi("input.1", [1, 1, 4, 4])],
        [vi("output", [1, 3])],
        [numpy_helper.from_array(w, "conv.weight"), numpy_helper.from_array(b, "conv.bias"),
         numpy_helper.from_array(fw, "fc.weight"), numpy_helper.from_array(fb, "fc.bias")],
    )
    onnx.checker.check_model(tiny)
    save("tiny_conv_relu_gemm.onnx", tiny)
    # Its input and the output computed here in float64 with NumPy.
    x = f32([1, 1, 4, 4], 5)
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    conv = np.zeros([1, 2, 4, 4])
    for f in range(2):
        for i in range(4):
            for j in range(4):
                conv[0, f, i, j] = np.sum(xp[0, :, i:i + 3, j:j + 3] * w[f]) + b[f]
    y = np.maximum(conv, 0).reshape(1, 32) @ fw.T.astype(np.float64) + fb
    np.save(os.path.join(OUT, "tiny_conv_relu_gemm.input.npy"), x)
    np.save(os.path.join(OUT, "tiny_conv_relu_gemm.expected.npy"), y.astype(np.float32))

    # A model with no graph (only the header fields).
    m = onnx.ModelProto()
    m.ir_version = 8
    m.opset_import.extend([helper.make_opsetid("", 13)])
    save("no_graph.onnx", m)

    # Opset 18 and a model importing only a custom domain.
    save("opset18.onnx", relu_model(opset=18))
    save("no_default_opset.onnx", relu_model(opsets=[helper.make_opsetid("com.example", 1)]))

    # Unknown op: node 0 named 'y' (its output) in the default domain.
    save("unknown_op.onnx", model([helper.make_node("Foo", ["x"], ["y"])], [vi("x", [1, 4])],
                                  [vi("y", [1, 4])]))
    # An op in another domain.
    save("other_domain.onnx",
         model([helper.make_node("Relu", ["x"], ["y"], name="r", domain="com.microsoft")],
               [vi("x", [1, 4])], [vi("y", [1, 4])],
               opsets=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)]))

    x4 = [vi("x", [1, 1, 4, 4])]
    y4 = [vi("y", [1, 1, 4, 4])]
    # Unsupported attribute values.
    save("auto_pad_foo.onnx",
         model([helper.make_node("MaxPool", ["x"], ["y"], name="p", kernel_shape=[2, 2],
                                 auto_pad="FOO")], x4, y4))
    save("storage_order.onnx",
         model([helper.make_node("MaxPool", ["x"], ["y"], name="p", kernel_shape=[2, 2],
                                 storage_order=1)], x4, y4))
    pads = numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads")
    save("pad_wrap.onnx",
         model([helper.make_node("Pad", ["x", "pads"], ["y"], name="p", mode="wrap")], x4, y4,
               [pads]))
    neg = numpy_helper.from_array(np.array([0, 0, -1, 0, 0, 0, 0, 0], np.int64), "pads")
    save("pad_negative.onnx",
         model([helper.make_node("Pad", ["x", "pads"], ["y"], name="p")], x4, y4, [neg]))
    w3 = numpy_helper.from_array(f32([2, 1, 3, 3, 3], 5), "w")
    save("conv3d.onnx",
         model([helper.make_node("Conv", ["x", "w"], ["y"], name="c", kernel_shape=[3, 3, 3])],
               [vi("x", [1, 1, 4, 4, 4])], [vi("y", [1, 2, 2, 2, 2])], [w3]))
    save("dropout_mask.onnx",
         model([helper.make_node("Dropout", ["x"], ["y", "mask"], name="d")], x4,
               [vi("y", [1, 1, 4, 4]), vi("mask", [1, 1, 4, 4], TensorProto.BOOL)]))
    bn = [numpy_helper.from_array(np.ones([1], np.float32), n) for n in ("s", "b", "m", "v")]
    save("batchnorm_training.onnx",
         model([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"],
                                 ["y", "running_mean", "running_var"], name="bn",
                                 training_mode=1)],
               x4, [vi("y", [1, 1, 4, 4]), vi("running_mean", [1]), vi("running_var", [1])],
               bn, opset=15))
    save("batchnorm_training_outputs.onnx",
         model([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"],
                                 ["y", "running_mean", "running_var"], name="bn")],
               x4, [vi("y", [1, 1, 4, 4]), vi("running_mean", [1]), vi("running_var", [1])],
               bn, opset=15))

    # A weight that is a runtime input.
    save("conv_weight_input.onnx",
         model([helper.make_node("Conv", ["x", "w"], ["y"], name="c", kernel_shape=[3, 3])],
               x4 + [vi("w", [2, 1, 3, 3])], [vi("y", [1, 2, 2, 2])]))

    # Graph inputs the importer cannot declare.
    save("symbolic_dim.onnx", model([helper.make_node("Relu", ["x"], ["y"], name="r")],
                                    [vi("x", ["N", 4])], [vi("y", ["N", 4])]))
    save("input_int64.onnx", model([helper.make_node("Relu", ["x"], ["y"], name="r")],
                                   [vi("x", [1, 4], TensorProto.INT64)],
                                   [vi("y", [1, 4], TensorProto.INT64)]))
    save("input_double.onnx", model([helper.make_node("Relu", ["x"], ["y"], name="r")],
                                    [vi("x", [1, 4], TensorProto.DOUBLE)],
                                    [vi("y", [1, 4], TensorProto.DOUBLE)]))

    # An initializer whose raw_data is 12 bytes for dims [2, 2] float (16).
    t = TensorProto()
    t.name = "k"
    t.data_type = TensorProto.FLOAT
    t.dims.extend([2, 2])
    t.raw_data = np.zeros(3, np.float32).tobytes()
    save("raw_data_short.onnx",
         model([helper.make_node("Add", ["x", "k"], ["y"], name="a")], [vi("x", [2, 2])],
               [vi("y", [2, 2])], [t]))

    # External data: absolute, '..', and a valid relative file "w.bin" that
    # the test writes beside the model (4 floats at offset 8).
    def ext(location, offset=None, length=None):
        t = TensorProto()
        t.name = "k"
        t.data_type = TensorProto.FLOAT
        t.dims.extend([2, 2])
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", location), ("offset", offset), ("length", length)):
            if value is not None:
                e = t.external_data.add()
                e.key, e.value = key, str(value)
        return model([helper.make_node("Add", ["x", "k"], ["y"], name="a")], [vi("x", [2, 2])],
                     [vi("y", [2, 2])], [t])

    save("external_absolute.onnx", ext("/etc/passwd"))
    save("external_dotdot.onnx", ext("../secret.bin"))
    save("external_dotdot_inner.onnx", ext("data/../../secret.bin"))
    save("external_valid.onnx", ext("w.bin", 8, 16))

    # A node reading a name that nothing defines, and an output nothing computes.
    save("undefined_input.onnx",
         model([helper.make_node("Add", ["x", "ghost"], ["y"], name="a")], [vi("x", [1, 4])],
               [vi("y", [1, 4])]))
    save("output_not_computed.onnx",
         model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x", [1, 4])],
               [vi("y", [1, 4]), vi("z", [1, 4])]))

    # Nodes whose first operand is absent: no inputs at all, or the empty
    # name that ONNX uses for an omitted optional input.
    for op, inputs in (("Identity", []), ("Identity", [""]), ("Dropout", []),
                       ("Squeeze", [""]), ("Unsqueeze", ["", "axes"])):
        name = "missing_input_%s_%s.onnx" % (op.lower(), "none" if not inputs else "empty")
        axes = numpy_helper.from_array(np.array([0], np.int64), "axes")
        save(name, model([helper.make_node(op, inputs, ["y"], name="n")], [vi("x", [1, 4])],
                         [vi("y", [1, 4])], [axes] if "axes" in inputs else []))

    # Reshape targets that do not fit int64: a float32 shape of 1e20 (ONNX
    # requires int64) and the int64 value INT64_MAX.
    for name, shape in (("reshape_float_shape.onnx", np.array([1e20], np.float32)),
                        ("reshape_int64_max.onnx", np.array([2**63 - 1], np.int64))):
        save(name, model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="r")],
                         [vi("x", [2, 2])], [vi("y", [4])],
                         [numpy_helper.from_array(shape, "shape")]))

    # An initializer whose dims claim 2^40 floats and that holds none: the
    # model is 89 bytes.
    t = TensorProto()
    t.name = "k"
    t.data_type = TensorProto.FLOAT
    t.dims.extend([1 << 20, 1 << 20])
    save("huge_initializer.onnx",
         model([helper.make_node("Add", ["x", "k"], ["y"], name="a")], [vi("x", [1, 4])],
               [vi("y", [1, 4])], [t]))

    # k is used by a node that runs (x + k), then by one that is folded at
    # import (relu(k)): y = x + k + relu(k). With x = 0 and k = [1, -2, 3, -4],
    # y = [2, -2, 6, -4].
    k = numpy_helper.from_array(np.array([[1, -2, 3, -4]], np.float32), "k")
    save("constant_used_by_a_folded_node.onnx",
         model([helper.make_node("Add", ["x", "k"], ["y1"], name="a0"),
                helper.make_node("Relu", ["k"], ["rk"], name="r1"),
                helper.make_node("Add", ["y1", "rk"], ["y"], name="a2")],
               [vi("x", [1, 4])], [vi("y", [1, 4])], [k]))

    # An outer product of two small constants whose result (8193 x 8193
    # floats, 268.5 MB) is larger than fold-constants folds: an error, and
    # the node reading it must find its input undefined, not a tensor of the
    # scratch graph the fold used.
    col = numpy_helper.from_array(np.ones((8193, 1), np.float32), "col")
    row = numpy_helper.from_array(np.ones((1, 8193), np.float32), "row")
    save("fold_too_large_then_read.onnx",
         model([helper.make_node("MatMul", ["col", "row"], ["p"], name="mm"),
                helper.make_node("Relu", ["p"], ["q"], name="r"),
                helper.make_node("Add", ["x", "x"], ["y"], name="a")],
               [vi("x", [1, 4])], [vi("y", [1, 4]), vi("q", [8193, 8193])], [col, row]))

    # One weight read by two convs, each followed by its own batch norm
    # (scales near 3 and 0.5): folding one must leave the other's weights
    # alone, though the importer hands both the same storage.
    w = numpy_helper.from_array(f32([4, 3, 3, 3], 11), "w")
    bns = []
    for i, scale in enumerate([3.0, 0.5]):
        for name, value in [("g", np.full(4, scale)), ("b", f32([4], 12 + i)), ("m", f32([4], 14 + i)),
                            ("v", np.full(4, 1.0))]:
            bns.append(numpy_helper.from_array(value.astype(np.float32), f"{name}{i}"))
    save("shared_conv_weight.onnx",
         model([helper.make_node("Conv", ["x", "w"], ["c0"], name="conv0", pads=[1, 1, 1, 1]),
                helper.make_node("Conv", ["x", "w"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
                helper.make_node("BatchNormalization", ["c0", "g0", "b0", "m0", "v0"], ["y0"], name="bn0"),
                helper.make_node("BatchNormalization", ["c1", "g1", "b1", "m1", "v1"], ["y1"], name="bn1")],
               [vi("x", [1, 3, 6, 6])], [vi("y0", [1, 4, 6, 6]), vi("y1", [1, 4, 6, 6])], [w] + bns))

    # Four initializers of 64 floats (k * 1000 + i, exact in float32) whose
    # raw bytes start at each offset modulo 4 in the file: the importer reads
    # each from the offset its wire walk found into an aligned block.
    # y_k = x + w_k; the names' lengths are the first that give the four
    # offsets.
    for pad in itertools.product(range(4), repeat=4):
        names = [f"w{k}" + "_" * pad[k - 1] for k in range(1, 5)]
        inits = [numpy_helper.from_array((k * 1000 + np.arange(64)).astype(np.float32).reshape(1, 64),
                                         names[k - 1]) for k in range(1, 5)]
        m = model([helper.make_node("Add", ["x", names[k - 1]], [f"y{k}"], name=f"add{k}") for k in range(1, 5)],
                  [vi("x", [1, 64])], [vi(f"y{k}", [1, 64]) for k in range(1, 5)], inits)
        data = m.SerializeToString()
        if {data.index(t.raw_data) % 4 for t in inits} == {0, 1, 2, 3}:
            break
    else:
        raise SystemExit("no names put the raw bytes at all four offsets")
    save("raw_data_alignments.onnx", m)
    return 0


if __name__ == "__main__":
    sys.exit(main())
