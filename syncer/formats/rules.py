"""Field rules: each one both checks a value and states itself as JSON Schema (OpenAPI 3.0 dialect).

A document format is a :class:`Record` of :class:`Field` s built from these rules; its validator and its
schema are the same object, so they cannot disagree. A check appends path-style messages
(``model 'x'.input_modalities: duplicate 'text'``) to a list instead of raising, so one pass reports every
problem. Messages are ``str.format`` templates over ``where`` (the entry, e.g. ``model 'x'``), ``key`` (the
field, dotted below the entry: ``pricing.prompt``) and ``value``. Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeGuard

Problems = list[str]
#: the message of a word outside the vocabulary in a list (``model 'x'.input_modalities: 'speech' ...``)
LISTED_WORD = "{where}.{key}: {value!r} is not allowed"
_Step = tuple["Rule", str, bool, frozenset[type], frozenset[str], bool]
#: a rule across fields of one record: (where, record) -> a message, or None when it holds
CrossCheck = Callable[[str, Mapping[str, Any]], str | None]


def is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Rule:
    """One kind of value. Subclasses set ``message`` and implement :meth:`check` and :meth:`schema`."""

    message: str

    def fail(self, problems: Problems, where: str, key: str, value: object) -> None:
        problems.append(self.message.format(where=where, key=key, value=value))

    def check(self, problems: Problems, where: str, key: str, value: object) -> None:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def plain_types(self) -> frozenset[type]:
        """Types of which every value passes (a record skips the call for them)."""
        return frozenset()


@dataclass(frozen=True)
class Text(Rule):
    """A string; ``pattern`` is searched, as JSON Schema's ``pattern`` is; an anchored one (``^...$``) must match
    the whole string (fullmatch: Python's ``$`` would let a trailing newline through, ECMA's does not)."""

    message: str = "{where}: {key} must be a string"
    pattern: str | None = None
    min_length: int = 0
    example: str | None = None
    _compiled: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.pattern) if self.pattern else None)

    def check(self, problems: Problems, where: str, key: str, value: object) -> None:
        if (
            not isinstance(value, str)
            or len(value) < self.min_length
            or (self._compiled is not None and not self._matches(self._compiled, value))
        ):
            self.fail(problems, where, key, value)

    def _matches(self, compiled: re.Pattern[str], value: str) -> bool:
        pattern = compiled.pattern
        if pattern.startswith("^") and pattern.endswith("$"):
            return compiled.fullmatch(value) is not None
        return compiled.search(value) is not None

    def plain_types(self) -> frozenset[type]:
        return frozenset({str}) if self.pattern is None and not self.min_length else frozenset()

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if self.min_length:
            schema["minLength"] = self.min_length
        if self.pattern:
            schema["pattern"] = self.pattern
        if self.example is not None:
            schema["example"] = self.example
        return schema


@dataclass(frozen=True)
class Integer(Rule):
    message: str = "{where}: {key} must be an integer"
    minimum: int | None = None
    maximum: int | None = None

    def check(self, problems: Problems, where: str, key: str, value: object) -> None:
        if (
            not is_int(value)
            or (self.minimum is not None and value < self.minimum)
            or (self.maximum is not None and value > self.maximum)
        ):
            self.fail(problems, where, key, value)

    def plain_types(self) -> frozenset[type]:
        return frozenset({int}) if self.minimum is None and self.maximum is None else frozenset()

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema


@dataclass(frozen=True)
class Number(Rule):
    message: str = "{where}: {key} must be a number"

    def check(self, problems: Problems, where: str, key: str, value: object) -> None:
        if not is_number(value):
            self.fail(problems, where, key, value)

    def plain_types(self) -> frozenset[type]:
        return frozenset({int, float})

    def schema(self) -> dict[str, Any]:
        return {"type": "number"}


@dataclass(frozen=True)
class Boolean(Rule):
    message: str = "{where}: {key} must be a boolean"

    def check(self, problems: Problems, where: str, key: str, value: object) -> None:
        if not isinstance(value, bool):
            self.fail(problems, where, key, value)

    def plain_types(self) -> frozenset[type]:
        return frozenset({bool})

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True)
class Scalar(Rule):
    """A string, a number or a boolean."""

    message: str = "{where}: {key} must be a string, a number or a boolean"

    def check(self, problems: Problems, where: str, key: str, value: object) -> None:
        if not isinstance(value, str | int | float):  # bool is an int
            self.fail(problems, where, key, value)

    def plain_types(self) -> frozenset[type]:
        return frozenset({str, int, float, bool})

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}


@dataclass(frozen=True)
class OneOf(Rule):
    """One word of a vocabulary (a StrEnum), or one constant."""

    words: type[StrEnum] | tuple[str, ...]
    message: str = "{where}: {key} {value!r} is not allowed"
    allowed: frozenset[str] = field(init=False, repr=False, compare=False, default=frozenset())

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed", frozenset(self.values))

    @property
    def values(self) -> list[str]:
        return [str(word) for word in self.words]

    def check(self, problems: Problems, where: str, key: str, value: object) -> None:
        if not isinstance(value, str) or value not in self.allowed:
            self.fail(problems, where, key, value)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": self.values}


@dataclass(frozen=True)
class Items(Rule):
    """A list without duplicates, each item obeying ``item`` (messages under ``{where}.{key}``)."""

    item: Rule | None = None
    nonempty: bool = False
    #: items are objects told apart by this key (their duplicates are reported by it)
    unique_by: str | None = None
    message: str = "{where}.{key}: must be a list"
    empty_message: str = "{where}.{key}: must not be empty"
    duplicate_message: str = "{where}.{key}: duplicate {value!r}"
    _plain: frozenset[type] = field(init=False, repr=False, compare=False, default=frozenset())

    def __post_init__(self) -> None:
        object.__setattr__(self, "_plain", self.item.plain_types() if self.item is not None else frozenset())

    def check(self, problems: Problems, where: str, key: str, value: object) -> None:
        if not isinstance(value, list):
            self.fail(problems, where, key, value)
            return
        if not value:
            if self.nonempty:
                problems.append(self.empty_message.format(where=where, key=key, value=value))
            return
        item_rule = self.item
        words: frozenset[str] | None = item_rule.allowed if isinstance(item_rule, OneOf) else None
        distinct: set[Any] | None
        identities = value if self.unique_by is None else [self._identity(v) for v in value]
        try:
            distinct = set(identities)
        except TypeError:  # unhashable items (objects): told apart by their reprs below
            distinct = None
        if distinct is not None and len(distinct) == len(value):
            if words is not None and words.issuperset(distinct):
                return  # the common case, at C speed: distinct words of the vocabulary
            plain = self._plain
            if item_rule is None or (plain and all(type(v) in plain for v in value)):
                return
            duplicated = False
        else:
            duplicated = len(value) > 1 and len({repr(v) for v in identities}) != len(value)
        seen: set[str] = set()
        for item, identity in zip(value, identities, strict=True):
            if duplicated:
                text = repr(identity)
                if text in seen:
                    problems.append(self.duplicate_message.format(where=where, key=key, value=identity))
                seen.add(text)
            if item_rule is not None:
                item_rule.check(problems, where, key, item)

    def _identity(self, item: object) -> object:
        return item.get(self.unique_by) if self.unique_by is not None and isinstance(item, dict) else item

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "items": self.item.schema() if self.item else {}}
        schema["uniqueItems"] = True
        if self.nonempty:
            schema["minItems"] = 1
        return schema


@dataclass(frozen=True)
class Map(Rule):
    """An object with any keys, every value obeying ``values``."""

    values: Rule
    message: str = "{where}: {key} must be an object"

    def check(self, problems: Problems, where: str, key: str, value: object) -> None:
        if not isinstance(value, Mapping):
            self.fail(problems, where, key, value)
            return
        for name, item in value.items():
            self.values.check(problems, where, f"{key}.{name}", item)

    def schema(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": self.values.schema()}


@dataclass(frozen=True)
class Field:
    name: str
    rule: Rule
    required: bool = False
    nullable: bool = False
    description: str | None = None

    def schema(self) -> dict[str, Any]:
        schema = self.rule.schema()
        if self.nullable:
            schema["nullable"] = True
            if "enum" in schema:
                schema["enum"] = [*schema["enum"], None]
        if self.description:
            schema["description"] = self.description
        return schema


@dataclass(frozen=True)
class Record(Rule):
    """An object of named fields.

    ``closed``: no other key (each one reported with ``unknown_message``). A required key that is missing is
    reported with ``missing_message`` (unless None); with ``check_missing`` its rule also sees ``None`` (so the missing
    value's own message follows). ``exact_message``: any unknown or missing key is this one problem instead,
    and the fields are not checked. ``checks`` run after the fields, across them.
    """

    fields: Sequence[Field]
    message: str = "{where}: {key} must be an object"
    closed: bool = True
    unknown_message: str = "{where}: unknown key {value!r} in {key}"
    missing_message: str | None = "{where}: missing key {value!r} in {key}"
    check_missing: bool = False
    exact_message: str | None = None
    checks: Sequence[CrossCheck] = ()
    description: str | None = None
    _names: frozenset[str] = field(init=False, repr=False, compare=False, default=frozenset())
    _required: frozenset[str] = field(init=False, repr=False, compare=False, default=frozenset())
    #: per parent key: field name -> (rule, dotted key, nullable, types that pass, words that pass,
    #: whether any non-empty string passes): the values that pass without calling the rule
    _plans: dict[str, dict[str, _Step]] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_names", frozenset(f.name for f in self.fields))
        object.__setattr__(self, "_required", frozenset(f.name for f in self.fields if f.required))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    def _plan(self, key: str) -> dict[str, _Step]:
        plan = self._plans.get(key)
        if plan is None:  # keys are the format's own paths (no list indexes): a handful per record
            plan = {
                f.name: (
                    f.rule,
                    f"{key}.{f.name}" if key else f.name,
                    f.nullable,
                    f.rule.plain_types(),
                    f.rule.allowed if isinstance(f.rule, OneOf) else frozenset(),
                    isinstance(f.rule, Text) and f.rule.pattern is None and f.rule.min_length == 1,
                )
                for f in self.fields
            }
            self._plans[key] = plan
        return plan

    def check(self, problems: Problems, where: str, key: str, value: object) -> None:
        if type(value) is not dict and not isinstance(value, Mapping):
            self.fail(problems, where, key, value)
            return
        names = value.keys()
        unknown = self.closed and not self._names.issuperset(names)
        missing = not self._required <= names
        if self.exact_message is not None:
            if unknown or missing:
                problems.append(self.exact_message.format(where=where, key=key, value=value))
                return
        else:
            if unknown:
                for name in value:
                    if name not in self._names:
                        problems.append(self.unknown_message.format(where=where, key=key, value=name))
            if missing and self.missing_message is not None:
                for f in self.fields:
                    if f.required and f.name not in value:
                        problems.append(self.missing_message.format(where=where, key=key, value=f.name))
        plan = self._plans.get(key) or self._plan(key)
        if missing and self.check_missing:
            for f in self.fields:
                if f.required and f.name not in value:
                    f.rule.check(problems, where, plan[f.name][1], None)
        for name, item in value.items():
            step = plan.get(name)
            if step is None:
                continue
            rule, dotted, nullable, plain, words, any_non_empty = step
            if type(item) in plain or (item is None and nullable):
                continue
            if type(item) is str and (item in words or (any_non_empty and item)):
                continue
            rule.check(problems, where, dotted, item)
        for cross in self.checks:
            message = cross(where, value)
            if message is not None:
                problems.append(message)

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "object"}
        if self.description:
            schema["description"] = self.description
        schema["properties"] = {f.name: f.schema() for f in self.fields}
        if self.required:
            schema["required"] = list(self.required)
        schema["additionalProperties"] = not self.closed
        return schema


@dataclass(frozen=True)
class ObjectOrList(Rule):
    """Either one object obeying ``single`` or a non-empty list of objects (``first`` for the first item,
    ``rest`` for each later one): a value that is sometimes one thing, sometimes tiers of it."""

    single: Record
    first: Record
    rest: Record
    message: str = "{where}: {key} must be an object or a non-empty list of objects"

    def check(self, problems: Problems, where: str, key: str, value: object) -> None:
        if isinstance(value, Mapping):
            self.single.check(problems, where, key, value)
        elif isinstance(value, list) and value:
            self.first.check(problems, where, f"{key}[0]", value[0])
            for index, item in enumerate(value[1:], start=1):
                self.rest.check(problems, where, f"{key}[{index}]", item)
        else:
            self.fail(problems, where, key, value)

    def schema(self) -> dict[str, Any]:
        return {
            "oneOf": [
                self.single.schema(),
                {
                    "type": "array",
                    "minItems": 1,
                    "items": {"anyOf": [self.first.schema(), self.rest.schema()]},
                },
            ]
        }


def listing_problems(
    entries: Iterable[object], entry: Record | None, *, where: Callable[[Mapping[str, Any]], str]
) -> Problems:
    """Every entry's problems, then the listing's own rules: ids unique, entries sorted by id. With
    ``entry`` None, only the listing's own rules (for entries each validated when they were made)."""
    problems: Problems = []
    ids: list[str] = []
    for item in entries:
        if not isinstance(item, Mapping):
            problems.append("every entry must be an object")
            continue
        if entry is not None:
            entry.check(problems, where(item), "", item)
        model_id = item.get("id")
        if isinstance(model_id, str) and model_id:
            ids.append(model_id)
    if len(set(ids)) != len(ids):
        problems.append("ids are not unique")
    if ids != sorted(ids):
        problems.append("entries are not sorted by id")
    return problems


def model_where(entry: Mapping[str, Any]) -> str:
    return f"model {entry.get('id')!r}"


def entry_problems(record: Record, entry: Mapping[str, Any]) -> Problems:
    """Every rule of ``record`` that one listing entry must obey; the problems (empty when valid)."""
    problems: Problems = []
    record.check(problems, model_where(entry), "", entry)
    return problems
