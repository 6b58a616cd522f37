"""Clinical logic with no Qt and no database: alarms, the per-chair pipeline, sessions."""
