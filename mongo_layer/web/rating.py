"""Rating a step on behalf of a user: only steps of that user's own threads.

Chainlit's feedback calls name a step and, at most, a thread the browser chose; the thread
of a rating is always one holding the step that the user may change (see `access`). When the
call names the thread and that thread holds the step, one command checks and rates
(`FeedbackStore.rate_held_step`); otherwise the threads holding the step are read first, and
the rating is a second command.
"""

from chainlit.types import Feedback

from ..errors import InvalidInputError, StepNotFoundError, ThreadAccessError
from ..ids import as_id, as_optional_id, is_unicode_text
from ..storage.documents import feedback_value
from ..storage.stores import Stores
from .access import may_change_thread


async def rate_step(stores: Stores, feedback: Feedback, user_identifier: str | None) -> Feedback:
    """Rate the step `feedback.forId` on behalf of the user with this identifier (None: on
    behalf of nobody) and return the feedback as stored, with its id and its thread's id.
    Raises StepNotFoundError when no thread holds the step, ThreadAccessError when only
    other users' threads do."""
    step_id = as_id(feedback.forId, "feedback forId")
    value = feedback_value(feedback)
    thread_id = as_optional_id(feedback.threadId, f"threadId of feedback on {step_id!r}")
    claimed_id = as_optional_id(feedback.id, f"id of feedback on step {step_id!r}")
    comment = comment_to_store(stores, feedback.comment, step_id)
    feedback_id = None
    if thread_id is not None:
        feedback_id = await stores.feedback.rate_held_step(
            thread_id, step_id, value, comment, user_identifier, claimed_id
        )
    if feedback_id is None:
        thread_id = await thread_to_rate(stores, step_id, user_identifier, thread_id)
        feedback_id = await stores.feedback.upsert(thread_id, step_id, value, comment)
    return Feedback(forId=step_id, value=value, threadId=thread_id, id=feedback_id, comment=comment)


def comment_to_store(stores: Stores, comment: object, step_id: str) -> str | None:
    """The comment as stored: text, cut to `max_feedback_comment_length`."""
    if comment is None:
        return None
    text = str(comment)[: stores.settings.max_feedback_comment_length]
    if not is_unicode_text(text):
        raise InvalidInputError(f"the comment on step {step_id!r} is not UTF-8 text")
    return text


async def thread_to_rate(
    stores: Stores, step_id: str, user_identifier: str | None, named_thread: str | None
) -> str:
    """Of the threads holding a step with this id, one the user may change: the one
    `named_thread` names if it is among them."""
    holders = await stores.steps.threads_holding(step_id)
    if not holders:
        raise StepNotFoundError(f"no thread holds step {step_id!r}, so it cannot be rated")
    allowed = [thread for thread in holders if may_change_thread(thread, user_identifier)]
    if not allowed:
        raise ThreadAccessError(
            f"user {user_identifier!r} may not rate step {step_id!r}: it belongs to"
            " another user's thread"
        )
    named = [thread for thread in allowed if thread["_id"] == named_thread]
    thread_id: str = (named or allowed)[0]["_id"]
    return thread_id


async def unrate_step(stores: Stores, feedback_id: str, user_identifier: str | None) -> bool:
    """Delete a feedback on behalf of the user with this identifier (None: on behalf of
    nobody); returns whether there was one. Raises ThreadAccessError when the feedback
    rates a step of another user's thread."""
    feedback_id = as_id(feedback_id, "feedback id")
    found = await stores.feedback.find_with_author(feedback_id)
    if found is None:
        return False
    if not may_change_thread(found, user_identifier):
        raise ThreadAccessError(
            f"user {user_identifier!r} may not delete feedback {feedback_id!r}: it rates"
            f" a step of another user's thread"
        )
    return await stores.feedback.delete_of_thread(feedback_id, found.get("threadId"))
