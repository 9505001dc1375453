"""Update the workbench's message catalogs from its templates, its Python and its vocabulary.

    .venv/bin/python scripts/update_catalogs.py

Writes api/web/translations/messages.pot and merges it into each language's messages.po, keeping
the translations already made; new texts arrive untranslated (tests/web/test_catalogs.py says
which). Translate them in the .po files, and run the tests.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from api.web import i18n
from api.web.vocabulary import terms

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "api" / "web"
KEYWORDS = {"_": None, "N_": None, "gettext": None}
# texts the pages show that are written beside the figures they label (the KPI charts)
SHARED = (ROOT / "arrears" / "analytics" / "charts.py", ROOT / "arrears" / "reports" / "kpi_board.py")


def template() -> Catalog:
    catalog = Catalog(project="Arrears workbench", fuzzy=False)
    for path in [*sorted(WEB.glob("*.py")), *SHARED]:
        for line, text, _comments, _context in extract_from_file("python", str(path), keywords=KEYWORDS):
            catalog.add(text, locations=[(str(path.relative_to(ROOT)), line)])
    for path in sorted((WEB / "templates").glob("*.html.j2")):
        found = extract_from_file(
            "jinja2.ext:babel_extract",
            str(path),
            keywords=KEYWORDS,
            options={"extensions": "jinja2.ext.i18n", "trimmed": "true"},
        )
        for line, text, _comments, _context in found:
            catalog.add(text, locations=[(str(path.relative_to(ROOT)), line)])
    for word in sorted(terms()):
        if word not in catalog:
            catalog.add(word, locations=[("api/web/vocabulary.py", 0)])
    return catalog


def main() -> None:
    pot = template()
    with (i18n.CATALOGS / "messages.pot").open("wb") as handle:
        write_po(handle, pot, omit_header=False, sort_output=True)
    for language in i18n.LANGUAGES:
        if language == i18n.DEFAULT:
            continue
        path = i18n.CATALOGS / language / "LC_MESSAGES" / "messages.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_file():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
        else:
            catalog = Catalog(locale=language, project="Arrears workbench")
        catalog.update(pot, no_fuzzy_matching=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, sort_output=True, ignore_obsolete=True, include_previous=False)
        missing = [m.id for m in catalog if m.id and not m.string]
        print(f"{language}: {len(catalog) - 1} texts, {len(missing)} untranslated")


if __name__ == "__main__":
    main()
