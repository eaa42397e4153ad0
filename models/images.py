"""Turn whatever a user hands us into a uint8 RGB H x W x 3 array, or say plainly why not.

Every public boundary of the project takes images in that form; this is the one place that reads
files, honours EXIF orientation and converts odd modes, so the CLI, the dashboard and the
evaluation module refuse bad input with the same clear message.
"""

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MIN_SIDE = 16  # the network downsamples by 4 and the contract pads to 16: below that there is no photo
MAX_PIXELS = 64_000_000  # decoding more would take GBs before any shrinking can happen


class ImageError(ValueError):
    """The input is not a usable photo; the message says what is wrong and how to fix it."""


def load_image(source, name=None):
    """Path, bytes or file-like -> uint8 RGB array (EXIF rotation applied, transparency on white)."""
    label = name or (str(source) if isinstance(source, (str, Path)) else "the upload")
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    previous_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(source) as img:
            w, h = img.size
            check_size(w, h, label)
            img.load()  # decode now: a truncated file fails here, not later
            img = ImageOps.exif_transpose(img)
            return to_rgb_array(img, label)
    except FileNotFoundError:
        raise ImageError(f"{label}: file not found.") from None
    except Image.DecompressionBombError:
        raise ImageError(f"{label} is larger than {MAX_PIXELS / 1e6:.0f} megapixels; "
                         "shrink it before uploading.") from None
    except UnidentifiedImageError:
        raise ImageError(f"{label} is not an image this tool can read (use JPEG, PNG, WebP, BMP "
                         "or TIFF).") from None
    except OSError as exc:  # truncated or corrupt data
        raise ImageError(f"{label} could not be decoded ({exc}); the file is probably truncated "
                         "or corrupt: export it again.") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous_limit


def check_size(w, h, label="image"):
    if w < MIN_SIDE or h < MIN_SIDE:
        raise ImageError(f"{label} is {w}x{h} px; DCT-Net needs at least {MIN_SIDE}x{MIN_SIDE} px. "
                         "Use a larger photo.")
    if w * h > MAX_PIXELS:
        raise ImageError(f"{label} is {w}x{h} px ({w * h / 1e6:.0f} MP), above the "
                         f"{MAX_PIXELS / 1e6:.0f} MP limit; shrink it first.")


def to_rgb_array(img, label="image"):
    """Any PIL mode -> uint8 RGB; 16-bit is scaled down, alpha is composited on white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        arr = np.clip(np.round(arr / peak * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(arr[..., None], 3, axis=2)
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        arr = np.clip(np.round(arr * 255.0 if arr.max() <= 1.0 else arr), 0, 255).astype(np.uint8)
        return np.repeat(arr[..., None], 3, axis=2)
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        img = img.convert("RGBA")
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img)
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def check_array(image, label="image"):
    """Validate an in-memory image at a public boundary (uint8 RGB H x W x 3)."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ImageError(f"{label} must be uint8 RGB; received dtype {arr.dtype}. "
                         "Load it with models.images.load_image().")
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ImageError(f"{label} must be H x W x 3 RGB; received shape {arr.shape}.")
    check_size(arr.shape[1], arr.shape[0], label)
    return arr


def save_image(image, path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(check_array(image)).save(path)


def encode_png(image):
    buf = io.BytesIO()
    Image.fromarray(check_array(image)).save(buf, format="PNG")
    return buf.getvalue()
