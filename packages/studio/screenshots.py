"""A PNG of each tab in use, for the README: ``python -m studio.screenshots [out_dir=packages/studio/docs]``.

Starts the studio on a free port, drives headless Chromium through each tab (a chorale arranged, a trio composed
for the instruments picked, a sound made from text, the shipped models) and saves ``<tab>.png`` into ``out_dir``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig
from selenium.common.exceptions import ElementClickInterceptedException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from gm_common.cli import entry_point
from studio.app import build, launch
from studio.browser import headless_chromium


def wait_for(find: Callable[[], object], timeout: float) -> object:
    """``find()``'s first truthy answer, polled until ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = find()
        if found:
            return found
        time.sleep(0.25)
    raise TimeoutError(f"the page showed nothing in {timeout} s")


def click(driver: WebDriver, element: object) -> None:
    """Click ``element``; through the page's script where a message box lies over it."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    try:
        element.click()
    except ElementClickInterceptedException:
        driver.execute_script("arguments[0].click()", element)


def open_tab(driver: WebDriver, name: str) -> None:
    """Show the tab called ``name``."""
    click(driver, driver.find_element(By.XPATH, f"//button[@role='tab'][normalize-space()='{name}']"))


def result_shown(driver: WebDriver, elem_id: str) -> bool:
    """Whether an output component shows a file (its result arrived)."""
    return "gradio_api/file=" in (driver.find_element(By.ID, elem_id).get_attribute("innerHTML") or "")


def dismiss_messages(driver: WebDriver) -> None:
    """Close the page's message boxes ("loading the model ...")."""
    for button in driver.find_elements(By.CSS_SELECTOR, "[data-testid='toast-close']"):
        if button.is_displayed():
            driver.execute_script("arguments[0].click()", button)


def save_page(driver: WebDriver, path: Path, width: int, max_height: int = 2400) -> Path:
    """A screenshot of the whole page (the window grown to the page's height)."""
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(width, min(max_height, height + 140))  # the window's frame takes some of its height
    time.sleep(0.5)
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(path))
    return path


def default_piece() -> Path:
    """The Bach chorale bwv10.7 (MusicXML) from the music21 corpus."""
    import music21

    return Path(str(music21.corpus.getWork("bach/bwv10.7")))


def arrange(driver: WebDriver, cfg: DictConfig) -> None:
    """Upload the piece and arrange it."""
    driver.find_element(By.CSS_SELECTOR, "#arrange-upload input[type=file]").send_keys(
        str(Path(cfg.piece or default_piece()).resolve())
    )
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#arrange-upload button[aria-label='Clear']"), cfg.timeout)
    click(driver, driver.find_element(By.ID, "arrange-button"))
    wait_for(lambda: result_shown(driver, "arrange-audio"), cfg.timeout)


def compose(driver: WebDriver, cfg: DictConfig) -> None:
    """Pick the instrument-informed mode and the instruments, then compose."""
    open_tab(driver, "Compose")
    click(driver, driver.find_element(By.XPATH, "//*[@id='compose-mode']//label[normalize-space()='instruments']"))
    box = wait_for(
        lambda: [e for e in driver.find_elements(By.CSS_SELECTOR, "#compose-instruments input") if e.is_displayed()],
        cfg.timeout,
    )[0]
    for name in cfg.instruments:
        box.send_keys(str(name))
        box.send_keys(Keys.ENTER)
    seed = driver.find_element(By.CSS_SELECTOR, "#compose-seed input")
    seed.clear()
    seed.send_keys(str(cfg.seed))
    click(driver, driver.find_element(By.ID, "compose-button"))
    wait_for(lambda: result_shown(driver, "compose-audio"), cfg.timeout)


def sound(driver: WebDriver, cfg: DictConfig) -> None:
    """Type the text and make the sound."""
    open_tab(driver, "Sound")
    box = wait_for(
        lambda: [e for e in driver.find_elements(By.CSS_SELECTOR, "#sound-text textarea") if e.is_displayed()],
        cfg.timeout,
    )[0]
    box.send_keys(str(cfg.text))
    click(driver, driver.find_element(By.ID, "sound-button"))
    wait_for(lambda: result_shown(driver, "sound-audio"), cfg.timeout)


def models(driver: WebDriver, cfg: DictConfig) -> None:
    """Show the shipped models."""
    open_tab(driver, "Models")
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#models-figures table"), cfg.timeout)


TABS: dict[str, Callable[[WebDriver, DictConfig], None]] = {
    "arrange": arrange,
    "compose": compose,
    "sound": sound,
    "models": models,
}


def run(cfg: DictConfig) -> list[Path]:
    """Use each tab and save its screenshot; returns the PNG files."""
    demo = build(cfg)
    url = launch(demo, cfg)
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    saved = []
    try:
        with tempfile.TemporaryDirectory(prefix="studio-chromium-") as profile:
            driver = headless_chromium(profile, int(cfg.width), int(cfg.height))
            try:
                driver.get(url)
                wait_for(lambda: driver.find_elements(By.ID, "arrange-button"), cfg.timeout)
                for name, use in TABS.items():
                    driver.set_window_size(int(cfg.width), int(cfg.height))
                    use(driver, cfg)
                    time.sleep(1.0)  # let the waveform and images finish drawing
                    dismiss_messages(driver)
                    saved.append(save_page(driver, out_dir / f"{name}.png", int(cfg.width)))
                    print(f"{name}: {saved[-1]}")
            finally:
                driver.quit()
    finally:
        demo.close()
    return saved


main = entry_point("studio", "screenshots")(run)

if __name__ == "__main__":
    main()
