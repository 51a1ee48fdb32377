"""`yolo9k serve`'s page at / in a real browser: Debian's chromium, headless, driven through
chromedriver by selenium (ctest: ServeWebPage.Chromium; label slow).

It uploads dog.jpg, waits for the boxes, and checks what was drawn: the canvas holds as many
boxes as the JSON reply lists, and the best box's left edge has its class's colour in the
canvas pixels. A file that is not an image shows the server's 4xx message. The screenshots are
kept in $YOLO9K_ARTIFACTS (build/test-artifacts).

Run by hand: YOLO9K_CLI=build/yolo9k python3 -m pytest tests/browser
"""
import json
import os
import re
import select
import shutil
import subprocess
import time
import urllib.request

import pytest

CLI = os.environ.get("YOLO9K_CLI", "build/yolo9k")
ARTIFACTS = os.environ.get("YOLO9K_ARTIFACTS", "build/test-artifacts")
DARKNET = "/usr/share/darknet"
TINY = f"{DARKNET}/cfg/yolov2-tiny-voc.cfg"
DOG = f"{DARKNET}/data/dog.jpg"

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # reported below
    webdriver = None

if not (CHROMIUM and CHROMEDRIVER and webdriver):
    missing = "chromium, chromium-driver and python3-selenium (scripts/setup.sh installs them)"
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"the browser test needs {missing}")
    pytest.skip(f"needs {missing}", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    weights = tmp_path_factory.mktemp("w") / "tiny.weights"
    subprocess.run([CLI, "init-weights", "--cfg", TINY, "--out", str(weights), "--seed", "7"], check=True,
                   stdout=subprocess.DEVNULL)
    process = subprocess.Popen([CLI, "serve", "--cfg", TINY, "--weights", str(weights), "--names",
                                f"{DARKNET}/data/voc.names", "--port", "0", "--threads", "2"],
                               stdout=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, "yolo9k serve printed nothing in 60 s"
        line = process.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        assert match, f"no 'listening on' line from yolo9k serve: {line!r}"
        url = match.group(1)
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            assert time.time() < deadline, "the server did not get ready in 60 s"
            assert process.poll() is None, "yolo9k serve exited"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0, "yolo9k serve did not drain and exit 0 on SIGTERM"


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def open_page(browser, url, thresh):
    browser.get(url + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"))
    # A range input is set the way a user's drag ends: the value, then a change event.
    browser.execute_script("const t = document.getElementById('thresh'); t.value = arguments[0];"
                           "t.dispatchEvent(new Event('change'));", thresh)
    return wait


def screenshot(browser, name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, name)
    assert browser.save_screenshot(path), f"cannot write {path}"
    return path


def threshold_for_a_few_boxes(url):
    """Random weights score low, and how low depends on the CPU's rounding: ask the server for
    every box on dog.jpg, and take a threshold (on the slider's 0.01 steps) that keeps about 5."""
    with open(DOG, "rb") as f:
        request = urllib.request.Request(url + "/v1/detect?thresh=0", data=f.read(),
                                         headers={"Content-Type": "image/jpeg"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        scores = sorted((d["score"] for d in json.load(reply)["detections"]), reverse=True)
    assert scores, "no box at all on dog.jpg at thresh 0"
    return f"{int(scores[min(4, len(scores) - 1)] * 100) / 100:.2f}"


def test_uploading_dog_draws_the_replys_boxes(server, browser):
    thresh = threshold_for_a_few_boxes(server)
    wait = open_page(browser, server, thresh)
    assert "yolov2-tiny-voc" in browser.find_element(By.ID, "model").text or \
        "20 classes" in browser.find_element(By.ID, "model").text
    browser.find_element(By.ID, "file").send_keys(DOG)
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") in ("done", "error"))
    shot = screenshot(browser, "serve_web_page_dog.png")
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "done", \
        browser.find_element(By.ID, "status").text
    reply = json.loads(browser.find_element(By.ID, "json").text)
    detections = reply["detections"]
    assert detections, f"no detection on dog.jpg at thresh {thresh}: nothing to check the drawing against"
    assert all(d["score"] >= float(thresh) for d in detections), "the page did not send the slider's threshold"
    assert (reply["width"], reply["height"]) == (768, 576)
    canvas = browser.find_element(By.ID, "view")
    assert int(canvas.get_attribute("data-drawn")) == len(detections)
    assert (int(canvas.get_attribute("width")), int(canvas.get_attribute("height"))) == (768, 576)

    # The best box is drawn last; the middle of its left edge is inside its stroke.
    best = max(detections, key=lambda d: d["score"])
    x1, y1, x2, y2 = (round(v) for v in best["box"])
    y = (y1 + y2) // 2
    pixel, colour = browser.execute_script(
        "const g = document.getElementById('view').getContext('2d');"
        "return [Array.from(g.getImageData(arguments[0], arguments[1], 1, 1).data.slice(0, 3)),"
        "        window.yolo9kColour(arguments[2])];", x1, y, best["class_id"])
    assert all(abs(p - c) <= 8 for p, c in zip(pixel, colour)), \
        f"pixel ({x1}, {y}) is {pixel}, not class {best['class_id']}'s colour {colour} (see {shot})"
    # ...and a pixel well inside the box is the photo, not the stroke colour.
    inside = browser.execute_script(
        "const g = document.getElementById('view').getContext('2d');"
        "return Array.from(g.getImageData(arguments[0], arguments[1], 1, 1).data.slice(0, 3));",
        (x1 + x2) // 2, y)
    assert inside != colour
    assert "detection" in browser.find_element(By.ID, "status").text


def test_a_file_that_is_not_an_image_shows_the_servers_error(server, browser, tmp_path):
    wait = open_page(browser, server, "0.5")
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a JPEG\n")
    browser.find_element(By.ID, "file").send_keys(str(text))
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") in ("done", "error"))
    screenshot(browser, "serve_web_page_error.png")
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "error"
    status = browser.find_element(By.ID, "status").text
    assert status.startswith("400: "), status
    assert json.loads(browser.find_element(By.ID, "json").text)["status"] == 400
