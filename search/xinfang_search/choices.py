"""What the search page's filters offer, in words: categories of the tenants' published forms, workflow states,
channels and form kinds."""

from __future__ import annotations

from xinfang.display_words import words as display_words
from xinfang.forms.reading import choice_labels
from xinfang.forms.service import list_forms
from xinfang.petitions.service import tenant_workflow
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant


def category_choices(schema: dict) -> dict[str, dict]:
    """A form's categories as value -> {"zh", "en"}: the choices of its ``category`` field as the form's model
    reads them (xinfang.forms.reading: labelled choices with x-en, or a plain enum; a single category or a list)."""
    return {value: names for value, names in choice_labels(schema or {}, "category").items() if isinstance(value, str)}


async def filter_choices(tenants: list[Tenant]) -> dict:
    """What the search page's filters offer, in words: the categories of the tenants' published forms, their
    workflows' states, the channels and form kinds; the first tenant's words win where two name one value.
    ``state_names`` gives each tenant's own state words, for showing results."""
    categories: dict[str, dict] = {}
    states: dict[str, dict] = {}
    state_names: dict[str, dict] = {}
    for tenant in tenants:
        scope = TenantScope(str(tenant.id))
        for form in await list_forms(scope):
            for value, names in category_choices(form.json_schema).items():
                categories.setdefault(value, names)
        own = {state.key: state.name.model_dump() for state in (await tenant_workflow(scope)).states}
        state_names[tenant.slug] = own
        for key, names in own.items():
            states.setdefault(key, names)
    return {"category": categories, "status": states, "channel": display_words("channel"), "kind": display_words("form_kind"),
            "state_names": state_names}
