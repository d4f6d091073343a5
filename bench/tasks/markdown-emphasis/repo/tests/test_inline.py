from minimark.inline import render_inline


def test_escapes_html():
    assert render_inline("a < b & c") == "a &lt; b &amp; c"


def test_strong_and_emphasis():
    assert render_inline("**bold** and *it*") == "<strong>bold</strong> and <em>it</em>"


def test_two_emphasis_spans():
    assert render_inline("*one* and *two*") == "<em>one</em> and <em>two</em>"


def test_code_span_is_literal():
    assert render_inline("use `*args` here") == "use <code>*args</code> here"


def test_links():
    assert render_inline("[docs](https://x.org)") == '<a href="https://x.org">docs</a>'
    assert render_inline("[bad](javascript:alert)") == "bad"
