"""The GPU kit (scripts/gpu_kit.py): photos that split as the collection, their faces, and a tree small
enough to travel with it in one device call."""

import importlib.util
import shutil
import subprocess

import pytest

from tests.conftest import ROOT, psnr_uint8

SAMPLES = ROOT / "models" / "samples"


def _kit_module():
    spec = importlib.util.spec_from_file_location("gpu_kit", ROOT / "scripts" / "gpu_kit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_kit_of_the_samples_splits_as_they_do_and_holds_every_views_faces(tmp_path):
    from models.face_index import load_index, view_key
    from models.images import load_image
    from models.portraits import collection_name, resize_short_side, split_images
    from models.training import TrainConfig

    photos = tmp_path / "photos"
    shutil.copytree(SAMPLES, photos, ignore=shutil.ignore_patterns("*.csv", "*.md", "*.json"))
    _kit_module().main(["--photos", str(photos), "--out", str(tmp_path / "kit"), "--no-wheels"])
    kit = tmp_path / "kit" / "portraits"
    config = TrainConfig(data_dir=str(photos))
    train, held = split_images(kit, config.holdout, config.seed)
    assert ([collection_name(n) for n in train], [collection_name(n) for n in held]) == \
        split_images(photos, config.holdout, config.seed)
    index = load_index(kit)
    wanted = {view_key(n, v, 512, config.jitter, config.seed) for n in train for v in range(config.views)}
    wanted |= {view_key(n, 0, 512, config.jitter, config.seed) for n in held}
    assert set(index) == wanted
    assert index[view_key("half_body.jpg.webp", 0, 512, config.jitter, config.seed)]  # a face was found
    assert index[view_key("no_face_dog.jpg.webp", 0, 512, config.jitter, config.seed)] == []
    for name in ("half_body.jpg", "astronaut.png"):  # at the training scale, close to the photo
        original = resize_short_side(load_image(photos / name), 512)
        copy = load_image(kit / f"{name}.webp")
        assert copy.shape == original.shape and psnr_uint8(copy, original) > 34


def test_the_tracked_tree_leaves_room_for_the_kit_in_one_device_call():
    """A leased GPU call carries 64 MiB: the tree plus the kit (~11.5 MB of photos, ~2 MB of wheels).
    Shipping large files again (e.g. float32 weights) would make GPU training impossible."""
    kit_module = _kit_module()
    try:
        tree = kit_module.tree_bytes()
    except (subprocess.CalledProcessError, FileNotFoundError):
        pytest.skip("not a git checkout")
    assert tree + 14e6 < kit_module.CALL_LIMIT, f"the tree is {tree / 1e6:.1f} MB"
