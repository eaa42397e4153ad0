"""Bad input: every case gets a clear ImageError or a correct conversion, never a crash."""

import io

import numpy as np
import pytest
from PIL import Image

from models.images import ImageError, check_array, load_image


def _encode(img, fmt="PNG", **kw):
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_not_an_image():
    with pytest.raises(ImageError, match="not an image"):
        load_image(b"%PDF-1.4 definitely not a photo", name="doc.pdf")


def test_truncated_file():
    data = _encode(Image.new("RGB", (64, 64), (200, 10, 10)), "JPEG")
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(data[: len(data) // 2], name="cut.jpg")


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        load_image(tmp_path / "nope.png")


@pytest.mark.parametrize("mode,value,expected", [
    ("L", 100, (100, 100, 100)),
    ("RGBA", (0, 0, 255, 0), (255, 255, 255)),  # fully transparent -> white background
    ("LA", (50, 255), (50, 50, 50)),
    ("CMYK", (0, 0, 0, 0), (255, 255, 255)),
    ("I;16", 65535, (255, 255, 255)),
])
def test_odd_modes_become_rgb(mode, value, expected):
    out = load_image(_encode(Image.new(mode, (20, 20), value), "TIFF" if mode == "CMYK" else "PNG"))
    assert out.dtype == np.uint8 and out.shape == (20, 20, 3)
    assert tuple(out[5, 5]) == expected


def test_palette_image():
    img = Image.new("RGB", (20, 20), (10, 200, 30)).convert("P", palette=Image.Palette.ADAPTIVE)
    assert tuple(load_image(_encode(img))[0, 0]) == (10, 200, 30)


def test_exif_orientation_is_honoured():
    img = Image.new("RGB", (40, 20), (0, 0, 0))
    img.paste((255, 0, 0), (0, 0, 20, 20))  # red on the left half
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    out = load_image(_encode(img, "JPEG", exif=exif.tobytes()))
    assert out.shape == (40, 20, 3)
    assert out[5, 10, 0] > 200 and out[35, 10, 0] < 60  # red now on top


def test_tiny_image_is_refused():
    with pytest.raises(ImageError, match="1x1 px; DCT-Net needs at least 16x16"):
        load_image(_encode(Image.new("RGB", (1, 1))))


def test_oversized_image_is_refused_before_decoding():
    big = _encode(Image.new("L", (9000, 8000)))  # 72 MP of zeros compresses to a small PNG
    with pytest.raises(ImageError, match="above the 64 MP limit|larger than 64 megapixels"):
        load_image(big)


def test_check_array_rejects_wrong_dtype_and_shape():
    with pytest.raises(ImageError, match="uint8"):
        check_array(np.zeros((32, 32, 3), np.float32))
    with pytest.raises(ImageError, match="H x W x 3"):
        check_array(np.zeros((32, 32), np.uint8))
