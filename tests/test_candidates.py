"""Splitting model responses into candidate instructions."""

from selfinstruct.stages.bootstrap.candidates import split_candidates


def test_completion_response_continues_open_item() -> None:
    response = " Summarize the plot of a novel you like.\n10. Convert 5 miles to kilometers.\n11 . Name three rivers in Africa."
    items = split_candidates(response, first_number=9, continued=True)
    assert [c.text for c in items] == [
        "Summarize the plot of a novel you like.",
        "Convert 5 miles to kilometers.",
        "Name three rivers in Africa.",
    ]
    assert [c.number for c in items] == [9, 10, 11]
    assert not any(c.truncated for c in items)


def test_chat_preamble_is_not_a_candidate_and_lines_are_joined() -> None:
    response = "Here are some new tasks:\n\n9. Explain why the sky\n   looks blue at noon.\n10) Give two synonyms for happy."
    items = split_candidates(response, first_number=9, continued=False)
    assert [c.text for c in items] == [
        "Explain why the sky looks blue at noon.",
        "Give two synonyms for happy.",
    ]


def test_length_cut_marks_last_candidate_truncated() -> None:
    items = split_candidates(
        " Plan a picnic for six.\n10. Describe the water cycle in",
        first_number=9,
        continued=True,
        finish_reason="length",
    )
    assert [c.truncated for c in items] == [False, True]


def test_chinese_markers_and_fullwidth_digits() -> None:
    response = "9、写一首关于秋天的短诗。\n１０．解释一下什么是通货膨胀。"
    items = split_candidates(response, first_number=9, continued=False)
    assert [c.text for c in items] == ["写一首关于秋天的短诗。", "解释一下什么是通货膨胀。"]
    assert [c.number for c in items] == [9, 10]


def test_unnumbered_chat_list_uses_lines() -> None:
    items = split_candidates(
        "New tasks:\n- Invent a riddle about time.\n- Rank these fruits by sweetness.",
        first_number=9,
        continued=False,
    )
    assert [c.text for c in items] == [
        "Invent a riddle about time.",
        "Rank these fruits by sweetness.",
    ]


def test_empty_response_gives_no_candidates() -> None:
    assert split_candidates("", first_number=9, continued=False) == []
    assert [c.text for c in split_candidates("", first_number=9, continued=True)] == [""]


def test_a_number_opening_a_line_of_text_is_not_a_marker() -> None:
    response = "9. Convert the recipe for\n1.5 kg of flour into cups.\n10. Plan a meeting at\n10:30 with three people."
    items = split_candidates(response, first_number=9, continued=False)
    assert [c.text for c in items] == [
        "Convert the recipe for 1.5 kg of flour into cups.",
        "Plan a meeting at 10:30 with three people.",
    ]
    assert [c.number for c in items] == [9, 10]


def test_markdown_markers_and_odd_line_breaks() -> None:
    response = "## 9. Name a **bird**.\r\n* 10) List two\u2028planets.\n- 11、写一句诗。"
    items = split_candidates(response, first_number=9, continued=False)
    assert [c.text for c in items] == [
        "Name a bird.",
        "List two planets.",
        "写一句诗。",
    ]  # no bold kept
    assert [c.number for c in items] == [9, 10, 11]
