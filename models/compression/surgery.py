"""What pruning and SVD share: which layers they understand, and moving weights into a rebuilt model.

Both methods rebuild the generator from a new `Architecture` (thinner channels, factorised kinds) with
`build_generator`, then fill it from the source. They only understand DCT-Net's own layer types:
anything else in the model fails loudly instead of being silently dropped or mis-wired.
"""

import keras

from models.dctnet import build_generator, layer_names
from models.layers import GuidedFilter, LegacyBilinearUpsample2x

SUPPORTED_LAYERS = (keras.layers.InputLayer, keras.layers.Conv2D, keras.layers.LeakyReLU, keras.layers.Add,
                    LegacyBilinearUpsample2x, GuidedFilter)


class UnsupportedLayerError(ValueError):
    """The model holds a layer type (or conv kind) a compression method does not know how to rewrite."""


def check_supported(variant, method, conv_kinds=("conv",)):
    """Raise UnsupportedLayerError naming the first layer outside the whitelist or of another conv kind."""
    for layer in variant.model.layers:
        # SeparableConv2D is not a Conv2D subclass in Keras 3, so it lands here too
        if not isinstance(layer, SUPPORTED_LAYERS):
            raise UnsupportedLayerError(
                f"{method} supports only {', '.join(t.__name__ for t in SUPPORTED_LAYERS)}; layer "
                f"{layer.name!r} is a {type(layer).__name__}")
    for name in layer_names(variant.architecture.num_blocks):
        kind = variant.architecture.kind(name)
        if kind not in conv_kinds:
            raise UnsupportedLayerError(f"{method} supports conv kinds {conv_kinds}; layer {name!r} is "
                                        f"{kind!r} (apply {method} before factorising, or to the original)")


def build_like(source, arch, name):
    """An empty generator for `arch` (the source's layer set was checked by check_supported)."""
    return build_generator(arch, name=name)

