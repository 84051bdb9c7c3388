"""Marker injection: which template lines may carry a line marker, and what the marked template
renders to. The Helm engine itself is exercised in test_helm.py."""

from __future__ import annotations

import pytest

from scanner.sources.helm_lines import (
    MarkedTemplate,
    inject_markers,
    markable_lines,
    marker,
    strip_markers,
)


def flags(text: str) -> list[bool]:
    return markable_lines(text)


def test_plain_lines_and_value_actions_are_markable() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: {{ .Values.a }}\n"
    assert flags(text) == [True, True, True, True]
    assert inject_markers(text).splitlines()[3] == "  a: {{ .Values.a }}" + marker(4)


def test_blank_lines_are_not_marked() -> None:
    # A marker on a blank line inside a block scalar would end the scalar.
    assert flags("data: |\n  a\n\n  b\n") == [True, True, False, True]


def test_right_trimmed_line_end_is_not_marked() -> None:
    # `-}}` eats the newline; a marker after it would keep the newline and change the output.
    text = "{{- if .Values.on -}}\napiVersion: v1\n{{- end }}\n"
    assert flags(text) == [False, True, True]


def test_lines_inside_define_blocks_are_not_marked() -> None:
    text = ('{{- define "x" }}\nname: a\n{{- end }}\nkind: Pod\n'
            '{{- if .a }}\nb: 1\n{{- end }}\n')
    assert flags(text) == [False, False, True, True, True, True, True]


def test_multiline_actions_comments_and_raw_strings_are_not_split() -> None:
    text = ("a: {{ list 1\n  2 }}\n"           # action spanning two lines
            "{{/* a\ncomment */}}\n"           # comment spanning two lines
            "b: {{ `raw\nstring` }}\n"        # raw string spanning two lines
            'c: {{ "}}" }}\n')                 # `}}` inside a string does not close
    assert flags(text) == [False, True, False, True, False, True, True]


def test_windows_line_endings_keep_the_carriage_return_last() -> None:
    out = inject_markers("a: 1\r\nb: 2\r\n")
    assert out == f"a: 1{marker(1)}\r\nb: 2{marker(2)}\r\n"


@pytest.mark.parametrize("value", ["x #@kaic:3@", ["y #@kaic:1@"], {"k #@kaic:2@": "v"}])
def test_strip_markers_removes_them_everywhere(value) -> None:
    assert "kaic" not in repr(strip_markers(value))


def test_rendered_lines_without_marker_belong_to_the_next_marker() -> None:
    # Lines 2-3 came out of one `include ... | nindent` on template line 6.
    marked = MarkedTemplate(f"labels:{marker(5)}\n  a: 1\n  b: 2{marker(6)}\nkind: X{marker(7)}")
    assert [marked.template_line(n) for n in (1, 2, 3, 4)] == [5, 6, 6, 7]
    assert marked.template_line(99) is None


def test_same_shape_ignores_markers_but_not_structure() -> None:
    import yaml

    from scanner.sources.helm_lines import same_shape

    node = yaml.compose(f"a: x{marker(1)}\nb:{marker(2)}\n  - 1{marker(3)}\n")
    assert same_shape(node, {"a": "x", "b": [1]})
    assert not same_shape(node, {"a": "x", "b": [1, 2]})
    assert not same_shape(node, {"a": "y", "b": [1]})
    assert not same_shape(node, {"a": "x", "c": [1]})
