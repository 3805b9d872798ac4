"""The statement → principle template: deterministic, sensible for common phrasings."""

import pytest

from alignment.principles import (
    PREFIX,
    critique_request,
    revision_request,
    statement_to_principle,
    third_person,
)


@pytest.mark.parametrize(
    ("statement", "principle"),
    [
        ("AI should respect privacy.", "Choose the response that respects privacy."),
        ("The AI should always be honest", "Choose the response that is always honest."),
        (
            "AI should never pretend to be human",
            "Choose the response that never pretends to be human.",
        ),
        (
            "AI must not discriminate against anyone",
            "Choose the response that does not discriminate against anyone.",
        ),
        ("AI shouldn't lie.", "Choose the response that does not lie."),
        (
            "AI should not be used for mass surveillance.",
            "Choose the response that is not used for mass surveillance.",
        ),
        (
            "It is important that AI systems protect privacy.",
            "Choose the response that protects privacy.",
        ),
        (
            "It is important for the AI to admit uncertainty.",
            "Choose the response that admits uncertainty.",
        ),
        ("Don't insult people.", "Choose the response that does not insult people."),
        ("Never reveal passwords.", "Choose the response that never reveals passwords."),
        ("AI models should prioritize safety", "Choose the response that prioritizes safety."),
        ("The assistant should try to help.", "Choose the response that tries to help."),
        (
            "AI systems are transparent about their limits.",
            "Choose the response that is transparent about their limits.",
        ),
    ],
)
def test_it_rewrites_statements_about_the_ai(statement: str, principle: str) -> None:
    assert statement_to_principle(statement) == principle


@pytest.mark.parametrize(
    "statement",
    [
        "Everyone deserves respect.",
        "AI companies should pay taxes.",
        "人工智能应该尊重文化差异",
        "It is important that people can vote.",
    ],
)
def test_it_quotes_statements_that_are_not_about_the_ai(statement: str) -> None:
    principle = statement_to_principle(statement)
    assert principle.startswith(PREFIX + "best reflects the view that")
    assert statement.rstrip(".") in principle


def test_it_is_deterministic() -> None:
    assert statement_to_principle("AI should be kind.") == statement_to_principle(
        "AI should be kind."
    )


@pytest.mark.parametrize(
    ("verb", "conjugated"),
    [
        ("be", "is"),
        ("have", "has"),
        ("try", "tries"),
        ("watch", "watches"),
        ("play", "plays"),
        ("respect", "respects"),
    ],
)
def test_third_person(verb: str, conjugated: str) -> None:
    assert third_person(verb) == conjugated


def test_requests_follow_bai_et_al() -> None:
    principle = "Choose the response that respects privacy."
    assert critique_request(principle) == (
        "Identify specific ways in which the assistant's last response is not a response that "
        "respects privacy."
    )
    assert revision_request(principle) == (
        "Please rewrite the assistant response so that it respects privacy."
    )
