"""Search attributes that every case workflow keeps up to date."""

from temporalio.common import SearchAttributeKey

CASE_STAGE = SearchAttributeKey.for_keyword("CaseStage")
DAYS_PAST_DUE = SearchAttributeKey.for_int("DaysPastDue")
POLICY_PACK = SearchAttributeKey.for_keyword("PolicyPack")
ARREARS_AMOUNT = SearchAttributeKey.for_float("ArrearsAmount")

ALL = (CASE_STAGE, DAYS_PAST_DUE, POLICY_PACK, ARREARS_AMOUNT)


def dev_server_flags() -> list[str]:
    """`--search-attribute NAME=Type` flags for `temporal server start-dev`."""
    kinds = {"KEYWORD": "Keyword", "INT": "Int", "DOUBLE": "Double", "DATETIME": "Datetime"}
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name]}"]
    return flags
