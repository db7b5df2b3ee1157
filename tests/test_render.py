import pytest

from scripts_library.render import TemplateRejected, inspect_template, render
from scripts_library.schema import Variable

VARIABLES = {"courier": Variable(label="快递公司", default="快递"), "order_id": Variable(label="订单号")}


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ cycler }}{{ cycler.__init__.__globals__ }}",
        "{% import 'os' as os %}",
        "{% for i in range(10**9) %}x{% endfor %}",
        "{{ courier|upper }}",
        "{{ courier() }}",
        "{{ 'x' * 100000000 }}",
        "{% set a = 1 %}{{ a }}",
        "{{ _private }}",
        "{{ unclosed",
    ],
)
def test_anything_but_plain_substitution_is_rejected(template):
    with pytest.raises(TemplateRejected):
        render(template, VARIABLES, {})


def test_variables_are_listed_in_order():
    assert inspect_template("您好，{{ courier }}单号{{ order_id }}，{{ courier }}") == ("courier", "order_id")


def test_context_then_default_then_missing_placeholder():
    rendered = render("已联系{{ courier }}，订单{{ order_id }}", VARIABLES, {})
    assert rendered.text == "已联系快递，订单【订单号】"
    assert rendered.missing_variables == ("order_id",)
    rendered = render("已联系{{ courier }}，订单{{ order_id }}", VARIABLES, {"courier": "中通", "order_id": "123"})
    assert rendered.text == "已联系中通，订单123" and rendered.missing_variables == ()


def test_context_values_are_inserted_literally_not_evaluated():
    rendered = render("单号{{ order_id }}", VARIABLES, {"order_id": "{{ cycler.__init__ }}"})
    assert rendered.text == "单号{{ cycler.__init__ }}"


def test_none_is_never_printed():
    assert "None" not in render("订单{{ order_id }}", VARIABLES, {"order_id": None}).text
