"""One way to build an API type from a domain object (领域对象 → GraphQL 类型).

A strawberry type that mixes in `FromDomain` is built with `Type.from_domain(obj, **values)`: every
field the type's constructor takes (its GraphQL fields and its `strawberry.Private` ones) is read
from `obj` by the same name, unless given in `values` (a renamed key, a code turned into its enum,
a value computed for the viewer). Fields with a resolver are not copied: they resolve themselves.
A type whose fields always differ from its domain object's (a row's `id` kept as `pk`, a stored code
turned into its enum) overrides `from_domain` once, so no caller spells the fields out.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Self


class FromDomain:
    """Mixin for strawberry types built from a domain object or a row by field names."""

    @classmethod
    def from_domain(cls, obj: Any, /, **values: Any) -> Self:
        # a strawberry type is a dataclass; the mixin itself is not, hence the ignore
        names = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
        unknown = values.keys() - set(names)
        if unknown:
            raise TypeError(f"{cls.__name__} has no fields {sorted(unknown)}")
        return cls(**{name: values[name] if name in values else getattr(obj, name) for name in names})
