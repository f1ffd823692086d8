import pytest

from flexcord.adapters.discord import split_message


def test_text_of_exactly_the_limit_is_one_chunk():
    text = "x" * 2000
    assert split_message(text) == [text]


def test_one_character_over_the_limit_without_whitespace_is_cut_hard():
    text = "x" * 2001
    assert split_message(text) == ["x" * 2000, "x"]


def test_long_text_without_whitespace_is_cut_at_the_limit():
    chunks = split_message("abcdefghij" * 450)  # 4,500 characters
    assert [len(chunk) for chunk in chunks] == [2000, 2000, 500]
    assert "".join(chunks) == "abcdefghij" * 450


def test_cuts_at_the_last_newline_before_the_limit():
    first_line = "a" * 1500
    second_line = "b" * 1000  # both together exceed 2,000
    assert split_message(f"{first_line}\n{second_line}") == [first_line, second_line]


def test_prefers_a_newline_to_a_later_space():
    text = "a" * 1000 + "\n" + "b" * 500 + " " + "c" * 800
    assert split_message(text) == ["a" * 1000, "b" * 500 + " " + "c" * 800]


def test_falls_back_to_the_last_space_when_there_is_no_newline():
    words = ["word"] * 600  # 2,999 characters with the spaces
    chunks = split_message(" ".join(words))
    assert all(len(chunk) <= 2000 for chunk in chunks)
    assert all(not chunk.startswith(" ") and not chunk.endswith(" ") for chunk in chunks)
    assert " ".join(chunks) == " ".join(words)  # only the separating spaces were dropped


def test_a_newline_exactly_at_the_limit_is_used():
    text = "a" * 2000 + "\n" + "b" * 10
    assert split_message(text) == ["a" * 2000, "b" * 10]


def test_never_returns_blank_chunks():
    assert split_message("") == []
    assert split_message("   \n\n  ") == []
    chunks = split_message("a" * 1999 + "\n" + "\n" * 2500 + "z")
    assert chunks == ["a" * 1999, "z"]


def test_indentation_after_a_cut_is_kept():
    text = "a" * 1990 + "\n    indented line"
    assert split_message(text) == ["a" * 1990, "    indented line"]


def test_custom_limit():
    assert split_message("one two three", limit=7) == ["one two", "three"]
    with pytest.raises(ValueError, match="limit"):
        split_message("text", limit=0)


def test_a_cut_inside_a_code_block_closes_and_reopens_the_fence():
    code = "\n".join(f"print({number})" for number in range(400))
    chunks = split_message(f"Here you go:\n```python\n{code}\n```\nDone.")
    assert len(chunks) > 1
    assert all(len(chunk) <= 2000 for chunk in chunks)
    assert all(chunk.count("```") % 2 == 0 for chunk in chunks)
    assert all(chunk.startswith("```python\n") for chunk in chunks[1:])
    assert chunks[-1].endswith("```\nDone.")
    # Every line of code survives, once.
    lines = [line for chunk in chunks for line in chunk.splitlines() if line.startswith("print(")]
    assert lines == code.splitlines()
