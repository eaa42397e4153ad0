"""Pack what a training run on a leased GPU machine needs beside the repository: `gpu_kit/` (git-ignored).

    python scripts/gpu_kit.py                 # then, with the device tool:
    run(command="scripts/gpu_train.sh", carry=["gpu_kit"], timeout_s=600)

That machine has JAX and PyTorch but no TensorFlow, no LiteRT and no network, and a call carries the
working tree plus named folders, 64 MiB in all. So the kit holds:
- portraits/: every collection photo at the training scale (short side 512, `resize_short_side`),
  re-encoded as WebP (quality 80, ~29 KB each, about 39 dB from the photo) under its collection name
  + ".webp", so the kit splits exactly as the collection (`models.portraits.collection_name`) and no
  evaluation photo is trained on. The teacher runs on the kit's pixels there, so student and teacher
  see the same input;
- portraits/FACES.json: the faces of every training view and validation photo, found here
  (`models.face_index`), since the face detector runs under LiteRT;
- wheels/: keras and the small wheels that machine lacks (Python 3.12, manylinux x86-64).
It refuses (naming the sizes) when the tree and the kit would not fit in one call.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CALL_LIMIT = 64 * 2 ** 20  # bytes a device call carries: tracked tree + carried folders
WHEELS = ("keras==3.13.2", "namex==0.1.0", "optree==0.20.0")  # the versions requirements.txt pins
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


def tree_bytes():
    """Bytes of the files a device call sends without carry: tracked + untracked-not-ignored."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout
    return sum((ROOT / p).stat().st_size for p in out.decode().split("\0") if p and (ROOT / p).is_file())


def pack_photos(src, dest, side, quality, progress=True):
    """Every photo of `src` at the training scale as dest/<name>.webp; returns the kit names."""
    import cv2
    from tqdm.auto import tqdm

    from models.images import load_image
    from models.portraits import list_images, resize_short_side

    names = list_images(src)
    kit = []
    for name in tqdm(names, desc="photos", disable=not progress):
        target = dest / f"{name}.webp"
        if not target.exists():
            rgb = resize_short_side(load_image(src / name), side)
            ok, buf = cv2.imencode(".webp", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_WEBP_QUALITY, quality])
            if not ok:
                raise SystemExit(f"OpenCV could not encode {name} as WebP; install an OpenCV build with WebP")
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_bytes(buf.tobytes())
            tmp.replace(target)
        kit.append(f"{name}.webp")
    return kit


def index_faces(dest, config, progress=True):
    """FACES.json: the faces of every view the training run searches (views 0..views-1 of the training
    photos, view 0 of the validation photos), found on the kit's own pixels."""
    from tqdm.auto import tqdm

    from models.face_index import view_key, write_index
    from models.faces import detect_faces
    from models.images import load_image
    from models.portraits import resize_short_side, split_images
    from models.training_data import training_view

    train, held = split_images(dest, config.holdout, config.seed)
    jobs = [(n, v) for n in train for v in range(config.views)] + [(n, 0) for n in held]
    views = {}
    for name, view in tqdm(jobs, desc="faces", disable=not progress):
        rgb = resize_short_side(load_image(dest / name), config.image_side)
        rgb = training_view(rgb, name, view, config)
        views[view_key(name, view, config.image_side, config.jitter, config.seed)] = detect_faces(rgb)
    return write_index(dest, views), train, held


def fetch_wheels(dest):
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
           "--python-version", "3.12", "--implementation", "cp", "-d", str(dest)]
    for p in PLATFORMS:
        cmd += ["--platform", p]
    subprocess.run(cmd + list(WHEELS), check=True)


def main(argv=None):
    from models.portraits import split_images
    from models.samples import photo_dir
    from models.training import TrainConfig

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(ROOT / "gpu_kit"))
    p.add_argument("--photos", default=None, help="photo folder (default: the portrait collection)")
    p.add_argument("--quality", type=int, default=80, help="WebP quality (1-100)")
    p.add_argument("--no-wheels", action="store_true", help="skip downloading the wheels (no network)")
    args = p.parse_args(argv)
    if not 1 <= args.quality <= 100:
        raise SystemExit(f"--quality must be in 1..100 (received {args.quality})")
    src, out = Path(args.photos or photo_dir()), Path(args.out)
    if not src.is_dir():
        raise SystemExit(f"photo folder not found: {src} (set --photos or DCTNET_PORTRAITS)")
    config = TrainConfig(data_dir=str(src))  # the recipe's side, views, jitter and seed are the defaults
    portraits = out / "portraits"
    pack_photos(src, portraits, config.image_side, args.quality)
    index, train, held = index_faces(portraits, config)
    collection = split_images(src, config.holdout, config.seed)
    if [n[: -len(".webp")] for n in held] != collection[1]:
        raise SystemExit("the kit's held-out photos differ from the collection's: delete the kit and rebuild")
    if not args.no_wheels:
        fetch_wheels(out / "wheels")
    kit = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    tree = tree_bytes()
    print(f"kit: {len(train)} training + {len(held)} held-out photos, faces in {index.name}; "
          f"{kit / 1e6:.1f} MB; tree {tree / 1e6:.1f} MB; one call carries {CALL_LIMIT / 1e6:.1f} MB")
    if kit + tree > CALL_LIMIT:
        raise SystemExit(f"tree + kit = {(kit + tree) / 1e6:.1f} MB does not fit one device call "
                         f"({CALL_LIMIT / 1e6:.1f} MB): lower --quality or untrack large files")


if __name__ == "__main__":
    main()
