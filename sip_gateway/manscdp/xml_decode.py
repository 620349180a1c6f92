"""Turn a MANSCDP body (bytes as received) into an lxml element tree.

Devices in the field send bodies that are not well-formed XML in many small ways: GB2312
declared but GB18030 sent, UTF-8 declared but GB18030 sent, BOMs, leading junk, bare `&`
in names and NUL padding. Each is repaired here so the typed parser sees a clean tree;
anything that cannot be repaired becomes one `ManscdpError` and nothing else.
"""

from __future__ import annotations

import codecs
import re

from lxml import etree

MAX_BODY_BYTES = 1024 * 1024

# GB2312 and GBK are subsets of GB18030: decoding as GB18030 never loses a character that
# a device meant, and devices that declare GB2312 often send GBK/GB18030-only characters.
_GB_FAMILY = frozenset({"gb2312", "gbk", "gb18030", "cp936", "x-gbk", "euc-cn", "ms936", "hz-gb-2312"})
_UTF8_NAMES = frozenset({"utf-8", "utf8", "utf_8"})

_DECLARATION = re.compile(rb"^<\?xml[^>]*?\?>", re.IGNORECASE)
_ENCODING = re.compile(rb"""encoding\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_FIRST_TAG = re.compile(rb"<(?=[A-Za-z?!])")
# Anything that is not one of XML's five predefined entities or a character reference is
# a literal ampersand a device forgot to escape (typically inside a channel name).
_BARE_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});)")
_NOT_CJK_TEXT = re.compile("[\x80-\u1fff\ue000-\uf8ff]")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_DTD = re.compile("<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)
_RECOVERING_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
    recover=True,
)


class ManscdpError(ValueError):
    """A MANSCDP body that cannot be understood at all (empty, oversized, not XML)."""


def normalise_encoding(label: str | None) -> str | None:
    """Map a declared XML encoding label onto the Python codec we decode with."""
    if not label:
        return None
    lowered = label.strip().lower()
    if lowered in _GB_FAMILY:
        return "gb18030"
    if lowered in _UTF8_NAMES:
        return "utf-8"
    try:
        return codecs.lookup(lowered).name
    except LookupError:
        return None


def declared_encoding(body: bytes) -> str | None:
    """The encoding named in the XML declaration at the start of `body`, if any."""
    match = _DECLARATION.match(body)
    if match is None:
        return None
    enc = _ENCODING.search(match.group(0))
    return enc.group(1).decode("ascii") if enc else None


def decode_text(body: bytes) -> str:
    """Decode a MANSCDP body to text, choosing the character set the device really used.

    A GB declaration over bytes that are plainly UTF-8 Chinese is overruled; otherwise a
    GB or UTF-8 declaration is tried first, then UTF-8, then GB18030, then any other
    declared label. Only when none decodes cleanly are bad bytes replaced (so one bad
    byte never costs a whole catalog).
    """
    trimmed = _trim(body)
    declared = normalise_encoding(declared_encoding(trimmed))
    if declared == "gb18030" and not trimmed.isascii():
        as_utf8 = _plausible_utf8(trimmed)
        if as_utf8 is not None:
            return as_utf8
    # Only GB and UTF-8 declarations are trusted first; any other label (latin-1, ascii…)
    # on a MANSCDP body is far more often wrong than right, so it is tried last.
    order = (
        (declared, "utf-8", "gb18030") if declared in ("gb18030", "utf-8") else ("utf-8", "gb18030", declared)
    )
    candidates: list[str] = []
    for codec in order:
        if codec is not None and codec not in candidates:
            candidates.append(codec)
    for codec in candidates:
        try:
            text = trimmed.decode(codec)
        except (UnicodeError, LookupError, ValueError):
            continue
        return text
    return trimmed.decode(declared if declared in ("utf-8", "gb18030") else "gb18030", errors="replace")


def _plausible_utf8(body: bytes) -> str | None:
    """The body as UTF-8 if it is valid UTF-8 made of CJK-range text, else None.

    Some devices declare GB2312 but send UTF-8 names. GB18030 bytes almost never form
    valid UTF-8, and when they do by chance the result is Latin/Greek/Cyrillic code points
    below U+2000, never a run of CJK characters, so that is the test.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if _NOT_CJK_TEXT.search(text) else text


def parse_xml(body: bytes) -> etree._Element:
    """Parse a MANSCDP body into its root element, repairing what devices get wrong."""
    if not isinstance(body, bytes | bytearray | memoryview):
        raise ManscdpError(f"body must be bytes, not {type(body).__name__}")
    body = bytes(body)
    if len(body) > MAX_BODY_BYTES:
        raise ManscdpError(f"body of {len(body)} bytes exceeds the {MAX_BODY_BYTES}-byte limit")
    text = decode_text(body)
    if "<!" in text and _DTD.search(text):
        raise ManscdpError("DTDs and entity declarations are not accepted in MANSCDP bodies")
    text = _strip_declaration(text)
    text = _XML_ILLEGAL.sub("", text)
    text = _BARE_AMPERSAND.sub("&amp;", text).strip()
    if not text:
        raise ManscdpError("empty MANSCDP body")
    try:
        root = etree.fromstring(text, _PARSER)
    except etree.XMLSyntaxError:
        root = _parse_recovering(text)
    except (ValueError, TypeError) as exc:  # lxml refuses some strings outright
        raise ManscdpError(f"unparseable MANSCDP body: {exc}") from exc
    if root is None or not isinstance(root.tag, str):
        raise ManscdpError("MANSCDP body has no root element")
    return root


def _parse_recovering(text: str) -> etree._Element:
    try:
        root = etree.fromstring(text, _RECOVERING_PARSER)
    except (etree.XMLSyntaxError, ValueError, TypeError) as exc:
        raise ManscdpError(f"malformed MANSCDP XML: {exc}") from exc
    if root is None:
        raise ManscdpError("malformed MANSCDP XML: nothing recoverable")
    return root


def _trim(body: bytes) -> bytes:
    """Drop BOMs, leading junk before the first tag and trailing NUL/whitespace padding."""
    if body.startswith(codecs.BOM_UTF8):
        body = body[len(codecs.BOM_UTF8) :]
    elif body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            body = body.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            body = body[2:]
        body = re.sub(rb"""(encoding\s*=\s*["'])[^"']*""", rb"\1UTF-8", body, count=1)
    body = body.rstrip(b"\x00 \t\r\n")
    first = _FIRST_TAG.search(body)
    if first is not None and first.start() > 0:
        body = body[first.start() :]
    return body


def _strip_declaration(text: str) -> str:
    # lxml refuses a str that still carries an encoding declaration, and we have
    # already decoded; anything up to the declaration's end is dropped.
    if text.startswith("<?"):
        end = text.find("?>")
        if end != -1:
            return text[end + 2 :]
    return text
