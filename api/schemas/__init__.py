"""What the API shows: response models (and the budget's request bodies), one module per resource,
separate from the input models of `jps.domain.models`. Everything is re-exported here, so
`from api.schemas import GroupOut` is the way to import them.

A NIK only ever reaches these models through `mask_nik`, and account numbers are cut to their last
four digits, so a listing, a detail page or a timeline cannot leak one even if the state it was
built from carried them in clear (the workflow's own state does).
"""

from api.schemas.audit import AuditRowOut, AuditVerifyOut, HistoryEventOut, HistoryOut
from api.schemas.budget import REGION_PATTERN, AllocationIn, AllocationOut, FreezeIn, FreezeOut, LiftIn
from api.schemas.common import ErrorOut, HealthOut, Page, example_config, example_of, mask_account
from api.schemas.files import FileOut, FileUploadedOut
from api.schemas.groups import (
    BankAccountOut,
    GroupOut,
    GroupSummaryOut,
    MemberOut,
    PaymentOut,
    TrainingOut,
    VisitOut,
)
from api.schemas.imports import BulkItemOut, BulkOut, ImportJobOut, RowResult
from api.schemas.officers import OfficerIn, OfficerOut, OfficerPatch, SignInForm, TokenOut
from api.schemas.payments import PaymentCallbackOut
from api.schemas.reconciliation import MismatchOut, MismatchResolveIn
from api.schemas.reports import ProgramSummaryOut, StageSummaryOut, SummaryOut
from api.schemas.tasks import InboxItemOut, TaskOut, task_out

__all__ = [
    "REGION_PATTERN",
    "AllocationIn",
    "AllocationOut",
    "AuditRowOut",
    "AuditVerifyOut",
    "BankAccountOut",
    "BulkItemOut",
    "BulkOut",
    "ErrorOut",
    "FileOut",
    "FileUploadedOut",
    "FreezeIn",
    "FreezeOut",
    "GroupOut",
    "GroupSummaryOut",
    "HealthOut",
    "HistoryEventOut",
    "HistoryOut",
    "ImportJobOut",
    "InboxItemOut",
    "LiftIn",
    "MemberOut",
    "MismatchOut",
    "MismatchResolveIn",
    "OfficerIn",
    "OfficerOut",
    "OfficerPatch",
    "Page",
    "PaymentCallbackOut",
    "PaymentOut",
    "ProgramSummaryOut",
    "RowResult",
    "SignInForm",
    "StageSummaryOut",
    "SummaryOut",
    "TaskOut",
    "TokenOut",
    "TrainingOut",
    "VisitOut",
    "example_config",
    "example_of",
    "mask_account",
    "task_out",
]
