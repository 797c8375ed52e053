"""A working day in a real browser (headless Chromium, `streamlit run Home.py`): the Train form
survives a visit to Chat, the language survives a reload and a direct link, and a binary file
uploaded as a dataset is refused in Chinese without a traceback. Screenshots (EN and 中文) go
to the test's tmp dir."""
from __future__ import annotations

import re

import pytest

from tests.browser import (body_text, browser_available, by_key, choose_option, chrome, page_problems,
                           skip_reason, streamlit_server, wait_for, wait_rendered)

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not browser_available(), reason=skip_reason())]
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from core.data.assistant import AssistantSpec, save_assistant_dataset
    from core.models.demo import ensure_demo_model

    root = tmp_path_factory.mktemp("working_day")
    home = root / "workspace"
    mp = pytest.MonkeyPatch()
    mp.setenv("WORKBENCH_HOME", str(home))
    ensure_demo_model()
    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=50), "older")
    save_assistant_dataset(AssistantSpec(name="Aria", author="Alex", n=50, lang="en"), "newer")
    mp.undo()
    shots = root / "screenshots"
    shots.mkdir()
    with streamlit_server(home, root / "streamlit.log", {"WORKBENCH_PASSWORD": ""}) as url:
        driver = chrome()
        try:
            yield {"home": home, "url": url, "driver": driver, "shots": shots, "root": root}
        finally:
            driver.quit()
            print(f"\nscreenshots: {shots}")


def nav(driver, slug: str) -> None:
    """Go to another page through the sidebar, as a person does (same browser session)."""
    link = wait_for(lambda: driver.find_element("css selector", f'[data-testid="stSidebarNav"] a[href*="/{slug}"]'))
    link.click()
    wait_rendered(driver)


def number_value(driver, key: str) -> str:
    return by_key(driver, key, "input").get_attribute("value")


def select_text(driver, key: str) -> str:
    """What a select box shows (its value sits in the box's search input)."""
    return by_key(driver, key, "input").get_attribute("value") or by_key(driver, key).text


def test_train_form_survives_chat_and_language_sticks(app):
    from selenium.webdriver.common.keys import Keys

    driver, url, shots = app["driver"], app["url"], app["shots"]
    driver.get(f"{url}/train")
    wait_rendered(driver)
    assert not page_problems(driver)
    box = wait_for(lambda: by_key(driver, "train_lora_r", "input"), 60)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("8", Keys.ENTER)
    wait_rendered(driver)
    choose_option(driver, "train_dataset", "older")
    assert number_value(driver, "train_lora_r") == "8"
    driver.save_screenshot(str(shots / "train-en.png"))

    nav(driver, "chat")
    assert "Chat" in body_text(driver)
    nav(driver, "train")
    assert number_value(driver, "train_lora_r") == "8"
    assert "older" in select_text(driver, "train_dataset")

    choose_option(driver, "ui_lang_select", "中文")
    wait_for(lambda: "训练" in driver.find_element("css selector", "h1").text, 30)
    assert "lang=zh" in driver.current_url
    assert number_value(driver, "train_lora_r") == "8"  # a language switch keeps the form too
    # every select box relabelled, its value kept: no English label left behind
    assert select_text(driver, "train_quantization") == "4 位 NF4"
    assert select_text(driver, "train_preset") == "CPU 演示（demo-tiny，约 1 分钟）"
    assert select_text(driver, "train_copy_run") == "（选择任务）"
    assert "older" in select_text(driver, "train_dataset")
    driver.save_screenshot(str(shots / "train-zh.png"))

    driver.refresh()
    wait_rendered(driver)
    wait_for(lambda: driver.find_element("css selector", "h1").text == "训练", 30)
    driver.get(f"{url}/train")  # a direct link without ?lang: the workspace default
    wait_rendered(driver)
    assert wait_for(lambda: driver.find_element("css selector", "h1").text == "训练", 30)
    assert "lang=zh" in driver.current_url
    driver.get(f"{url}/")  # Home, in Chinese, with the quick-start checklist
    wait_rendered(driver)
    assert "快速上手" in body_text(driver)
    driver.save_screenshot(str(shots / "home-zh.png"))


def test_binary_upload_is_refused_in_chinese(app):
    driver, url, shots = app["driver"], app["url"], app["shots"]
    junk = app["root"] / "photo.jsonl"
    junk.write_bytes(bytes(range(256)) * 40)
    driver.get(f"{url}/datasets?lang=zh")
    wait_rendered(driver)
    upload = wait_for(lambda: driver.find_element("css selector", '[data-testid="stFileUploader"] input[type="file"]'),
                      30)
    upload.send_keys(str(junk))
    wait_for(lambda: "photo.jsonl" in body_text(driver), 30)
    wait_rendered(driver)
    by_key(driver, "ds_check", "button").click()
    wait_rendered(driver)
    error = wait_for(lambda: driver.find_element("css selector", '[data-testid="stAlertContentError"]').text, 30)
    driver.save_screenshot(str(shots / "datasets-binary-zh.png"))

    assert CJK.search(error), error
    assert not page_problems(driver)
