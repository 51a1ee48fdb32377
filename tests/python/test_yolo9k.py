"""The `yolo9k` Python module against the command-line tool (ctest: PythonModule.Pytest).

Run by hand: PYTHONPATH=build/python YOLO9K_CLI=build/yolo9k python3 -m pytest tests/python
"""
import json
import os
import subprocess
import threading

import numpy as np
import pytest

import yolo9k

CLI = os.environ.get("YOLO9K_CLI", "build/yolo9k")
DARKNET = "/usr/share/darknet"
TINY = f"{DARKNET}/cfg/yolov2-tiny-voc.cfg"
DOG = f"{DARKNET}/data/dog.jpg"
THRESH = 0.05


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("w") / "tiny.weights"
    subprocess.run([CLI, "init-weights", "--cfg", TINY, "--out", str(path), "--seed", "7"], check=True,
                   stdout=subprocess.DEVNULL)
    return str(path)


@pytest.fixture(scope="module")
def detector(weights):
    return yolo9k.Detector(TINY, weights, names=f"{DARKNET}/data/voc.names", thresh=THRESH, threads=2)


def cli_detections(weights, tmp_path):
    out = tmp_path / "d.json"
    subprocess.run([CLI, "detect", "--cfg", TINY, "--weights", weights, "--names", f"{DARKNET}/data/voc.names",
                    "--thresh", str(THRESH), "--threads", "2", "--json", str(out), "-q", DOG], check=True)
    return json.loads(out.read_text())[0]["detections"]


def test_detections_equal_the_command_lines(detector, weights, tmp_path):
    want = cli_detections(weights, tmp_path)
    assert want, "no detection: the comparison would be empty"
    got = detector.detect(DOG)
    assert [(d.class_id, d.name) for d in got] == [(d["class_id"], d["name"]) for d in want]
    for d, w in zip(got, want):
        assert d.score == pytest.approx(w["score"], abs=1e-5)
        assert d.box == pytest.approx(tuple(w["box"]), abs=1e-3)


def test_arrays_paths_rgb_and_numpy_rows_agree(detector):
    bgr = yolo9k.load_image(DOG)
    assert bgr.shape == (576, 768, 3) and bgr.dtype == np.uint8
    from_path = detector.detect(DOG)
    from_array = detector.detect(bgr)
    from_rgb = detector.detect(np.ascontiguousarray(bgr[:, :, ::-1]), rgb=True)
    assert [d.box for d in from_array] == [d.box for d in from_path] == [d.box for d in from_rgb]
    rows = detector.detect(bgr, as_numpy=True)
    assert rows.dtype.names == ("class_id", "score", "objectness", "x1", "y1", "x2", "y2")
    assert list(rows["class_id"]) == [d.class_id for d in from_path]
    assert len(detector.detect(bgr, thresh=0.9)) <= len(from_path)


def cpu_has_bf16():
    with open("/proc/cpuinfo") as f:
        return " avx512_bf16" in f.read()


def test_bf16_finds_what_f32_finds_or_names_the_missing_instructions(detector, weights):
    """precision="bf16": the same boxes within bf16's rounding, or a clear refusal."""
    if not cpu_has_bf16():
        with pytest.raises(yolo9k.Error, match="AVX512-BF16"):
            yolo9k.Detector(TINY, weights, precision="bf16")
        return
    bf16 = yolo9k.Detector(TINY, weights, names=f"{DARKNET}/data/voc.names", thresh=THRESH, threads=2,
                           precision="bf16")
    want = [d for d in detector.detect(DOG) if d.score > THRESH + 0.02]  # clear of the threshold
    assert want, "no detection: the comparison would be empty"
    got = bf16.detect(DOG)
    for w in want:
        same = [g for g in got if g.class_id == w.class_id and g.box == pytest.approx(w.box, abs=8)]
        assert same, f"{w} missing in bf16"
        assert same[0].score == pytest.approx(w.score, abs=0.02)
    with pytest.raises(yolo9k.Error, match="expected one of f32, bf16, int8"):
        yolo9k.Detector(TINY, weights, precision="f16")


def test_int8_asks_for_a_calibration_file_and_runs_with_one(detector, weights, tmp_path):
    with pytest.raises(yolo9k.Error, match="yolo9k calibrate"):
        yolo9k.Detector(TINY, weights, precision="int8")
    calib = str(tmp_path / "tiny.calib")
    summary = yolo9k.calibrate(TINY, weights, [DOG], calib, method="minmax")
    assert summary["images"] == 1 and summary["method"] == "minmax"
    try:
        int8 = yolo9k.Detector(TINY, weights, names=f"{DARKNET}/data/voc.names", thresh=THRESH, threads=2,
                               precision="int8", calibration=calib)
    except yolo9k.Error as e:  # a CPU without VNNI is refused by name
        assert "VNNI" in str(e)
        return
    # The binding only: int8's accuracy is measured in C++ (tests/unit/test_reduced_precision.cpp)
    # and on a trained detector (README); this network's weights are random.
    got = int8.detect(DOG)
    assert got, "int8 found nothing where f32 finds boxes at this threshold"
    assert all(0 <= d.class_id < 20 and d.score >= THRESH for d in got)


def test_a_bad_path_raises_with_the_cpp_message(detector):
    with pytest.raises(yolo9k.Error, match="no-such.jpg"):
        detector.detect("/nonexistent/no-such.jpg")
    with pytest.raises(yolo9k.Error, match="no-such.cfg"):
        yolo9k.Detector("/nonexistent/no-such.cfg", "x.weights")
    with pytest.raises(TypeError):
        detector.detect(np.zeros((8, 8, 3), np.float32))
    assert issubclass(yolo9k.Error, RuntimeError)


def test_four_threads_share_one_detector(detector):
    want = [d.box for d in detector.detect(DOG)]
    results, errors = [], []

    def work():
        try:
            for _ in range(3):
                results.append([d.box for d in detector.detect(DOG)])
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 12 and all(r == want for r in results)


def test_a_small_training_run_reports_progress_and_writes_weights(tmp_path):
    synth = tmp_path / "synth"
    subprocess.run([CLI, "dataset", "synth", "--out", str(synth), "--images", "40", "--seed", "3", "--quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    seen = []
    summary = yolo9k.train("cfg/synth-yolov2-tiny.cfg", str(synth), names=str(synth / "synth.names"), split="train",
                           backup_dir=str(tmp_path / "backup"), threads=2, batch=4, subdivisions=1, max_batches=6,
                           burn_in=0, on_progress=lambda p: seen.append((p.iteration, p.loss)))
    assert [i for i, _ in seen] == [1, 2, 3, 4, 5, 6]
    assert all(np.isfinite(loss) for _, loss in seen)
    assert summary["iterations"] == 6 and os.path.exists(summary["final_weights"])
    # The trained weights, evaluated from Python and by `yolo9k eval`: the same numbers.
    detector = yolo9k.Detector("cfg/synth-yolov2-tiny.cfg", summary["final_weights"], names=str(synth / "synth.names"),
                               thresh=0.005, threads=2)
    got = yolo9k.evaluate(detector, str(synth), names=str(synth / "synth.names"), split="train")
    out = tmp_path / "eval.json"
    subprocess.run([CLI, "eval", "--cfg", "cfg/synth-yolov2-tiny.cfg", "--weights", summary["final_weights"],
                    "--dataset", str(synth), "--names", str(synth / "synth.names"), "--split", "train",
                    "--thresh", "0.005", "--threads", "2", "--json", str(out)], check=True, stdout=subprocess.DEVNULL)
    want = json.loads(out.read_text())
    assert got["images"] == 28 and not got["skipped"]
    for key in ("map50", "map50_voc07", "map_coco"):
        assert got[key] == pytest.approx(want[key], abs=1e-9)
    assert [c["name"] for c in got["per_class"]] == [c["name"] for c in want["per_class"]]
    anchors = yolo9k.anchors([str(synth)], k=3, split="train", size=192)
    assert len(anchors["anchors"]) == 3 and 0 < anchors["average_iou"] <= 1


def test_an_exception_in_the_callback_stops_training_and_is_raised(tmp_path):
    synth = tmp_path / "synth"
    subprocess.run([CLI, "dataset", "synth", "--out", str(synth), "--images", "20", "--seed", "4", "--quiet"],
                   check=True, stdout=subprocess.DEVNULL)

    def stop(p):
        if p.iteration == 2:
            raise KeyError("stop here")

    with pytest.raises(KeyError, match="stop here"):
        yolo9k.train("cfg/synth-yolov2-tiny.cfg", str(synth), names=str(synth / "synth.names"), split="train",
                     backup_dir=str(tmp_path / "backup"), threads=2, batch=4, subdivisions=1, max_batches=50,
                     burn_in=0, on_progress=stop)
    assert (tmp_path / "backup" / "synth-yolov2-tiny_last.weights").exists()
