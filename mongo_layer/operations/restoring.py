"""Writing another layer's history through the stores: a user as it was, a thread from its
`RestorePlan`, writing only what is not stored as given (see `Operations.restore_thread`)."""

from chainlit.types import ThreadDict
from chainlit.user import PersistedUser

from ..storage.connection import Document
from ..storage.documents import (
    feedback_by_step,
    restored_element_document,
    restored_user_document,
    same_feedback,
    step_is_stored,
)
from ..storage.stores import Stores
from ..storage.threads import refuse_oversized_element
from .restore import (
    ElementBytes,
    RestorePlan,
    RestoreSummary,
    fields_are_stored,
    plan_restore,
    refuse_foreign_claims,
    stored_element_file,
)


async def restore_user(stores: Stores, user: PersistedUser) -> None:
    await stores.users.restore(restored_user_document(user))


async def restore_thread(
    stores: Stores,
    thread: ThreadDict,
    element_bytes: ElementBytes | None,
    updated_at: str | None,
) -> RestoreSummary:
    plan = plan_restore(thread, stores.settings.max_thread_name_length, updated_at)
    thread_id = plan.thread_id
    summary = RestoreSummary(thread_id=thread_id)
    stored = await stores.threads.find_thread(thread_id)
    await refuse_foreign_claims(plan, stored, stores.element_owners, stores.feedback)
    stored = stored or {"_id": thread_id}
    if not fields_are_stored(stored, plan.fields):
        await stores.threads.restore_fields(thread_id, plan.fields)
        summary.thread_written = True
    await restore_steps(stores, plan, stored, summary)
    await restore_elements(stores, plan, stored, element_bytes, summary)
    if summary.steps_written:
        # A step write marks the thread as active now; the thread's own last activity
        # is what it was in the other layer.
        await stores.threads.restore_fields(thread_id, {"updatedAt": plan.fields["updatedAt"]})
    return summary


async def restore_steps(
    stores: Stores, plan: RestorePlan, stored: Document, summary: RestoreSummary
) -> None:
    thread_id = plan.thread_id
    stored_steps = {step["id"]: step for step in await stores.steps.of_thread(stored)}
    for document in plan.steps:
        previous = stored_steps.get(document["id"])
        if previous is not None and step_is_stored(previous, document):
            summary.steps_unchanged += 1
        else:
            await stores.steps.write(
                thread_id, document, stores.call_clock.stamp(), previous is not None
            )
            summary.steps_written += 1
    stored_feedback = feedback_by_step(stored.get("feedback") or [])
    for given in plan.feedback:
        if same_feedback(stored_feedback.get(given.step_id), given.as_given()):
            continue
        await stores.feedback.upsert(
            thread_id, given.step_id, given.value, given.comment, new_id=given.id
        )
        summary.feedback_written += 1


async def restore_elements(
    stores: Stores,
    plan: RestorePlan,
    stored: Document,
    element_bytes: ElementBytes | None,
    summary: RestoreSummary,
) -> None:
    thread_id = plan.thread_id
    stored_elements = {element["id"]: element for element in stored.get("elements") or []}
    for restored in plan.elements:
        element_id = restored.document["id"]
        if element_id not in stored_elements:
            await stores.element_owners.claim(element_id, thread_id)
        previous = stored_elements.get(element_id) or {}
        file_id = previous.get("fileId")
        if file_id is None:
            file_id = await stored_element_file(
                stores.files.upload, restored, summary, element_bytes
            )
        document = restored_element_document(restored.document, file_id)
        if all(previous.get(field) == value for field, value in document.items()):
            continue
        refuse_oversized_element(document, thread_id, stores.settings.max_element_bytes)
        budget = stores.settings.thread_document_budget_bytes
        await stores.threads.upsert_element(thread_id, document, budget)
        summary.elements_written += 1
