from snippets.slug import slugify, unique_slug


def test_slugify_ascii_folding():
    assert slugify("Crème Brûlée: A How-To") == "creme-brulee-a-how-to"


def test_slugify_limits_length_at_word():
    assert slugify("one two three four", max_length=10) == "one-two"


def test_slugify_empty():
    assert slugify("!!!") == "untitled"


def test_unique_slug():
    assert unique_slug("Hello", {"hello", "hello-2"}) == "hello-3"
    assert unique_slug("Hello", set()) == "hello"
