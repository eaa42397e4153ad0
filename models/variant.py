"""What a variant is: a Keras model with the architecture that built it and its name, or a file; and
the vocabulary a method states its making in (`TRAINING_LEVELS`, `ARTIFACTS`).

The original, a pruned or factorised model and a distilled student are all a `KerasVariant`; every
compression method takes one and (when its result is Keras) returns one. Imports nothing heavy, so the
decisions package can read the vocabulary without loading Keras.
"""

from dataclasses import dataclass

# what making a variant needs beyond the trained original, cheapest first
TRAINING_LEVELS = ("none", "calibration", "fine-tune", "distillation")
ARTIFACTS = ("keras", "tflite")  # Keras weights + architecture, or a .tflite file


@dataclass
class KerasVariant:
    """A Keras DCT-Net (original, pruned, factorised, student) with the architecture that built it."""

    model: object
    architecture: object  # models.dctnet.Architecture
    name: str = "original"
