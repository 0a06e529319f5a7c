"""Filter rules <-> XML, kept generic so every rule round-trips exactly.

Inside a rule everything is urn:zimbraMail, also in the admin Get/ModifyFilterRules where only
`filterRules`/`filterRule` are urn:zimbraAdmin (JAXB FilterRule is a mail type).

Unnamed rules: Zimbra returns a rule whose Sieve lacks a `# name` line without `name`. We keep
`name=None` and write such a rule back without `name`; Zimbra accepts that (JAXB does not
enforce `required`) and SoapToSieve stores it as `# null`, so it reads back named "null". We do
not invent a name: the rule's identity is its position and content, not a name we made up.
"""

from __future__ import annotations

from zcomp.zimbra.model import FilterRule, Node
from zcomp.zimbra.ns import (
    MAIL,
    Element,
    bool_attr,
    child,
    children,
    flag,
    local,
    namespace,
    str_attrs,
    sub,
)

# Attributes the server adds to each test/action on read (GetFilterRulesResponse).
SERVER_ADDED = frozenset({"index"})


def node_from_xml(node: Element, *, drop: frozenset[str] = frozenset()) -> Node:
    ns = namespace(node)
    tag = local(node) if ns in (MAIL, None) else f"{{{ns}}}{local(node)}"
    attrs = {k: v for k, v in str_attrs(node).items() if k not in drop}
    kids = children(node)
    text = node.text if node.text is not None and (not kids or node.text.strip()) else None
    return Node(tag=tag, attrs=attrs, text=text, children=[node_from_xml(c) for c in kids])


def node_to_xml(parent: Element, node: Node) -> Element:
    if node.tag.startswith("{"):
        ns, _, tag = node.tag[1:].partition("}")
    else:
        ns, tag = MAIL, node.tag
    out = sub(parent, ns, tag, node.attrs, node.text)
    for kid in node.children:
        node_to_xml(out, kid)
    return out


def _variables(holder: Element) -> list[Node]:
    found: list[Node] = []
    for wrapper in children(holder, "filterVariables"):
        found.extend(node_from_xml(v) for v in children(wrapper))
    return found


def rule_from_xml(rule: Element, *, nested: bool = False) -> FilterRule:
    tests_el = child(rule, "filterTests")
    actions_el = child(rule, "filterActions")
    nested_el = child(rule, "nestedRule")
    return FilterRule(
        name=None if nested else rule.get("name"),
        active=True if nested else flag(rule.get("active"), default=True),
        condition=tests_el.get("condition") if tests_el is not None else None,
        tests=[node_from_xml(t, drop=SERVER_ADDED) for t in children(tests_el)]
        if tests_el is not None
        else [],
        actions=[node_from_xml(a, drop=SERVER_ADDED) for a in children(actions_el)]
        if actions_el is not None
        else [],
        nested=rule_from_xml(nested_el, nested=True) if nested_el is not None else None,
        variables=_variables(rule),
    )


def _rule_body(out: Element, rule: FilterRule) -> None:
    # JAXB propOrder: filterVariables, filterTests, filterActions, nestedRule.
    if rule.variables:
        wrapper = sub(out, MAIL, "filterVariables")
        for var in rule.variables:
            node_to_xml(wrapper, var)
    tests = sub(out, MAIL, "filterTests")
    if rule.condition is not None:
        tests.set("condition", rule.condition)
    for test in rule.tests:
        node_to_xml(tests, test)
    if rule.actions:
        actions = sub(out, MAIL, "filterActions")
        for action in rule.actions:
            node_to_xml(actions, action)
    if rule.nested is not None:
        _rule_body(sub(out, MAIL, "nestedRule"), rule.nested)


def rules_from_xml(response: Element) -> list[FilterRule]:
    wrapper = child(response, "filterRules")
    if wrapper is None:
        return []
    return [rule_from_xml(r) for r in children(wrapper, "filterRule")]


def rules_to_xml(parent: Element, rules_ns: str, rules: tuple[FilterRule, ...]) -> None:
    """Append <filterRules> (in `rules_ns`) holding every rule to `parent`."""
    wrapper = sub(parent, rules_ns, "filterRules")
    for rule in rules:
        out = sub(wrapper, rules_ns, "filterRule")
        if rule.name is not None:
            out.set("name", rule.name)
        out.set("active", bool_attr(rule.active))
        _rule_body(out, rule)
