"""Argument bounds on every field that takes arguments (参数校验), before its resolver runs.

`ArgumentBounds` walks the arguments a resolver receives, input objects and lists included, and
checks each string, list and integer against `zizhu.domain.reference.inputs` by its GraphQL name,
so an oversized or malformed value is answered VALIDATION naming it (`inputs[3].idNumber`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.types.base import get_object_definition
from strawberry.types.field import StrawberryField

from zizhu.domain.reference import inputs


def _camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m[1].upper(), name)


def _check(field: str, name: str, value: Any, path: str) -> None:
    if isinstance(value, str):
        inputs.check_text(field, name, value, path)
    elif isinstance(value, (list, tuple)):
        inputs.check_list(name, value, path)
        for index, item in enumerate(value):
            _check(field, name, item, f"{path}[{index}]")
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        inputs.check_int(name, value, path)
    elif dataclasses.is_dataclass(value):  # a Strawberry input object
        for f in dataclasses.fields(value):
            inner = _camel(f.name)
            _check(field, inner, getattr(value, f.name), f"{path}.{inner}")


class ArgumentBounds(FieldExtension):
    def apply(self, field: StrawberryField) -> None:
        self.field_name = _camel(field.python_name)

    def check(self, kwargs: dict[str, Any]) -> None:
        for python_name, value in kwargs.items():
            name = _camel(python_name)
            _check(self.field_name, name, value, name)

    # positional-only, unlike FieldExtension's: a field may take an argument named `source` or `info`
    def resolve(self, next_, source: Any, info, /, **kwargs: Any) -> Any:  # type: ignore[override]
        self.check(kwargs)
        return next_(source, info, **kwargs)

    async def resolve_async(self, next_, source: Any, info, /, **kwargs: Any) -> Any:  # type: ignore[override]
        self.check(kwargs)
        return await next_(source, info, **kwargs)


def bound_arguments(*types: type) -> None:
    """Wrap every field of these types that takes arguments in ArgumentBounds.

    Strawberry chains field extensions so that the last one listed runs first: appended last,
    the bounds are checked before any other extension (the window guard reads arguments too).
    """
    for type_ in types:
        for field in get_object_definition(type_, strict=True).fields:
            if field.arguments and not any(isinstance(e, ArgumentBounds) for e in field.extensions):
                field.extensions = [*field.extensions, ArgumentBounds()]
