-- Infusion Console: the audit trail is append-only for the console's database role (issue 16).
--
-- For a clinic's PostgreSQL with two roles: an owner role that owns the tables and runs the
-- migrations (`infusion-console` once as that role, or `alembic upgrade`), and the console
-- role that every console connects as.  Run this as the owner, after the migrations, once per
-- database and again after each console update that adds tables:
--
--     psql -v console_role=infusion_console -f resources/sql/audit_append_only.sql infusion
--
-- The console role may then read and write the session record, and append to the audit trail,
-- but never UPDATE, DELETE or TRUNCATE a trail entry (migration 0006's trigger refuses those
-- for every role as well, and only the owner can drop it).  The chain head (audit_head) must
-- stay updatable: every append moves it.

GRANT USAGE ON SCHEMA public TO :"console_role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"console_role";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"console_role";

REVOKE UPDATE, DELETE, TRUNCATE ON audit_trail FROM :"console_role";
GRANT SELECT, INSERT ON audit_trail TO :"console_role";
REVOKE DELETE, TRUNCATE ON audit_head FROM :"console_role";
GRANT SELECT, UPDATE ON audit_head TO :"console_role";
