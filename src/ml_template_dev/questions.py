"""The template's questions, read from questions.yml: the one source of what both engines ask.

copier.yml, cookiecutter.json and hooks/pre_gen_project.py are written from it (`engines`), and
the tests take the choices, the rules and their messages from here. `load` refuses a source that
breaks its own rules with one line naming the question and the fix (`QuestionsError`).
"""

from __future__ import annotations

import itertools
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined, TemplateSyntaxError

from ml_template_dev import ROOT, slug

SOURCE = ROOT / "questions.yml"
CHECKS = ("not_blank", "pattern", "not_one_of")
# Copier settings the generator writes itself (they make one tree serve both engines), and those
# that would make copier demand --trust.
GENERATOR_SETTINGS = ("_subdirectory", "_templates_suffix", "_envops")
UNSAFE_SETTINGS = ("_tasks", "_migrations", "_jinja_extensions")
COMPUTED = "cookiecutter"
# Jinja words that the lexer reads as names but are operators or literals.
JINJA_WORDS = {"and", "or", "not", "if", "else", "in", "is", "true", "false", "none"}
JINJA_WORDS |= {word.title() for word in JINJA_WORDS}


class QuestionsError(ValueError):
    """questions.yml breaks one of its own rules; the message says where and how to fix it."""


# `breaks` and `first_problem` are copied, as written here, into hooks/pre_gen_project.py: the
# hook and the tests run the same code. Standard library only (`re`), no names from this module.
def breaks(check: str, argument: Any, answer: str) -> bool:
    """Whether `answer` breaks one rule: the Python meaning of each check of questions.yml."""
    if check == "not_blank":
        return not answer.strip()
    if check == "pattern":
        return re.search(argument, answer) is None
    if check == "not_one_of":
        return answer in argument
    raise ValueError(f"unknown check {check!r}")


def first_problem(rules: list[tuple[str, str, Any, str]], answers: dict[str, str]) -> str:
    """The message of the first rule an answer breaks (rules in question order), else ''."""
    for question, check, argument, message in rules:
        if breaks(check, argument, answers[question]):
            return message.format_map(answers)
    return ""


@dataclass(frozen=True)
class Rule:
    """One check of one answer, the one-line message it gives, and answers that break it."""

    question: str
    check: str
    argument: Any  # not_blank: True; pattern: the regex; not_one_of: a tuple of strings
    message: str  # {question} stands for the answer
    rejects: tuple[str, ...]

    def as_tuple(self) -> tuple[str, str, Any, str]:
        """The rule as `first_problem` and the hook read it."""
        return (self.question, self.check, self.argument, self.message)

    def message_for(self, answer: str) -> str:
        """The message both engines print when `answer` breaks this rule."""
        return self.message.format_map({self.question: answer})


@dataclass(frozen=True)
class Question:
    """One question: prompt, default (a value or Jinja over earlier answers), choices, rules."""

    name: str
    help: str
    default: str
    choices: tuple[str, ...]
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Questions:
    """Everything questions.yml says: template version, copier-only settings, the questions."""

    version: str
    copier: dict[str, Any]
    questions: dict[str, Question]

    def rules(self) -> list[Rule]:
        """Every rule, in the order the engines check them."""
        return [rule for question in self.questions.values() for rule in question.rules]

    def defaults(self, **answers: str) -> dict[str, str]:
        """Every answer: those given, the others their default (Jinja over earlier answers)."""
        environment = Environment(undefined=StrictUndefined)
        for name, question in self.questions.items():
            if name not in answers:
                answers[name] = environment.from_string(question.default).render(answers)
        return {name: answers[name] for name in self.questions}

    def problem(self, answers: dict[str, str]) -> str:
        """The message the engines give for these answers, or '' when they are fine."""
        return first_problem([rule.as_tuple() for rule in self.rules()], answers)


def _fail(where: str, problem: str) -> QuestionsError:
    return QuestionsError(f"questions.yml, {where}: {problem}")


def _strings(value: object, where: str, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _fail(where, f"{what} must be a non-empty list of strings (quote 3.11, yes, no)")
    if len(set(value)) != len(value):
        raise _fail(where, f"{what} lists a value twice")
    return tuple(value)


def _lex(template: str) -> list[tuple[str, str]]:
    """A Jinja template's raw tokens (kind, text); their texts join back into the template."""
    try:
        tokens = [(kind, value) for _, kind, value in Environment().lex(template)]
    except TemplateSyntaxError as error:
        raise QuestionsError(f"not valid Jinja: {template!r} ({error.message})") from None
    if "".join(value for _, value in tokens) != template:
        raise QuestionsError(f"cannot read the Jinja of {template!r} token by token")
    return tokens


def _variable_positions(tokens: list[tuple[str, str]]) -> list[int]:
    """Indexes of the tokens that read a variable (not an attribute, filter, test or word)."""
    positions, previous = [], ""
    for index, (kind, value) in enumerate(tokens):
        if kind == "name" and previous not in (".", "|", "is") and value not in JINJA_WORDS:
            positions.append(index)
        if kind != "whitespace":
            previous = value
    return positions


def jinja_names(template: str) -> list[str]:
    """The variable names a Jinja template reads."""
    tokens = _lex(template)
    return [tokens[index][1] for index in _variable_positions(tokens)]


def with_prefix(template: str, names: set[str], prefix: str) -> str:
    """The template with `prefix` before each variable in `names` (e.g. `cookiecutter.`)."""
    tokens = _lex(template)
    for index in _variable_positions(tokens):
        kind, value = tokens[index]
        if value in names:
            tokens[index] = (kind, prefix + value)
    return "".join(value for _, value in tokens)


def _rule(question: str, spec: object, number: int) -> Rule:
    where = f"{question}, rule {number}"
    if not isinstance(spec, dict):
        raise _fail(where, "a rule is a mapping: one check, a message and rejects")
    checks = [key for key in spec if key in CHECKS]
    unknown = set(spec) - {*CHECKS, "message", "rejects"}
    if len(checks) != 1 or unknown:
        raise _fail(where, f"give exactly one check of {', '.join(CHECKS)}, a message and rejects")
    check = checks[0]
    argument = spec[check]
    if check == "not_blank" and argument is not True:
        raise _fail(where, "write the check as `not_blank: true`")
    if check == "pattern":
        if not isinstance(argument, str):
            raise _fail(where, "a pattern is a string (quote it)")
        try:
            re.compile(argument)
        except re.error as error:
            raise _fail(where, f"{argument!r} is not a regular expression ({error})") from None
    if check == "not_one_of":
        argument = _strings(argument, where, "not_one_of")
    message = spec.get("message")
    if not isinstance(message, str) or not message.strip() or "\n" in message.strip():
        raise _fail(where, "the message is one line of text (use `>-` to wrap it in the file)")
    for literal, field, spec_, conversion in string.Formatter().parse(message):
        if "{" in literal or "}" in literal:
            raise _fail(where, "a message has no braces but {" + question + "}")
        if field is not None and (field != question or spec_ or conversion):
            raise _fail(where, f"a message may only name its own answer, as {{{question}}}")
    rejects = _strings(spec.get("rejects"), where, "rejects (answers the rule refuses)")
    return Rule(question, check, argument, message.strip(), rejects)


def _question(name: str, spec: object, earlier: list[str]) -> Question:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or name == COMPUTED:
        raise _fail(name, f"a question name is lowercase letters, digits, _ (and not {COMPUTED})")
    if not isinstance(spec, dict) or set(spec) - {"help", "default", "slug_of", "choices", "rules"}:
        raise _fail(name, "a question has help, default (or slug_of) or choices, and rules")
    if "slug_of" in spec:
        if "default" in spec or spec["slug_of"] not in earlier:
            raise _fail(name, "slug_of names an earlier question, and replaces the default")
        spec = {**spec, "default": slug.jinja(spec["slug_of"])}
    help_text = spec.get("help")
    if not isinstance(help_text, str) or not help_text.strip():
        raise _fail(name, "help (the prompt) is required")
    choices: tuple[str, ...] = ()
    if "choices" in spec:
        choices = _strings(spec["choices"], name, "choices")
        default = spec.get("default", choices[0])
        if default != choices[0]:
            raise _fail(name, "the default is the first choice (cookiecutter's rule): reorder them")
    else:
        default = spec.get("default")
        if not isinstance(default, str):
            raise _fail(name, "a question without choices needs a default string (quote it)")
        for used in jinja_names(default):
            if used not in earlier:
                raise _fail(name, f"the default uses '{used}', which is not an earlier question")
    rules = tuple(_rule(name, rule, n) for n, rule in enumerate(spec.get("rules") or [], 1))
    if choices and rules:
        raise _fail(name, "both engines check choices themselves: drop the rules")
    for rule in rules:
        for answer in rule.rejects:
            first = next((r for r in rules if breaks(r.check, r.argument, answer)), None)
            if first is not rule:
                raise _fail(
                    f"{name}, rule {rules.index(rule) + 1}",
                    f"reject {answer!r} must break this rule and no earlier one",
                )
    if not any(mark in default for mark in ("{{", "{%", "{#")):
        broken = [r for r in rules if breaks(r.check, r.argument, default)]
        if broken:
            raise _fail(name, f"the default {default!r} breaks its own rule: {broken[0].message}")
    return Question(name, help_text.strip(), default, choices, rules)


def load(path: Path = SOURCE) -> Questions:
    """Read and check questions.yml (or another file in its format)."""
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or set(data) != {"version", "copier", "questions"}:
        raise QuestionsError(f"{path.name}: the top level is exactly version, copier, questions")
    version = data["version"]
    if not isinstance(version, str) or not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise _fail("version", "the template version is a quoted X.Y.Z string")
    settings = data["copier"]
    if not isinstance(settings, dict):
        raise _fail("copier", "copier settings are a mapping of _setting: value")
    for key in settings:
        if key in UNSAFE_SETTINGS:
            raise _fail("copier", f"{key} makes copier demand --trust: the template has none")
        if key in GENERATOR_SETTINGS:
            raise _fail("copier", f"{key} is written by scripts/generate_engines.py: drop it here")
        if not key.startswith("_"):
            raise _fail("copier", f"{key}: copier settings start with _ (questions go below)")
    if not isinstance(data["questions"], dict) or not data["questions"]:
        raise _fail("questions", "a mapping of question name: question")
    questions: dict[str, Question] = {}
    for name, spec in data["questions"].items():
        questions[name] = _question(name, spec, list(questions))
    return Questions(version, dict(settings), questions)


QUESTIONS = load()
VERSION = QUESTIONS.version
ANSWERS_FILE: str = QUESTIONS.copier.get("_answers_file", ".copier-answers.yml")


def choices(name: str) -> list[str]:
    """The choices offered for a question."""
    return list(QUESTIONS.questions[name].choices)


def all_combinations() -> list[dict[str, str]]:
    """Every combination of the multiple-choice answers."""
    names = [name for name, question in QUESTIONS.questions.items() if question.choices]
    return [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(choices(name) for name in names))
    ]


def combination_id(answers: dict[str, str]) -> str:
    """A short test id for a combination of answers."""
    return "-".join(answers.values())


def bad_answers() -> list[tuple[dict[str, str], str]]:
    """Each rule's rejected answers with the message both engines must give for it."""
    return [
        ({rule.question: answer}, rule.message_for(answer))
        for rule in QUESTIONS.rules()
        for answer in rule.rejects
    ]
