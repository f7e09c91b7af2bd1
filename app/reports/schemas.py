import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from app.core.money import MoneyText
from app.core.schemas import StrictModel
from app.models.enums import ClaimStatus, SenStatus, SenType, Stage, YearGroup


class RankedNeed(BaseModel):
    rank: int = Field(description="1 for the primary need, 2 for the secondary need")
    code: SenType


class SenRegisterItem(BaseModel):
    pupil_id: uuid.UUID
    upn: str
    first_name: str
    last_name: str
    year_group: YearGroup
    sen_status: SenStatus = Field(description="K or E")
    primary_need: SenType | None
    secondary_need: SenType | None
    needs: list[RankedNeed] = Field(description="The needs in rank order (primary first)")
    current_stage: Stage | None = Field(
        description="Stage of the active plan's current cycle; null without an active plan"
    )
    next_review_date: date | None = Field(description="The current cycle's review date")


# The CSV variant's columns, in order; each is a field of SenRegisterItem.
SEN_REGISTER_CSV_COLUMNS = (
    "upn",
    "first_name",
    "last_name",
    "year_group",
    "sen_status",
    "primary_need",
    "secondary_need",
    "current_stage",
    "next_review_date",
)


class ProvisionCostItem(BaseModel):
    pupil_id: uuid.UUID
    upn: str
    first_name: str
    last_name: str
    year_group: YearGroup
    sen_status: SenStatus
    annual_provision_cost: str = Field(
        description="Annual cost of the provisions of the latest cycle that reached do in the "
        "pupil's most recent plan, as a top-up claim snapshots it"
    )
    school_funds: str = Field(description="min(annual_provision_cost, threshold)")
    top_up_needed: str = Field(description="max(annual_provision_cost - threshold, 0)")
    claim_id: uuid.UUID | None = Field(
        description="The pupil's live (submitted or approved) top-up claim for the period"
    )
    claim_status: ClaimStatus | None = Field(
        description="submitted, approved or partially_approved"
    )
    top_up_claimed: str | None = Field(description="The live claim's requested amount")
    top_up_approved: str | None = Field(
        description="The decided amount of an approved or partially approved claim"
    )


class ProvisionCostTotals(BaseModel):
    annual_provision_cost: str
    school_funds: str
    top_up_needed: str
    top_up_claimed: str
    top_up_approved: str


class ProvisionCosts(BaseModel):
    school_id: uuid.UUID
    period: str
    threshold: str = Field(description="The period's top-up threshold per pupil")
    items: list[ProvisionCostItem]
    totals: ProvisionCostTotals
    notional_sen_budget: str | None = Field(description="Null when not set for the period")
    budget_remaining: str | None = Field(
        description="notional_sen_budget - totals.school_funds (negative when overspent); "
        "null without a budget"
    )


class NotionalSenBudgetIn(StrictModel):
    amount: MoneyText = Field(description='Pounds as a string, e.g. "45000.00"')


class NotionalSenBudgetOut(BaseModel):
    school_id: uuid.UUID
    period: str
    amount: str
    version: int
    created_at: datetime
    updated_at: datetime


class CensusIssue(StrEnum):
    MISSING_PRIMARY_NEED = "missing_primary_need"
    NSA_WITH_EHC_PLAN = "nsa_with_ehc_plan"


class CensusItem(BaseModel):
    pupil_id: uuid.UUID
    upn: str
    first_name: str
    last_name: str
    year_group: YearGroup
    sen_provision: SenStatus = Field(description="E, K or N as of the census date")
    sen_types: list[RankedNeed] = Field(description="Ranked SEN types; empty for N")
    issues: list[CensusIssue] = Field(
        description="What the census return would be refused or queried for"
    )


class CensusPage(BaseModel):
    census_date: date
    items: list[CensusItem]
    next_cursor: str | None
