"""Split a document's text into overlapping chunks that end on sentence boundaries.

Sentence ends: Chinese ``。！？；…`` (with closing quotes), English ``. ! ?`` followed by a
space or, as in text scraped without spaces (``socialism.Humans``), a capital letter, and
line breaks. A chunk holds as many whole sentences as fit in ``size`` characters; a sentence
longer than that is cut at a comma or space. The next chunk starts ``overlap`` characters
back, moved forward to the next sentence start (or word start) inside that window.

Every chunk is an exact slice ``text[start:end]``, so neighbouring chunks can be stitched
back together without repeating their overlap (see ``retrieval.merge_spans``).

    >>> split_sentences("第一句。第二句！Third one. Mr. Smith came.Then he left")
    ['第一句。', '第二句！', 'Third one.', 'Mr. Smith came.', 'Then he left']
    >>> [(c.start, c.end) for c in chunk_text(long_text, size=500, overlap=80)]   # doctest: +SKIP
"""
from __future__ import annotations

import bisect
import re
from dataclasses import asdict, dataclass

DEFAULT_CHUNK_SIZE = 500
DEFAULT_OVERLAP = 80
MIN_CHUNK_SIZE = 50

# Words after which "." does not end a sentence (single capitals are initials: "J. Smith").
_ABBREVIATIONS = ("Mr", "Ms", "Dr", "St", "vs", "No", "Mrs", "etc", r"e\.g", r"i\.e", "Jr", "Sr",
                  "[A-Z]")
_CLOSERS = "”’\"'」』）)】》"
_SENTENCE_END = re.compile(
    r"[。！？；!?…]+[" + _CLOSERS + r"]*"          # Chinese and !? enders
    r"|" + "".join(rf"(?<!\b{a})" for a in _ABBREVIATIONS) + r"\.+[" + _CLOSERS + r"]*(?=\s|$)"
    r"|(?<=[a-z)\]][a-z)\]])\.(?=[A-Z])"          # "socialism.Humans" (scraped text)
    r"|\n"
)
_SOFT_BREAK = re.compile(r"[，,、：:;)\]）]\s*|\s+")


@dataclass
class Chunk:
    index: int   # position in the document, 0-based
    text: str
    start: int   # text == document[start:end]
    end: int

    def to_dict(self) -> dict:
        return asdict(self)


def sentence_ends(text: str) -> list[int]:
    """Offsets just after each sentence end (sorted)."""
    return [m.end() for m in _SENTENCE_END.finditer(text)]


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped, empty ones dropped."""
    out, prev = [], 0
    for end in sentence_ends(text) + [len(text)]:
        piece = text[prev:end].strip()
        if piece:
            out.append(piece)
        prev = end
    return out


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _soft_end(text: str, start: int, limit: int) -> int:
    """A cut inside an over-long sentence: the last comma/space in the second half, else ``limit``."""
    best = None
    for m in _SOFT_BREAK.finditer(text, start + (limit - start) // 2, limit):
        best = m.end()
    return best if best and best > start else limit


def validate_sizes(size: int, overlap: int) -> None:
    from core.errors import UserError

    if size < MIN_CHUNK_SIZE:
        raise UserError("err.rag.chunk_small", size=size, min=MIN_CHUNK_SIZE, field="chunk_size",
                        hint="err.rag.chunk_small.hint")
    if overlap < 0 or overlap >= size // 2:
        raise UserError("err.rag.overlap", overlap=overlap, half=size // 2, field="overlap",
                        hint="err.rag.overlap.hint")


def chunk_text(text: str, size: int = DEFAULT_CHUNK_SIZE, overlap: int = DEFAULT_OVERLAP) -> list[Chunk]:
    """Cut ``text`` into chunks of at most ``size`` characters overlapping by up to ``overlap``.

    Args:
        text: cleaned document text (see ``loaders.clean_text``).
        size: maximum characters per chunk.
        overlap: characters repeated from the end of one chunk at the start of the next.
    Returns:
        Chunks in document order; ``chunk.text == text[chunk.start:chunk.end]``.
    """
    validate_sizes(size, overlap)
    ends = sentence_ends(text)
    starts = sorted({_skip_space(text, e) for e in ends})
    n = len(text)
    chunks: list[Chunk] = []
    pos = _skip_space(text, 0)
    while pos < n:
        limit = pos + size
        if limit >= n:
            end = n
        else:
            i = bisect.bisect_right(ends, limit) - 1
            # Take the last sentence end that fits, unless it leaves a uselessly short chunk.
            if i >= 0 and ends[i] > pos and ends[i] - pos >= size // 3:
                end = ends[i]
            else:
                end = _soft_end(text, pos, limit)
        raw_end = end
        while end > pos and text[end - 1].isspace():
            end -= 1
        chunks.append(Chunk(index=len(chunks), text=text[pos:end], start=pos, end=end))
        if raw_end >= n:
            break
        nxt = raw_end
        if overlap:
            window = max(pos + 1, end - overlap)
            j = bisect.bisect_left(starts, window)
            if j < len(starts) and starts[j] < end:
                nxt = starts[j]
            else:  # no sentence starts in the window: start at a word boundary in it
                m = re.compile(r"\s").search(text, window, end)
                nxt = m.end() if m else window
        if nxt <= pos:
            nxt = raw_end
        pos = _skip_space(text, nxt)
    return chunks
