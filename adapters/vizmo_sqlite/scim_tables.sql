-- The gateway's own tables beside the Vizmo directory (created idempotently on start).
-- The legacy tables (companies, locations, employees, employee_roles, visits) are never altered.

-- One row per employee that SCIM has written or adopted. Employees without a row here (created in the
-- portal) are still visible through SCIM: their SCIM id is their employee id.
CREATE TABLE IF NOT EXISTS scim_users (
    employee_id  INTEGER PRIMARY KEY REFERENCES employees(id),
    location_id  INTEGER NOT NULL REFERENCES locations(id),
    scim_id      TEXT NOT NULL UNIQUE,      -- "<employee id>" or "<employee id>.<incarnation>" after a re-create
    incarnation  INTEGER NOT NULL DEFAULT 0,
    external_id  TEXT,
    extra        TEXT NOT NULL DEFAULT '{}', -- JSON: SCIM attributes the legacy columns cannot hold
    version      INTEGER NOT NULL DEFAULT 1  -- bumped on every SCIM write of this row; part of meta.version
);
CREATE INDEX IF NOT EXISTS scim_users_external_id ON scim_users (location_id, external_id);
