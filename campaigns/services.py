"""Writes of campaigns: the draft made at preview, start (now or at a time), pause, resume,
cancel, finish and re-run; each audited. A change of state is one conditional UPDATE from the
states it may come from, so two people (or a person and a sender) cannot both make it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.trail import Origin, record
from campaigns.models import ACTIVE_STATES, Campaign, CampaignRow, CampaignState, RowState
from campaigns.pace import team_rate
from campaigns.rows import Message, flag_on_its_way, make_rows
from campaigns.selectors import campaign_counts, rows_with_outcome
from campaigns.targets import Targets
from downlinks.services import new_submission_key
from teams.models import Team
from teams.services import team_ref


class CampaignStateError(Exception):
    """The campaign is not in a state that allows this; the message says which it is in."""


def _audit(campaign: Campaign, action: Action, origin: Origin, summary: str, **asked: Any) -> None:
    record(
        action,
        origin=origin,
        team=team_ref(campaign.team),
        target_kind="campaign",
        target_id=str(campaign.pk),
        summary=summary,
        asked={"campaign": campaign.pk, "name": campaign.name, **asked},
    )


def _user_id(user: AbstractBaseUser | AnonymousUser | None) -> Any:
    return user.pk if user is not None and user.is_authenticated else None


def _save_draft(
    *,
    campaign: Campaign,
    rows: list[CampaignRow],
    origin: Origin,
    audited: dict[str, Any],
) -> Campaign:
    sendable = [row for row in rows if row.state == RowState.QUEUED]
    if sendable:
        campaign.message = {k: v for k, v in sendable[0].request_body.items() if k != "deviceId"}
        campaign.summary = campaign.summary or sendable[0].payload_summary
    with transaction.atomic():
        campaign.save()
        for row in rows:
            row.campaign = campaign
        CampaignRow.objects.bulk_create(rows, batch_size=1000)
        _audit(
            campaign,
            Action.CAMPAIGN_CREATED,
            origin,
            f"Created campaign “{campaign.name}”: {len(sendable)} of {len(rows)} devices sendable",
            kind=campaign.kind,
            devices=len(rows),
            sendable=len(sendable),
            **audited,
        )
    return campaign


def campaign_draft(
    *,
    message: Message,
    targets: Targets,
    name: str,
    origin: Origin,
    user: AbstractBaseUser | AnonymousUser | None,
) -> Campaign:
    """The campaign as previewed: every row made and checked, nothing sent."""
    rows = make_rows(message, targets)
    version = message.version
    campaign = Campaign(
        team=message.team,
        kind=message.kind,
        name=name,
        created_by_id=_user_id(user),
        created_by_label=origin.actor_label,
        template_version=version,
        notes=targets.notes(),
    )
    if version is not None:
        shared = message.form.values()  # type: ignore[attr-defined]
        campaign.shared_values = shared
        if message.per_row:
            campaign.summary = "values per device"
    audited: dict[str, Any] = {"merged": targets.merged_count}
    if version is not None:
        audited["template"] = {"name": version.template.name, "version": version.number}
    return _save_draft(campaign=campaign, rows=rows, origin=origin, audited=audited)


def campaign_rerun(
    *,
    campaign: Campaign,
    outcomes: Iterable[str],
    origin: Origin,
    user: AbstractBaseUser | AnonymousUser | None,
) -> Campaign:
    """A new draft of the rows of `campaign` whose outcome is one of `outcomes`, with the same
    message as those rows were sent with (each under a new one-time key)."""
    chosen = sorted(set(outcomes))
    old_rows = list(rows_with_outcome(campaign, chosen))
    rows = [
        CampaignRow(
            position=position,
            device_id=old.device_id,
            values=old.values,
            request_body=old.request_body,
            payload_summary=old.payload_summary,
            codec_version_id=old.codec_version_id,
            submission_key=new_submission_key(),
        )
        for position, old in enumerate(old_rows, start=1)
    ]
    flag_on_its_way(campaign.team, campaign.kind, rows)
    draft = Campaign(
        team=campaign.team,
        kind=campaign.kind,
        name=f"{campaign.name} (re-run)"[:100],
        created_by_id=_user_id(user),
        created_by_label=origin.actor_label,
        template_version=campaign.template_version,
        shared_values=campaign.shared_values,
        summary=campaign.summary,
        rerun_of=campaign,
    )
    return _save_draft(
        campaign=draft,
        rows=rows,
        origin=origin,
        audited={"rerunOf": campaign.pk, "outcomes": chosen},
    )


def _transition(
    campaign: Campaign, allowed: Iterable[str], to: CampaignState, **fields: Any
) -> bool:
    changed = Campaign.objects.filter(pk=campaign.pk, state__in=list(allowed)).update(
        state=to, **fields
    )
    if changed:
        campaign.refresh_from_db()
    return bool(changed)


def _refused(campaign: Campaign, what: str) -> CampaignStateError:
    campaign.refresh_from_db(fields=["state"])
    return CampaignStateError(
        f"This campaign cannot be {what}: it is {campaign.get_state_display().lower()}."
    )


def campaign_start(
    *,
    campaign: Campaign,
    origin: Origin,
    send_anyway: bool,
    start_at: datetime | None = None,
) -> Campaign:
    """Start the draft now, or at `start_at`: the rows whose device has a downlink on its way
    are skipped unless `send_anyway`. Where the team's rules ask for it, the campaign waits
    for a second person's approval instead (`campaign_approve` then starts it). The senders
    start after the commit."""
    sendable = campaign.rows.filter(state=RowState.QUEUED).count()
    if campaign.needs_approval(sendable):
        with transaction.atomic():
            if not _transition(
                campaign,
                [CampaignState.DRAFT],
                CampaignState.AWAITING_APPROVAL,
                send_anyway=send_anyway,
                start_at=start_at,
            ):
                raise _refused(campaign, "started")
            _audit(
                campaign,
                Action.CAMPAIGN_SUBMITTED,
                origin,
                f"Asked for approval of campaign “{campaign.name}” ({sendable} devices)",
                sendable=sendable,
                sendAnyway=send_anyway,
            )
        return campaign
    with transaction.atomic():
        _begin(campaign, CampaignState.DRAFT, origin, send_anyway=send_anyway, start_at=start_at)
    return campaign


def campaign_approve(*, campaign: Campaign, origin: Origin) -> Campaign:
    """A second person's approval: the campaign starts as its creator confirmed it."""
    if origin.actor_id is not None and origin.actor_id == campaign.created_by_id:
        raise CampaignStateError(
            "The person who made a campaign cannot approve it: ask another operator or admin."
        )
    with transaction.atomic():
        approved = Campaign.objects.filter(
            pk=campaign.pk, state=CampaignState.AWAITING_APPROVAL
        ).update(
            approved_by_id=origin.actor_id,
            approved_by_label=origin.actor_label,
            approved_at=timezone.now(),
        )
        if not approved:
            raise _refused(campaign, "approved")
        campaign.refresh_from_db()
        _audit(campaign, Action.CAMPAIGN_APPROVED, origin, f"Approved campaign “{campaign.name}”")
        _begin(
            campaign,
            CampaignState.AWAITING_APPROVAL,
            origin,
            send_anyway=campaign.send_anyway,
            start_at=campaign.start_at,
        )
    return campaign


def _begin(
    campaign: Campaign,
    from_state: CampaignState,
    origin: Origin,
    *,
    send_anyway: bool,
    start_at: datetime | None,
) -> None:
    """Inside the caller's transaction: running (or scheduled), audited, senders on commit."""
    now = timezone.now()
    later = start_at is not None and start_at > now
    if not _transition(
        campaign,
        [from_state],
        CampaignState.SCHEDULED if later else CampaignState.RUNNING,
        rate=team_rate(campaign.team.campaign_rate),
        send_anyway=send_anyway,
        start_at=start_at if later else None,
        started_at=None if later else now,
        heartbeat_at=now,
    ):
        raise _refused(campaign, "started")
    if not send_anyway:
        campaign.rows.filter(state=RowState.QUEUED, on_its_way=True).update(state=RowState.SKIPPED)
    _audit(
        campaign,
        Action.CAMPAIGN_STARTED,
        origin,
        f"Started campaign “{campaign.name}” at {campaign.rate}/s"
        + (f", from {start_at:%Y-%m-%d %H:%M %Z}" if later and start_at else ""),
        rate=campaign.rate,
        sendAnyway=send_anyway,
        **({"startAt": start_at.isoformat()} if later and start_at else {}),
    )
    if not later:
        transaction.on_commit(lambda: start_senders(campaign.pk))


def start_senders(campaign_id: int) -> None:
    from campaigns.tasks import run_campaign

    run_campaign.delay(campaign_id)


def campaign_settings_set(
    *,
    team: Team,
    rate: int,
    approval_above: int | None,
    approval_raw: bool,
    origin: Origin,
) -> Team:
    """The team's campaign rate (at most the portal's maximum) and approval rules."""
    capped = team_rate(rate)
    with transaction.atomic():
        Team.objects.filter(pk=team.pk).update(
            campaign_rate=capped,
            campaign_approval_above=approval_above,
            campaign_approval_raw=approval_raw,
        )
        team.refresh_from_db()
        record(
            Action.CAMPAIGN_SETTINGS_CHANGED,
            origin=origin,
            team=team_ref(team),
            target_kind="team",
            target_id=team.slug,
            summary=f"Campaigns at {capped}/s"
            + (f", approval above {approval_above} devices" if approval_above is not None else "")
            + (", approval of raw messages" if approval_raw else ""),
            asked={"rate": capped, "approvalAbove": approval_above, "approvalRaw": approval_raw},
        )
    return team


def campaign_pause(*, campaign: Campaign, origin: Origin) -> Campaign:
    with transaction.atomic():
        if not _transition(
            campaign, [CampaignState.RUNNING, CampaignState.SCHEDULED], CampaignState.PAUSED
        ):
            raise _refused(campaign, "paused")
        _audit(campaign, Action.CAMPAIGN_PAUSED, origin, f"Paused campaign “{campaign.name}”")
    return campaign


def campaign_resume(*, campaign: Campaign, origin: Origin) -> Campaign:
    now = timezone.now()
    with transaction.atomic():
        if not _transition(
            campaign,
            [CampaignState.PAUSED],
            CampaignState.RUNNING,
            heartbeat_at=now,
            start_at=None,
        ):
            raise _refused(campaign, "resumed")
        if campaign.started_at is None:
            Campaign.objects.filter(pk=campaign.pk).update(started_at=now)
        _audit(campaign, Action.CAMPAIGN_RESUMED, origin, f"Resumed campaign “{campaign.name}”")
        transaction.on_commit(lambda: start_senders(campaign.pk))
    return campaign


def campaign_cancel(*, campaign: Campaign, origin: Origin) -> int:
    """Stop sending: the rows not sent yet are cancelled (a create already on its way runs to
    its end). Returns how many rows were not sent."""
    with transaction.atomic():
        if not _transition(
            campaign, ACTIVE_STATES, CampaignState.CANCELLED, finished_at=timezone.now()
        ):
            raise _refused(campaign, "cancelled")
        stopped = campaign.rows.filter(state=RowState.QUEUED).update(state=RowState.CANCELLED)
        _audit(
            campaign,
            Action.CAMPAIGN_CANCELLED,
            origin,
            f"Cancelled campaign “{campaign.name}”: {stopped} not sent",
            notSent=stopped,
        )
    return stopped


def campaign_finish_if_done(campaign_id: int) -> bool:
    """A running campaign with no row left to send is finished (once: the UPDATE decides)."""
    left = CampaignRow.objects.filter(
        campaign_id=campaign_id, state__in=[RowState.QUEUED, RowState.SENDING]
    )
    if left.exists():
        return False
    with transaction.atomic():
        changed = Campaign.objects.filter(pk=campaign_id, state=CampaignState.RUNNING).update(
            state=CampaignState.FINISHED, finished_at=timezone.now()
        )
        if not changed:
            return False
        campaign = Campaign.objects.select_related("team").get(pk=campaign_id)
        counts = campaign_counts(campaign)
        _audit(
            campaign,
            Action.CAMPAIGN_FINISHED,
            Origin.system("campaign sender"),
            f"Campaign “{campaign.name}” finished: {counts.in_words()}",
            counts=counts.as_dict(),
        )
    return True


def scheduled_due() -> list[int]:
    """Start the scheduled campaigns whose time has come; their ids."""
    now = timezone.now()
    due = list(
        Campaign.objects.filter(state=CampaignState.SCHEDULED, start_at__lte=now).values_list(
            "pk", flat=True
        )
    )
    started = []
    for campaign_id in due:
        if Campaign.objects.filter(pk=campaign_id, state=CampaignState.SCHEDULED).update(
            state=CampaignState.RUNNING, started_at=now, heartbeat_at=now
        ):
            started.append(campaign_id)
    return started
