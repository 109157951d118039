"""One endpoint per life-cycle action: ``POST /api/tickets/{number}/<action>``.

    dispatch             派单             operator, supervisor   {main_unit, assist_units}
    sign                 签收             unit handler           {}
    arrive               到场 (urgent)    unit handler           {}
    return               退回             unit handler           {reason}
    review-return        派单异议审核     operator, supervisor   {redispatch_to | insist, reason}
    start                开始办理         unit handler           {}
    extension            申请延期         unit handler           {days, reason}
    extension-decision   延期审批         supervisor             {approve, reason}
    reply                答复             unit handler           {text}
    review               审核             supervisor             {approve, reason}
    revisit/start        开始回访         callback agent, sup.   {}
    revisit              回访结果         callback agent, sup.   {result, caller_ticket}
    close                办结 (no revisit) callback agent, sup.  {reason}
    archive              归档             supervisor             {}
    answer-now           即办             operator               {answer, revisit_wanted}
    park / resume        挂账 / 恢复      supervisor             {until, reason} / {}
    merge                合并             operator, supervisor   {parent}
    emergency-transfer   转警             operator               {line}

Each answers the ticket as ``GET /api/tickets/{number}`` would, after the change. A role not
listed gets 403, an action the state does not allow 409 (with the allowed ones), a stale
``expected_version`` 409, a malformed body 422: in every case nothing is written.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlmodel import Session

from hotline.tickets import lifecycle as lc
from hotline.tickets import service
from hotline.tickets.errors import ConcurrentUpdate
from hotline.tickets.http import (
    ROLES_BY_ACTION,
    announce_change,
    detail,
    ticket_rules,
    visible_ticket,
)
from hotline.tickets.models import Ticket
from hotline.tickets.schemas import (
    AnswerNowBody,
    DecisionBody,
    DispatchBody,
    ExtensionBody,
    MergeBody,
    ParkBody,
    ReasonBody,
    ReplyBody,
    ReviewReturnBody,
    RevisitBody,
    TicketDetail,
    TransferBody,
    Versioned,
)
from hotline.users.errors import RoleNotAllowed
from hotline.users.models import User
from hotline.web.deps import CurrentUser, Now, SessionDep

router = APIRouter(prefix="/api/tickets", tags=["ticket actions"])

def _allowed(user: User, action: str) -> None:
    roles = ROLES_BY_ACTION[action]
    if user.role not in roles:
        raise RoleNotAllowed(user.role, allowed=sorted(r.value for r in roles))


def _run(
    request: Request, session: Session, user: User, now: Now, number: str, body: Versioned,
    action: lc.Action,
) -> TicketDetail:
    _allowed(user, action.name)
    ticket = visible_ticket(session, number, user)
    assert ticket.id is not None
    rules = ticket_rules(request)
    if isinstance(action, lc.Dispatch):
        service.dispatch(session=session, ticket_id=ticket.id, main_unit=action.main_unit,
                         assist_units=action.assist_units, actor=user.username, now=now,
                         expected_seq=body.expected_version, rules=rules)
    else:
        service.act(session=session, ticket_id=ticket.id, action=action, actor=user.username,
                    now=now, expected_seq=body.expected_version, rules=rules)
    session.commit()
    announce_change(request)
    return detail(session, service.get_ticket(session=session, ticket_id=ticket.id),
                  user=user, now=now)


def _my_unit(user: User) -> str:
    _allowed(user, "sign")  # every unit action is a unit handler's, who always has a unit
    assert user.unit_name is not None
    return user.unit_name


@router.post("/{number}/dispatch", summary="派单: dispatch to a main unit (and assisting ones)")
def dispatch(number: str, body: DispatchBody, request: Request, session: SessionDep,
             user: CurrentUser, now: Now) -> TicketDetail:
    action = lc.Dispatch(main_unit=body.main_unit, assist_units=tuple(body.assist_units))
    return _run(request, session, user, now, number, body, action)


@router.post("/{number}/sign", summary="签收: the unit takes the ticket")
def sign(number: str, body: Versioned, request: Request, session: SessionDep,
         user: CurrentUser, now: Now) -> TicketDetail:
    action = lc.Sign(unit=_my_unit(user))
    return _run(request, session, user, now, number, body, action)


@router.post("/{number}/arrive", summary="到场: the unit is on site (urgent tickets, once signed)")
def arrive(number: str, body: Versioned, request: Request, session: SessionDep,
           user: CurrentUser, now: Now) -> TicketDetail:
    action = lc.Arrive(unit=_my_unit(user))
    return _run(request, session, user, now, number, body, action)


@router.post("/{number}/return", summary="退回: not this unit's duty (within 3 h of signing)")
def return_(number: str, body: ReasonBody, request: Request, session: SessionDep,
            user: CurrentUser, now: Now) -> TicketDetail:
    action = lc.Return(unit=_my_unit(user), reason=body.reason)
    return _run(request, session, user, now, number, body, action)


@router.post("/{number}/review-return", summary="派单异议审核: re-dispatch (改派) or insist")
def review_return(number: str, body: ReviewReturnBody, request: Request, session: SessionDep,
                  user: CurrentUser, now: Now) -> TicketDetail:
    action = lc.ReviewReturn(redispatch_to=body.redispatch_to, insist=body.insist,
                             reason=body.reason)
    return _run(request, session, user, now, number, body, action)


@router.post("/{number}/start", summary="开始办理: the main unit starts handling")
def start(number: str, body: Versioned, request: Request, session: SessionDep,
          user: CurrentUser, now: Now) -> TicketDetail:
    action = lc.StartHandling(unit=_my_unit(user))
    return _run(request, session, user, now, number, body, action)


@router.post("/{number}/extension", summary="申请延期: ask for more working days")
def extension(number: str, body: ExtensionBody, request: Request, session: SessionDep,
              user: CurrentUser, now: Now) -> TicketDetail:
    action = lc.RequestExtension(unit=_my_unit(user), days=body.days,
                                 reason=body.reason)
    return _run(request, session, user, now, number, body, action)


@router.post("/{number}/extension-decision", summary="延期审批: approve or refuse")
def extension_decision(number: str, body: DecisionBody, request: Request,
                       session: SessionDep, user: CurrentUser, now: Now) -> TicketDetail:
    action = lc.DecideExtension(approve=body.approve, reason=body.reason)
    return _run(request, session, user, now, number, body, action)


@router.post("/{number}/reply", summary="答复: the unit's result")
def reply(number: str, body: ReplyBody, request: Request, session: SessionDep,
          user: CurrentUser, now: Now) -> TicketDetail:
    action = lc.Reply(unit=_my_unit(user), text=body.text)
    return _run(request, session, user, now, number, body, action)


@router.post("/{number}/review", summary="审核: approve the reply or send it back")
def review(number: str, body: DecisionBody, request: Request, session: SessionDep,
           user: CurrentUser, now: Now) -> TicketDetail:
    action = lc.Review(approve=body.approve, reason=body.reason)
    return _run(request, session, user, now, number, body, action)


@router.post("/{number}/revisit/start", summary="开始回访")
def start_revisit(number: str, body: Versioned, request: Request, session: SessionDep,
                  user: CurrentUser, now: Now) -> TicketDetail:
    return _run(request, session, user, now, number, body, lc.StartRevisit())


@router.post("/{number}/revisit", summary="回访结果: 满意 / 基本满意 / 不满意 (不满意 once: 重办)")
def revisit(number: str, body: RevisitBody, request: Request, session: SessionDep,
            user: CurrentUser, now: Now) -> TicketDetail:
    action = lc.Revisit(result=body.result, ticket_id=body.caller_ticket)
    return _run(request, session, user, now, number, body, action)


@router.post("/{number}/close", summary="办结 without (more) revisits, with the reason")
def close(number: str, body: ReasonBody, request: Request, session: SessionDep,
          user: CurrentUser, now: Now) -> TicketDetail:
    return _run(request, session, user, now, number, body, lc.Close(reason=body.reason))


@router.post("/{number}/archive", summary="归档")
def archive(number: str, body: Versioned, request: Request, session: SessionDep,
            user: CurrentUser, now: Now) -> TicketDetail:
    return _run(request, session, user, now, number, body, lc.Archive())


@router.post("/{number}/answer-now", summary="即办: answered during the call, closed at once")
def answer_now(number: str, body: AnswerNowBody, request: Request, session: SessionDep,
               user: CurrentUser, now: Now) -> TicketDetail:
    action = lc.AnswerNow(answer=body.answer, revisit_wanted=body.revisit_wanted)
    return _run(request, session, user, now, number, body, action)


@router.post("/{number}/park", summary="挂账: wait for a condition until a review date")
def park(number: str, body: ParkBody, request: Request, session: SessionDep,
         user: CurrentUser, now: Now) -> TicketDetail:
    action = lc.Park(until=body.until, reason=body.reason)
    return _run(request, session, user, now, number, body, action)


@router.post("/{number}/resume", summary="恢复 a parked ticket")
def resume(number: str, body: Versioned, request: Request, session: SessionDep,
           user: CurrentUser, now: Now) -> TicketDetail:
    return _run(request, session, user, now, number, body, lc.Resume())


@router.post("/{number}/merge", summary="合并 into another ticket about the same matter")
def merge(number: str, body: MergeBody, request: Request, session: SessionDep,
          user: CurrentUser, now: Now) -> TicketDetail:
    _allowed(user, "merge")
    child = visible_ticket(session, number, user)
    parent: Ticket = service.get_by_number(session=session, number=body.parent)
    assert child.id is not None and parent.id is not None
    if body.expected_version is not None and child.version != body.expected_version:
        raise ConcurrentUpdate(child.number, expected=body.expected_version,
                                       actual=child.version)
    service.merge_tickets(session=session, child_id=child.id, parent_id=parent.id,
                          actor=user.username, now=now, rules=ticket_rules(request))
    session.commit()
    announce_change(request)
    return detail(session, service.get_ticket(session=session, ticket_id=child.id),
                  user=user, now=now)


@router.post("/{number}/emergency-transfer", summary="转警: handed to 110 / 119 / 120 / 122")
def emergency_transfer(number: str, body: TransferBody, request: Request,
                       session: SessionDep, user: CurrentUser, now: Now) -> TicketDetail:
    return _run(request, session, user, now, number, body, lc.EmergencyTransfer(line=body.line))
