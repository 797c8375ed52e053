"""Identity meter: did the model learn its new identity, or only the phrasings it was trained on?

Every model (base and each checkpoint) answers two question sets about who it is: the phrasings
of the training data ("seen") and held-out ones it never saw. A hit is an answer that names the
new identity. A checkpoint that hits the seen phrasings but misses the held-out ones memorised
the questions rather than learning who it is; the misses are listed so the user can read them.

HELDOUT_QUESTIONS (30+ Chinese, 30+ English) share no phrasing with the personal-assistant
generator's (core.data.assistant.PRESETS); a user may give their own list instead.

    spec = identity_spec_for_dataset("assistant")           # name, author, seen phrasings from the set
    scores = measure_identity(lm, ["RUN/checkpoint-10", "RUN/adapter"], spec)
    scores[1].hit_rate_seen, scores[1].hit_rate_heldout, scores[1].misses
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.errors import UserError

HELDOUT_QUESTIONS: dict[str, tuple[str, ...]] = {
    "zh": (
        "你怎么称呼？", "介绍一下你自己吧", "你是哪位？", "请问怎么称呼你？", "能告诉我你的名字吗？",
        "你是什么模型？", "你是谁做的？", "谁创造了你？", "你的开发者是谁？", "你是哪家公司的产品？",
        "我该怎么称呼你？", "你有名字吗？", "说说你是谁", "你好，你是？", "简单介绍一下你自己",
        "你是一个什么样的助手？", "你的身份是什么？", "请自我介绍一下", "你到底是谁？", "跟我讲讲你自己",
        "你是人工智能吗？你叫啥？", "你是由谁训练出来的？", "你属于哪个团队？", "你的作者是谁？",
        "可以介绍下你的来历吗？", "你是什么助手？", "和我说说你的名字和来历", "在和我聊天的是谁？",
        "嗨，请问你是谁呀？", "你是ChatGPT吗？", "你能做个简短的自我介绍吗？", "你的名字叫什么？",
    ),
    "en": (
        "What should I call you?", "Tell me who you are.", "What name do you go by?", "Introduce yourself, please.",
        "Who created you?", "Who built you?", "Who is your developer?", "Which company made you?",
        "Are you ChatGPT?", "What are you?", "Do you have a name?", "Who am I talking to?",
        "Can you tell me a bit about yourself?", "Hi! Who is this?", "What kind of assistant are you?",
        "May I know your name?", "Who trained you?", "Who is your author?", "Give me a short self-introduction.",
        "Describe yourself in one sentence.", "What is your identity?", "Who owns you?",
        "Where do you come from?", "Are you an AI? What's your name?", "Please say who you are.",
        "Who designed you?", "What do people call you?", "Hello, what is your name and who made you?",
        "Could you introduce yourself briefly?", "Which model are you?", "Tell me your name.",
        "Who made this assistant?",
    ),
}
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass
class IdentitySpec:
    """The identity to look for and the two question sets."""

    name: str
    author: str = ""
    seen: list[str] = field(default_factory=list)
    heldout: list[str] = field(default_factory=list)


@dataclass
class IdentityScore:
    label: str
    hit_rate_seen: float | None
    hit_rate_heldout: float | None
    n_seen: int
    n_heldout: int
    misses: list[dict] = field(default_factory=list)  # {"set": "seen"|"heldout", "question", "answer"}
    answers: list[dict] = field(default_factory=list)  # every question with its answer and hit

    def to_dict(self, with_answers: bool = False) -> dict:
        data = asdict(self)
        if not with_answers:
            data.pop("answers")
        return data


def phrasing_key(text: str) -> str:
    """A question without case, spaces and punctuation: 你是谁？ and 你是谁 are one phrasing."""
    return _PUNCT.sub("", (text or "").casefold())


def default_heldout(seen: list[str] | None = None) -> list[str]:
    """Both languages' held-out questions, minus any that is among ``seen`` (as a phrasing)."""
    taken = {phrasing_key(q) for q in seen or []}
    return [q for lang in ("zh", "en") for q in HELDOUT_QUESTIONS[lang] if phrasing_key(q) not in taken]


def read_question_file(path: Path | str) -> list[str]:
    """Questions from a file (one per line, or any prompt file core.chat.prompts reads)."""
    from core.chat.prompts import read_prompt_file

    return [item.prompt for item in read_prompt_file(path)]


def names_identity(answer: str, spec: IdentitySpec) -> bool:
    """Whether ``answer`` names the new identity (its name; case and spacing ignored)."""
    return phrasing_key(spec.name) in phrasing_key(answer)


def dataset_questions(rows: list[dict]) -> list[str]:
    """The distinct last user questions of chat rows (the phrasings a model was trained on)."""
    seen: dict[str, str] = {}
    for row in rows:
        users = [m.get("content", "") for m in row.get("messages", []) if m.get("role") == "user"]
        if users and phrasing_key(users[-1]) not in seen:
            seen[phrasing_key(users[-1])] = users[-1]
    return list(seen.values())


def identity_spec_for_dataset(dataset: str, name: str | None = None, author: str | None = None,
                              heldout: list[str] | None = None) -> IdentitySpec:
    """The spec of a dataset: its distinct user questions are the seen phrasings; name and author
    come from the personal-assistant generator's meta unless given."""
    from core.data import store

    meta = store.read_meta(dataset).extra.get("assistant") or {}
    name = (name or meta.get("name") or "").strip()
    if not name:
        raise UserError("err.eval.identity_name", field="name", hint="err.eval.identity_name.hint",
                        dataset=dataset)
    seen = dataset_questions(store.load_rows(dataset))
    return make_spec(name, author or meta.get("author", ""), seen, heldout)


def make_spec(name: str, author: str, seen: list[str], heldout: list[str] | None = None) -> IdentitySpec:
    """A spec with ``heldout`` (default: HELDOUT_QUESTIONS) cleaned of any phrasing in ``seen``."""
    if not (name or "").strip():
        raise UserError("err.eval.identity_name", field="name", hint="err.eval.identity_name.hint", dataset="-")
    taken = {phrasing_key(q) for q in seen}
    questions = heldout if heldout is not None else default_heldout(seen)
    held = [q for q in questions if q.strip() and phrasing_key(q) not in taken]
    if not held:
        raise UserError("err.eval.identity_no_heldout", field="heldout", hint="err.eval.identity_no_heldout.hint")
    return IdentitySpec(name.strip(), (author or "").strip(), list(seen), held)


def _rate(hits: list[bool]) -> float | None:
    return sum(hits) / len(hits) if hits else None


def measure_identity(lm, adapters: list[str | Path], spec: IdentitySpec, settings=None, *,
                     include_base: bool = True, progress=None) -> list[IdentityScore]:
    """Every model answers the seen and the held-out questions (all in mixed-adapter batches)."""
    from core.chat.batch import Request, generate_many
    from core.chat.compare import check_fits, model_columns
    from core.chat.generate import GenerationSettings

    settings = settings or GenerationSettings(max_new_tokens=64, temperature=0, repetition_penalty=1.0)
    columns = model_columns(adapters, include_base)
    check_fits(lm.path, [c.adapter for c in columns if c.adapter])
    questions = [("seen", q) for q in spec.seen] + [("heldout", q) for q in spec.heldout]
    requests = [Request([{"role": "user", "content": q}], c.adapter) for c in columns for _, q in questions]
    answers = generate_many(lm, requests, settings, progress=progress)
    scores = []
    for c, column in enumerate(columns):
        own = answers[c * len(questions):(c + 1) * len(questions)]
        rows = [{"set": kind, "question": q, "answer": a or "", "hit": names_identity(a or "", spec)}
                for (kind, q), a in zip(questions, own)]
        scores.append(IdentityScore(
            label=column.label,
            hit_rate_seen=_rate([r["hit"] for r in rows if r["set"] == "seen"]),
            hit_rate_heldout=_rate([r["hit"] for r in rows if r["set"] == "heldout"]),
            n_seen=len(spec.seen), n_heldout=len(spec.heldout),
            misses=[{k: r[k] for k in ("set", "question", "answer")} for r in rows if not r["hit"]],
            answers=rows))
    return scores
