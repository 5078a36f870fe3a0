"""Creating and changing command templates: every change that alters what is sent makes a
new version, in the transaction of its audit entry."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from audit.models import Action, Outcome
from audit.trail import Origin, record
from command_templates.definition import Definition
from command_templates.models import CommandTemplate, TemplateVersion
from teams.services import team_ref


class TemplateRuleError(Exception):
    """A change the rules do not allow; the message says why, in words."""


def _stored(definition: Definition) -> dict[str, object]:
    return definition.model_dump(mode="json", by_alias=True, exclude_defaults=False)


def template_save(
    *,
    template: CommandTemplate,
    description: str,
    source: str,
    definition: Definition,
    origin: Origin,
    user: AbstractBaseUser | None,
) -> TemplateVersion:
    """Create `template` (unsaved) with version 1, or save its name and device type and, if
    what it sends or says changed, a new version. The version it now has is returned."""
    creating = template.pk is None
    team = template.team
    with transaction.atomic():
        clash = CommandTemplate.objects.filter(team=team, name__iexact=template.name).exclude(
            pk__in=[template.pk] if template.pk else []
        )
        if clash.exists():
            raise TemplateRuleError(f"{team.name} has a template called {template.name!r}.")
        current = None
        if not creating:
            CommandTemplate.objects.select_for_update().filter(pk=template.pk).first()
            current = template.versions.order_by("-number").first()
        try:
            with transaction.atomic():
                template.save()
        except IntegrityError:
            raise TemplateRuleError(
                f"{team.name} has a template called {template.name!r}."
            ) from None
        stored = _stored(definition)
        if (
            current is not None
            and current.definition == stored
            and current.description == description
        ):
            version = current
        else:
            version = TemplateVersion.objects.create(
                template=template,
                number=(current.number if current else 0) + 1,
                description=description,
                source=source,
                definition=stored,
                created_by_id=user.pk if user is not None else None,
            )
        record(
            Action.TEMPLATE_CREATED if creating else Action.TEMPLATE_CHANGED,
            origin=origin,
            outcome=Outcome.OK,
            target_kind="template",
            target_id=str(template.pk),
            asked={
                "name": template.name,
                "kind": template.kind,
                "device_type": template.device_type.name if template.device_type else "",
                "version": version.number,
            },
            summary=f"Template {template.name} version {version.number}",
            team=team_ref(team),
        )
    return version
