"""Run a DCT-Net .tflite with LiteRT (`ai_edge_litert`) as a contract network.

A contract network takes and returns float32 BGR (N, H, W, 3) in [-1, 1]. `LiteRTNetwork` hides what
differs between exports: dynamic or fixed height/width (resized only when the shape changes, since
`allocate_tensors` re-plans memory), a batch dimension fixed at 1 (then a batch runs image by image),
and int8/uint8 input/output tensors (quantized/dequantized with the tensor's own scale and zero point).
XNNPACK is LiteRT's default CPU delegate; `threads` sets its thread count.

NOT thread safe: one interpreter owns one set of tensors. `__call__` holds `self.lock` (a
`threading.Lock`), so concurrent callers queue instead of corrupting each other's buffers; give each
thread its own LiteRTNetwork for parallelism.
"""

import threading
from collections import Counter
from pathlib import Path

import numpy as np

QUANTIZED_DTYPES = (np.int8, np.uint8, np.int16)


def _interpreter(path, threads=None, delegates=True):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"TFLite model not found: {path}")
    if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
        raise ValueError(f"threads must be an int >= 1 or None. Received: threads={threads!r}")
    resolver = OpResolverType.AUTO if delegates else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    try:
        return Interpreter(model_path=str(path), num_threads=threads, experimental_op_resolver_type=resolver)
    except (ValueError, RuntimeError) as exc:
        raise ValueError(f"{path} is not a readable TFLite model ({exc})") from None


def quantize(x, detail):
    """float -> the tensor's integer dtype with its (scale, zero_point)."""
    dtype = np.dtype(detail["dtype"])
    scale, zero = detail["quantization"]
    if not scale:
        raise ValueError(f"tensor {detail['name']!r} is {dtype} but has no quantization scale")
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)


def dequantize(q, detail):
    scale, zero = detail["quantization"]
    if np.dtype(detail["dtype"]) in [np.dtype(d) for d in QUANTIZED_DTYPES] and scale:
        return ((q.astype(np.float32) - zero) * scale).astype(np.float32)
    return q.astype(np.float32)


class LiteRTNetwork:
    """Callable float32 BGR (N, H, W, 3) in [-1, 1] -> float32 of the same shape, via LiteRT."""

    def __init__(self, path, threads=None):
        self.path = Path(path)
        self.threads = threads
        self.interpreter = _interpreter(self.path, threads)
        inputs, outputs = self.interpreter.get_input_details(), self.interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(f"{self.path} has {len(inputs)} inputs and {len(outputs)} outputs; a DCT-Net "
                             "network has exactly one of each")
        self._input, self._output = inputs[0], outputs[0]
        signature = [int(d) for d in self._input.get("shape_signature", self._input["shape"])]
        if len(signature) not in (3, 4):
            raise ValueError(f"{self.path} input has shape {signature}; expected (N, H, W, 3) or (H, W, 3)")
        self.batchless = len(signature) == 3  # e.g. the official DCT-Net files take one (H, W, 3) image
        h, w = signature[-3], signature[-2]
        self.dynamic_batch = not self.batchless and signature[0] == -1
        self.dynamic_size = h == -1 or w == -1
        self.fixed_size = None if self.dynamic_size else (h, w)
        self.input_dtype = np.dtype(self._input["dtype"])
        self.output_dtype = np.dtype(self._output["dtype"])
        self._shape = None  # the input shape tensors are currently allocated for
        self.lock = threading.Lock()

    def _ensure_shape(self, shape):
        if self._shape == shape:
            return
        self.interpreter.resize_tensor_input(self._input["index"], list(shape), strict=False)
        self.interpreter.allocate_tensors()
        self._shape = shape
        # details (notably quantization) are re-read after allocation; indices never change
        self._output = self.interpreter.get_output_details()[0]

    def _run(self, batch):
        if self.batchless:
            batch = batch[0]
        self._ensure_shape(tuple(batch.shape))
        x = quantize(batch, self._input) if self.input_dtype != np.float32 else batch.astype(np.float32)
        self.interpreter.set_tensor(self._input["index"], x)
        self.interpreter.invoke()
        y = dequantize(self.interpreter.get_tensor(self._output["index"]), self._output)
        return y.reshape(1, *y.shape[-3:]) if self.batchless else y

    def __call__(self, batch):
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim != 4 or batch.shape[-1] != 3:
            raise ValueError(f"LiteRTNetwork expects a float32 (N, H, W, 3) batch. Received shape {batch.shape}")
        if self.fixed_size is not None and tuple(batch.shape[1:3]) != self.fixed_size:
            raise ValueError(f"{self.path.name} has a fixed input size {self.fixed_size}; "
                             f"received {tuple(batch.shape[1:3])}")
        with self.lock:
            if self.dynamic_batch:
                return self._run(batch)
            return np.concatenate([self._run(batch[i:i + 1]) for i in range(len(batch))], axis=0)

    def __repr__(self):
        return (f"LiteRTNetwork({self.path.name!r}, threads={self.threads}, input={self.input_dtype}, "
                f"dynamic_size={self.dynamic_size})")


def tflite_info(path):
    """Input/output dtypes and shape signatures, whether H/W are dynamic, op counts by type, bytes."""
    interpreter = _interpreter(path, delegates=False)  # undelegated, so ops are listed as built
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    signature = [int(s) for s in inp.get("shape_signature", inp["shape"])]
    height, width = signature[-3], signature[-2]
    op_details = interpreter._get_ops_details()
    ops = Counter(op["op_name"] for op in op_details)
    tensors = interpreter.get_tensor_details()
    dtype_of = {t["index"]: np.dtype(t["dtype"]).name for t in tensors}
    # a conv's second input is its filter: its dtype says how the weights are stored
    weight_dtypes = Counter(dtype_of[op["inputs"][1]] for op in op_details
                            if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D") and len(op["inputs"]) > 1)
    return {
        "path": str(path),
        "bytes": Path(path).stat().st_size,
        "input_dtype": np.dtype(inp["dtype"]).name,
        "output_dtype": np.dtype(out["dtype"]).name,
        "input_signature": signature,
        "output_signature": [int(s) for s in out.get("shape_signature", out["shape"])],
        "input_quantization": list(inp["quantization"]),
        "output_quantization": list(out["quantization"]),
        "dynamic_size": height == -1 or width == -1,
        "dynamic_batch": len(signature) == 4 and signature[0] == -1,
        "ops": dict(sorted(ops.items())),
        "num_ops": int(sum(ops.values())),
        "tensor_dtypes": dict(Counter(np.dtype(t["dtype"]).name for t in tensors)),
        "conv_weight_dtypes": dict(weight_dtypes),
    }
