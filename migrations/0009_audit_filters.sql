-- The audit trail read by actor and by action (`idp audit list --user`, `--action`,
-- without a company): `subject = $1 OR actor = $2` combines audit_events_subject with
-- audit_events_actor, and an action's events are read newest first from its own index.
CREATE INDEX audit_events_actor ON audit_events(actor, at);
CREATE INDEX audit_events_action ON audit_events(action, at);
