"""Cheaper construction of the frozen, slotted dataclasses built for every message.

A frozen dataclass's generated ``__init__`` stores each field with ``object.__setattr__(self,
"name", value)``, looking the attribute up by name every time; requests, responses, Vias and
events are built a dozen times per message. ``quick_init`` gives such a class an ``__init__``
with the same signature that stores through each field's slot descriptor directly: the object
is the same, still frozen, at about half the cost.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def quick_init(cls: type[T]) -> type[T]:
    params = dataclasses.fields(cls)  # type: ignore[arg-type]
    settings: Any = cls.__dict__.get("__dataclass_params__")
    if settings is None or not settings.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen dataclass with slots")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__")
    namespace: dict[str, Any] = {}
    arguments: list[str] = []
    stores: list[str] = []
    for index, field in enumerate(params):
        if not field.init or field.kw_only or field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{field.name}: only plain fields are supported")
        namespace[f"_set{index}"] = cls.__dict__[field.name].__set__
        if field.default is dataclasses.MISSING:
            arguments.append(field.name)
        else:
            namespace[f"_default{index}"] = field.default
            arguments.append(f"{field.name}=_default{index}")
        stores.append(f"    _set{index}(self, {field.name})")
    source = f"def __init__(self, {', '.join(arguments)}):\n" + ("\n".join(stores) or "    pass") + "\n"
    exec(source, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    setattr(cls, "__init__", init)  # noqa: B010 - mypy does not allow assigning a method
    return cls
