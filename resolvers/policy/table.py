"""The rule table in docs/access-rules.md, printed from the rules themselves.

    python -m resolvers.policy.table > docs/access-rules.md

tests/test_policy_home.py fails when the committed page and the rules drift apart.
"""

from __future__ import annotations

from resolvers.policy import rules_by_module

_YIELDS = {
    "reason": "a reason code, or nothing (go ahead)",
    "bool": "yes/no (unknown is no)",
    "value": "a value",
}

_HEAD = """# Access rules

Generated from `resolvers/policy/` by `python -m resolvers.policy.table`; do not edit.

Every rule below is defined once, as an expression over named facts (the viewer's
participation, the consent's dates and grants, the plan's state, today's date in Oslo). The
gateway renders each definition twice: as Python, which the resolvers ask for every field, and
as SQL, which row filters and compiled reads embed. A test (`tests/test_policy_agreement.py`)
runs every rule on generated facts both ways, on a real PostgreSQL, and requires the same
answer. How the rules combine into what a viewer sees is explained in
[access-model.md](access-model.md).

"""


def print_rules() -> str:
    lines = [_HEAD]
    for module, found in rules_by_module():
        name = module.__name__.rsplit(".", 1)[-1]
        summary = (module.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        lines.append(f"## `resolvers/policy/{name}.py`\n\n{summary}\n")
        lines.append("| rule | yields | reads | says |")
        lines.append("|---|---|---|---|")
        for rule in found:
            facts = ", ".join(f"`{f}`" for f in sorted(rule.expr.fact_nodes()))
            lines.append(f"| `{rule.name}` | {_YIELDS[rule.kind]} | {facts} | {rule.doc} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(print_rules(), end="")
