"""Every vendored file is the pinned one, with its licence beside it; the catalogs' .mo files match their .po."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from api.ui.i18n import LOCALE_DIR

ROOT = Path(__file__).resolve().parents[2]
VENDORED = [ROOT / "api" / "ui" / "static" / "vendor", Path(__file__).resolve().parent / "vendor"]


def test_vendored_files_match_their_pinned_checksums_and_carry_licences():
    for folder in VENDORED:
        listed = {}
        for line in (folder / "SHA256SUMS").read_text().splitlines():
            digest, name = line.split(maxsplit=1)
            listed[name] = digest
        assert listed, folder
        for name, digest in listed.items():
            assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
        for package in {name.split("/")[0] for name in listed}:
            assert (folder / package / "LICENSE").exists(), package
        present = {str(p.relative_to(folder)) for p in folder.glob("*/*")}
        assert present == set(listed), "files without a checksum, or checksums without a file"


def _catalog(lang: str):
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


def test_compiled_catalogs_match_their_sources():
    for lang in ("zh_CN", "en"):
        out = io.BytesIO()
        write_mo(out, _catalog(lang))  # what `pybabel compile` writes (fuzzy entries left out)
        committed = (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.mo").read_bytes()
        assert committed == out.getvalue(), f"{lang}: run `make messages` and commit the .mo"


def test_every_console_string_is_in_both_catalogs_and_translated_to_chinese():
    method_map = [("api/ui/**.py", "python"), ("api/ui/templates/**.html", "jinja2")]
    found = {msg[2] if isinstance(msg[2], str) else msg[2][0]
             for msg in extract_from_dir(str(ROOT), method_map, keywords={"_": None, "gettext": None, "N_": None,
                                                                           "ngettext": (1, 2)})}
    found.discard("")
    assert len(found) > 50, "the extraction found too few strings to be looking in the right place"
    zh, en = _catalog("zh_CN"), _catalog("en")
    assert found - {m.id for m in zh if m.id} == set(), "strings missing from zh_CN: run `make messages`"
    assert found - {m.id for m in en if m.id} == set(), "strings missing from en: run `make messages`"
    untranslated = sorted(m.id for m in zh if m.id and (not m.string or m.fuzzy))
    assert untranslated == [], f"translate in zh_CN/LC_MESSAGES/messages.po: {untranslated[:10]}"
