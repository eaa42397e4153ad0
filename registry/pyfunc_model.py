"""MLflow "model from code" for every version: `mlflow.pyfunc.load_model(...).predict(image)`.

The version's artifacts hold a variant folder (registry/artifacts.py); this wrapper makes it a pyfunc
so the MLflow UI, `mlflow models serve` and any pyfunc client can run it: input a uint8 RGB
H x W x 3 array (or a batch N x H x W x 3 of one size), output the cartoon(s), same shape and dtype.
It needs this project importable (the lab's packages do the work).
"""

import mlflow
import numpy as np


class DctnetVariant(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        from registry.artifacts import predictor_from_folder

        self.predictor = predictor_from_folder(context.artifacts["variant"])

    def predict(self, context, model_input, params=None):
        if isinstance(model_input, dict):  # the signature names its tensor "image": MLflow passes {name: array}
            model_input = model_input.get("image", next(iter(model_input.values())))
        images = np.asarray(model_input)
        if images.ndim == 3:
            return self.predictor.predict(images)
        return np.stack(self.predictor.predict_batch(list(images)))


mlflow.models.set_model(DctnetVariant())
