"""Parameters and multiply-accumulates of a Keras model at a stated input resolution.

MACs are read off the model itself: a symbolic pass gives every layer's output shape at the
resolution, and each conv-like layer contributes out_h * out_w * (kernel MACs per output pixel).
The fixed guided filter and the element-wise ops are listed separately (`fixed_macs`) because they
are not learned and no compression method changes them; DCT-Net's hand count (about 124,600 MAC per
input pixel) covers the learned convolutions only.
"""

import keras
import numpy as np

CONV_TYPES = (keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D)


def count_params(model):
    return int(model.count_params())


def _conv_layers(model):
    return [layer for layer in model.layers if isinstance(layer, CONV_TYPES)]


def _output_shapes(model, height, width):
    """Output shape of every conv layer for an input of (1, height, width, C)."""
    layers = _conv_layers(model)
    probe = keras.Model(model.inputs, [layer.output for layer in layers])
    spec = probe.compute_output_spec(keras.KerasTensor((1, height, width, model.inputs[0].shape[-1])))
    spec = spec if isinstance(spec, (list, tuple)) else [spec]
    return {layer.name: tuple(s.shape) for layer, s in zip(layers, spec)}


def layer_macs(model, height, width):
    """name -> MACs of each conv-like layer at the given input size (batch 1)."""
    shapes = _output_shapes(model, height, width)
    macs = {}
    for layer in _conv_layers(model):
        _, oh, ow, cout = shapes[layer.name]
        kh, kw = layer.kernel_size
        if isinstance(layer, keras.layers.SeparableConv2D):
            cin = layer.depthwise_kernel.shape[2]
            mult = layer.depthwise_kernel.shape[3]
            per_pixel = kh * kw * cin * mult + cin * mult * cout
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            per_pixel = kh * kw * cout
        else:
            cin = layer.kernel.shape[2]
            per_pixel = kh * kw * cin * cout // max(1, getattr(layer, "groups", 1))
        macs[layer.name] = int(oh * ow * per_pixel)
    return macs


def count_macs(model, height, width):
    """Total learned-conv MACs for one (height x width) image."""
    return int(sum(layer_macs(model, height, width).values()))


def fixed_macs(height, width, radius=1):
    """MACs of DCT-Net's guided filter (6 box filters over 3 channels + N): not learned, never compressed."""
    k = (2 * radius + 1) ** 2
    return int(height * width * k * (6 * 3 + 1))


def model_bytes(model):
    """Bytes of the model's weights as float32."""
    return int(sum(np.prod(w.shape) for w in model.weights) * 4)
