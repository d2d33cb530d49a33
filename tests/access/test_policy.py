"""The one permission question, as a table: roles × policies × actions (as datasette's
permission tests do), and the validation of new tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chemearth.access.policy import Action, Actor, Policy, Resource, Role, allowed
from chemearth.access.tokens import TokenStore
from chemearth.errors import AccessDenied

ORG = "NGU"
POLICIES = {
    "public": Policy("p", ORG, "public", embargo=frozenset({"U"})),
    "aggregated": Policy("a", ORG, "aggregated", embargo=frozenset({"U"})),
    "restricted": Policy("r", ORG, "restricted", organisations=frozenset({"SGU"})),
}
ACTORS = {
    "anonymous": Actor.anonymous(),
    "public": Actor("pub", Role.PUBLIC),
    "partner-granted": Actor("pa", Role.PARTNER, grants=frozenset({"p", "a", "r"})),
    "partner": Actor("pb", Role.PARTNER),
    "partner-sharing-org": Actor("pc", Role.PARTNER, "SGU"),
    "other-owner": Actor("o2", Role.OWNER, "GTK"),
    "owner": Actor("o", Role.OWNER, ORG),
    "admin": Actor("ad", Role.ADMIN),
}
FULL = {
    "public": {"partner-granted", "owner", "admin"},
    "aggregated": {"partner-granted", "owner", "admin"},
    "restricted": {"partner-granted", "partner-sharing-org", "owner", "admin"},
}

V, E, EC, AC, S, D, R, M, SH = (
    "view-dataset", "view-element", "view-cells", "view-all-cells", "view-samples",
    "download-samples", "replace", "attach-media", "view-sharing")
#: policy -> action -> who may (on element "Pb"; "U" is embargoed where listed)
TABLE = {
    "public": {V: set(ACTORS), E: set(ACTORS), EC: set(ACTORS), AC: set(ACTORS),
               S: set(ACTORS), D: set(ACTORS), R: {"owner", "admin"},
               M: {"owner", "admin"}, SH: FULL["public"]},
    "aggregated": {V: set(ACTORS), E: set(ACTORS), EC: set(ACTORS),
                   AC: FULL["aggregated"], S: FULL["aggregated"], D: FULL["aggregated"],
                   R: {"owner", "admin"}, M: {"owner", "admin"}, SH: FULL["aggregated"]},
    "restricted": dict.fromkeys((V, E, EC, AC, S, D, SH), FULL["restricted"])
    | {R: {"owner", "admin"}, M: {"owner", "admin"}},
}

CASES = [(pol, action, actor, actor in who)
         for pol, row in TABLE.items() for action, who in row.items() for actor in ACTORS]


@pytest.mark.parametrize(("policy", "action", "actor", "expected"), CASES)
def test_roles_policies_actions(policy: str, action: str, actor: str, expected: bool) -> None:
    res = Resource.of(POLICIES[policy], "Pb")
    assert allowed(ACTORS[actor], action, res) is expected


@pytest.mark.parametrize("policy", list(POLICIES))
@pytest.mark.parametrize("actor", list(ACTORS))
def test_an_embargoed_element_needs_full_access(policy: str, actor: str) -> None:
    pol = POLICIES[policy]
    for action in (E, EC, AC, S, D):
        ok = allowed(ACTORS[actor], action, Resource.of(pol, "U"))
        if "U" in pol.embargo:
            assert ok is (actor in FULL[policy])
        else:
            assert ok is allowed(ACTORS[actor], action, Resource.of(pol, "Pb"))


@pytest.mark.parametrize(("actor", "organisation", "expected"), [
    ("owner", ORG, True), ("owner", "GTK", False), ("admin", "GTK", True),
    ("partner-granted", ORG, False), ("public", ORG, False), ("anonymous", ORG, False),
    ("other-owner", "GTK", True),
])
def test_uploads(actor: str, organisation: str, expected: bool) -> None:
    assert allowed(ACTORS[actor], Action.UPLOAD, Resource.organisation_of(organisation)) \
        is expected


@pytest.mark.parametrize("actor", list(ACTORS))
def test_only_admins_manage_tokens(actor: str) -> None:
    assert allowed(ACTORS[actor], "manage-tokens") is (actor == "admin")


def test_policy_methods_ask_the_same_question() -> None:
    for pol in POLICIES.values():
        for actor in ACTORS.values():
            assert pol.visible(actor) is allowed(actor, V, Resource.of(pol))
            assert pol.samples_visible(actor, "Pb") is allowed(actor, S, Resource.of(pol, "Pb"))
            assert pol.full_access(actor) is allowed(actor, SH, Resource.of(pol))
            assert (pol.min_cell_n(actor) == 1) is allowed(actor, AC, Resource.of(pol))


# ------------------------------------------------------------------ tokens (finding 7)


@pytest.mark.parametrize(("role", "organisation", "grants", "message"), [
    ("public", ORG, (), "carries no organisation"),
    ("public", "", ("a",), "only 'partner' tokens carry grants"),
    ("owner", "", (), "needs an organisation"),
    ("owner", ORG, ("a",), "only 'partner' tokens carry grants"),
    ("anonymous", "", (), "cannot have the role"),
    ("root", "", (), "unknown role"),
])
def test_tokens_that_do_not_go_together_are_refused(
    tmp_path: Path, role: str, organisation: str, grants: tuple[str, ...], message: str
) -> None:
    tokens = TokenStore(tmp_path)
    with pytest.raises(AccessDenied, match=message):
        tokens.create("x", role, organisation=organisation, grants=grants)
    assert not tokens.path.exists()  # nothing written


def test_a_public_token_with_an_organisation_in_an_old_file_has_no_access(
    tmp_path: Path,
) -> None:
    """Finding 7: such a token had full access to its organisation's restricted data."""
    tokens = TokenStore(tmp_path)
    secret = tokens.create("p", "public")
    data = json.loads(tokens.path.read_text())
    data["tokens"][0].update(organisation=ORG, grants=["r"])  # as an old version wrote it
    tokens.path.write_text(json.dumps(data))
    actor = TokenStore(tmp_path).authenticate(secret)
    for pol in POLICIES.values():
        assert not pol.full_access(actor)
    assert not POLICIES["restricted"].visible(actor)
    assert not POLICIES["aggregated"].samples_visible(actor)


def test_grants_go_to_partners_only(tmp_path: Path) -> None:
    tokens = TokenStore(tmp_path)
    tokens.create("o", "owner", organisation=ORG)
    tokens.create("pa", "partner")
    owner_id, partner_id = (r.token_id for r in sorted(tokens.records().values(),
                                                      key=lambda r: r.name))
    with pytest.raises(AccessDenied, match="only 'partner' tokens carry grants"):
        tokens.grant(owner_id, "r")
    tokens.grant(partner_id, "r")
    assert tokens.records()[partner_id].grants == ["r"]
