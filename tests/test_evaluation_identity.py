"""Face identity (evaluation.identity): dlib's 128-d embeddings tell people apart on real photos, and the
cartoon-vs-cartoon distance is 0 for identical outputs and large for a face that is someone else."""

import itertools

import numpy as np
import pytest

from evaluation import identity
from models.faces import detect_faces
from models.images import load_image
from models.samples import load_sample
from tests.conftest import shared_or_skip

pytestmark = pytest.mark.skipif(identity.unavailable_reason() is not None,
                                reason=identity.unavailable_reason() or "")

# Real photos of three people from the face_recognition repository's examples (../shared/portraits)
PEOPLE = {
    "obama": ("examples__knn_examples__train__obama__obama.jpg", "examples__knn_examples__train__obama__obama2.jpg",
              "obama1.jpg"),
    "alex_lacamoire": ("alex-lacamoire.png", "alex_lacamoire1.jpg",
                       "examples__knn_examples__train__alex_lacamoire__img1.jpg"),
    "others": ("examples__biden.jpg", "examples__knn_examples__train__rose_leslie__img1.jpg",
               "lin-manuel-miranda.png"),  # three different people
}


def _one_embedding(rgb):
    faces = detect_faces(rgb)
    assert faces, "no face found"
    return identity.embed_photo(rgb, faces[:1])[0]  # the most confident face


def test_same_person_is_closer_than_different_people_on_real_photos():
    folder = shared_or_skip("portraits", "face_recognition")
    emb = {(who, f): _one_embedding(load_image(folder / f)) for who, files in PEOPLE.items() for f in files}
    same, different = [], []
    for (a, ea), (b, eb) in itertools.combinations(emb.items(), 2):
        d = identity.distance(ea, eb)
        (same if a[0] == b[0] and a[0] != "others" else different).append(d)
    print(f"same person: {min(same):.3f}..{max(same):.3f} (n={len(same)}); "
          f"different people: {min(different):.3f}..{max(different):.3f} (n={len(different)})")
    # measured: same 0.349..0.530, different 0.699 and up
    assert max(same) < min(different)
    assert max(same) < identity.SAME_PERSON_THRESHOLD <= min(different)


def test_bundled_photos_tell_people_apart_and_keep_a_resized_copy():
    face, astronaut = load_sample("face_crop.jpg"), load_sample("astronaut.png")
    e_face, e_astro = _one_embedding(face), _one_embedding(astronaut)
    import cv2

    smaller = cv2.resize(face, (400, 400), interpolation=cv2.INTER_AREA)  # the same photo, another size
    d_same, d_other = identity.distance(e_face, _one_embedding(smaller)), identity.distance(e_face, e_astro)
    print(f"face_crop vs its 400 px copy {d_same:.3f}; vs astronaut {d_other:.3f}")
    assert d_same < 0.2 < identity.SAME_PERSON_THRESHOLD < d_other


def test_cartoon_distance_is_zero_for_identical_outputs_and_large_for_someone_else():
    photo = load_sample("face_crop.jpg")
    faces = detect_faces(photo)
    shapes = identity.landmarks(photo, faces)
    assert identity.identity_distance(photo, photo.copy(), shapes) == pytest.approx(0.0, abs=1e-9)
    # "the variant drew someone else": the astronaut's face scaled into this face's box
    import cv2

    x0, y0, x1, y1 = (int(v) for v in faces[0].box)
    astro = load_sample("astronaut.png")
    a = detect_faces(astro)[0]
    ax0, ay0, ax1, ay1 = (int(v) for v in a.box)
    swapped = photo.copy()
    swapped[y0:y1, x0:x1] = cv2.resize(astro[ay0:ay1, ax0:ax1], (x1 - x0, y1 - y0))
    assert identity.identity_distance(swapped, photo, shapes) > identity.SAME_PERSON_THRESHOLD
    assert identity.identity_distance(photo, photo, []) is None  # no face: no value


def test_unavailable_reason_names_the_packages(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "face_recognition_models" else real(name, *a))
    assert "face_recognition_models" in identity.unavailable_reason()


def test_embeddings_are_128_d_unit_scale():
    e = _one_embedding(load_sample("face_crop.jpg"))
    assert e.shape == (128,) and 0.5 < float(np.linalg.norm(e)) < 1.5
