-- One database role per service (issue 11, finding 7): each owns its schema and has no right
-- on the others', so a flaw in one service cannot read or change another's books.
--
--   psql -v owner=comptoir -v pw_terminals=... -v pw_cards=... -v pw_clearing=... \
--        -v pw_crm=... -v pw_notifications=... -v pw_portal=... -f deploy/postgres/service-roles.sql
--
-- Run as a superuser, by deploy/ensure-infra.sh (every machine) and by the PostgreSQL
-- container's init script (docker-compose.yml); idempotent. Each role gets CONNECT and CREATE
-- on the owner's databases: its migrations (shared/db.py) create its schema, which it then
-- owns; nobody else gets USAGE on it. The owner role (the tests, the benchmarks' bulk loads,
-- an operator) is made a member of every service role, so it can still read and reset them.
\set ON_ERROR_STOP on
CREATE TEMP TABLE comptoir_service_roles (service text PRIMARY KEY, password text NOT NULL);
INSERT INTO comptoir_service_roles VALUES
    ('terminals', :'pw_terminals'),
    ('cards', :'pw_cards'),
    ('clearing', :'pw_clearing'),
    ('crm', :'pw_crm'),
    ('notifications', :'pw_notifications'),
    ('portal', :'pw_portal');

SELECT format('CREATE ROLE %I LOGIN', 'comptoir_' || service)
FROM comptoir_service_roles
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'comptoir_' || service) \gexec

SELECT format(
    'ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L',
    'comptoir_' || service, password)
FROM comptoir_service_roles \gexec

SELECT format('GRANT %I TO %I', 'comptoir_' || service, :'owner')
FROM comptoir_service_roles \gexec

SELECT format('GRANT CONNECT, CREATE ON DATABASE %I TO %I', d.datname, 'comptoir_' || r.service)
FROM comptoir_service_roles r
CROSS JOIN pg_database d
WHERE d.datdba = (SELECT oid FROM pg_roles WHERE rolname = :'owner') \gexec
