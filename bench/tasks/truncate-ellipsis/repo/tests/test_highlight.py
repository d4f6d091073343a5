from snippets.highlight import highlight, snippet


def test_highlight_escapes_and_marks():
    assert highlight("Use <b> for Bold", ["bold"]) == "Use &lt;b&gt; for <mark>Bold</mark>"


def test_highlight_prefers_longer_terms():
    assert highlight("cats cat", ["cat", "cats"]) == "<mark>cats</mark> <mark>cat</mark>"


def test_highlight_without_terms():
    assert highlight("a & b", [" "]) == "a &amp; b"


def test_snippet_starts_near_term():
    text = "Lots of introductory words come first and then the keyword appears here"
    assert snippet(text, ["keyword"], limit=200) == (
        "…and then the <mark>keyword</mark> appears here")
