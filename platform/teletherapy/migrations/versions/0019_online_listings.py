"""online listings: what an online search reads, one row per therapist, state and band

An online search read every therapist online in the client's state: the state's rows of
the tag index, the band's fees (a heap read each), and each therapist's profile row (a
probe each), joined, before anything was scored. At 10,000 therapists the CA search
spent about 3 ms of its 8 ms statement there (445 therapists). On PostgreSQL the rows it
needs now lie in `online_listings`, in the order of its primary key (state, band,
therapist): the search reads one range of it.

Kept by statement-level triggers, so that every writer (the services, an administrator's
edit, a bulk COPY) keeps it current in its own transaction: on therapist_profiles (a new
profile, a change of what the search reads of it; a tag's change reaches it through
tag_codes, 0018) and on therapist_fees. A profile's deletion cascades. Each refresh takes
one transaction-scoped advisory lock (key 19, 1: two 32-bit keys, a space apart from the
calendar locks' single keys) before it reads: two edits of one therapist in concurrent
transactions then refresh one after the other, the second reading what the first
committed, never both from the state before either.

SQLite gets the table empty (no triggers): its online search joins the tables themselves.

Also (PostgreSQL): the index of the fees by band carries the price (INCLUDE), so an
in-person search's probe of each therapist in its box (1,652 at 100,000 therapists around
Harlem) reads the index alone, not the table too.

Revision ID: 0019_online_listings
Revises: 0018_tag_codes
Create Date: 2026-12-03 17:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019_online_listings"
down_revision = "0018_tag_codes"
branch_labels = None
depends_on = None

# The rows of the therapists `ids`, written again from the tables they come from.
REFRESH = """
CREATE FUNCTION refresh_online_listings(ids integer[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(cardinality(ids), 0) = 0 THEN
    RETURN;
  END IF;
  -- One refresh at a time; the statements below start after the lock is held, so they
  -- see what a refresh before this one committed.
  PERFORM pg_advisory_xact_lock(19, 1);
  DELETE FROM online_listings WHERE therapist_id = ANY (ids);
  INSERT INTO online_listings (state, band_code, therapist_id, fee_cents, offers_group,
                               gender, faith_integrated, lgbtq_affirming,
                               reduced_fee_weekly_cap, tag_codes)
  SELECT t.code, f.band_code, p.id, f.fee_cents, p.offers_group, p.gender,
         p.faith_integrated, p.lgbtq_affirming, p.reduced_fee_weekly_cap, p.tag_codes
    FROM therapist_profiles p
    JOIN therapist_tags t ON t.therapist_id = p.id AND t.kind = 'online_state'
    JOIN therapist_fees f ON f.therapist_id = p.id
   WHERE p.id = ANY (ids) AND p.verified_at IS NOT NULL AND p.accepting_new_clients
   ORDER BY 1, 2, 3;  -- a state's rows of a band on few pages, for a refresh of many
END
$$
"""
TRIGGER_FUNCTION = """
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM refresh_online_listings(ARRAY({ids}));
  RETURN NULL;
END
$$
"""
# What an online search reads of a profile (a change elsewhere, a bio, refreshes nothing).
_READ = (
    "{t}.verified_at IS NULL, {t}.accepting_new_clients, {t}.offers_group, {t}.gender,"
    " {t}.faith_integrated, {t}.lgbtq_affirming, {t}.reduced_fee_weekly_cap, {t}.tag_codes"
)
# (function, table, event, transition tables, the therapists to refresh)
TRIGGERS = (
    (
        "online_listings_profile_added",
        "therapist_profiles",
        "INSERT",
        "NEW TABLE AS changed",
        "SELECT id FROM changed",
    ),
    (
        "online_listings_profile_changed",
        "therapist_profiles",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id"
        f" WHERE ({_READ.format(t='o')}) IS DISTINCT FROM ({_READ.format(t='n')})",
    ),
    (
        "online_listings_fees_added",
        "therapist_fees",
        "INSERT",
        "NEW TABLE AS changed",
        "SELECT DISTINCT therapist_id FROM changed",
    ),
    (
        "online_listings_fees_removed",
        "therapist_fees",
        "DELETE",
        "OLD TABLE AS changed",
        "SELECT DISTINCT therapist_id FROM changed",
    ),
    (
        "online_listings_fees_changed",
        "therapist_fees",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "SELECT therapist_id FROM old_rows UNION SELECT therapist_id FROM new_rows",
    ),
)


def upgrade():
    op.create_table(
        "online_listings",
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("band_code", sa.String(length=8), nullable=False),
        sa.Column("therapist_id", sa.Integer(), nullable=False),
        sa.Column("fee_cents", sa.Integer(), nullable=False),
        sa.Column("offers_group", sa.Boolean(), nullable=False),
        sa.Column("gender", sa.String(length=16), nullable=True),
        sa.Column("faith_integrated", sa.Boolean(), nullable=False),
        sa.Column("lgbtq_affirming", sa.Boolean(), nullable=False),
        sa.Column("reduced_fee_weekly_cap", sa.Integer(), nullable=True),
        sa.Column(
            "tag_codes",
            sa.ARRAY(sa.String(length=50)).with_variant(sa.JSON(), "sqlite"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"],
            ["therapist_profiles.id"],
            name=op.f("fk_online_listings_therapist_id_therapist_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "state", "band_code", "therapist_id", name=op.f("pk_online_listings")
        ),
    )
    op.create_index(
        op.f("ix_online_listings_therapist_id"), "online_listings", ["therapist_id"], unique=False
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_therapist_fees_band_code_therapist_id", table_name="therapist_fees")
    op.create_index(
        "ix_therapist_fees_band_code_therapist_id",
        "therapist_fees",
        ["band_code", "therapist_id"],
        postgresql_include=["fee_cents"],
    )
    op.execute(REFRESH)
    for name, table, event, referencing, ids in TRIGGERS:
        op.execute(TRIGGER_FUNCTION.format(name=name, ids=ids))
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {table}"
            f" REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    # Every therapist's rows at once: ~10 s at 100,000 therapists, past the app's statement
    # timeout (DATABASE_STATEMENT_TIMEOUT_MS, which the migrations' connection has too).
    op.execute("SET LOCAL statement_timeout = 0")
    op.execute("SELECT refresh_online_listings(ARRAY(SELECT id FROM therapist_profiles))")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name, table, *_ in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
        op.execute("DROP FUNCTION IF EXISTS refresh_online_listings(integer[])")
        op.drop_index("ix_therapist_fees_band_code_therapist_id", table_name="therapist_fees")
        op.create_index(
            "ix_therapist_fees_band_code_therapist_id", "therapist_fees", ["band_code", "therapist_id"]
        )
    op.drop_index(op.f("ix_online_listings_therapist_id"), table_name="online_listings")
    op.drop_table("online_listings")
