"""Units (承办单位), matters and the responsibility list (职责清单) over HTTP.

    GET   /api/units?kind=                      the tree as a flat list (parent_id)
    GET   /api/units/{id}
    POST  /api/units                            admin (201); parent by name
    PATCH /api/units/{id}                       admin: name, kind, duty_phone, parent
    GET   /api/matters?q=                       matters with their units' names
    GET   /api/responsibility-list?format=yaml  the whole list as a file to download
    PUT   /api/responsibility-list              admin, supervisor: the file is the body
    GET   /api/dispatch-suggestion?matter_id=&text=&location=   operator, supervisor

Reading is open to every staff role. Writing routes commit once the service succeeded; on an
error nothing is committed, so a refused list file leaves the list as it was.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from hotline.tickets import units
from hotline.tickets.errors import ResponsibilityFileError
from hotline.tickets.models import Locality, Unit, UnitCreate, UnitKind, UnitPublic
from hotline.tickets.suggestion import Suggestion, dispatch_suggestion
from hotline.users.models import Role, User
from hotline.web.deps import AdminUser, CurrentUser, SessionDep, require_roles

ListEditor = Annotated[User, Depends(require_roles(Role.admin, Role.supervisor))]
Dispatcher = Annotated[User, Depends(require_roles(Role.operator, Role.supervisor))]

ListFormat = Literal["yaml", "csv"]
MEDIA_TYPES: dict[str, str] = {"yaml": "application/yaml", "csv": "text/csv"}
FORMAT_OF_MEDIA: dict[str, ListFormat] = {
    "application/yaml": "yaml", "text/yaml": "yaml", "application/x-yaml": "yaml",
    "text/x-yaml": "yaml", "text/csv": "csv", "application/csv": "csv",
}
UPLOAD = "request body"  # the path that errors about an uploaded list name
_LIST_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    media: {"schema": {"type": "string"}} for media in MEDIA_TYPES.values()
}}}


class MatterListed(BaseModel):
    id: int
    code: str
    name: str
    main_unit: str
    assist_units: list[str]
    locality: Locality
    keywords: list[str]
    legal_basis: str


class ListImported(BaseModel):
    format: ListFormat
    matters: int  # matters in the file (added or updated)


class Candidate(BaseModel):
    code: str
    score: int


class DispatchSuggestionPublic(BaseModel):
    matter: MatterListed | None
    main_unit: str | None
    assist_units: list[str]
    local_unit: str | None  # the town or street the location names
    candidates: list[Candidate]  # matters the text matched, best first
    why: list[str]


def _public(unit: Unit) -> UnitPublic:
    return UnitPublic.model_validate(unit)


router = APIRouter(prefix="/api")


@router.get("/units", tags=["units"], summary="Units as a flat list (parent_id gives the tree)")
def list_units(
    session: SessionDep, user: CurrentUser, kind: UnitKind | None = None
) -> list[UnitPublic]:
    return [_public(u) for u in units.list_units(session=session, kind=kind)]


@router.get("/units/{unit_id}", tags=["units"], summary="One unit")
def get_unit(unit_id: int, session: SessionDep, user: CurrentUser) -> UnitPublic:
    return _public(units.get_unit(session=session, unit_id=unit_id))


@router.post("/units", status_code=201, tags=["units"], summary="Add a unit (parent by name)")
def add_unit(body: UnitCreate, session: SessionDep, admin: AdminUser) -> UnitPublic:
    unit = units.add_unit(session=session, unit=body)
    session.commit()
    return _public(unit)


@router.patch("/units/{unit_id}", tags=["units"],
              summary="Rename, move (no cycles) or change a unit's duty phone")
def update_unit(
    unit_id: int, body: units.UnitUpdate, session: SessionDep, admin: AdminUser
) -> UnitPublic:
    unit = units.update_unit(session=session, unit_id=unit_id, changes=body)
    session.commit()
    return _public(unit)


@router.get("/matters", tags=["matters"], summary="Matters of the responsibility list")
def list_matters(
    session: SessionDep, user: CurrentUser,
    q: Annotated[str, Query(max_length=64, description="in the code, name or a keyword")] = "",
) -> list[MatterListed]:
    return [MatterListed.model_validate(m) for m in units.list_matters(session=session, query=q)]


@router.get("/responsibility-list", tags=["responsibility-list"],
            summary="Download the responsibility list (YAML: units and matters; CSV: matters)",
            response_class=Response,
            responses={200: {"content": {m: {} for m in MEDIA_TYPES.values()}}})
def export_list(
    session: SessionDep, user: CurrentUser,
    fmt: Annotated[ListFormat, Query(alias="format")] = "yaml",
) -> Response:
    text = (units.export_csv if fmt == "csv" else units.export_yaml)(session=session)
    return Response(text, media_type=f"{MEDIA_TYPES[fmt]}; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="responsibility.{fmt}"',
    })


async def list_upload(request: Request) -> bytes:
    return await request.body()


def _upload_format(request: Request, given: ListFormat | None) -> ListFormat:
    if given is not None:
        return given
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in FORMAT_OF_MEDIA:
        raise HTTPException(415, f"send the list as {', '.join(FORMAT_OF_MEDIA)} "
                                 "or say ?format=yaml|csv")
    return FORMAT_OF_MEDIA[media]


@router.put("/responsibility-list", tags=["responsibility-list"], openapi_extra=_LIST_BODY,
            summary="Import a list file: all of it, or nothing when a row is wrong")
def import_list(
    request: Request, raw: Annotated[bytes, Depends(list_upload)], session: SessionDep,
    user: ListEditor,
    given: Annotated[ListFormat | None, Query(alias="format", description="else Content-Type")]
    = None,
) -> ListImported:
    fmt = _upload_format(request, given)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ResponsibilityFileError(path=UPLOAD, line=line, reason="not UTF-8 text") from exc
    count = units.import_list(session=session, text=text, path=UPLOAD, fmt=fmt)
    session.commit()
    return ListImported(format=fmt, matters=count)


def _explain(found: Suggestion, matter: MatterListed | None, *, by_id: bool) -> list[str]:
    """Why these units, in the order the rules were applied."""
    why: list[str] = []
    if matter is None:
        why.append("no matter of the responsibility list matched the text")
    elif by_id:
        why.append(f"谁主管谁负责: {matter.code} {matter.name} is {matter.main_unit}'s")
    else:
        score = found.candidates[0][1] if found.candidates else 0
        why.append(f"谁主管谁负责: the text matched {matter.code} {matter.name} best "
                   f"(score {score}); it is {matter.main_unit}'s")
    place = found.local_unit
    if place is None:
        return why
    if matter is None:
        why.append(f"属地管理: the location is in {place}, which takes the ticket")
    elif matter.locality is Locality.NONE:
        why.append(f"the location is in {place}, but {matter.code} is the department's alone")
    else:
        role = "main unit" if matter.locality is Locality.MAIN else "assisting unit"
        why.append(f"属地管理优先: the location is in {place}, the {role} for {matter.code}")
    return why


@router.get("/dispatch-suggestion", tags=["dispatch"],
            summary="Suggest the main and assisting units for a matter, a text and a place")
def suggest(
    session: SessionDep, user: Dispatcher,
    matter_id: int | None = None,
    text: Annotated[str, Query(max_length=2000)] = "",
    location: Annotated[str, Query(max_length=256)] = "",
) -> DispatchSuggestionPublic:
    if matter_id is None and not text.strip() and not location.strip():
        raise RequestValidationError([{"type": "missing", "loc": ("query", "text"),
                                       "msg": "give matter_id, text or location"}])
    found = dispatch_suggestion(session=session, matter_id=matter_id, text=text,
                                location=location)
    matter = next((MatterListed.model_validate(m) for m in units.list_matters(session=session)
                   if m["id"] == found.matter_id), None) if found.matter_id else None
    return DispatchSuggestionPublic(
        matter=matter, main_unit=found.main_unit, assist_units=list(found.assist_units),
        local_unit=found.local_unit,
        candidates=[Candidate(code=code, score=score) for code, score in found.candidates],
        why=_explain(found, matter, by_id=matter_id is not None),
    )
