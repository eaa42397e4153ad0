import numpy as np
import pytest

from models.dctnet import Architecture, build_generator, uniform_channels


def test_original_has_official_parameter_count():
    assert build_generator().count_params() == 1_467_075  # read off the official TFLite files


def test_dynamic_size_and_batch(anime_model):
    x = np.zeros((3, 36, 52, 3), dtype="float32")
    assert anime_model(x).shape == (3, 36, 52, 3)


def test_coupled_channels_must_agree():
    ch = uniform_channels(32)
    ch["Conv_7"] = 16  # added to x0 (Conv, 32 channels): must fail
    with pytest.raises(ValueError, match="Coupled channel group 'x0'"):
        Architecture(channels=ch)


def test_invalid_architecture_messages_name_the_value():
    with pytest.raises(ValueError, match="Received: num_blocks=-1"):
        Architecture(num_blocks=-1)
    with pytest.raises(ValueError, match="Missing"):
        Architecture(channels={"Conv": 32})
    with pytest.raises(ValueError, match="needs ranks"):
        Architecture(kinds={"Conv_6": "lowrank"})


def test_architecture_round_trips_through_dict():
    arch = Architecture(channels=uniform_channels(16, 2), num_blocks=2, kinds={"Conv_6": "separable"})
    assert Architecture.from_dict(arch.to_dict()) == arch
