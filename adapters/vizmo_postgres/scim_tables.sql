-- The gateway's own tables beside the Vizmo directory (PostgreSQL), created idempotently on start.
-- The legacy tables (companies, locations, employees, employee_roles, visits) are never altered.
-- No foreign keys to them: as in the SQLite directory (foreign keys off), a gateway row never blocks
-- the portal's own writes.

-- One row per employee that SCIM has written or adopted. Employees without a row here (created in the
-- portal) are still visible through SCIM: their SCIM id is their employee id.
CREATE TABLE IF NOT EXISTS scim_users (
    employee_id  bigint PRIMARY KEY,          -- employees.id
    location_id  bigint NOT NULL,             -- employees.location_id at the last SCIM write (reads use employees')
    scim_id      text NOT NULL UNIQUE,        -- "<employee id>" or "<employee id>.<incarnation>" after a re-create
    incarnation  integer NOT NULL DEFAULT 0,
    external_id  text,
    extra        jsonb NOT NULL DEFAULT '{}', -- SCIM attributes the legacy columns cannot hold
    version      bigint NOT NULL DEFAULT 1    -- bumped on every SCIM write; part of meta.version
);
-- externalId look-ups join from this index to the employee, whose own location_id decides the tenant: the
-- portal moving an employee to another location leaves scim_users.location_id behind (gateways before
-- 2026-12-07 indexed (location_id, external_id) and missed the moved employee).
DROP INDEX IF EXISTS scim_users_external_id;
CREATE INDEX IF NOT EXISTS scim_users_by_external_id ON scim_users (external_id);

-- Locations with SCIM enabled and the id of each one's valid Secret Token (adapters.state.StateStore).
CREATE TABLE IF NOT EXISTS scim_integrations (
    location_id  bigint PRIMARY KEY,
    token_id     text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    rotated_at   timestamptz NOT NULL DEFAULT now()
);

-- The deployment's token-signing key (adapters.state.StateStore.claim_signing_key): one row at most, recorded
-- by the first gateway or CLI run and never changed; its id is a fingerprint, never the key. A gateway whose
-- key has another id refuses to start (every host must hold the same key).
CREATE TABLE IF NOT EXISTS scim_signing_key (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    key_id       text NOT NULL,
    host         text NOT NULL,
    source       text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);

-- The provisioning activity log (adapters.activity): one row per SCIM request that changed something or was
-- refused, appended in the same transaction as the write it records; pruned by age in small batches.
CREATE TABLE IF NOT EXISTS scim_activity (
    id              bigserial PRIMARY KEY,
    time            text NOT NULL,      -- ISO 8601 UTC, milliseconds (sorts as time)
    location_id     bigint NOT NULL,
    method          text NOT NULL,
    operation       text NOT NULL,
    resource_id     text,
    user_name       text,
    attributes      jsonb NOT NULL,     -- attribute names
    status          integer NOT NULL,
    scim_type       text,
    request_id      text NOT NULL,
    changed_values  jsonb               -- only with activity.log_values
);
CREATE INDEX IF NOT EXISTS scim_activity_location_time ON scim_activity (location_id, time);
CREATE INDEX IF NOT EXISTS scim_activity_time ON scim_activity (time);
-- The Activity page's "refused" filter; partial, so that a write's entry never touches it.
CREATE INDEX IF NOT EXISTS scim_activity_refusals ON scim_activity (location_id, time) WHERE status >= 400;

-- Operator accounts of the admin page (adapters.operators): a scrypt hash, never a password.
CREATE TABLE IF NOT EXISTS scim_operators (
    name             text PRIMARY KEY,
    password_hash    text NOT NULL,
    locations        jsonb,              -- location ids; NULL: every location
    failed_attempts  integer NOT NULL DEFAULT 0,
    locked_until     text,
    session_version  integer NOT NULL DEFAULT 1
);
