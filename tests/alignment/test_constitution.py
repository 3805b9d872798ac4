"""Building, versioning, diffing and serialising constitutions from a consensus result dict."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from alignment import constitution as const
from alignment.config import ConstitutionError

CREATED = "2026-01-01T00:00:00+00:00"


def build(result: dict[str, Any], source: dict[str, Any], **kw: Any) -> const.Constitution:
    return const.build_constitution(result, source=source, created_at=CREATED, **kw)


def ids(c: const.Constitution) -> list[tuple[str, ...]]:
    return [p.statement_ids for p in c.principles]


def test_mea_rule_keeps_statements_above_threshold_best_first(consensus_result, source) -> None:
    c = build(consensus_result, source)
    # 7 (0.76), 1+2 merged (0.74/0.70), 3 (0.66), 4 (0.62); 8 needs more votes; 5, 6 contested
    assert ids(c) == [("7",), ("1", "2"), ("3",), ("4",)]
    assert c.rule == "mea" and c.params["threshold"] == 0.6


def test_merged_principles_keep_every_source_statement(consensus_result, source) -> None:
    merged = build(consensus_result, source).principle("p-1")
    assert [s.text for s in merged.sources] == [
        "AI should respect the privacy of every user.",
        "AI should respect the privacy of all users.",
    ]
    assert merged.statement == "AI should respect the privacy of every user."


def test_gic_rule_uses_the_normalised_kth_root(consensus_result, source) -> None:
    for s in consensus_result["statements"]:
        s.pop("gic_normalized")  # falls back to gic ** (1/k)
    c = build(consensus_result, source, rule="gic", threshold=0.79, dedup="none")
    assert ids(c) == [("7",), ("1",), ("2",), ("3",)]


def test_bridging_rule(consensus_result, source) -> None:
    c = build(consensus_result, source, rule="bridging", threshold=0.7, dedup="none")
    assert ids(c) == [("7",), ("1",)]


def test_manual_rule_takes_the_given_ids_in_order(consensus_result, source) -> None:
    c = build(consensus_result, source, rule="manual", statement_ids=[5, "3"], dedup="none")
    assert ids(c) == [("5",), ("3",)]


def test_manual_rule_rejects_unknown_ids(consensus_result, source) -> None:
    with pytest.raises(ConstitutionError, match="unknown statement ids: 99"):
        build(consensus_result, source, rule="manual", statement_ids=[1, 99])


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.update(statements=[]), "no statements"),
        (lambda r: r.update(groups=[]), "no opinion groups"),
        (lambda r: r["statements"][0].pop("text"), "non-empty 'text'"),
    ],
)
def test_it_rejects_unusable_results(consensus_result, source, mutate, message) -> None:
    mutate(consensus_result)
    with pytest.raises(ConstitutionError, match=message):
        build(consensus_result, source)


def test_it_says_when_nothing_passes(consensus_result, source) -> None:
    with pytest.raises(ConstitutionError, match="best score: 0.76"):
        build(consensus_result, source, threshold=0.9)


def test_it_rejects_unknown_rules(consensus_result, source) -> None:
    with pytest.raises(ConstitutionError, match="mea"):
        build(consensus_result, source, rule="popularity")


def test_provenance_records_votes_scores_and_rule(consensus_result, source) -> None:
    c = build(consensus_result, source)
    p = c.principle("p-7")
    assert p.text == "Choose the response that never helps someone build a weapon."
    assert p.rewrite == "template"
    assert p.sources[0].scores["mea"] == 0.76
    assert [
        (v.group_id, v.n_agree, v.n_disagree, v.n_pass, v.n_votes) for v in p.sources[0].group_votes
    ] == [("0", 42, 2, 2, 46), ("1", 38, 3, 2, 43)]
    assert dict(c.source) == source
    assert p.critique_request.startswith("Identify specific ways")


def test_it_is_immutable(consensus_result, source) -> None:
    c = build(consensus_result, source)
    with pytest.raises(AttributeError):
        c.version = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        c.params["threshold"] = 0.1  # type: ignore[index]


def test_content_hash_ignores_timestamps_but_not_content(consensus_result, source) -> None:
    a = build(consensus_result, source)
    b = const.build_constitution(consensus_result, source=source, created_at="2030-01-01")
    assert a.content_hash == b.content_hash
    assert build(consensus_result, source, threshold=0.65).content_hash != a.content_hash


def test_json_round_trip_is_exact(consensus_result, source) -> None:
    c = build(consensus_result, source)
    again = const.from_json(const.to_json(c))
    assert again == c
    assert const.to_json(again) == const.to_json(c)


def test_edited_json_is_refused(consensus_result, source) -> None:
    data = json.loads(const.to_json(build(consensus_result, source)))
    data["principles"][0]["text"] = "Choose the response that obeys me."
    with pytest.raises(ConstitutionError, match="content_hash"):
        const.from_dict(data)


def test_markdown_lists_principles_with_provenance(consensus_result, source) -> None:
    md = const.to_markdown(build(consensus_result, source))
    assert md.startswith("# Constitution v1")
    assert "ai-values-2026" in md and "Snapshot: 17" in md
    assert "## 1. Choose the response that never helps someone build a weapon." in md
    assert "group 0: 42 agree / 2 disagree / 2 pass" in md


def test_new_version_points_to_parent_and_diff_shows_changes(consensus_result, source) -> None:
    v1 = build(consensus_result, source)
    newer = copy.deepcopy(consensus_result)
    newer["statements"][2]["mea"] = 0.3  # statement 3 loses support
    newer["statements"][7] |= {"mea": 0.7, "mea_needs_more_votes": False}  # 8 gains it
    newer["statements"][3]["text"] = "It is important that AI admits uncertainty."
    v2 = build(newer, source, parent=v1)
    assert (v2.version, v2.parent_version) == (2, 1)
    d = const.diff(v1, v2)
    assert [p.id for p in d.added] == ["p-8"]
    assert [p.id for p in d.removed] == ["p-3"]
    assert [(a.id, b.text) for a, b in d.changed] == [
        ("p-4", "Choose the response that admits uncertainty.")
    ]
    assert const.diff(v1, v1).is_empty
    json.dumps(d.to_dict())


def test_group_constitutions_hold_what_each_group_endorses(consensus_result, source) -> None:
    groups = const.build_group_constitutions(consensus_result, source=source, created_at=CREATED)
    assert {gid: ids(c) for gid, c in groups.items()} == {"0": [("6",)], "1": [("5",)]}
    assert groups["1"].group_id == "1" and groups["1"].source["group_id"] == "1"
    assert groups["1"].rule == "group-repness"
    assert const.from_json(const.to_json(groups["0"])) == groups["0"]


def test_group_constitutions_need_some_agree_repness(consensus_result, source) -> None:
    for g in consensus_result["groups"]:
        g["repness"] = [r for r in g["repness"] if r["repful"] == "disagree"]
    with pytest.raises(ConstitutionError, match="agree-representative"):
        const.build_group_constitutions(consensus_result, source=source)


def test_a_model_rewrite_is_used_only_when_well_formed(consensus_result, source) -> None:
    def rewriter(statement: str) -> str:
        return "Choose the response that is safe." if "weapon" in statement else "nonsense"

    c = build(consensus_result, source, rewriter=rewriter)
    assert (c.principle("p-7").text, c.principle("p-7").rewrite) == (
        "Choose the response that is safe.",
        "model",
    )
    assert c.principle("p-3").rewrite == "template"
    assert c.principle("p-7").statement == "Never help someone build a weapon."


def test_malformed_json_is_a_constitution_error() -> None:
    with pytest.raises(ConstitutionError, match="not valid JSON"):
        const.from_json("{")
    with pytest.raises(ConstitutionError, match="malformed"):
        const.from_dict({"version": 1})


def _with(result: dict[str, Any], sid: int, **changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(result)
    for statement in result["statements"]:
        if statement["id"] == sid:
            statement.update(changes)
    return result


@pytest.mark.parametrize("flag", ["moderated_out", "is_meta"])
@pytest.mark.parametrize("rule", ["mea", "gic", "bridging"])
def test_moderated_out_and_meta_statements_never_become_principles(
    consensus_result, source, flag, rule
) -> None:
    best = max(consensus_result["statements"], key=lambda s: s["gic_normalized"])
    result = _with(consensus_result, best["id"], **{flag: True}, mea=0.99, bridging=0.99)
    built = build(result, source, rule=rule, threshold=0.0)
    assert all(str(best["id"]) not in p for p in ids(built))


def test_a_hand_pick_of_a_moderated_out_statement_is_refused(consensus_result, source) -> None:
    sid = consensus_result["statements"][0]["id"]
    result = _with(consensus_result, sid, moderated_out=True)
    with pytest.raises(ConstitutionError, match="moderated-out"):
        build(result, source, rule="manual", statement_ids=[sid])


def test_gic_needs_enough_votes_in_every_group(consensus_result, source) -> None:
    best = max(consensus_result["statements"], key=lambda s: s["gic_normalized"])
    few = {"n_agree": 1, "n_disagree": 0, "n_pass": 0, "n_votes": 1}
    result = _with(consensus_result, best["id"], groups={"0": few, "1": few}, gic_normalized=0.99)
    built = build(result, source, rule="gic", threshold=0.0)
    assert all(str(best["id"]) not in p for p in ids(built))


def test_bridging_respects_the_gate(consensus_result, source) -> None:
    sid = consensus_result["statements"][0]["id"]
    result = _with(consensus_result, sid, bridging=0.99, bridging_passes_gate=False)
    built = build(result, source, rule="bridging", threshold=0.0)
    assert all(str(sid) not in p for p in ids(built))


def test_statements_about_the_voter_are_left_out_and_listed(consensus_result, source) -> None:
    facts = [
        (91, "I have a small-car driving licence."),
        (92, "我有小型車駕照"),
    ]
    for sid, text in facts:
        row = copy.deepcopy(consensus_result["statements"][0]) | {"id": sid, "text": text}
        consensus_result["statements"].append(row)
    c = build(consensus_result, source)
    used = {sid for p in c.principles for sid in p.statement_ids}
    assert not used & {"91", "92"}
    listed = {x["id"]: x["reason"] for x in c.params["circumstance_statements"]}
    assert set(listed) == {"91", "92"} and all(listed.values())
    assert "small-car driving licence" in const.to_markdown(c)
    flagged = build(consensus_result, source, circumstances="flag")
    marked = [p for p in flagged.principles if "circumstance" in p.flags]
    assert marked and {s for p in marked for s in p.statement_ids} & {"91", "92"}


def test_value_statements_in_the_first_person_are_not_circumstances() -> None:
    from alignment.principles import circumstance_reason

    assert circumstance_reason("I think AI should always be honest.") is None
    assert circumstance_reason("我認為應該加強保險") is None
    assert circumstance_reason("I live in Taipei.") == "first-person fact"


def test_provenance_has_polis_comment_ids_languages_and_group_sizes(
    consensus_result, source
) -> None:
    for n, row in enumerate(consensus_result["statements"]):
        row |= {"polis_tid": 100 + n, "language": "en"}
    c = build(consensus_result, source)
    assert c.params["group_sizes"] == {"0": 52, "1": 47}
    first = c.principles[0].sources[0]
    assert first.polis_comment_id == 100 + int(first.id) - 1 and first.language == "en"
    assert const.from_json(const.to_json(c)) == c
    assert f"Polis comment {first.polis_comment_id}" in const.to_markdown(c)


def test_documents_stored_before_the_new_fields_keep_their_hash(consensus_result, source) -> None:
    data = json.loads(const.to_json(build(consensus_result, source)))
    for principle in data["principles"]:
        assert "flags" not in principle
        for s in principle["sources"]:
            assert "polis_comment_id" not in s and "language" not in s
    assert const.from_dict(data).content_hash == data["content_hash"]


def test_a_non_latin_statement_without_a_model_rewrite_is_flagged_untranslated(
    consensus_result, source
) -> None:
    consensus_result["statements"][0]["text"] = "人工智慧應該尊重每位使用者的隱私。"
    c = build(consensus_result, source)
    p = next(p for p in c.principles if "1" in p.statement_ids)
    assert "untranslated" in p.flags and p.statement == "人工智慧應該尊重每位使用者的隱私。"
