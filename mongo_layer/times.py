"""Timestamps: stored as BSON dates in UTC, returned as ISO-8601 strings ending in `Z`.

BSON dates keep milliseconds, so a returned time has millisecond precision.
"""

from datetime import UTC, datetime

from .errors import InvalidInputError, Naming, named


def utc_now() -> datetime:
    """The current time, truncated to what a BSON date keeps."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def parse_time(value: object, what: Naming) -> datetime | None:
    """Read an ISO-8601 string (with `Z`, an offset, or neither, meaning UTC) or a datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as error:
            raise InvalidInputError(
                f"{named(what)} is not an ISO-8601 timestamp: {value!r:.80}"
            ) from error
    else:
        raise InvalidInputError(
            f"{named(what)} must be an ISO-8601 string, got {type(value).__name__}"
        )
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_time(value: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and a trailing `Z`."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


def to_epoch_ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def from_epoch_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)
