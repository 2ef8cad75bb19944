from __future__ import annotations

from amnesty_contracts import (
    ALL_TOPICS,
    CASE_EVENT_MODELS,
    CASES,
    DECISION_EVENT_MODELS,
    DECISIONS,
    DEFAULT_PARTITIONS,
    REJECTED,
    SUBMISSION_MODELS,
    TOPICS,
    UPSTREAM,
)


def test_topic_names_are_the_contracts() -> None:
    assert (UPSTREAM, CASES, DECISIONS, REJECTED) == (
        "amnesty.upstream.v1",
        "amnesty.cases.v1",
        "amnesty.decisions.v1",
        "amnesty.rejected.v1",
    )
    assert ALL_TOPICS == (UPSTREAM, CASES, DECISIONS, REJECTED)
    assert tuple(TOPICS) == ALL_TOPICS
    assert all(TOPICS[name].name == name for name in ALL_TOPICS)


def test_each_topic_carries_the_messages_of_its_models() -> None:
    assert TOPICS[UPSTREAM].message_types == tuple(SUBMISSION_MODELS)
    assert TOPICS[CASES].message_types == tuple(CASE_EVENT_MODELS)
    assert TOPICS[DECISIONS].message_types == tuple(DECISION_EVENT_MODELS)
    assert TOPICS[REJECTED].message_types == ("RejectedMessage",)


def test_domain_topics_are_kept_forever_and_free_of_raw_identifiers() -> None:
    domain = [topic for topic in TOPICS.values() if topic.domain]
    assert [topic.name for topic in domain] == [CASES, DECISIONS]
    assert all(topic.unlimited_retention and not topic.raw_personal_data for topic in domain)


def test_only_upstream_and_rejected_hold_raw_personal_data() -> None:
    assert {topic.name for topic in TOPICS.values() if topic.raw_personal_data} == {UPSTREAM, REJECTED}


def test_domain_topics_are_keyed_by_the_person_pseudonym() -> None:
    assert "pseudonym" in TOPICS[CASES].key
    assert "pseudonym" in TOPICS[DECISIONS].key


def test_six_partitions_by_default() -> None:
    assert DEFAULT_PARTITIONS == 6
