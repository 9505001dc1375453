"""The daily print batch: every letter batched for a day, merged into one PDF with a manifest."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import date
from typing import Any

from pypdf import PdfReader, PdfWriter
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears import audit
from models.documents import Document, Message, PrintBatch
from models.enums import Channel, MessageStatus

_BATCH_LOCK = 0x5052494E  # serialises batch building: one batch per day, built once


async def build(session: AsyncSession, day: date) -> PrintBatch:
    """The batch for `day`: letters batched on or before it and not yet printed. Built once per day."""
    from sqlalchemy import func

    await session.exec(select(func.pg_advisory_xact_lock(_BATCH_LOCK)))
    existing = (await session.exec(select(PrintBatch).where(PrintBatch.print_date == day))).first()
    if existing is not None:
        return existing
    rows = (
        await session.exec(
            select(Message, Document)
            .join(Document, col(Document.id) == col(Message.document_id))
            .where(
                Message.channel == Channel.LETTER,
                Message.status == MessageStatus.BATCHED,
                col(Message.print_date) <= day,
            )
            .order_by(col(Message.print_date), col(Message.created_at), col(Message.idempotency_key))
        )
    ).all()
    writer = PdfWriter()
    manifest: list[dict[str, Any]] = []
    page = 1
    for message, document in rows:
        reader = PdfReader(io.BytesIO(document.pdf))
        for pdf_page in reader.pages:
            writer.add_page(pdf_page)
        manifest.append(
            {
                "message": str(message.id),
                "case_id": str(message.case_id),
                "document_id": str(document.id),
                "template": document.template,
                "template_version": document.template_version,
                "sha256": document.sha256,
                "first_page": page,
                "pages": len(reader.pages),
            }
        )
        page += len(reader.pages)
    writer.add_metadata({"/Title": f"Print batch {day.isoformat()}"})
    out = io.BytesIO()
    writer.write(out)
    pdf = out.getvalue()
    batch_id = uuid.uuid4()
    await session.exec(
        insert(PrintBatch).values(
            id=batch_id,
            print_date=day,
            letters=len(rows),
            pdf=pdf,
            sha256=hashlib.sha256(pdf).hexdigest(),
            manifest={"date": day.isoformat(), "letters": manifest, "pages": page - 1},
        )
    )
    for message, _ in rows:
        message.status = MessageStatus.PRINTED
        message.print_batch_id = batch_id
        session.add(message)
    batch = (await session.exec(select(PrintBatch).where(PrintBatch.id == batch_id))).one()
    await audit.append(
        session,
        actor=audit.SYSTEM,
        action="print_batch.built",
        reason=f"daily print batch for {day.isoformat()}",
        payload={"print_batch": str(batch_id), "letters": len(rows), "sha256": batch.sha256},
        idempotency_key=f"print_batch:{day.isoformat()}",
    )
    return batch
