"""Borrowers' questions matched to a known intent, in English, Dutch, Swedish, Spanish and French.

A small text classifier (character n-grams and a logistic regression, scikit-learn) trained at
first use on the labelled phrasings below. It only picks an intent: the answer is computed from
the case's state by the page, never generated. A question it is not sure about is `other`, and
goes to a collector as a call-back task. The question's text is never stored or logged.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Any


class Intent(StrEnum):
    BALANCE = "balance"  # what do I owe now
    STILL_OWE = "still_owe"  # do I still owe anything / is it paid
    WHY_GREW = "why_grew"  # why is the amount higher
    NEXT_STEP = "next_step"  # what happens next
    OTHER = "other"  # anything else: a collector calls back


MIN_CONFIDENCE = 0.45
MAX_QUESTION = 300

# Labelled phrasings, per intent and language: the training set. The tests hold out others.
TRAINING: dict[Intent, dict[str, tuple[str, ...]]] = {
    Intent.BALANCE: {
        "en": (
            "what is my balance",
            "how much do I owe",
            "how much is due",
            "what is the amount I have to pay",
            "what do I need to pay",
            "total amount outstanding",
            "balance please",
            "how much money do I owe you",
        ),
        "nl": (
            "wat is mijn saldo",
            "hoeveel moet ik betalen",
            "hoeveel ben ik verschuldigd",
            "wat is het openstaande bedrag",
            "welk bedrag moet ik betalen",
            "hoe hoog is mijn schuld",
            "totaal openstaand bedrag",
        ),
        "sv": (
            "vad är mitt saldo",
            "hur mycket ska jag betala",
            "hur mycket är jag skyldig",
            "vilket belopp ska jag betala",
            "hur stor är min skuld",
            "totalt belopp att betala",
            "vad är min skuld",
        ),
        "es": (
            "cuál es mi saldo",
            "cuánto debo",
            "cuánto tengo que pagar",
            "cuál es el importe pendiente",
            "qué cantidad debo pagar",
            "monto total adeudado",
            "cuánto dinero les debo",
        ),
        "fr": (
            "quel est mon solde",
            "combien je dois",
            "combien dois-je payer",
            "quel est le montant dû",
            "quelle somme dois-je payer",
            "montant total restant",
            "combien je vous dois",
        ),
    },
    Intent.STILL_OWE: {
        "en": (
            "do I still owe anything",
            "is my loan paid",
            "have you received my payment",
            "am I up to date",
            "is everything paid now",
            "did my payment arrive",
            "is my account settled",
        ),
        "nl": (
            "moet ik nog iets betalen",
            "is mijn betaling ontvangen",
            "is alles betaald",
            "ben ik bij met betalen",
            "is mijn schuld afgelost",
            "heeft u mijn betaling gekregen",
        ),
        "sv": (
            "är jag fortfarande skyldig något",
            "har ni fått min betalning",
            "är allt betalt",
            "är skulden betald",
            "har min betalning kommit in",
            "ligger jag i fas",
        ),
        "es": (
            "todavía debo algo",
            "recibieron mi pago",
            "está todo pagado",
            "estoy al día",
            "ya pagué todo",
            "llegó mi pago",
        ),
        "fr": (
            "est-ce que je dois encore quelque chose",
            "avez-vous reçu mon paiement",
            "tout est payé",
            "suis-je à jour",
            "ma dette est-elle réglée",
            "mon paiement est-il arrivé",
        ),
    },
    Intent.WHY_GREW: {
        "en": (
            "why is my bill higher than usual",
            "why did the amount go up",
            "why is it more than last time",
            "why was I charged a fee",
            "what is this extra charge",
            "why has my debt increased",
            "where do these costs come from",
        ),
        "nl": (
            "waarom is het bedrag hoger",
            "waarom moet ik meer betalen",
            "waarom zijn er kosten bijgekomen",
            "wat zijn deze extra kosten",
            "waarom is mijn schuld gestegen",
            "waarom is de rekening hoger dan normaal",
        ),
        "sv": (
            "varför är beloppet högre",
            "varför har skulden ökat",
            "varför fick jag en avgift",
            "vad är den här extra avgiften",
            "varför är räkningen högre än vanligt",
            "varifrån kommer kostnaderna",
        ),
        "es": (
            "por qué es más alta mi factura",
            "por qué subió el importe",
            "por qué me cobraron un cargo",
            "qué es este cargo adicional",
            "por qué aumentó mi deuda",
            "de dónde vienen estos costos",
        ),
        "fr": (
            "pourquoi le montant est-il plus élevé",
            "pourquoi ma facture a augmenté",
            "pourquoi des frais ont été ajoutés",
            "quels sont ces frais supplémentaires",
            "pourquoi ma dette a augmenté",
            "d'où viennent ces frais",
        ),
    },
    Intent.NEXT_STEP: {
        "en": (
            "what happens next",
            "what will happen if I don't pay",
            "what is the next step",
            "when will you take action",
            "what happens now",
            "will you send me to court",
        ),
        "nl": (
            "wat gebeurt er nu",
            "wat is de volgende stap",
            "wat gebeurt er als ik niet betaal",
            "wanneer komt de deurwaarder",
            "wat gaat er nu gebeuren",
        ),
        "sv": (
            "vad händer nu",
            "vad är nästa steg",
            "vad händer om jag inte betalar",
            "när går ärendet till kronofogden",
            "vad kommer att hända",
        ),
        "es": (
            "qué pasa ahora",
            "cuál es el siguiente paso",
            "qué pasa si no pago",
            "qué va a pasar después",
            "cuándo tomarán acciones",
        ),
        "fr": (
            "que se passe-t-il maintenant",
            "quelle est la prochaine étape",
            "que se passe-t-il si je ne paie pas",
            "que va-t-il se passer ensuite",
            "quand allez-vous agir",
        ),
    },
    Intent.OTHER: {
        "en": (
            "I lost my job",
            "can I change my address",
            "I want to speak to someone",
            "my partner passed away",
            "can you send the letter again",
            "hello",
            "I am moving abroad",
            "I am ill and in hospital",
            "I need a new card",
        ),
        "nl": (
            "ik ben mijn baan kwijt",
            "kan ik mijn adres wijzigen",
            "ik wil iemand spreken",
            "hallo",
            "ik ben ziek",
            "mijn partner is overleden",
            "ik heb een nieuwe pas nodig",
        ),
        "sv": (
            "jag har förlorat jobbet",
            "kan jag ändra min adress",
            "jag vill prata med någon",
            "hej",
            "jag är sjuk",
            "min make har dött",
            "jag behöver ett nytt kort",
            "jag flyttar utomlands",
        ),
        "es": (
            "perdí mi trabajo",
            "puedo cambiar mi dirección",
            "quiero hablar con alguien",
            "hola",
            "estoy enfermo",
            "mi esposo falleció",
            "necesito una tarjeta nueva",
        ),
        "fr": (
            "j'ai perdu mon emploi",
            "puis-je changer mon adresse",
            "je veux parler à quelqu'un",
            "bonjour",
            "je suis malade",
            "mon mari est décédé",
            "j'ai besoin d'une nouvelle carte",
            "je déménage à l'étranger",
        ),
    },
}


@lru_cache(maxsize=1)
def _model() -> Any:
    # imported here: scikit-learn takes seconds to load, and only a question needs it
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    texts: list[str] = []
    labels: list[str] = []
    for intent, languages in TRAINING.items():
        for phrasings in languages.values():
            texts.extend(phrasings)
            labels.extend([intent.value] * len(phrasings))
    model = Pipeline(
        [
            (
                "ngrams",
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), lowercase=True, sublinear_tf=True),
            ),
            ("fit", LogisticRegression(C=20.0, max_iter=2000)),
        ]
    )
    model.fit(texts, labels)
    return model


def classify(question: str) -> Intent:
    """The intent of a question, or `other` when the model is not sure."""
    text = " ".join(question.split())[:MAX_QUESTION]
    if not text:
        return Intent.OTHER
    model = _model()
    probabilities: Any = model.predict_proba([text])[0]
    best = int(probabilities.argmax())
    if float(probabilities[best]) < MIN_CONFIDENCE:
        return Intent.OTHER
    return Intent(str(model.classes_[best]))
