"""Sample documents for the RAG tests, written on the fly: every format and every way a file
can fail (GBK, BOM, corrupt PDF, empty, binary), plus a tiny sentence-transformers model of
another dimension for the embedder-mismatch test. Imported by tests/test_rag_*.py.

    >>> paths = write_samples(tmp_path / "docs")      # doctest: +SKIP
"""
from __future__ import annotations

import json
from pathlib import Path

GBK_TEXT = "知识库让模型回答有依据。青藏高原是世界上海拔最高的高原，平均海拔四千米以上！它被称为世界屋脊；雅鲁藏布江从这里流过。"
BOM_TEXT = "The Kestrel Valley dam was finished in 1931. Its reservoir supplies water to Farnham and two villages."


def minimal_pdf(text: str) -> bytes:
    """A valid one-page PDF showing ``text`` (Helvetica), built by hand with a correct xref."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def minimal_docx(path: Path, paragraphs: list[str]) -> Path:
    from docx import Document

    document = Document()
    for p in paragraphs:
        document.add_paragraph(p)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Lighthouse keeper", "Agnes Varley"
    document.save(str(path))
    return path


def write_samples(folder: Path) -> dict[str, Path]:
    """One file per case; returns {case: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "gbk": ("gbk.txt", GBK_TEXT.encode("gbk")),
        "bom": ("bom.txt", b"\xef\xbb\xbf" + BOM_TEXT.encode("utf-8")),
        "md": ("notes.md", "# Orchard notes\n\nThe pear orchard at Willowmere has 240 trees.\n".encode()),
        "html": ("page.html", b"<html><head><style>p{color:red}</style><script>var x=1;</script></head>"
                              b"<body><h1>Harbour</h1><p>The harbour master is Tomas Reyes.</p></body></html>"),
        "csv": ("people.csv", "name,role\nIngrid Solberg,ferry captain\nMarek Novak,baker\n".encode()),
        "jsonl": ("faq.jsonl", (json.dumps({"question": "Where is the ferry?", "answer": "At pier 7."}) + "\n"
                                + json.dumps({"messages": [{"role": "user", "content": "Opening hours?"},
                                                           {"role": "assistant", "content": "Nine to five."}]})
                                + "\n").encode()),
        "pdf": ("report.pdf", minimal_pdf("The glacier retreated 42 metres in 2019.")),
        "corrupt_pdf": ("broken.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R" + bytes(range(200))),
        "empty": ("empty.txt", b""),
        "binary": ("blob.txt", bytes(range(256)) * 8),
    }
    out = {}
    for case, (name, data) in files.items():
        path = folder / name
        path.write_bytes(data)
        out[case] = path
    out["docx"] = minimal_docx(folder / "manual.docx", ["The boiler must be serviced every 18 months."])
    return out


def tiny_embedder(folder: Path, dim: int = 32) -> Path:
    """A random sentence-transformers model (BERT, ``dim``-d) using MiniLM's tokenizer, offline."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, BertConfig, BertModel

    from core.rag.embeddings import default_embedder_path

    bert_dir = folder / "bert"
    tokenizer = AutoTokenizer.from_pretrained(str(default_embedder_path()))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=dim, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=dim * 2, max_position_embeddings=128)
    BertModel(config).save_pretrained(str(bert_dir))
    tokenizer.save_pretrained(str(bert_dir))
    word = models.Transformer(str(bert_dir), max_seq_length=64)
    model = SentenceTransformer(modules=[word, models.Pooling(dim, "mean")], device="cpu")
    target = folder / f"tiny-st-{dim}"
    model.save(str(target))
    return target
