"""tag codes: each therapist's tags as "kind:code" on the profile row, kept by a trigger

Matching tests a therapist's tags (a required language, the age group, the wishes the
score weighs) with one probe of therapist_tags per tag and per therapist in place: at
100,000 therapists the online search of a large state spent about a third of its time
there. On PostgreSQL the profile row it reads anyway now carries every tag as
"kind:code" in `tag_codes`, kept by statement-level triggers on therapist_tags (so every
writer, a bulk COPY included, keeps it current in its own transaction). SQLite keeps the
column NULL: matching reads therapist_tags there.

Revision ID: 0018_tag_codes
Revises: 0017_outbox_retention
Create Date: 2026-12-02 11:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018_tag_codes"
down_revision = "0017_outbox_retention"
branch_labels = None
depends_on = None

# The therapists whose tags changed (`ids`) get their codes again, sorted; '{}' when none.
REFRESH = """
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE therapist_profiles p
     SET tag_codes = coalesce(
           (SELECT array_agg(t.kind || ':' || t.code ORDER BY t.kind, t.code)
              FROM therapist_tags t WHERE t.therapist_id = p.id), '{{}}')
   WHERE p.id IN ({ids});
  RETURN NULL;
END
$$
"""
# (function, event, transition tables, the changed therapists)
TRIGGERS = (
    (
        "therapist_tag_codes_added",
        "INSERT",
        "NEW TABLE AS changed",
        "SELECT therapist_id FROM changed",
    ),
    (
        "therapist_tag_codes_removed",
        "DELETE",
        "OLD TABLE AS changed",
        "SELECT therapist_id FROM changed",
    ),
    (
        "therapist_tag_codes_changed",
        "UPDATE",
        "OLD TABLE AS old_tags NEW TABLE AS new_tags",
        "SELECT therapist_id FROM old_tags UNION SELECT therapist_id FROM new_tags",
    ),
)


def upgrade():
    with op.batch_alter_table("therapist_profiles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "tag_codes",
                sa.ARRAY(sa.String(length=50)).with_variant(sa.JSON(), "sqlite"),
                nullable=True,
            )
        )
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, event, referencing, ids in TRIGGERS:
        op.execute(REFRESH.format(name=name, ids=ids))
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON therapist_tags"
            f" REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    op.execute(
        "UPDATE therapist_profiles p SET tag_codes = coalesce("
        "(SELECT array_agg(t.kind || ':' || t.code ORDER BY t.kind, t.code)"
        " FROM therapist_tags t WHERE t.therapist_id = p.id), '{}')"
    )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name, *_ in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON therapist_tags")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    with op.batch_alter_table("therapist_profiles", schema=None) as batch_op:
        batch_op.drop_column("tag_codes")
