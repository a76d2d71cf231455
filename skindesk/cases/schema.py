"""The case store's tables as SQLAlchemy 2 models (the schema at the newest migration).

patients 1─n lesions 1─n visits n─1 images; visits 1─n results; audit stands apart and never
names a person (it refers to patients by their random ``uid``). Image bytes live in the
``images`` table under their sha256, so one transaction covers an image and its rows, the
store is one thing to back up, and workstations sharing a PostgreSQL store see the same files.
The migrations in ``migrations/versions`` build exactly this (a test compares them).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship

__all__ = ["Base", "Patient", "Lesion", "ImageBlob", "Visit", "Result", "AuditEntry"]


class Base(DeclarativeBase):
    """Declarative base of every case-store table."""


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    clinic_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    sex: Mapped[str | None] = mapped_column(String(16))
    fitzpatrick: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    lesions: Mapped[list[Lesion]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Lesion.id",
    )


class Lesion(Base):
    __tablename__ = "lesions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(200))
    site: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    histopathology: Mapped[str | None] = mapped_column(String(200))
    histopathology_on: Mapped[date | None] = mapped_column(Date)

    patient: Mapped[Patient] = relationship(back_populates="lesions")
    visits: Mapped[list[Visit]] = relationship(
        back_populates="lesion", cascade="all, delete-orphan", passive_deletes=True,
        order_by=lambda: (Visit.taken_on, Visit.id),
    )


class ImageBlob(Base):
    __tablename__ = "images"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(16))
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    thumbnail: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))


class Visit(Base):
    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lesion_id: Mapped[int] = mapped_column(ForeignKey("lesions.id", ondelete="CASCADE"), index=True)
    image_sha256: Mapped[str] = mapped_column(ForeignKey("images.sha256"), index=True)
    taken_on: Mapped[date] = mapped_column(Date)
    date_source: Mapped[str] = mapped_column(String(16))
    dermatoscope: Mapped[str] = mapped_column(String(200), default="")
    original_name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    decision: Mapped[str | None] = mapped_column(String(16))
    follow_up_months: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)

    lesion: Mapped[Lesion] = relationship(back_populates="visits")
    results: Mapped[list[Result]] = relationship(
        back_populates="visit", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Result.id",
    )


class Result(Base):
    __tablename__ = "results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(64))
    model_sha256: Mapped[str] = mapped_column(String(64))
    top_class: Mapped[str] = mapped_column(String(64))
    probabilities: Mapped[dict] = mapped_column(JSON)
    alerts: Mapped[list] = mapped_column(JSON)
    operating_point: Mapped[str] = mapped_column(String(200), default="")
    flags: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    visit: Mapped[Visit] = relationship(back_populates="results")


class AuditEntry(Base):
    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    os_user: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    entity: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(200), default="")
