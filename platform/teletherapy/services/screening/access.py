"""Who may see a client's screening results: the client, and therapists who treat them.

A therapist treats a client when a booking between them is (or was) real: held,
confirmed, completed or a no-show. Everyone else, admins included, gets a 404.
"""

from __future__ import annotations

from sqlalchemy import select

from teletherapy.domain.errors import NotFoundError
from teletherapy.extensions import db
from teletherapy.models import Booking, Role, TherapistProfile, User

TREATING_STATUSES = ("held", "confirmed", "completed", "no_show")


def get_actor(actor_id: int) -> User:
    actor = db.session.get(User, actor_id)
    if actor is None:
        raise NotFoundError("No such person.")
    return actor


def treating_therapist_ids(client_id: int) -> list[int]:
    """Therapist profile ids of everyone with a booking with this client."""
    return list(
        db.session.scalars(
            select(Booking.therapist_id)
            .where(Booking.client_id == client_id, Booking.status.in_(TREATING_STATUSES))
            .distinct()
            .order_by(Booking.therapist_id)
        )
    )


def treats(therapist_id: int, client_id: int) -> bool:
    return (
        db.session.scalar(
            select(Booking.id)
            .where(
                Booking.therapist_id == therapist_id,
                Booking.client_id == client_id,
                Booking.status.in_(TREATING_STATUSES),
            )
            .limit(1)
        )
        is not None
    )


def client_ids_of(therapist_id: int) -> list[int]:
    return [
        cid
        for cid in db.session.scalars(
            select(Booking.client_id)
            .where(
                Booking.therapist_id == therapist_id,
                Booking.client_id.is_not(None),
                Booking.status.in_(TREATING_STATUSES),
            )
            .distinct()
        )
        if cid is not None
    ]


def therapist_users(therapist_ids: list[int]) -> list[User]:
    if not therapist_ids:
        return []
    return list(
        db.session.scalars(
            select(User)
            .join(TherapistProfile, TherapistProfile.user_id == User.id)
            .where(TherapistProfile.id.in_(therapist_ids))
            .order_by(User.id)
        )
    )


def require_client_access(actor: User, client_id: int) -> User:
    """The client whose results `actor` may see, or NotFoundError (never a 403)."""
    client = db.session.get(User, client_id)
    if client is None or client.role != Role.CLIENT.value:
        raise NotFoundError("No such client.")
    if actor.id == client.id:
        return client
    therapist_id = actor.therapist_id if actor.role == Role.THERAPIST.value else None
    if therapist_id is not None and treats(therapist_id, client.id):
        return client
    raise NotFoundError("No such client.")
