"""The one model signature every version carries: a uint8 RGB image H x W x 3 in, the same out."""

import numpy as np


def image_signature():
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import Schema, TensorSpec

    spec = TensorSpec(np.dtype(np.uint8), (-1, -1, 3), name="image")
    return ModelSignature(inputs=Schema([spec]), outputs=Schema([TensorSpec(np.dtype(np.uint8), (-1, -1, 3),
                                                                            name="cartoon")]))
