"""DCT-Net's texture-translation generator (Men et al., SIGGRAPH 2022) in Keras 3, Functional API.

Input and output: float32 BGR in [-1, 1], shape (batch, H, W, 3), H and W multiples of 4.
Layers carry the official TF1 scope names (`Conv`, `Conv_1`..`Conv_9`, `block_0_conv1` for
`block_0/conv1`: Keras names cannot hold "/") so weights map by name.

An `Architecture` describes every conv's output channels and its kind, so the same builder makes the
original, a channel-pruned model, an SVD-factorised one and a distillation student.
"""

from dataclasses import dataclass, field
from types import MappingProxyType

import keras

from models.layers import GuidedFilter, LegacyBilinearUpsample2x

LEAKY_SLOPE = 0.2
KERNEL_SIZES = {"Conv": 7, "Conv_9": 7}  # every other conv is 3x3
STRIDES = {"Conv_1": 2, "Conv_3": 2}  # every other conv has stride 1
CONV_KINDS = ("conv", "separable", "lowrank", "lowrank_spatial")


def block_layer_names(num_blocks):
    return [f"block_{i}_conv{j}" for i in range(num_blocks) for j in (1, 2)]


def layer_names(num_blocks=4):
    """All convolutions in execution order."""
    return ["Conv", "Conv_1", "Conv_2", "Conv_3", "Conv_4", *block_layer_names(num_blocks),
            "Conv_5", "Conv_6", "Conv_7", "Conv_8", "Conv_9"]


def tf1_scope(layer_name):
    """Keras layer name -> official TF1 variable scope ('block_0_conv1' -> 'block_0/conv1')."""
    if layer_name.startswith("block_"):
        block, conv = layer_name.rsplit("_", 1)
        return f"{block}/{conv}"
    return layer_name


def coupled_groups(num_blocks=4):
    """Convs whose outputs are added together, so they must keep the same channels.

    The decoder adds Conv_7's output to x0 (Conv) and Conv_5's to x1 (Conv_2); every residual block
    adds its conv2 onto the trunk that Conv_4 starts.
    """
    return {
        "x0": ("Conv", "Conv_7"),
        "x1": ("Conv_2", "Conv_5"),
        "trunk": ("Conv_4", *[f"block_{i}_conv2" for i in range(num_blocks)]),
    }


def kernel_size(layer_name):
    return KERNEL_SIZES.get(layer_name, 3)


def stride(layer_name):
    return STRIDES.get(layer_name, 1)


def _frozen(mapping):
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Architecture:
    """Output channels and conv kind of every layer. `Architecture()` is the official DCT-Net."""

    channels: "MappingProxyType[str, int]" = field(default=None)
    num_blocks: int = 4
    kinds: "MappingProxyType[str, str]" = field(default_factory=lambda: _frozen({}))
    ranks: "MappingProxyType[str, int]" = field(default_factory=lambda: _frozen({}))

    def __post_init__(self):
        if not isinstance(self.num_blocks, int) or self.num_blocks < 0:
            raise ValueError(f"num_blocks must be an int >= 0. Received: num_blocks={self.num_blocks!r}")
        if self.channels is None:
            object.__setattr__(self, "channels", _frozen(uniform_channels(32, self.num_blocks)))
        for attr in ("channels", "kinds", "ranks"):
            object.__setattr__(self, attr, _frozen(getattr(self, attr)))
        names = layer_names(self.num_blocks)
        missing = [n for n in names if n not in self.channels]
        unknown = [n for n in self.channels if n not in names]
        if missing or unknown:
            raise ValueError(f"Architecture.channels must name exactly the {len(names)} convs "
                             f"{names}. Missing: {missing}; unknown: {unknown}")
        for name, c in self.channels.items():
            if not isinstance(c, int) or c < 1:
                raise ValueError(f"channels[{name!r}] must be an int >= 1. Received: {c!r}")
        if self.channels["Conv_9"] != 3:
            raise ValueError(f"Conv_9 produces the BGR image and must have 3 channels. "
                             f"Received: {self.channels['Conv_9']}")
        for group, members in coupled_groups(self.num_blocks).items():
            widths = {m: self.channels[m] for m in members}
            if len(set(widths.values())) != 1:
                raise ValueError(f"Coupled channel group {group!r} must share one width (its outputs "
                                 f"are added together). Received: {widths}")
        for name, kind in self.kinds.items():
            if name not in names:
                raise ValueError(f"kinds names an unknown layer {name!r}; layers: {names}")
            if kind not in CONV_KINDS:
                raise ValueError(f"kinds[{name!r}] must be one of {CONV_KINDS}. Received: {kind!r}")
            if kind.startswith("lowrank") and not (isinstance(self.ranks.get(name), int)
                                                  and self.ranks[name] >= 1):
                raise ValueError(f"Layer {name!r} is {kind!r} and needs ranks[{name!r}] >= 1. "
                                 f"Received: {self.ranks.get(name)!r}")

    def kind(self, name):
        return self.kinds.get(name, "conv")

    def in_channels(self, name):
        """Input channels of a conv, read off the wiring."""
        names = layer_names(self.num_blocks)
        if name == "Conv":
            return 3
        if name == "Conv_5":
            return self.channels["Conv_4"]
        prev = names[names.index(name) - 1]
        return self.channels[prev]

    def to_dict(self):
        return {"num_blocks": self.num_blocks, "channels": dict(self.channels),
                "kinds": dict(self.kinds), "ranks": dict(self.ranks)}

    @classmethod
    def from_dict(cls, d):
        return cls(channels=d["channels"], num_blocks=d["num_blocks"],
                   kinds=d.get("kinds", {}), ranks=d.get("ranks", {}))


def uniform_channels(width=32, num_blocks=4):
    """Channels of DCT-Net scaled to a base width (official: 32)."""
    w = int(width)
    ch = {"Conv": w, "Conv_1": w, "Conv_2": 2 * w, "Conv_3": 2 * w, "Conv_4": 4 * w}
    ch.update({n: 4 * w for n in block_layer_names(num_blocks)})
    ch.update({"Conv_5": 2 * w, "Conv_6": 2 * w, "Conv_7": w, "Conv_8": w, "Conv_9": 3})
    return ch


def _conv(x, arch, name):
    """One conv of the generator (any kind), with the same name for its main weights."""
    filters, k, s = arch.channels[name], kernel_size(name), stride(name)
    kind = arch.kind(name)
    if kind == "conv":
        return keras.layers.Conv2D(filters, k, strides=s, padding="same", name=name)(x)
    if kind == "separable":
        return keras.layers.SeparableConv2D(filters, k, strides=s, padding="same", name=name)(x)
    rank = arch.ranks[name]
    if kind == "lowrank":  # k x k Cin -> r, then 1 x 1 r -> Cout
        x = keras.layers.Conv2D(rank, k, strides=s, padding="same", use_bias=False,
                                name=f"{name}_lowrank_a")(x)
        return keras.layers.Conv2D(filters, 1, padding="same", name=name)(x)
    # lowrank_spatial: k x 1 Cin -> r, then 1 x k r -> Cout
    x = keras.layers.Conv2D(rank, (k, 1), strides=(s, 1), padding="same", use_bias=False,
                            name=f"{name}_lowrank_a")(x)
    return keras.layers.Conv2D(filters, (1, k), strides=(1, s), padding="same", name=name)(x)


def _act(x, name):
    return keras.layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name=f"{name}_lrelu")(x)


def build_generator(arch=None, name="dctnet"):
    """The generator followed by the fixed guided filter; returns an uncompiled keras.Model."""
    arch = arch or Architecture()
    photo = keras.Input(shape=(None, None, 3), name="input_bgr")
    x0 = _act(_conv(photo, arch, "Conv"), "Conv")
    x = _act(_conv(x0, arch, "Conv_1"), "Conv_1")
    x1 = _act(_conv(x, arch, "Conv_2"), "Conv_2")
    x = _act(_conv(x1, arch, "Conv_3"), "Conv_3")
    x = _act(_conv(x, arch, "Conv_4"), "Conv_4")
    for i in range(arch.num_blocks):
        y = _act(_conv(x, arch, f"block_{i}_conv1"), f"block_{i}_conv1")
        y = _conv(y, arch, f"block_{i}_conv2")
        x = keras.layers.Add(name=f"block_{i}_add")([x, y])
    x = _act(_conv(x, arch, "Conv_5"), "Conv_5")
    x = LegacyBilinearUpsample2x(name="upsample_1")(x)
    x = keras.layers.Add(name="skip_x1")([x, x1])
    x = _act(_conv(x, arch, "Conv_6"), "Conv_6")
    x = _act(_conv(x, arch, "Conv_7"), "Conv_7")
    x = LegacyBilinearUpsample2x(name="upsample_2")(x)
    x = keras.layers.Add(name="skip_x0")([x, x0])
    x = _act(_conv(x, arch, "Conv_8"), "Conv_8")
    x = _conv(x, arch, "Conv_9")
    out = GuidedFilter(radius=1, eps=1e-2, name="guided_filter")([photo, x])
    return keras.Model(photo, out, name=name)
