from fastapi import APIRouter
from pydantic import BaseModel

from app.core.db import UnitOfWorkRoute
from app.core.errors import error_responses
from app.core.http import API_PREFIX
from app.core.security import CurrentPrincipal
from app.models.enums import Severity
from app.rules import CATALOGUE

router = APIRouter(prefix=API_PREFIX, tags=["rules"], route_class=UnitOfWorkRoute)


class RuleOut(BaseModel):
    rule: str
    severity: Severity
    transition: str
    source: str
    message: str


class RuleCatalogue(BaseModel):
    items: list[RuleOut]
    next_cursor: None = None


RULE_CATALOGUE = RuleCatalogue(
    items=[
        RuleOut(
            rule=r.rule,
            severity=Severity(r.severity),
            transition=r.transition,
            source=r.source,
            message=r.message,
        )
        for r in CATALOGUE
    ]
)


@router.get(
    "/rules",
    responses=error_responses(),
    summary="The rule catalogue: every rule with its severity, move, source and message",
    description=(
        "Any authenticated caller: the catalogue of rules the service checks on transitions and dry"
        " runs, each with its severity, the move it guards, its statutory source and its message."
    ),
)
async def list_rules(principal: CurrentPrincipal) -> RuleCatalogue:
    return RULE_CATALOGUE
