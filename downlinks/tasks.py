"""Celery tasks: thin, they call the poller. Both are idempotent, so acks_late is safe: a task
lost with its worker is redelivered, and repeating a cycle changes nothing."""

from celery import shared_task

from downlinks import polling


@shared_task(ignore_result=True)
def poll_all_teams() -> int:
    """Fan out: one task per team with work, so a slow or failing team delays no other."""
    team_ids = polling.teams_with_work()
    for team_id in team_ids:
        poll_team.delay(team_id)
    return len(team_ids)


@shared_task(ignore_result=True, acks_late=True)
def poll_team(team_id: int) -> int:
    return polling.poll_team(team_id).changed
