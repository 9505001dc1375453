"""The workbench's pages: the work queue, the case, the audit trail and the reports.

Every page reads and acts through the same functions as the JSON API, with the signed-in
person as the caller: the same role checks (`api.access`), object-level checks (`load_case`,
`visible_cases`) and masking (`borrower_view`). A page never queries around them.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.access import CASE_READERS, CASE_WORKERS, DOCUMENT_READERS
from api.cases import service as cases
from api.cases.schemas import CaseDetail
from api.cases.workflow import Update
from api.deps import DatabaseDep, SettingsDep, TemporalDep, require_roles
from api.errors import Conflict, DomainError
from api.routes import audit as audit_routes
from api.routes import payments as payment_routes
from api.routes import reports as report_routes
from api.routes import tasks as task_routes
from api.web import forms, i18n, sessions
from api.web.i18n import N_
from api.web.render import page
from api.web.sessions import SignInRequired, WebUser
from arrears.auth import InvalidToken
from models.base import utcnow
from models.enums import ReportFormat, Role
from workflows.case.tasks import DECISIONS

router = APIRouter(prefix="/web", include_in_schema=False)

HOME = {
    Role.AGENT: "/web/queue",
    Role.SUPERVISOR: "/web/queue",
    Role.COMPLIANCE: "/web/audit",
    Role.REGULATOR: "/web/reports",
    Role.ADMIN: "/web/cases",
}
REPORT_READERS = (Role.COMPLIANCE, Role.REGULATOR, Role.ADMIN)
SIGN_IN_ROLES = (Role.AGENT, Role.SUPERVISOR, Role.COMPLIANCE, Role.REGULATOR, Role.ADMIN)


async def web_user(request: Request, db: DatabaseDep, settings: SettingsDep) -> WebUser:
    """The signed-in person; `SignInRequired` (a redirect to sign in) otherwise."""
    return await sessions.current(
        db,
        request,
        idle=timedelta(minutes=settings.web_idle_minutes),
        lifetime=timedelta(hours=settings.web_session_hours),
    )


User = Annotated[WebUser, Depends(web_user)]


def allow(user: WebUser, roles: tuple[Role, ...]) -> None:
    """The API's role check, for this person: 403 for the other roles."""
    require_roles(*roles)(user.principal)


async def csrf_checked(request: Request, user: User) -> WebUser:
    """The signed-in person, once the form's CSRF token is theirs (checked before anything else)."""
    form = await request.form()
    token = form.get("csrf")
    sessions.check_csrf(user, token if isinstance(token, str) else None)
    return user


Poster = Annotated[WebUser, Depends(csrf_checked)]


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never somewhere else after signing in."""
    if target and target.startswith("/web/") and not target.startswith("//"):
        return target
    return None


# ---------------------------------------------------------------------------- signing in and out
@router.get("", summary="The workbench")
async def home(request: Request, db: DatabaseDep, settings: SettingsDep) -> Response:
    try:
        user = await web_user(request, db, settings)
    except SignInRequired:
        return _see_other("/web/sign-in")
    return _see_other(HOME.get(user.role, "/web/cases"))


@router.get("/sign-in")
async def sign_in_page(
    request: Request, settings: SettingsDep, next: str | None = None, reason: str | None = None
) -> Response:
    if settings.environment == "production":
        return _see_other("/web/oidc/login" + (f"?{urlencode({'next': next})}" if _safe_next(next) else ""))
    return page(
        request,
        "sign_in.html.j2",
        user=None,
        title=N_("Sign in"),
        roles=[r.value for r in SIGN_IN_ROLES],
        next=_safe_next(next) or "",
        reason=reason or "",
        oidc=settings.oidc_issuer is not None,
        error="",
    )


@router.post("/sign-in")
async def sign_in(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    team: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Development sign-in: pick a name, a role and a team. Refused in production, where people
    sign in through the servicer's identity provider."""
    if settings.environment == "production":
        return page(
            request,
            "error.html.j2",
            user=None,
            title=N_("Not here"),
            status=403,
            message=N_("Development sign-in is switched off in production."),
        )
    error = ""
    try:
        chosen = Role(role)
        if chosen not in SIGN_IN_ROLES:
            raise ValueError(role)
    except ValueError:
        error = N_("Choose one of the roles.")
    if not error:
        response = _see_other(_safe_next(next) or HOME.get(chosen, "/web/cases"))
        try:
            await sessions.start(
                db, request, response, subject=name.strip(), role=chosen, team=team.strip() or None, via="dev"
            )
        except InvalidToken as exc:
            error = str(exc).capitalize() + "."
        else:
            return response
    return page(
        request,
        "sign_in.html.j2",
        user=None,
        title=N_("Sign in"),
        status=422,
        roles=[r.value for r in SIGN_IN_ROLES],
        next=_safe_next(next) or "",
        reason="",
        oidc=settings.oidc_issuer is not None,
        error=error,
        name=name,
        team=team,
    )


@router.post("/sign-out")
async def sign_out(request: Request, db: DatabaseDep, user: Poster) -> Response:
    response = _see_other("/web/sign-in?reason=signed_out")
    await sessions.end(db, request, response)
    return response


@router.post("/language")
async def choose_language(
    request: Request, db: DatabaseDep, user: Poster, language: Annotated[str, Form()] = ""
) -> Response:
    """The person's language for every page from now on ("" goes back to the browser's)."""
    await sessions.set_language(db, user, language if language in i18n.LANGUAGES else None)
    back = _safe_next(request.headers.get("referer", "").partition(str(request.base_url).rstrip("/"))[2])
    return _see_other(back or HOME.get(user.role, "/web/cases"))


# ---------------------------------------------------------------------------- the work queue
def _why(task: task_routes.TaskOut) -> list[tuple[str, dict[str, object]]]:
    """Why the task stands where it does, in the words a collector uses (text, its values)."""
    reasons: list[tuple[str, dict[str, object]]] = []
    if task.overdue:
        reasons.append((N_("SLA overdue"), {}))
    elif task.priority.band == "amber":
        reasons.append((N_("due within 48 hours"), {}))
    if task.score is not None:
        reasons.append(
            (N_("shade %(shade)s of 50: %(why)s"), {"shade": task.score.shade, "why": task.score.reason})
        )
    reasons.append((N_("risk tier %(tier)s of 4 (days past due)"), {"tier": task.priority.risk}))
    if task.status == "escalated":
        reasons.append((N_("escalated to supervisors"), {}))
    if task.next_call_at is not None:
        reasons.append(
            (N_("no call before %(when)s"), {"when": task.next_call_at.strftime("%Y-%m-%d %H:%M UTC")})
        )
    return reasons


@router.get("/queue")
async def queue(
    request: Request,
    user: User,
    db: DatabaseDep,
    mine: bool = False,
    overdue: bool = False,
    kind: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]*$")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    allow(user, CASE_WORKERS)
    listing = await task_routes.list_tasks(
        principal=user.principal,
        db=db,
        mine=mine,
        team=None,
        overdue=overdue,
        kind=kind or None,
        limit=50,
        offset=offset,
    )
    return page(
        request,
        "queue.html.j2",
        user=user,
        title=N_("Work queue"),
        listing=listing,
        reasons={t.id: _why(t) for t in listing.items},
        kinds=sorted(DECISIONS),
        filters={"mine": mine, "overdue": overdue, "kind": kind or ""},
    )


@router.get("/escalations")
async def escalations(request: Request, user: User, db: DatabaseDep) -> Response:
    allow(user, (Role.SUPERVISOR,))
    listing = await task_routes.list_tasks(
        principal=user.principal, db=db, mine=False, team=None, overdue=True, kind=None, limit=100, offset=0
    )
    return page(
        request,
        "queue.html.j2",
        user=user,
        title=N_("Escalations"),
        listing=listing,
        reasons={t.id: _why(t) for t in listing.items},
        kinds=sorted(DECISIONS),
        filters={"mine": False, "overdue": True, "kind": ""},
    )


@router.post("/tasks/{task_id}/claim")
async def claim(task_id: uuid.UUID, user: Poster, db: DatabaseDep) -> Response:
    allow(user, CASE_WORKERS)
    await task_routes.claim(task_id=task_id, principal=user.principal, db=db)
    return _see_other("/web/queue?mine=true")


@router.post("/tasks/{task_id}/release")
async def release(task_id: uuid.UUID, user: Poster, db: DatabaseDep) -> Response:
    allow(user, CASE_WORKERS)
    await task_routes.release(task_id=task_id, principal=user.principal, db=db)
    return _see_other("/web/queue")


@router.post("/tasks/{task_id}/assign")
async def assign(
    task_id: uuid.UUID,
    request: Request,
    user: Poster,
    db: DatabaseDep,
    assignee: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """A supervisor gives the task to a person, through the work queue's own `assign`."""
    allow(user, (Role.SUPERVISOR,))
    try:
        body = task_routes.AssignIn(assignee=assignee.strip(), reason=reason.strip() or "reassigned")
    except ValidationError as exc:
        message = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        return page(request, "error.html.j2", user=user, title=N_("Refused"), status=422, message=message)
    await task_routes.assign(task_id=task_id, body=body, principal=user.principal, db=db)
    return _see_other("/web/queue")


# ---------------------------------------------------------------------------- cases
@router.get("/cases")
async def case_list(
    request: Request,
    user: User,
    db: DatabaseDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    allow(user, CASE_READERS)
    listing = await cases.list_cases(
        db=db,
        principal=user.principal,
        stage=None,
        status=None,
        dpd=None,
        pack=None,
        assignee=None,
        limit=50,
        offset=offset,
    )
    return page(request, "cases.html.j2", user=user, title=N_("Cases"), listing=listing)


async def _case_page(
    request: Request,
    user: WebUser,
    db: DatabaseDep,
    client: TemporalDep,
    case_id: uuid.UUID,
    *,
    status: int = 200,
    failed: forms.Form | None = None,
    task_error: tuple[str, str] | None = None,
) -> Response:
    detail: CaseDetail = await cases.get_case(db=db, client=client, principal=user.principal, case_id=case_id)
    documents = messages = None
    if user.role in DOCUMENT_READERS:
        documents = await cases.documents(db=db, principal=user.principal, case_id=case_id)
        messages = await cases.messages(db=db, principal=user.principal, case_id=case_id)
    actions = [
        failed if failed is not None and failed.action.slug == a.slug else forms.form(a)
        for a in forms.ACTIONS
        if user.role in a.roles
    ]
    open_tasks = {t.id: t for t in detail.tasks if t.status in ("open", "escalated")}
    state_tasks = {t.key: t for t in (detail.state.open_tasks if detail.state else [])}
    notice = request.query_params.get("notice", "")
    return page(
        request,
        "case.html.j2",
        user=user,
        title=f"Case {detail.case.loan_external_id}",
        status=status,
        d=detail,
        documents=documents,
        messages=messages,
        actions=actions,
        open_tasks=open_tasks,
        state_tasks=state_tasks,
        decisions=DECISIONS,
        plan_tasks=PLAN_TASKS,
        denial_tasks=DENIAL_TASKS,
        task_error=task_error,
        notice=notice,
        workable=user.role in CASE_WORKERS,
        demo=request.app.state.settings.environment != "production",
    )


@router.get("/cases/{case_id}")
async def case_page(
    case_id: uuid.UUID, request: Request, user: User, db: DatabaseDep, client: TemporalDep
) -> Response:
    allow(user, CASE_READERS)
    return await _case_page(request, user, db, client, case_id)


@router.post("/cases/{case_id}/actions/{slug}")
async def case_action(
    case_id: uuid.UUID, slug: str, request: Request, user: Poster, db: DatabaseDep, client: TemporalDep
) -> Response:
    """One case action from its form: the workflow's validator accepts it (back to the case,
    with a notice) or refuses it (the form again, with the reason beside it)."""
    action = forms.BY_SLUG.get(slug)
    if action is None:
        return page(
            request,
            "error.html.j2",
            user=user,
            title=N_("Not found"),
            status=404,
            message=N_("There is no such action."),
        )
    allow(user, action.roles)
    posted = await request.form()
    values = {k: posted.getlist(k) for k in posted if k != "csrf"}
    shown = {k: v[-1] if len(v) == 1 else v for k, v in values.items()}
    try:
        body = forms.read(action.body, {k: [str(x) for x in v] for k, v in values.items()})
    except ValidationError as exc:
        failed = forms.form(action, shown, forms.field_errors(exc))
        return await _case_page(request, user, db, client, case_id, status=422, failed=failed)
    try:
        await cases.act(
            db=db,
            client=client,
            principal=user.principal,
            case_id=case_id,
            update=action.update,
            body=body,
            # the facts the server adds, as the JSON route adds them (four eyes on a close)
            **(
                {"approval_required": request.app.state.settings.close_requires_approval}
                if action.update is Update.CLOSE_CASE
                else {}
            ),
        )
    except Conflict as exc:
        failed = forms.form(action, shown, {"": exc.message})
        return await _case_page(request, user, db, client, case_id, status=409, failed=failed)
    return _see_other(f"/web/cases/{case_id}?notice={slug}#case")


PLAN_TASKS = frozenset({"evaluation", "appeal_review", "forbearance_review"})
DENIAL_TASKS = frozenset({"evaluation", "appeal_review"})


@router.post("/cases/{case_id}/tasks/{task_id}")
async def decide_task(
    case_id: uuid.UUID,
    task_id: uuid.UUID,
    request: Request,
    user: Poster,
    db: DatabaseDep,
    client: TemporalDep,
    decision: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    plan_kind: Annotated[str, Form()] = "",
    plan_months: Annotated[str, Form()] = "",
    plan_amount: Annotated[str, Form()] = "",
    denial_reasons: Annotated[str, Form()] = "",
    service_end: Annotated[str, Form()] = "",
) -> Response:
    """A task's decision, through the work queue's own `complete`: with the plan's terms, the
    reasons of a denial (one a line) or the end of active duty where the decision needs them."""
    allow(user, CASE_WORKERS)
    body: dict[str, object] = {"decision": decision, "reason": reason}
    if plan_kind:
        body["plan"] = {"kind": plan_kind, **({"months": plan_months} if plan_months else {})}
        if plan_amount:
            body["plan"] = {**body["plan"], "amount": plan_amount}  # type: ignore[dict-item]
    if denial_reasons.strip():
        body["denial_reasons"] = [line.strip() for line in denial_reasons.splitlines() if line.strip()]
    if service_end:
        body["service_end"] = service_end
    try:
        decided = task_routes.DecisionIn.model_validate(_json_numbers(body))
    except ValidationError as exc:
        why = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return await _case_page(
            request, user, db, client, case_id, status=422, task_error=(str(task_id), why)
        )
    try:
        await task_routes.complete(
            task_id=task_id, body=decided, principal=user.principal, db=db, client=client
        )
    except Conflict as exc:
        return await _case_page(
            request, user, db, client, case_id, status=409, task_error=(str(task_id), exc.message)
        )
    return _see_other(f"/web/cases/{case_id}?notice=task#case")


def _json_numbers(body: dict[str, object]) -> dict[str, object]:
    """A form's month count as the integer JSON would carry (the body model is strict about it)."""
    plan = body.get("plan")
    if isinstance(plan, dict) and isinstance(plan.get("months"), str) and plan["months"].isdigit():
        body["plan"] = {**plan, "months": int(plan["months"])}
    return body


@router.post("/cases/{case_id}/demo-payment")
async def demo_payment(
    case_id: uuid.UUID,
    request: Request,
    user: Poster,
    db: DatabaseDep,
    client: TemporalDep,
    settings: SettingsDep,
    amount: Annotated[str, Form()] = "",
) -> Response:
    """Outside production only: play the loan system and report a payment, through the payments
    webhook's own handling (audited as the loan system), so that a demo case can be worked to a
    cure in the browser."""
    if settings.environment == "production":
        return page(
            request,
            "error.html.j2",
            user=user,
            title=N_("Not here"),
            status=403,
            message=N_("Payments come from the loan system in production."),
        )
    allow(user, CASE_WORKERS)
    detail = await cases.get_case(db=db, client=client, principal=user.principal, case_id=case_id)
    try:
        payment = payment_routes.PaymentIn(
            external_id=f"DEMO-{uuid.uuid4().hex[:12]}",
            loan_id=detail.case.loan_external_id,
            amount=amount.strip(),
            currency=detail.case.currency,
            received_at=utcnow(),
        )
    except ValidationError as exc:
        message = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        return page(request, "error.html.j2", user=user, title=N_("Refused"), status=422, message=message)
    await payment_routes.receive_payment(payment=payment, db=db, client=client)
    return _see_other(f"/web/cases/{case_id}?notice=payment#case")


@router.get("/cases/{case_id}/documents/{document_id}")
async def document(
    case_id: uuid.UUID, document_id: uuid.UUID, user: User, db: DatabaseDep, download: bool = False
) -> Response:
    """A document's PDF, shown inline (the preview) or as a download; each read is audited."""
    allow(user, DOCUMENT_READERS)
    pdf = await cases.document_pdf(db=db, principal=user.principal, case_id=case_id, document_id=document_id)
    disposition = "attachment" if download else "inline"
    return Response(
        content=pdf.pdf,
        media_type="application/pdf",
        headers={
            "ETag": f'"{pdf.sha256}"',
            "Content-Disposition": f'{disposition}; filename="{pdf.template.replace("/", "_")}.pdf"',
            "Cache-Control": "no-store",
        },
    )


# ---------------------------------------------------------------------------- compliance
@router.get("/audit")
async def audit_search(
    request: Request,
    user: User,
    db: DatabaseDep,
    case_id: uuid.UUID | None = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9_.]*$")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    allow(user, (Role.COMPLIANCE,))
    listing = await audit_routes.search(
        principal=user.principal,
        db=db,
        case_id=case_id,
        actor_name=actor or None,
        action=action or None,
        since=None,
        until=None,
        limit=50,
        offset=offset,
    )
    filters = {"case_id": str(case_id) if case_id else "", "actor": actor or "", "action": action or ""}
    return page(
        request,
        "audit.html.j2",
        user=user,
        title=N_("Audit trail"),
        listing=listing,
        filters=filters,
        export_query=urlencode({k: v for k, v in filters.items() if v}),
    )


@router.get("/audit/verify")
async def audit_verify(request: Request, user: User, db: DatabaseDep) -> Response:
    allow(user, (Role.COMPLIANCE,))
    result = await audit_routes.verify(principal=user.principal, db=db)
    return page(request, "verify.html.j2", user=user, title=N_("Verify the audit trail"), result=result)


@router.get("/audit/export")
async def audit_export(
    user: User,
    db: DatabaseDep,
    case_id: uuid.UUID | None = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9_.]*$")] = None,
) -> Response:
    allow(user, (Role.COMPLIANCE,))
    return await audit_routes.export(
        principal=user.principal,
        db=db,
        format="csv",
        case_id=case_id,
        actor_name=actor or None,
        action=action or None,
        since=None,
        until=None,
    )


# ---------------------------------------------------------------------------- reports
@router.get("/reports")
async def reports(
    request: Request, user: User, db: DatabaseDep, offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0
) -> Response:
    allow(user, REPORT_READERS)
    listing = await report_routes.list_reports(
        principal=user.principal, db=db, kind=None, policy_pack=None, limit=50, offset=offset
    )
    return page(request, "reports.html.j2", user=user, title=N_("Reports"), listing=listing)


@router.get("/reports/{report_id}/{format}")
async def report_file(report_id: uuid.UUID, format: ReportFormat, user: User, db: DatabaseDep) -> Response:
    allow(user, REPORT_READERS)
    return await report_routes.download(report_id=report_id, format=format, principal=user.principal, db=db)


def install_handlers(app: FastAPI) -> None:
    """Sign-in redirects, CSRF refusals, and the API's errors as pages on the workbench's paths
    (elsewhere the API's JSON answers stay as they are)."""
    json_domain = app.exception_handlers[DomainError]
    json_validation = app.exception_handlers[RequestValidationError]

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        query = {"next": request.url.path if request.method == "GET" else None, "reason": exc.reason}
        return _see_other("/web/sign-in?" + urlencode({k: v for k, v in query.items() if v}))

    @app.exception_handler(sessions.CsrfRefused)
    async def _csrf(request: Request, exc: sessions.CsrfRefused) -> Response:
        return page(
            request,
            "error.html.j2",
            user=None,
            title=N_("Form refused"),
            status=403,
            message=N_(
                "This form has expired or did not come from this site. Go back, reload the page and send "
                "it again."
            ),
        )

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if not request.url.path.startswith("/web"):
            return await _answer(json_domain(request, exc))
        return page(
            request,
            "error.html.j2",
            user=None,
            title=TITLES.get(exc.status_code, "Refused"),
            status=exc.status_code,
            message=exc.message,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if not request.url.path.startswith("/web"):
            return await _answer(json_validation(request, exc))
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return page(
            request, "error.html.j2", user=None, title=N_("Not understood"), status=422, message=problems
        )


async def _answer(result: Response | Awaitable[Response]) -> Response:
    return await result if inspect.isawaitable(result) else result


TITLES = {401: "Sign in", 403: "Not allowed", 404: "Not found", 409: "Refused", 503: "Unavailable"}
