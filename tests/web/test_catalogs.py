"""The workbench's catalogs: every text a page can show is translated into Dutch and Swedish,
with the same placeholders, and the catalogs hold what the templates and code say today."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from api.web import i18n
from api.web.vocabulary import terms
from scripts.update_catalogs import template

PLACEHOLDER = re.compile(r"%\(\w+\)s")


@pytest.fixture(scope="module")
def source() -> set[str]:
    return {m.id for m in template() if m.id and isinstance(m.id, str)}


@pytest.mark.parametrize("language", [code for code in i18n.LANGUAGES if code != i18n.DEFAULT])
def test_every_text_is_translated_with_its_placeholders(language: str, source: set[str]) -> None:
    with (i18n.CATALOGS / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    translated = {m.id: m.string for m in catalog if m.id and isinstance(m.string, str) and m.string}
    missing = sorted(source - set(translated))
    assert not missing, (
        f"untranslated in {language} (run scripts/update_catalogs.py and translate): {missing}"
    )
    for msgid, text in translated.items():
        assert set(PLACEHOLDER.findall(str(msgid))) == set(PLACEHOLDER.findall(text)), (language, msgid)


def test_the_vocabulary_is_in_the_catalog_source(source: set[str]) -> None:
    assert terms() <= source
    assert {"live_contact", "Work queue", "Record a promise to pay", "cured"} <= source


def test_english_reads_the_system_words_without_underscores() -> None:
    from api.web.render import environment

    english, dutch = environment("en").globals["term"], environment("nl").globals["term"]
    assert callable(english) and callable(dutch)
    assert english("live_contact") == "live contact"
    assert dutch("live_contact") not in ("live_contact", "live contact")
