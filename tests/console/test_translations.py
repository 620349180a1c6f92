"""The committed Chinese catalogue: complete, and its compiled .mo in step with the .po (so no
test or start-up has to compile it)."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES"
ENTRY = re.compile(
    r'^(?:msgctxt (?P<ctx>"(?:[^"\\]|\\.)*")\n)?msgid (?P<id>(?:"(?:[^"\\]|\\.)*"\n?)+)msgstr (?P<str>(?:"(?:[^"\\]|\\.)*"\n?)+)',
    re.M,
)


def po_entries() -> dict[str, str]:
    """msgid (with msgctxt prefixed as gettext stores it) -> msgstr, from django.po."""
    entries: dict[str, str] = {}
    text = (LOCALE / "django.po").read_text(encoding="utf-8")
    text = re.sub(r"^#~.*\n", "", text, flags=re.M)
    for match in ENTRY.finditer(text):
        msgid = "".join(ast.literal_eval(part) for part in re.findall(r'"(?:[^"\\]|\\.)*"', match["id"]))
        if not msgid:
            continue
        msgstr = "".join(ast.literal_eval(part) for part in re.findall(r'"(?:[^"\\]|\\.)*"', match["str"]))
        if match["ctx"]:
            msgid = f"{ast.literal_eval(match['ctx'])}\x04{msgid}"
        entries[msgid] = msgstr
    return entries


def test_every_string_has_a_chinese_translation() -> None:
    assert "#, fuzzy" not in (LOCALE / "django.po").read_text(encoding="utf-8"), "fuzzy entries are not compiled"
    entries = po_entries()
    assert len(entries) > 100
    assert [msgid for msgid, msgstr in entries.items() if not msgstr] == []


def test_the_compiled_catalogue_matches_the_po_file() -> None:
    with (LOCALE / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    stale = {
        msgid: msgstr for msgid, msgstr in po_entries().items() if catalogue._catalog.get(msgid) != msgstr  # type: ignore[attr-defined]
    }
    assert stale == {}, "run: python manage.py compilemessages -l zh_Hans --ignore .venv --ignore var"
