-- The gateway's own tables beside the Vizmo directory (created idempotently on start).
-- The legacy tables (companies, locations, employees, employee_roles, visits) are never altered.

-- One row per employee that SCIM has written or adopted. Employees without a row here (created in the
-- portal) are still visible through SCIM: their SCIM id is their employee id. No foreign keys: a gateway
-- row must never block the portal's own writes (a portal with PRAGMA foreign_keys=ON deleting an employee
-- SCIM wrote failed on one), and every read joins from employees, so a row left behind is never seen.
CREATE TABLE IF NOT EXISTS scim_users (
    employee_id  INTEGER PRIMARY KEY,
    location_id  INTEGER NOT NULL,          -- the employee's location at its last SCIM write (reads use employees')
    scim_id      TEXT NOT NULL UNIQUE,      -- "<employee id>" or "<employee id>.<incarnation>" after a re-create
    incarnation  INTEGER NOT NULL DEFAULT 0,
    external_id  TEXT,
    extra        TEXT NOT NULL DEFAULT '{}', -- JSON: SCIM attributes the legacy columns cannot hold
    version      INTEGER NOT NULL DEFAULT 1  -- bumped on every SCIM write of this row; part of meta.version
);
-- externalId look-ups join from this index to the employee, whose own location_id decides the tenant: the
-- portal moving an employee to another location leaves scim_users.location_id behind (gateways before
-- 2026-12-07 indexed (location_id, external_id) and missed the moved employee).
DROP INDEX IF EXISTS scim_users_external_id;
CREATE INDEX IF NOT EXISTS scim_users_by_external_id ON scim_users (external_id);
