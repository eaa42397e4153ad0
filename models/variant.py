"""What a Keras variant is: the model, the architecture that built it, and its name (its provenance).

The original, a pruned or factorised model and a distilled student are all a `KerasVariant`; every
compression method takes one and (when its result is Keras) returns one.
"""

from dataclasses import dataclass

from models.dctnet import Architecture


@dataclass
class KerasVariant:
    """A Keras DCT-Net (original, pruned, factorised, student) with the architecture that built it."""

    model: object
    architecture: Architecture
    name: str = "original"
