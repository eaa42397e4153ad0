"""Parameters and MACs read off a .tflite graph, so LiteRT variants are counted from the file itself.

A fixed-size file is counted at its own size; a dynamic one is run once on zeros at 64x64 (shapes
behind dynamic reshapes are only known after a run) and each conv's output grid is scaled to (h, w).
Each CONV_2D contributes out_h * out_w * Cout * kh * kw * Cin MACs (filter stored OHWI) and
DEPTHWISE_CONV_2D out_h * out_w * C * kh * kw (filter 1HWC). Parameters are the filter and bias
elements of those ops. DCT-Net's guided filter is built from depthwise box filters (every tap equal,
1/9): they are fixed, not learned, and are left out, exactly as `models.complexity.count_macs` leaves
them out for Keras models, so the two counts agree on the same network.
"""

import numpy as np

CONV_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D")
PROBE = 64  # side of the probe run that reveals a dynamic graph's shapes


def _constant_source(interpreter, ops_by_output, index):
    """Follow DEQUANTIZE (fp16 / int8 weights) back to the stored constant tensor."""
    op = ops_by_output.get(index)
    while op is not None and op["op_name"] == "DEQUANTIZE":
        index = op["inputs"][0]
        op = ops_by_output.get(index)
    return index


def _is_box_filter(interpreter, ops_by_output, filter_index):
    try:
        values = interpreter.get_tensor(_constant_source(interpreter, ops_by_output, filter_index))
    except ValueError:  # not a constant: cannot be the fixed box filter
        return False
    values = np.asarray(values, dtype=np.float64)
    return values.size > 0 and np.allclose(values, values.flat[0]) and values.flat[0] > 0


def tflite_complexity(path, height, width):
    """{'params', 'macs', 'macs_resolution', 'fixed_ops'} of a DCT-Net .tflite at (height, width).

    A file with a fixed input size is counted at its own size (macs_resolution says which)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(path),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    inp = interpreter.get_input_details()[0]
    signature = list(inp.get("shape_signature", inp["shape"]))
    dynamic = len(signature) == 4 and (signature[1] == -1 or signature[2] == -1)
    if dynamic:
        if height % 4 or width % 4:
            raise ValueError(f"MACs of a dynamic-size .tflite are counted at sizes that are multiples of 4 "
                             f"(the network downsamples by 4). Received: height={height}, width={width}")
        # shapes behind dynamic reshapes/resizes are only known after a run: run once on zeros at a
        # small probe size (builtin kernels are slow), then scale each conv's output grid, which is
        # an exact fraction of the input for sizes that are multiples of 4
        interpreter.resize_tensor_input(inp["index"], [1, PROBE, PROBE, 3], strict=False)
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], np.zeros((1, PROBE, PROBE, 3), inp["dtype"]))
        interpreter.invoke()
    else:
        interpreter.allocate_tensors()
    shapes = {t["index"]: tuple(int(s) for s in t["shape"]) for t in interpreter.get_tensor_details()}
    if dynamic:
        resolution = [height, width]

        def grid(oh, ow):
            return height * oh // PROBE, width * ow // PROBE
    else:
        in_shape = shapes[inp["index"]]
        resolution = [int(in_shape[-3]), int(in_shape[-2])]

        def grid(oh, ow):
            return oh, ow
    ops = interpreter._get_ops_details()
    ops_by_output = {o: op for op in ops for o in op["outputs"]}
    params = macs = fixed = 0
    for op in ops:
        if op["op_name"] not in CONV_OPS:
            continue
        filt = op["inputs"][1]
        bias = op["inputs"][2] if len(op["inputs"]) > 2 and op["inputs"][2] >= 0 else None
        _, oh, ow, cout = shapes[op["outputs"][0]]
        oh, ow = grid(oh, ow)
        fshape = shapes[filt]
        if op["op_name"] == "DEPTHWISE_CONV_2D":
            if _is_box_filter(interpreter, ops_by_output, filt):
                fixed += 1
                continue
            _, kh, kw, _ = fshape
            macs += oh * ow * cout * kh * kw
        else:
            _, kh, kw, cin = fshape
            macs += oh * ow * cout * kh * kw * cin
        params += int(np.prod(fshape)) + (int(np.prod(shapes[bias])) if bias is not None else 0)
    return {"params": int(params), "macs": int(macs), "macs_resolution": resolution, "fixed_ops": fixed}
