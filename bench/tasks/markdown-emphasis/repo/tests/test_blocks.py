import pytest
from minimark import render
from minimark.blocks import table_of_contents

DOC = """# Title #

Some *nice* text
over two lines.

- one
- **two**

```
<raw> *kept*
```
## Usage notes
"""


def test_render_document():
    assert render(DOC).splitlines() == [
        '<h1 id="title">Title</h1>',
        "<p>Some <em>nice</em> text over two lines.</p>",
        "<ul><li>one</li><li><strong>two</strong></li></ul>",
        "<pre><code>&lt;raw&gt; *kept*</code></pre>",
        '<h2 id="usage-notes">Usage notes</h2>',
    ]


def test_list_items_with_several_emphases():
    assert render("- *a* or *b*") == "<ul><li><em>a</em> or <em>b</em></li></ul>"


def test_unclosed_fence():
    with pytest.raises(ValueError):
        render("```\ncode")


def test_table_of_contents_skips_code():
    text = "# A\n```\n# not a heading\n```\n### B c\n"
    assert table_of_contents(text) == [(1, "A", "a"), (3, "B c", "b-c")]
