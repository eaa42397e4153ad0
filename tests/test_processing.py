"""The official full-image processing contract."""

import numpy as np
import pytest

from models.processing import Cartoonizer, ProcessingConfig, from_network, keras_network, shrink_size, to_network


@pytest.fixture(scope="module")
def cartoonizer(anime_model):
    return Cartoonizer(keras_network(anime_model))


def test_shrink_follows_official_resize_size():
    assert shrink_size(1024, 1024, 720) == (720, 720)
    assert shrink_size(1000, 500, 720) == (1000, 500)  # short side already <= 720
    assert shrink_size(2000, 1000, 720) == (1440, 720)
    assert shrink_size(1000, 3000, 720) == (720, 2160)
    assert shrink_size(3000, 1000, None) == (3000, 1000)


def test_colour_order_and_range_round_trip():
    rgb = np.array([[[255, 0, 10]]], dtype=np.uint8)
    bgr = to_network(rgb)
    np.testing.assert_allclose(bgr[0, 0], [10 / 127.5 - 1, -1.0, 1.0], atol=1e-6)
    # official cast truncates after clipping to +-0.999999: 1.0 -> 254, -1.0 -> 0
    np.testing.assert_array_equal(from_network(bgr), [[[254, 0, 9]]])


@pytest.mark.parametrize("h,w", [(513, 771), (17, 33), (64, 48)])
def test_output_size_equals_input_size(cartoonizer, h, w, rng):
    photo = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    assert cartoonizer(photo).shape == (h, w, 3)


def test_large_photo_is_shrunk_and_restored(anime_model, rng):
    photo = rng.integers(0, 256, size=(800, 1200, 3), dtype=np.uint8)
    seen = []

    def spy(batch):
        seen.append(batch.shape)
        return keras_network(anime_model)(batch)

    out = Cartoonizer(spy, ProcessingConfig(max_side=256))(photo)
    assert seen == [(1, 256, 384, 3)] and out.shape == photo.shape


def test_batch_equals_single(cartoonizer, rng):
    photos = [rng.integers(0, 256, size=(40, 56, 3), dtype=np.uint8) for _ in range(3)]
    batch = cartoonizer.batch(photos)
    for p, b in zip(photos, batch):
        assert np.abs(cartoonizer(p).astype(int) - b.astype(int)).max() <= 1


def test_batch_of_mixed_sizes_is_refused(cartoonizer):
    from models.images import ImageError

    with pytest.raises(ImageError, match="one size"):
        cartoonizer.batch([np.zeros((32, 32, 3), np.uint8), np.zeros((48, 32, 3), np.uint8)])


def test_no_shrink_refuses_photos_too_large_for_memory(cartoonizer):
    from models.images import ImageError

    huge = Cartoonizer(cartoonizer.network, ProcessingConfig(max_side=None))
    with pytest.raises(ImageError, match="set max_side"):
        huge.prepare([np.zeros((4000, 3000, 3), np.uint8)])


def test_invalid_config_names_value():
    with pytest.raises(ValueError, match="Received: max_side=8"):
        ProcessingConfig(max_side=8)
