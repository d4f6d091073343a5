import pytest
from numerals.words import ordinal, to_words


@pytest.mark.parametrize(("number", "words"), [
    (0, "zero"), (13, "thirteen"), (42, "forty-two"), (105, "one hundred and five"),
    (1000, "one thousand"), (1005, "one thousand and five"),
    (2_345_678, "two million three hundred and forty-five thousand six hundred and seventy-eight"),
    (-7, "minus seven"),
])
def test_to_words(number, words):
    assert to_words(number) == words


@pytest.mark.parametrize(("number", "text"), [(1, "1st"), (2, "2nd"), (11, "11th"), (23, "23rd"),
                                              (112, "112th"), (101, "101st")])
def test_ordinal(number, text):
    assert ordinal(number) == text
