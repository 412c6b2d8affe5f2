"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 13:25:08.277622
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "inbox_update",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_inbox_update")),
    )
    with op.batch_alter_table("inbox_update", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_update_status"), ["status"], unique=False)

    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("manager_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("work_start", sa.String(length=5), nullable=True),
        sa.Column("work_end", sa.String(length=5), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("unreachable_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["manager_id"], ["member.id"], name=op.f("fk_member_manager_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member")),
        sa.UniqueConstraint("telegram_id", name=op.f("uq_member_telegram_id")),
    )
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_manager_id"), ["manager_id"], unique=False)

    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["member.id"], name=op.f("fk_audit_entry_actor_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entry_entity", ["entity_type", "entity_id"], unique=False)

    op.create_table(
        "customer",
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("company", sa.String(length=200), nullable=True),
        sa.Column("position", sa.String(length=200), nullable=True),
        sa.Column("industry", sa.String(length=200), nullable=True),
        sa.Column("region", sa.String(length=200), nullable=True),
        sa.Column("gender", sa.String(length=16), nullable=True),
        sa.Column("birthday_month", sa.Integer(), nullable=True),
        sa.Column("birthday_day", sa.Integer(), nullable=True),
        sa.Column("birthday_year", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("needs", sa.Text(), nullable=True),
        sa.Column("contact_cadence_days", sa.Integer(), nullable=True),
        sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["member.id"], name=op.f("fk_customer_created_by_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["member.id"], name=op.f("fk_customer_owner_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["member.id"], name=op.f("fk_customer_updated_by_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer")),
    )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_email"), ["email"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_customer_import_batch_id"), ["import_batch_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_customer_name"), ["name"], unique=False)
        batch_op.create_index(
            "ix_customer_owner_id_created_at", ["owner_id", "created_at"], unique=False
        )

    op.create_table(
        "draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("flow", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("last_update_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_draft_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft")),
        sa.UniqueConstraint("member_id", name=op.f("uq_draft_member_id")),
    )
    op.create_table(
        "invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("manager_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["member.id"], name=op.f("fk_invite_created_by_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["manager_id"], ["member.id"], name=op.f("fk_invite_manager_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["used_by_id"], ["member.id"], name=op.f("fk_invite_used_by_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite")),
        sa.UniqueConstraint("code", name=op.f("uq_invite_code")),
    )
    op.create_table(
        "customer_phone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_customer_phone_customer_id_customer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_phone")),
    )
    with op.batch_alter_table("customer_phone", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_phone_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_customer_phone_e164"), ["e164"], unique=False)

    op.create_table(
        "deal",
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("expected_close_date", sa.Date(), nullable=True),
        sa.Column("probability", sa.Integer(), nullable=True),
        sa.Column("budget_notes", sa.Text(), nullable=True),
        sa.Column("decision_maker_notes", sa.Text(), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["member.id"], name=op.f("fk_deal_created_by_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_deal_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["member.id"], name=op.f("fk_deal_owner_id_member")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["member.id"], name=op.f("fk_deal_updated_by_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal")),
    )
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deal_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_deal_import_batch_id"), ["import_batch_id"], unique=False
        )
        batch_op.create_index("ix_deal_owner_id_stage", ["owner_id", "stage"], unique=False)

    op.create_table(
        "interaction",
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("happened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["member.id"], name=op.f("fk_interaction_created_by_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_interaction_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["member.id"], name=op.f("fk_interaction_owner_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["member.id"], name=op.f("fk_interaction_updated_by_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction")),
    )
    with op.batch_alter_table("interaction", schema=None) as batch_op:
        batch_op.create_index(
            "ix_interaction_customer_id_happened_at", ["customer_id", "happened_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_interaction_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("telegram_file_id", sa.String(length=255), nullable=False),
        sa.Column("telegram_file_unique_id", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["member.id"], name=op.f("fk_attachment_created_by_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_attachment_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interaction.id"],
            name=op.f("fk_attachment_interaction_id_interaction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attachment_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_attachment_interaction_id"), ["interaction_id"], unique=False
        )

    op.create_table(
        "deal_stage_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.String(length=32), nullable=True),
        sa.Column("to_stage", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("changed_by_id", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["member.id"],
            name=op.f("fk_deal_stage_change_changed_by_id_member"),
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deal.id"], name=op.f("fk_deal_stage_change_deal_id_deal")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_stage_change")),
    )
    with op.batch_alter_table("deal_stage_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deal_stage_change_deal_id"), ["deal_id"], unique=False
        )

    op.create_table(
        "purchase",
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("amount", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("purchased_on", sa.Date(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["member.id"], name=op.f("fk_purchase_created_by_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_purchase_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(["deal_id"], ["deal.id"], name=op.f("fk_purchase_deal_id_deal")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["member.id"], name=op.f("fk_purchase_owner_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["member.id"], name=op.f("fk_purchase_updated_by_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase")),
    )
    with op.batch_alter_table("purchase", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purchase_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_purchase_import_batch_id"), ["import_batch_id"], unique=False
        )

    op.create_table(
        "reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exact_time", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dedupe_key", sa.String(length=128), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["member.id"], name=op.f("fk_reminder_created_by_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_reminder_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(["deal_id"], ["deal.id"], name=op.f("fk_reminder_deal_id_deal")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_reminder_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_reminder_dedupe_key")),
    )
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reminder_member_id"), ["member_id"], unique=False)
        batch_op.create_index("ix_reminder_status_due_at", ["status", "due_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_index("ix_reminder_status_due_at")
        batch_op.drop_index(batch_op.f("ix_reminder_member_id"))
        batch_op.drop_index(batch_op.f("ix_reminder_customer_id"))

    op.drop_table("reminder")
    with op.batch_alter_table("purchase", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_import_batch_id"))
        batch_op.drop_index(batch_op.f("ix_purchase_customer_id"))

    op.drop_table("purchase")
    with op.batch_alter_table("deal_stage_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deal_stage_change_deal_id"))

    op.drop_table("deal_stage_change")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachment_interaction_id"))
        batch_op.drop_index(batch_op.f("ix_attachment_customer_id"))

    op.drop_table("attachment")
    with op.batch_alter_table("interaction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interaction_owner_id"))
        batch_op.drop_index("ix_interaction_customer_id_happened_at")

    op.drop_table("interaction")
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_owner_id_stage")
        batch_op.drop_index(batch_op.f("ix_deal_import_batch_id"))
        batch_op.drop_index(batch_op.f("ix_deal_customer_id"))

    op.drop_table("deal")
    with op.batch_alter_table("customer_phone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_phone_e164"))
        batch_op.drop_index(batch_op.f("ix_customer_phone_customer_id"))

    op.drop_table("customer_phone")
    op.drop_table("invite")
    op.drop_table("draft")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_owner_id_created_at")
        batch_op.drop_index(batch_op.f("ix_customer_name"))
        batch_op.drop_index(batch_op.f("ix_customer_import_batch_id"))
        batch_op.drop_index(batch_op.f("ix_customer_email"))

    op.drop_table("customer")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_entity")

    op.drop_table("audit_entry")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_manager_id"))

    op.drop_table("member")
    with op.batch_alter_table("inbox_update", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_update_status"))

    op.drop_table("inbox_update")
