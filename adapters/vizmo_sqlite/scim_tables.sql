-- The gateway's own tables beside the Vizmo directory (created idempotently on start).
-- The legacy tables (companies, locations, employees, employee_roles, visits) are never altered.

-- One row per employee that SCIM has written or adopted. Employees without a row here (created in the
-- portal) are still visible through SCIM: their SCIM id is their employee id. No foreign keys: a gateway
-- row must never block the portal's own writes (a portal with PRAGMA foreign_keys=ON deleting an employee
-- SCIM wrote failed on one), and every read joins from employees, so a row left behind is never seen.
CREATE TABLE IF NOT EXISTS scim_users (
    employee_id  INTEGER PRIMARY KEY,
    location_id  INTEGER NOT NULL,
    scim_id      TEXT NOT NULL UNIQUE,      -- "<employee id>" or "<employee id>.<incarnation>" after a re-create
    incarnation  INTEGER NOT NULL DEFAULT 0,
    external_id  TEXT,
    extra        TEXT NOT NULL DEFAULT '{}', -- JSON: SCIM attributes the legacy columns cannot hold
    version      INTEGER NOT NULL DEFAULT 1  -- bumped on every SCIM write of this row; part of meta.version
);
CREATE INDEX IF NOT EXISTS scim_users_external_id ON scim_users (location_id, external_id);
