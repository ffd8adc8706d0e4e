"""`@reads_may_lag`: a view whose reads may come from the replica (teletherapy/replica.py)."""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy.exc import DBAPIError

from teletherapy import replica
from teletherapy.extensions import abandon_transaction
from teletherapy.web.access import current_actor

F = TypeVar("F", bound=Callable[..., Any])

logger = logging.getLogger(__name__)


def reads_may_lag(view: F) -> F:
    """Matching, the public directory, feeds: reads that may be a moment old.

    Who is asking is read first, from the primary (an account made a second ago must be
    found). If the replica fails during the view, nothing was written yet (reads after a
    write go to the primary), so the view runs once more, on the primary: a replica that
    stops costs no request.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_actor()
        # Views may consume their parsed arguments (dict.pop): the retry gets its own copy.
        spare = copy.deepcopy((args, kwargs))
        with replica.reads_may_lag() as scope:
            try:
                return view(*args, **kwargs)
            except DBAPIError:
                if not scope.replica_failed or scope.wrote:
                    raise
        logger.warning("the replica failed during a request; answering from the primary")
        abandon_transaction()
        with replica.reads_may_lag(replica=False):
            return view(*spare[0], **spare[1])

    return cast(F, wrapper)
