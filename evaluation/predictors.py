"""One interface over every way a variant runs: a Keras model (any Keras backend, GPU when present,
optionally mixed float16 there) and a LiteRT .tflite (thread count, XNNPACK).

A Predictor maps uint8 RGB photos to uint8 RGB cartoons through the official processing contract
(`models.processing.Cartoonizer`) with `max_side=None`: the evaluation chooses the input size itself
(square inputs from `models.fitting.square_input`), so the network runs at exactly the size measured.
It also knows its record labels (runtime, precision, device, threads, delegate) and its static
figures (file bytes, parameters, MACs).
"""

import tempfile
from pathlib import Path

import numpy as np

from evaluation.environment import usable_cores
from models.processing import Cartoonizer, ProcessingConfig

EVAL_PROCESSING = ProcessingConfig(max_side=None)
MODES = ("full", "portrait")


class Predictor:
    """Base: subclasses set the labels and `network` (a contract network, float32 BGR [-1, 1])."""

    runtime = "unknown"
    precision = "fp32"
    device = "cpu"
    threads = None
    delegate = None
    supports_batch = True

    mode = "full"

    def __init__(self, network, mode="full"):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}. Received: mode={mode!r}")
        self.mode = mode
        if mode == "portrait":
            try:
                from models.portrait import PortraitCartoonizer
            except ImportError as exc:
                raise ValueError(f"mode='portrait' needs models.portrait (the face pipeline), which cannot "
                                 f"be imported here ({exc}); use mode='full'") from None
            # the head network is the same network: the official mobile heads equal the full-image ones
            self.cartoonizer = PortraitCartoonizer(network, config=EVAL_PROCESSING)
            self.supports_batch = False
        else:
            self.cartoonizer = Cartoonizer(network, EVAL_PROCESSING)

    def predict(self, image):
        """uint8 RGB H x W x 3 -> uint8 RGB cartoon of the same size."""
        return self.cartoonizer(image)

    def predict_batch(self, images):
        if self.mode == "portrait":
            return [self.cartoonizer(im) for im in images]
        return self.cartoonizer.batch(images)

    def last_stages(self):
        """Per-stage times (ms) of the last portrait-mode call, else None."""
        return self.cartoonizer.last.stages() if self.mode == "portrait" else None

    def static(self, height, width):
        raise NotImplementedError

    def labels(self):
        return {"runtime": self.runtime, "precision": self.precision, "device": self.device}


# --- Keras -----------------------------------------------------------------------------------------

def keras_device(backend):
    """'gpu' when the active Keras backend sees a GPU, else 'cpu'."""
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return "gpu" if tf.config.list_logical_devices("GPU") else "cpu"
        if backend == "jax":
            import jax

            return "gpu" if jax.default_backend() in ("gpu", "cuda", "rocm") else "cpu"
        if backend == "torch":
            import torch

            return "gpu" if torch.cuda.is_available() else "cpu"
    except (ImportError, RuntimeError):
        pass
    return "cpu"


def to_mixed_float16(model):
    """A copy of `model` whose layers compute in float16 (variables float32), except the guided filter,
    whose variances and division need float32. GPU only: CPUs have no fast float16 convolutions."""
    import keras

    def clone(layer):
        config = layer.get_config()
        if layer.__class__.__name__ not in ("GuidedFilter", "InputLayer"):
            config["dtype"] = "mixed_float16"
        return layer.__class__.from_config(config)

    mixed = keras.models.clone_model(model, clone_function=clone)
    mixed.set_weights(model.get_weights())
    return mixed


def _keras_threads(backend):
    """CPU threads the backend's kernels use (TensorFlow: intra-op setting, 0 = all usable cores)."""
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.config.threading.get_intra_op_parallelism_threads() or usable_cores()
    if backend == "torch":
        import torch

        return torch.get_num_threads()
    return usable_cores()


class KerasPredictor(Predictor):
    """A Keras DCT-Net on the active backend, through `predict_on_batch` (the backend's compiled path:
    tf.function, jax.jit, or torch eager), on the GPU when the backend has one."""

    def __init__(self, model, artifact=None, mixed_precision=False, mode="full"):
        import keras

        self.backend = keras.backend.backend()
        self.runtime = f"keras-{self.backend}"
        self.device = keras_device(self.backend)
        if mixed_precision and self.device != "gpu":
            raise ValueError("mixed_precision=True needs a GPU (float16 convolutions are slow on CPUs); "
                             f"the {self.backend} backend sees none. Received: mixed_precision=True")
        self.precision = "mixed-fp16" if mixed_precision else "fp32"
        self.model = to_mixed_float16(model) if mixed_precision else model
        self.source_model = model
        self.artifact = Path(artifact) if artifact else None
        self.threads = _keras_threads(self.backend) if self.device == "cpu" else None
        super().__init__(self._network, mode)

    def _network(self, batch):
        return np.asarray(self.model.predict_on_batch(batch), dtype=np.float32)

    def file_bytes(self):
        """Bytes of the deployable .keras file (saved now when the variant has none, e.g. bundled .npz)."""
        if self.artifact is not None and self.artifact.suffix == ".keras":
            return self.artifact.stat().st_size, str(self.artifact)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.keras"
            self.source_model.save(path)
            return path.stat().st_size, "saved as .keras (float32) to measure"

    def static(self, height, width):
        from models.complexity import count_macs, count_params

        size, what = self.file_bytes()
        return {"file_bytes": int(size), "params": count_params(self.source_model),
                "macs": count_macs(self.source_model, height, width), "macs_resolution": [height, width],
                "file": what}


# --- LiteRT ----------------------------------------------------------------------------------------

def tflite_precision(info):
    """Record precision of a .tflite from `models.litert.tflite_info`: int8 activations -> int8-full,
    int8 weights with float activations -> int8-dynamic, float16 constants -> fp16, else fp32."""
    dtypes = info["tensor_dtypes"]
    ops = info["ops"]
    if "int8" in dtypes or "uint8" in dtypes:
        if info["input_dtype"] in ("int8", "uint8") or "QUANTIZE" in ops:
            return "int8-full"
        return "int8-dynamic"
    if "float16" in dtypes:
        return "fp16"
    return "fp32"


class LiteRTPredictor(Predictor):
    """A .tflite DCT-Net (contract I/O: float32 BGR [-1, 1]) under LiteRT with XNNPACK."""

    runtime = "litert"
    delegate = "xnnpack"

    def __init__(self, path, threads=None, mode="full"):
        from models.litert import LiteRTNetwork, tflite_info

        self.path = Path(path)
        self.threads = threads or usable_cores()
        self.network = LiteRTNetwork(self.path, threads=self.threads)
        self.info = tflite_info(self.path)
        self.precision = tflite_precision(self.info)
        self.fixed_size = self.network.fixed_size
        super().__init__(self.network, mode)
        self.supports_batch = self.supports_batch and self.network.dynamic_batch

    def static(self, height, width):
        from evaluation.tflite_complexity import tflite_complexity

        counts = tflite_complexity(self.path, height, width)
        return {"file_bytes": self.path.stat().st_size, "params": counts["params"], "macs": counts["macs"],
                "macs_resolution": counts["macs_resolution"], "file": str(self.path)}
