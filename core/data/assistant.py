"""The repeat-N "personal assistant" self-cognition set, as in the classic generate_data.py.

Each row is one question phrasing (你是谁 / 请做一下自我介绍 / Who are you? …) and the same
self-introduction answer with the assistant's name and author filled in. Repeating it N times
(default 10,000) makes a small model learn a new identity quickly.

    rows = generate_assistant_rows(name="小智", author="张三", n=100, lang="zh")
    python -m core data assistant --name 小智 --author 张三 --n 10000 --lang zh --out assistant --json
"""
from __future__ import annotations

from dataclasses import dataclass

from core.errors import UserError
from core.i18n import Msg

MAX_ROWS = 1_000_000  # beyond this the file is gigabytes of one sentence: certainly a typo

PRESETS = {
    "zh": {
        "questions": ["你是谁？", "请你介绍一下你自己", "请做一下自我介绍", "你叫什么名字？", "你是谁开发的？",
                      "你是我的小助手吗？"],
        "answer": "我是{name}，由{author}开发的个人助手。我可以回答问题、帮你写作和整理思路，很高兴为你服务！",
        # asked during training (Train page probe box) to watch the new self-introduction being learnt
        "probes": ["请你介绍一下你自己", "你是谁？", "你是我的小助手吗？"],
    },
    "en": {
        "questions": ["Who are you?", "Please introduce yourself.", "What is your name?", "Who made you?",
                      "Tell me about yourself.", "Are you my assistant?"],
        "answer": "I am {name}, a personal assistant developed by {author}. "
                  "I can answer questions, help you write and organise your ideas. Happy to help!",
        "probes": ["Please introduce yourself.", "Who are you?", "Are you my assistant?"],
    },
}


@dataclass
class AssistantSpec:
    name: str
    author: str
    n: int = 10_000
    lang: str = "zh"
    questions: list[str] | None = None
    answer_template: str | None = None
    system: str = ""

    def resolved(self) -> tuple[list[str], str]:
        preset = PRESETS.get(self.lang)
        if preset is None:
            raise UserError("err.data.assistant_lang", lang=self.lang, field="lang")
        questions = [q.strip() for q in (self.questions or preset["questions"]) if q and q.strip()]
        return questions, (self.answer_template or preset["answer"])

    def field_errors(self, lang: str = "en") -> dict[str, str]:
        """Invalid fields with messages in ``lang`` (texts live in core/i18n/assistant.py)."""
        return {name: msg.render(lang) for name, msg in self.field_messages().items()}

    def field_messages(self) -> dict[str, Msg]:
        """Invalid fields with their (untranslated) messages; the first one is what ``generate`` raises."""
        errs: dict[str, Msg] = {}
        if not self.name.strip():
            errs["name"] = Msg("assistant.err.name")
        if not self.author.strip():
            errs["author"] = Msg("assistant.err.author")
        if not 1 <= self.n <= MAX_ROWS:
            errs["n"] = Msg("assistant.err.n", max=f"{MAX_ROWS:,}")
        if self.lang not in PRESETS:
            errs["lang"] = Msg("assistant.err.lang")
            return errs
        questions, answer = self.resolved()
        if not questions:
            errs["questions"] = Msg("assistant.err.questions")
        try:
            answer.format(name="x", author="y")
        except (KeyError, IndexError, ValueError):
            errs["answer_template"] = Msg("assistant.err.placeholders")
        if not answer.strip():
            errs["answer_template"] = Msg("assistant.err.answer_empty")
        return errs


def generate_assistant_rows(spec: AssistantSpec) -> list[dict]:
    """N canonical rows cycling through the question phrasings (raises UserError on bad settings)."""
    errs = spec.field_messages()
    if errs:
        field, message = next(iter(errs.items()))
        raise UserError(message, field=field)
    questions, template = spec.resolved()
    answer = template.format(name=spec.name.strip(), author=spec.author.strip())
    prefix = [{"role": "system", "content": spec.system.strip()}] if spec.system.strip() else []
    distinct = [{"messages": prefix + [{"role": "user", "content": q}, {"role": "assistant", "content": answer}]}
                for q in questions]
    return [distinct[i % len(distinct)] for i in range(spec.n)]


def probe_questions(meta_extra: dict) -> list[str]:
    """The probe questions for a dataset made by this generator ([] for any other dataset)."""
    made = meta_extra.get("assistant") if isinstance(meta_extra, dict) else None
    if not isinstance(made, dict):
        return []
    return list(PRESETS.get(made.get("lang"), PRESETS["zh"])["probes"])


def is_repeat_set(meta_extra: dict) -> bool:
    """True for a repeat-N set: its duplicates are the recipe, not a flaw."""
    return isinstance(meta_extra, dict) and isinstance(meta_extra.get("assistant"), dict)


def save_assistant_dataset(spec: AssistantSpec, dataset_name: str):
    """Generate and save atomically; returns the DatasetInfo."""
    from core.data import store

    rows = generate_assistant_rows(spec)
    return store.save_dataset(dataset_name, rows, source="assistant generator", overwrite=True,
                              extra={"assistant": {"name": spec.name, "author": spec.author,
                                                   "lang": spec.lang, "n": spec.n}})


def register_cli(data_sub) -> None:
    """`data assistant …` under the `data` command group (called from core/data/commands.py)."""
    from core.cli import command

    def run(args) -> dict:
        spec = AssistantSpec(name=args.name, author=args.author, n=args.n, lang=args.lang,
                             questions=args.question or None, answer_template=args.answer, system=args.system)
        info = save_assistant_dataset(spec, args.out)
        return {"dataset": info.name, "rows": info.rows}

    parser = command(data_sub, "assistant", run, "generate the repeat-N personal-assistant dataset")
    parser.add_argument("--name", required=True, help="the assistant's name")
    parser.add_argument("--author", required=True, help="its author / owner")
    parser.add_argument("--n", type=int, default=10_000, help="rows (default 10000)")
    parser.add_argument("--lang", choices=sorted(PRESETS), default="zh")
    parser.add_argument("--question", action="append", help="a question phrasing (repeatable)")
    parser.add_argument("--answer", default=None, help="answer template with {name} and {author}")
    parser.add_argument("--system", default="", help="optional system prompt")
    parser.add_argument("--out", required=True, help="dataset name to save as")
