"""The borrower page in every language it speaks, and the question classifier on phrasings it
was not trained on, in each of them."""

from __future__ import annotations

import re

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from api.borrower import render
from api.borrower.questions import TRAINING, Intent, classify
from tests.borrower.conftest import Portal, enter

OPTIONS = {"**.html.j2": {"extensions": "jinja2.ext.i18n"}}


def _template_texts() -> set[str]:
    found = extract_from_dir(
        str(render.TEMPLATES), method_map=[("**.html.j2", "jinja2")], options_map=OPTIONS
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


@pytest.mark.parametrize("language", [lang for lang in render.LANGUAGES if lang != render.DEFAULT])
def test_every_text_of_the_page_is_translated(language: str) -> None:
    with (render.CATALOGS / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    translated = {
        str(m.id): str(m.string)
        for m in catalog
        if m.id and isinstance(m.string, str) and m.string and not m.fuzzy
    }
    missing = sorted(_template_texts() - set(translated))
    assert not missing, f"untranslated in {language}: {missing}"
    for msgid, text in translated.items():  # a placeholder lost in translation breaks the page
        assert sorted(re.findall(r"%\((\w+)\)s", msgid)) == sorted(re.findall(r"%\((\w+)\)s", text)), msgid


@pytest.mark.parametrize(
    ("language", "heading"),
    [
        ("en", "Open your page"),
        ("nl", "Open uw pagina"),
        ("sv", "Öppna din sida"),
        ("es", "Abra su página"),
        ("fr", "Ouvrez votre page"),
    ],
)
async def test_the_start_page_speaks_the_browsers_language(
    portal: Portal, language: str, heading: str
) -> None:
    async with httpx.AsyncClient(base_url=portal.url, timeout=30) as client:
        page = await client.get("/me", headers={"Accept-Language": f"{language},en;q=0.5"})
    assert page.status_code == 200 and f'lang="{language}"' in page.text and heading in page.text


async def test_a_swedish_borrower_reads_the_case_in_swedish_with_swedish_money(portal: Portal) -> None:
    case_id, email = await portal.open_case("se_consumer", days_past_due=20, arrears="3000.00", language="sv")
    link = await portal.any_link(case_id)
    async with httpx.AsyncClient(
        base_url=portal.url, timeout=60, headers={"Accept-Language": "en"}
    ) as client:
        await enter(client, portal, link, email)
        page = await client.get("/me/case")
    assert "Vad du är skyldig" in page.text and "Lova att betala" in page.text
    assert "3\u00a0000,00\u00a0kr" in page.text  # the letters' Swedish format, not the browser's


# Held out: none of these is in the training set.
LABELLED: dict[str, list[tuple[str, Intent]]] = {
    "en": [
        ("What's my current balance?", Intent.BALANCE),
        ("how much do i have to pay now", Intent.BALANCE),
        ("Do I still owe you anything?", Intent.STILL_OWE),
        ("did you get my payment?", Intent.STILL_OWE),
        ("Why is the amount higher this month?", Intent.WHY_GREW),
        ("So what comes next for me?", Intent.NEXT_STEP),
        ("My dog ate the letter", Intent.OTHER),
    ],
    "nl": [
        ("Hoeveel moet ik nog betalen?", Intent.BALANCE),
        ("Is alles nu betaald?", Intent.STILL_OWE),
        ("Waarom is het bedrag ineens hoger?", Intent.WHY_GREW),
        ("Wat gaat er gebeuren met mijn dossier?", Intent.NEXT_STEP),
        ("Ik ga verhuizen naar Spanje", Intent.OTHER),
    ],
    "sv": [
        ("hur mycket ska jag betala totalt", Intent.BALANCE),
        ("Har ni tagit emot min betalning?", Intent.STILL_OWE),
        ("Varför har beloppet ökat?", Intent.WHY_GREW),
        ("Vad blir nästa steg för mig?", Intent.NEXT_STEP),
        ("Jag behöver ett nytt bankkort", Intent.OTHER),
    ],
    "es": [
        ("¿Cuánto debo pagar?", Intent.BALANCE),
        ("¿Ya está todo pagado?", Intent.STILL_OWE),
        ("¿Por qué subió mi factura?", Intent.WHY_GREW),
        ("¿Qué va a pasar con mi caso?", Intent.NEXT_STEP),
        ("Mi hermano está enfermo", Intent.OTHER),
    ],
    "fr": [
        ("Combien dois-je payer au total ?", Intent.BALANCE),
        ("Avez-vous bien reçu mon paiement ?", Intent.STILL_OWE),
        ("Pourquoi le montant a-t-il augmenté ?", Intent.WHY_GREW),
        ("Quelle sera la prochaine étape pour moi ?", Intent.NEXT_STEP),
        ("Mon chat est malade", Intent.OTHER),
    ],
}


@pytest.mark.parametrize("language", sorted(LABELLED))
def test_the_classifier_matches_each_labelled_question_in_every_language(language: str) -> None:
    trained = {p.lower() for languages in TRAINING.values() for texts in languages.values() for p in texts}
    for question, intent in LABELLED[language]:
        assert question.lower().strip("?¿ ") not in trained, question
        assert classify(question) is intent, (language, question)


def test_empty_or_endless_questions_are_other_and_never_fail() -> None:
    assert classify("") is Intent.OTHER
    assert classify("   ") is Intent.OTHER
    assert classify("x" * 10_000) is Intent.OTHER
