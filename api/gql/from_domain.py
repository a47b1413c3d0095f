"""One way to build an API type from a domain object (领域对象 → GraphQL 类型).

Design notes: docs/design/api-gql.md."""

from __future__ import annotations

import dataclasses
from typing import Any, Self


class FromDomain:
    """Mixin for strawberry types built from a domain object or a row by field names."""

    @classmethod
    def from_domain(cls, obj: Any, /, **values: Any) -> Self:
        names = _init_names(cls)
        unknown = values.keys() - set(names)
        if unknown:
            raise TypeError(f"{cls.__name__} has no fields {sorted(unknown)}")
        return cls(**{name: values[name] if name in values else getattr(obj, name) for name in names})


_INIT_NAMES: dict[type, tuple[str, ...]] = {}


def _init_names(cls: type) -> tuple[str, ...]:
    """The fields a type's constructor takes (read once per type: a rollup builds hundreds)."""
    names = _INIT_NAMES.get(cls)
    if names is None:
        names = _INIT_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.init)
    return names
