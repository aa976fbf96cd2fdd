-- Gives each service's schema, and everything in it, to the service's own role
-- (deploy/postgres/service-roles.sql), in a database where an earlier version created them
-- all under the owner role. Run as a superuser in each database, by deploy/ensure-infra.sh;
-- does nothing where the schemas are already the services' own.
\set ON_ERROR_STOP on
DO $$
DECLARE
    s text;
    r text;
    obj record;
BEGIN
    FOREACH s IN ARRAY ARRAY['terminals', 'cards', 'clearing', 'crm', 'notifications', 'portal'] LOOP
        r := 'comptoir_' || s;
        CONTINUE WHEN NOT EXISTS (
            SELECT FROM pg_namespace n JOIN pg_roles o ON o.oid = n.nspowner
            WHERE n.nspname = s AND o.rolname <> r);
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', s, r);
        -- A table's owner change carries its indexes, triggers and owned sequences along.
        FOR obj IN
            SELECT c.oid::regclass AS name,
                   CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                  WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END AS kind
            FROM pg_class c
            WHERE c.relnamespace = s::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        LOOP
            EXECUTE format('ALTER %s %s OWNER TO %I', obj.kind, obj.name, r);
        END LOOP;
        FOR obj IN
            SELECT c.oid::regclass AS name FROM pg_class c
            WHERE c.relnamespace = s::regnamespace AND c.relkind = 'S'
              AND NOT EXISTS (SELECT FROM pg_depend d
                              WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                AND d.deptype IN ('a', 'i'))
        LOOP
            EXECUTE format('ALTER SEQUENCE %s OWNER TO %I', obj.name, r);
        END LOOP;
        FOR obj IN
            SELECT p.oid::regprocedure AS name,
                   CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE'
                                  ELSE 'FUNCTION' END AS kind
            FROM pg_proc p WHERE p.pronamespace = s::regnamespace
        LOOP
            EXECUTE format('ALTER %s %s OWNER TO %I', obj.kind, obj.name, r);
        END LOOP;
        FOR obj IN
            SELECT t.oid::regtype AS name FROM pg_type t
            WHERE t.typnamespace = s::regnamespace AND t.typtype IN ('e', 'd', 'r', 'm')
        LOOP
            EXECUTE format('ALTER TYPE %s OWNER TO %I', obj.name, r);
        END LOOP;
    END LOOP;
END
$$;
