"""Face detection + 5 landmarks, checked against independent references (OpenCV Haar cascades,
geometry of the photo, mirror and scale equivariance)."""

import cv2
import numpy as np
import pytest

from models.faces import Face, detect_faces
from models.images import ImageError, load_image
from tests.conftest import ROOT

SAMPLES = ROOT / "models" / "samples"


@pytest.fixture(scope="module")
def astronaut():
    return load_image(SAMPLES / "astronaut.png")


@pytest.fixture(scope="module")
def group():
    return load_image(SAMPLES / "group.jpg")


def haar(name):
    return cv2.CascadeClassifier(cv2.data.haarcascades + name)


def assert_upright_order(face):
    (lx, ly), (rx, ry), (nx, ny), (mlx, mly), (mrx, mry) = face.landmarks
    assert lx < rx and mlx < mrx, f"left/right swapped: {face.landmarks}"
    assert max(ly, ry) < ny < min(mly, mry), f"eyes above nose above mouth fails: {face.landmarks}"


def test_group_photo_finds_each_of_the_three_faces(group):
    faces = detect_faces(group)
    assert len(faces) == 3
    # the photo is three side-by-side shots of ~341 px each: one face per third
    thirds = sorted(int(((f.box[0] + f.box[2]) / 2) // (group.shape[1] / 3)) for f in faces)
    assert thirds == [0, 1, 2]
    for f in faces:
        assert f.source == "mesh" and f.score > 0.7
        assert_upright_order(f)


def test_landmarks_are_ordered_eyes_nose_mouth_on_upright_faces(astronaut):
    for photo in (astronaut, load_image(SAMPLES / "half_body.jpg"), load_image(SAMPLES / "face_crop.jpg")):
        faces = detect_faces(photo)
        assert len(faces) == 1
        assert faces[0].landmarks.shape == (5, 2)
        assert_upright_order(faces[0])


def test_eye_centres_fall_inside_opencv_haar_eye_boxes(astronaut):
    # Independent reference: OpenCV's Haar eye cascade, run inside our face box.
    for photo in (astronaut, load_image(SAMPLES / "face_crop.jpg")):
        face = detect_faces(photo)[0]
        x0, y0, x1, y1 = (int(v) for v in face.box)
        gray = cv2.cvtColor(photo[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
        eyes = haar("haarcascade_eye.xml").detectMultiScale(gray, 1.05, 5, minSize=((x1 - x0) // 10,) * 2)
        assert len(eyes) >= 2, "the Haar cascade itself found no pair of eyes"
        for ex, ey in face.landmarks[:2]:
            inside = [bx <= ex - x0 <= bx + bw and by <= ey - y0 <= by + bh for bx, by, bw, bh in eyes]
            assert any(inside), f"eye centre ({ex:.0f}, {ey:.0f}) is in no Haar eye box {eyes + [x0, y0, 0, 0]}"


def test_face_box_overlaps_opencv_haar_face_box(astronaut):
    face = detect_faces(astronaut)[0]
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    (hx, hy, hw, hh), = haar("haarcascade_frontalface_default.xml").detectMultiScale(gray, 1.1, 8, minSize=(60, 60))
    a, b = face.box, (hx, hy, hx + hw, hy + hh)
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    iou = inter / ((a[2] - a[0]) * (a[3] - a[1]) + hw * hh - inter)
    assert iou > 0.5, f"IoU with the Haar face box is {iou:.2f}"


def test_mirrored_photo_gives_mirrored_landmarks_with_left_and_right_swapped(astronaut):
    w = astronaut.shape[1]
    p = detect_faces(astronaut)[0].landmarks
    q = detect_faces(np.ascontiguousarray(astronaut[:, ::-1]))[0].landmarks
    expected = np.column_stack([w - 1 - p[:, 0], p[:, 1]])[[1, 0, 2, 4, 3]]
    eye_distance = np.linalg.norm(p[1] - p[0])
    assert np.abs(q - expected).max() < 0.12 * eye_distance


def test_tilted_face_gives_landmarks_rotated_with_it(astronaut):
    # 45 degrees: the mesh runs on a crop rotated to level the eyes; points must follow the head
    ref = detect_faces(astronaut)[0].landmarks
    m = cv2.getRotationMatrix2D((256, 256), 45, 1.0)
    faces = detect_faces(cv2.warpAffine(astronaut, m, (512, 512)))
    assert len(faces) == 1
    expected = ref @ m[:, :2].T + m[:, 2]
    assert np.abs(faces[0].landmarks - expected).max() < 0.12 * np.linalg.norm(ref[1] - ref[0])


def test_small_face_in_a_large_photo_is_found_with_scaled_landmarks(astronaut):
    # The astronaut's face (~100 px) shrunk 3x onto a 1600x1200 grey canvas: ~33 px wide.
    ref = detect_faces(astronaut)[0].landmarks
    small = cv2.resize(astronaut, (171, 171), interpolation=cv2.INTER_AREA)
    canvas = np.full((1200, 1600, 3), 128, np.uint8)
    canvas[700:871, 1100:1271] = small
    faces = detect_faces(canvas)
    assert len(faces) == 1
    expected = ref * (171 / 512) + [1100, 700]
    eye_distance = np.linalg.norm(expected[1] - expected[0])
    assert np.abs(faces[0].landmarks - expected).max() < 0.35 * eye_distance


def test_tiny_face_completes(astronaut):
    # a ~10 px face is below what BlazeFace can see: the call must still return a list
    canvas = np.full((800, 800, 3), 200, np.uint8)
    canvas[400:450, 400:450] = cv2.resize(astronaut, (50, 50), interpolation=cv2.INTER_AREA)
    assert isinstance(detect_faces(canvas), list)


def test_photo_without_a_face_gives_an_empty_list():
    assert detect_faces(load_image(SAMPLES / "no_face_dog.jpg")) == []
    assert detect_faces(np.full((64, 64, 3), 255, np.uint8)) == []


def test_regions_are_integer_boxes_inside_the_photo(astronaut):
    # crop so the face touches the right and bottom edges: regions must be clipped, never empty
    crop = np.ascontiguousarray(astronaut[:170, :260])
    faces = detect_faces(crop)
    assert faces, "the cut face was not found"
    h, w = crop.shape[:2]
    regions = faces[0].regions()
    assert set(regions) == {"eyes", "nose", "mouth"}
    for name, (x0, y0, x1, y1) in regions.items():
        assert all(isinstance(v, int) for v in (x0, y0, x1, y1)), name
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h, (name, (x0, y0, x1, y1))


def test_regions_contain_their_landmarks(astronaut):
    face = detect_faces(astronaut)[0]
    r = face.regions()
    for name, idx in (("eyes", [0, 1]), ("nose", [2]), ("mouth", [3, 4])):
        x0, y0, x1, y1 = r[name]
        for x, y in face.landmarks[idx]:
            assert x0 <= x <= x1 and y0 <= y <= y1, (name, (x, y), r[name])
    # eyes region above the mouth region
    assert r["eyes"][3] <= r["mouth"][1]


def test_bad_input_is_refused_with_the_argument_named():
    with pytest.raises(ImageError, match="rgb must be uint8"):
        detect_faces(np.zeros((64, 64, 3), np.float32))
    with pytest.raises(ValueError, match="min_score=1.5"):
        detect_faces(np.zeros((64, 64, 3), np.uint8), min_score=1.5)


def test_face_is_a_frozen_record(astronaut):
    face = detect_faces(astronaut)[0]
    assert isinstance(face, Face) and len(face.box) == 4 and 0 < face.score <= 1
    with pytest.raises(Exception):
        face.score = 0.1
