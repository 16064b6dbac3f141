"""Errors of the run-DB layer: `StoreError` (the manifests DB cannot be used; `code` says whether it is
missing or unusable, the message why and what to do) and `WriteError` (a change to a run was refused; `code` says which kind, so the
window and the answerer act on the code, never on the message text)."""
from __future__ import annotations

from typing import Literal

from labvoice.errors import LabvoiceError

StoreErrorCode = Literal["db_missing", "db_unusable"]
WriteErrorCode = Literal["no_run", "no_note_column", "nothing_to_undo", "changed_since", "not_a_db"]


class StoreError(LabvoiceError, RuntimeError):
    """The manifests DB cannot be used (`code`: db_missing, or db_unusable for a file that is not a
    readable run DB); the message says why and what to do."""

    def __init__(self, code: StoreErrorCode | WriteErrorCode, message: str) -> None:
        super().__init__(code, message)


class WriteError(StoreError):
    """A write was refused and nothing was changed; `code` is one of WriteErrorCode."""

    def __init__(self, code: WriteErrorCode, message: str) -> None:
        super().__init__(code, message)
