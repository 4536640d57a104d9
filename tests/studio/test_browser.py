"""The page in a real headless browser (Debian's Chromium through Selenium): what only a page shows."""

from __future__ import annotations

import io
import re
import time
import urllib.request

import pytest
import soundfile as sf
from selenium.common.exceptions import ElementClickInterceptedException
from selenium.webdriver.common.by import By

from gm_common.notes import read_music
from gm_common.render import fluidsynth_available
from studio.browser import find_chromium, headless_chromium

try:
    find_chromium()
    HAVE_CHROMIUM = True
except Exception:
    HAVE_CHROMIUM = False

pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM, reason="apt-get install chromium chromium-driver")
FILE_URL = re.compile(r'(?:src|href)="(http://127\.0\.0\.1:\d+/gradio_api/file=[^"]+?\.(wav|mid))"')


def wait_for(find, timeout: float = 90.0, every: float = 0.25):
    """``find()``'s first truthy answer, polled until ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = find()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"nothing appeared in {timeout} s")


def file_url(driver, elem_id: str, suffix: str) -> str | None:
    """The address of the ``suffix`` file an output component shows, once it shows one."""
    html = driver.find_element(By.ID, elem_id).get_attribute("innerHTML")
    return next((m.group(1) for m in FILE_URL.finditer(html) if m.group(2) == suffix), None)


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def page_errors(driver) -> str:
    """The text of the page's error messages (Gradio's toasts)."""
    return "\n".join(t.text for t in driver.find_elements(By.CSS_SELECTOR, "[data-testid='toast-body']"))


def click(driver, element) -> None:
    """Click ``element`` as a user would; through the page's script where a message box lies over it."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    try:
        element.click()
    except ElementClickInterceptedException:
        driver.execute_script("arguments[0].click()", element)


def upload(driver, elem_id: str, path) -> None:
    clear = driver.find_elements(By.CSS_SELECTOR, f"#{elem_id} button[aria-label='Clear']")
    if clear:
        click(driver, clear[0])
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, f"#{elem_id} input[type=file]"))[0].send_keys(str(path))


@pytest.fixture(scope="module")
def page(server, tmp_path_factory):
    driver = headless_chromium(tmp_path_factory.mktemp("chromium-profile"))
    driver.get(server.url)
    wait_for(lambda: driver.find_elements(By.ID, "arrange-button"))
    yield driver
    driver.quit()


@pytest.mark.skipif(not fluidsynth_available(), reason="FluidSynth renders the arranged MIDI's audio")
def test_arrange_a_chorale_in_the_page(page, chorale, tmp_path):
    upload(page, "arrange-upload", chorale)
    wait_for(lambda: "bwv10.7" in page.find_element(By.ID, "arrange-upload").text)  # name and suffix: two lines
    click(page, page.find_element(By.ID, "arrange-button"))
    wav = wait_for(lambda: file_url(page, "arrange-audio", "wav"))
    assert sf.info(io.BytesIO(fetch(wav))).duration > 10
    midi = tmp_path / "arranged.mid"
    midi.write_bytes(fetch(wait_for(lambda: file_url(page, "arrange-midi", "mid"))))
    arranged, source = read_music(midi, resolution=24), read_music(chorale, resolution=24)
    notes = sorted((n.time, n.pitch) for t in arranged.tracks for n in t.notes)
    assert notes == sorted((n.time, n.pitch) for t in source.tracks for n in t.notes)
    assert [t.name for t in arranged.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]


def test_a_sound_from_text_in_the_page(page):
    click(page, page.find_element(By.XPATH, "//button[@role='tab'][normalize-space()='Sound']"))
    box = wait_for(lambda: [e for e in page.find_elements(By.CSS_SELECTOR, "#sound-text textarea") if e.is_displayed()])
    box[0].send_keys("dog barking")
    click(page, page.find_element(By.ID, "sound-button"))
    wav = wait_for(lambda: file_url(page, "sound-audio", "wav"))
    audio, rate = sf.read(io.BytesIO(fetch(wav)))
    assert rate == 16000 and len(audio) > rate and abs(audio).max() > 0.01
    assert wait_for(lambda: page.find_elements(By.CSS_SELECTOR, "#sound-spectrogram img"))


def test_wrong_files_show_an_error_in_the_page(page, tmp_path):
    click(page, page.find_element(By.XPATH, "//button[@role='tab'][normalize-space()='Arrange']"))
    text = tmp_path / "notes.txt"
    text.write_text("not music")
    upload(page, "arrange-upload", text)
    wait_for(lambda: "Invalid file type: notes.txt" in page_errors(page))
    big = tmp_path / "big.mid"
    big.write_bytes(b"MThd" + b"\0" * (5 * 1024 * 1024 + 10))
    upload(page, "arrange-upload", big)
    wait_for(lambda: 'exceed the maximum allowed size of 5.0 Mb: "big.mid"' in page_errors(page))
    broken = tmp_path / "broken.mid"
    broken.write_bytes(b"MThd not really a MIDI file")
    upload(page, "arrange-upload", broken)
    wait_for(lambda: "broken" in page.find_element(By.ID, "arrange-upload").text)
    click(page, page.find_element(By.ID, "arrange-button"))
    message = wait_for(lambda: [line for line in page_errors(page).splitlines() if line.startswith("broken.mid: ")])
    assert "Traceback" not in page_errors(page) and "/tmp" not in message[0]


def test_the_page_loads_nothing_from_outside(page):
    names = page.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert names and all(n.startswith(("http://127.0.0.1", "data:", "blob:")) for n in names), names
