"""Case-insensitive access to an lxml MANSCDP tree (devices vary the case of tag names)."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from .values import to_int


def local_name(tag: object) -> str:
    """An element's tag without any namespace; '' for comments and processing instructions."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def leaf_fields(element: etree._Element) -> dict[str, str]:
    """Text of the element's childless children, keyed by tag as written (first wins)."""
    return leaves_and_branches(element)[0]


def leaves_and_branches(element: etree._Element) -> tuple[dict[str, str], dict[str, etree._Element]]:
    """In one pass over the children: the text of the childless ones keyed by tag as written,
    and the others keyed by lower-case tag (first wins in both)."""
    leaves: dict[str, str] = {}
    branches: dict[str, etree._Element] = {}
    for sub in element:
        tag = sub.tag
        if not isinstance(tag, str):
            continue  # a comment or processing instruction
        if "}" in tag:
            tag = tag.rsplit("}", 1)[-1]
        if not tag:
            continue
        if len(sub):
            branches.setdefault(tag.lower(), sub)
        elif tag not in leaves:
            text = sub.text
            leaves[tag] = text.strip() if text else ""
    return leaves, branches


def lower_keys(fields: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in fields.items():
        out.setdefault(key.lower(), value)
    return out


def find_child(element: etree._Element, name: str) -> etree._Element | None:
    wanted = name.lower()
    for sub in element:
        if local_name(sub.tag).lower() == wanted:
            return sub
    return None


def items_of(container: etree._Element | None) -> Iterator[etree._Element]:
    if container is None:
        return
    for sub in container:
        if local_name(sub.tag).lower() == "item":
            yield sub


def attr_int(element: etree._Element | None, name: str) -> int | None:
    if element is None:
        return None
    wanted = name.lower()
    for key, value in element.attrib.items():
        if local_name(key).lower() == wanted:
            return to_int(str(value))
    return None
