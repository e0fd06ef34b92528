"""Every access rule lives in resolvers/policy/ and nowhere else.

A rule written a second time drifts from the first. Outside the policy home, a role name, a
grant level, a visibility or a reason code may appear only as an imported name: never as a
string literal (in Python or inside SQL), and a reason only where its text is chosen
(resolvers/errors.py). The schema's enums and the demo municipality's data are the
exceptions; the measuring sticks in bench/ keep their own SQL on purpose and are checked by
row equality instead (bench/agree.py, tests/test_floor_agreement.py).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from resolvers import policy
from resolvers.policy.facts import GLOBAL_ROLES, LEVELS, ROLES, VISIBILITIES
from resolvers.policy.table import print_rules

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "schema", "resolvers", "db")
HOME = ROOT / "resolvers" / "policy"

WORDS = frozenset(ROLES + GLOBAL_ROLES + LEVELS + VISIBILITIES) | {r.value for r in policy.Reason}

# Data, not rules: the schema's enums (the contract's names), the demo municipality's plans
# and people, and the words each reason is explained with.
EXEMPT = {
    "schema/enums.py": "the schema's enums",
    "gateway/demo.py": "demo people and their roles",
    "gateway/demo_plans.py": "demo plans, consents and grants",
    "resolvers/errors.py": "the text for each reason code",
}


def _sources() -> list[Path]:
    files = [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]
    return [p for p in files if HOME not in p.parents]


def _findings(path: Path) -> list[str]:
    text = path.read_text()
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value
            if value in WORDS:
                found.append(f"{node.lineno}: literal {value!r}")
            for word in re.findall(r"'([A-Z_]+)'", value):
                if word in WORDS:
                    found.append(f"{node.lineno}: {word!r} inside SQL")
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute | ast.Name)
            and getattr(node.value, "attr", getattr(node.value, "id", None)) == "Reason"
        ):
            found.append(f"{node.lineno}: Reason.{node.attr}")
    return found


def test_no_rule_outside_the_policy_home() -> None:
    offenders = {}
    for path in _sources():
        name = str(path.relative_to(ROOT))
        if name in EXEMPT:
            continue
        if found := _findings(path):
            offenders[name] = found
    assert not offenders, offenders


def test_the_check_finds_a_rule_written_outside() -> None:
    """The scan is not blind: a copied rule in the shapes it looks for is found."""
    sample = ROOT / "tests" / "_policy_home_sample.py"
    sample.write_text(
        "ROLE = 'COORDINATOR'\n"
        "SQL = \"SELECT 1 WHERE me.role IN ('OWNER', 'COORDINATOR')\"\n"
        "from resolvers import policy\n"
        "reason = policy.Reason.NO_GRANT\n"
    )
    try:
        found = _findings(sample)
    finally:
        sample.unlink()
    assert len(found) == 4, found


def test_exemptions_still_exist() -> None:
    for name in EXEMPT:
        assert (ROOT / name).is_file(), name


def test_rule_table_in_docs_matches_the_rules() -> None:
    page = ROOT / "docs" / "access-rules.md"
    assert page.read_text() == print_rules(), (
        "run: python -m resolvers.policy.table > docs/access-rules.md"
    )
    for rule in policy.rules():
        assert f"| `{rule.name}` |" in page.read_text()
