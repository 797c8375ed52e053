"""Issue 11, "Inputs and outputs": upload and document limits, exports that hold only what they
should, and untrusted text that draws without the browser fetching anything."""
from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from core import limits, untrusted
from core.errors import UserError
from core.rag import loaders

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- 11. limits

def test_upload_cap_is_streamlits_setting_well_below_2gb(monkeypatch):
    import tomllib

    configured = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    monkeypatch.delenv("STREAMLIT_SERVER_MAX_UPLOAD_SIZE", raising=False)
    assert configured <= 512 and limits.max_upload_bytes() == configured * 1024 * 1024
    monkeypatch.setenv("STREAMLIT_SERVER_MAX_UPLOAD_SIZE", "1")
    assert limits.max_upload_bytes() == 1024 * 1024
    with pytest.raises(UserError) as err:
        loaders.load_bytes(b"x" * (2 * 1024 * 1024), "notes.txt")
    assert err.value.key == "err.limit.upload"
    assert str(err.value).startswith("notes.txt is 2 MB; uploads are limited to 1 MB.")
    assert "1 MB" in err.value.text("zh")


def _docx_bomb(path: Path, unpacked: int) -> Path:
    """A tiny zip named .docx whose one part unpacks to ``unpacked`` bytes of zeros."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * unpacked)
    return path


def test_zip_bomb_and_huge_text_are_refused_per_file(monkeypatch, tmp_path):
    monkeypatch.setattr(limits, "MAX_UNPACKED_BYTES", 1024 * 1024)
    bomb = _docx_bomb(tmp_path / "bomb.docx", 8 * 1024 * 1024)
    assert bomb.stat().st_size < 64 * 1024
    with pytest.raises(UserError) as err:
        loaders.load_file(bomb)
    assert err.value.key == "err.limit.unpacked" and "unpacks to 8 MB" in str(err.value)
    with pytest.raises(UserError) as err:  # the same file uploaded
        loaders.load_bytes(bomb.read_bytes(), "bomb.docx")
    assert err.value.key == "err.limit.unpacked"

    monkeypatch.setattr(limits, "MAX_DOCUMENT_CHARS", 1000)
    long = tmp_path / "long.txt"
    long.write_text("word " * 500, encoding="utf-8")
    with pytest.raises(UserError) as err:
        loaders.load_file(long)
    assert err.value.key == "err.limit.chars" and "2,500 characters" in str(err.value)
    short = tmp_path / "short.txt"
    short.write_text("a short note", encoding="utf-8")
    assert loaders.load_file(short).text == "a short note"


def test_an_ingest_reports_the_over_limit_file_and_keeps_the_others(workbench_home, tmp_path, monkeypatch):
    from core.rag import store

    monkeypatch.setattr(limits, "MAX_UNPACKED_BYTES", 1024 * 1024)
    monkeypatch.setenv("STREAMLIT_SERVER_MAX_UPLOAD_SIZE", "0.01")  # 10 KB
    store.create_kb("lim")
    bomb = _docx_bomb(tmp_path / "bomb.docx", 4 * 1024 * 1024)
    report = store.ingest("lim", [
        store.SourceFile(path=Path("big.txt"), source="big.txt", data=b"big text " * 4000),
        bomb,
        store.SourceFile(path=Path("ok.txt"), source="ok.txt", data=b"Alpacas are South American camelids."),
    ])
    by_name = {Path(f.path).name: f for f in report.files}
    assert str(by_name["big.txt"].error).startswith("big.txt is 0.03 MB; uploads are limited to 0.01 MB.")
    assert "unpacks to 4 MB" in str(by_name["bomb.docx"].error)
    assert by_name["ok.txt"].error is None and by_name["ok.txt"].chunks == 1
    assert report.total_chunks == 1


# ----------------------------------------------------------------------------- 12. exports

def test_adapter_zip_never_follows_a_symlink_out(workbench_home, tmp_path):
    from core.models import export

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP SECRET", encoding="utf-8")
    adapter = tmp_path / "my-adapter"
    (adapter / "sub").mkdir(parents=True)
    (adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}), encoding="utf-8")
    (adapter / "adapter_model.safetensors").write_bytes(b"weights")
    (adapter / "sub" / "inside.txt").write_text("fine", encoding="utf-8")
    os.symlink(outside / "secret.txt", adapter / "leak.txt")
    os.symlink(outside, adapter / "leakdir")
    os.symlink(adapter / "sub" / "inside.txt", adapter / "alias.txt")  # stays inside: allowed
    archive = zipfile.ZipFile(io.BytesIO(export.adapter_zip_bytes(str(adapter))))
    names = sorted(archive.namelist())
    assert names == ["my-adapter/adapter_config.json", "my-adapter/adapter_model.safetensors",
                     "my-adapter/alias.txt", "my-adapter/sub/inside.txt"]
    assert all(b"TOP SECRET" not in archive.read(n) for n in names)


def test_every_csv_cell_that_could_be_a_formula_is_neutralised():
    from core.chat.compare import CompareResult, ModelColumn, PromptItem

    for cell in ("=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert untrusted.csv_cell(cell) == "'" + cell
    assert untrusted.csv_cell("plain 文本") == "plain 文本" and untrusted.csv_cell(None) == ""
    result = CompareResult(model="m", quantization="none", settings={}, columns=[ModelColumn(label="=base")],
                           prompts=[PromptItem(prompt="=1+1", reference="@ref")],
                           answers={"=base": ["-cmd|' /C calc'!A0"]})
    rows = list(csv.reader(io.StringIO(result.to_csv())))
    assert rows == [["prompt", "reference", "'=base"], ["'=1+1", "'@ref", "'-cmd|' /C calc'!A0"]]


# ----------------------------------------------------------------------------- 13. untrusted text

ATTACKS = [
    "Here: ![pixel](http://evil.example/track.png)",
    "ref style ![pixel][r]\n\n[r]: http://evil.example/a.png",
    "nested [![x](http://evil.example/b.png)](http://ok.example)",
    "escaped first \\![x](http://evil.example/c.png) and \\\\![y](http://evil.example/d.png)",
    "<img src=http://evil.example/e.png>",
    "<div>\n```\n\n![z](http://evil.example/f.png)\n```",
    "- item\n  ```\n![w](http://evil.example/g.png)\n```",
    "text <img src='http://evil.example/h.png'/> inline",
]


@pytest.mark.parametrize("text", ATTACKS)
def test_inert_markdown_never_draws_an_image_or_html(text):
    markdown_it = pytest.importorskip("markdown_it")
    md = markdown_it.MarkdownIt("commonmark", {"html": True})  # raw HTML on: the strictest reading
    assert "<img" in md.render(text)  # the attack works on the text as given
    html = md.render(untrusted.inert_markdown(text))
    assert "<img" not in html and "<div>" not in html


def test_inert_markdown_keeps_code_and_ordinary_markdown():
    markdown_it = pytest.importorskip("markdown_it")
    text = "**bold** and `a < b`\n\n```html\n<img src=x> ![k](y)\n```\n\n1. one\n2. [link](http://ok.example)"
    out = untrusted.inert_markdown(text)
    assert "```html\n<img src=x> ![k](y)\n```" in out  # fenced code is left exactly as it was
    html = markdown_it.MarkdownIt("commonmark").render(out)
    assert "<strong>bold</strong>" in html and "<code>a &lt; b</code>" in html
    assert '<a href="http://ok.example">link</a>' in html and "<ol>" in html


@pytest.mark.parametrize("text", ATTACKS)
def test_inert_html_inside_a_drawn_html_block_never_draws_an_image(text):
    markdown_it = pytest.importorskip("markdown_it")
    md = markdown_it.MarkdownIt("commonmark", {"html": True})
    html = md.render(f"<div style='white-space:pre-wrap'>{untrusted.inert_html(text)}</div>")
    assert "<img" not in html and html.count("<div") == 1


def test_pages_draw_untrusted_text_and_streams_inert():
    from streamlit.testing.v1 import AppTest

    def page():
        from ui.common import show_untrusted, stream_untrusted

        show_untrusted("answer ![pixel](http://evil.example/p.png) <img src=x>")
        stream_untrusted(iter(["part ![", "x](http://evil.example/q.png)"]))

    at = AppTest.from_function(page).run()
    assert not at.exception
    shown = [m.value for m in at.markdown]
    assert shown[0] == "answer !\\[pixel](http://evil.example/p.png) \\<img src=x>"
    assert shown[-1] == "part !\\[x](http://evil.example/q.png)"
