-- cofferdam's PostgreSQL backstop, installed by `up` before it applies
-- anything (see postgres.rs). Idempotent; on a second run it only looks for
-- tables that lack the TRUNCATE trigger.
DO $cofferdam$
DECLARE
  home text;
  rel regclass;
BEGIN
  -- Creating a trigger takes a SHARE ROW EXCLUSIVE lock on its table, and
  -- the application's writes queue behind a waiting lock: a busy table is
  -- given up after 100 ms and covered by a later run, so a deploy never
  -- holds the application's writes up longer than that (once per table).
  PERFORM set_config('lock_timeout', '100ms', true);
  home := coalesce(
    (SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE p.proname = 'cofferdam_guard_truncate' ORDER BY p.oid LIMIT 1),
    current_schema());
  -- The marker names the version of the functions, so an upgrade replaces them.
  IF NOT EXISTS (SELECT 1 FROM pg_proc
                  WHERE proname = 'cofferdam_guard_truncate' AND prosrc LIKE '%cofferdam backstop 2%') THEN
    EXECUTE format($f$
      CREATE OR REPLACE FUNCTION %1$I.cofferdam_guard_drop() RETURNS event_trigger LANGUAGE plpgsql AS $fn$
      DECLARE
        dropped text;
      BEGIN
        IF current_setting('cofferdam.guard', true) = 'enforce' THEN
          -- What the revision created itself (a scratch table, its columns) is its own to drop.
          SELECT string_agg(object_type || ' ' || object_identity, ', ') INTO dropped
            FROM pg_event_trigger_dropped_objects()
           WHERE original
             AND NOT objid::text = ANY (string_to_array(current_setting('cofferdam.created', true), ','));
          IF dropped IS NOT NULL THEN
            RAISE EXCEPTION 'cofferdam: revision %% dropped %% but is not marked #[destructive(reviewed)]',
              current_setting('cofferdam.revision', true), dropped
              USING HINT = 'the drop was rolled back; review the migration, then mark it #[destructive(reviewed)]';
          END IF;
        END IF;
      END
      $fn$;
      CREATE OR REPLACE FUNCTION %1$I.cofferdam_guard_truncate() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        -- cofferdam backstop 2
        IF current_setting('cofferdam.guard', true) = 'enforce' THEN
          RAISE EXCEPTION 'cofferdam: revision %% truncated %%.%% but is not marked #[destructive(reviewed)]',
            current_setting('cofferdam.revision', true), TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING HINT = 'the truncate was rolled back; review the migration, then mark it #[destructive(reviewed)]';
        END IF;
        RETURN NULL;
      END
      $fn$;
      CREATE OR REPLACE FUNCTION %1$I.cofferdam_guard_created() RETURNS event_trigger LANGUAGE plpgsql AS $fn$
      DECLARE
        made record;
      BEGIN
        FOR made IN SELECT objid, object_type FROM pg_event_trigger_ddl_commands() LOOP
          IF current_setting('cofferdam.guard', true) = 'enforce' THEN
            -- An unreviewed revision may empty or drop what it made (a scratch
            -- table): remember it, and leave it without the TRUNCATE trigger.
            PERFORM set_config('cofferdam.created',
              concat_ws(',', nullif(current_setting('cofferdam.created', true), ''), made.objid), false);
          ELSIF made.object_type = 'table' AND NOT EXISTS (
              SELECT 1 FROM pg_trigger WHERE tgrelid = made.objid AND tgname = 'cofferdam_guard_truncate') THEN
            BEGIN
              EXECUTE format('CREATE TRIGGER cofferdam_guard_truncate BEFORE TRUNCATE ON %%s '
                             'FOR EACH STATEMENT EXECUTE FUNCTION %%I.cofferdam_guard_truncate()',
                             made.objid::regclass, %1$L);
            EXCEPTION WHEN OTHERS THEN
              -- Never fail someone's CREATE TABLE for the backstop's sake.
              NULL;
            END;
          END IF;
        END LOOP;
      END
      $fn$;
    $f$, home);
  END IF;
  -- Event triggers need a superuser; without them TRUNCATE is still guarded
  -- on the tables that exist at each run.
  BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'cofferdam_guard_drop') THEN
      EXECUTE format('CREATE EVENT TRIGGER cofferdam_guard_drop ON sql_drop '
                     'EXECUTE FUNCTION %I.cofferdam_guard_drop()', home);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'cofferdam_guard_created') THEN
      EXECUTE format('CREATE EVENT TRIGGER cofferdam_guard_created ON ddl_command_end '
                     'WHEN TAG IN (''CREATE TABLE'', ''CREATE TABLE AS'', ''SELECT INTO'') '
                     'EXECUTE FUNCTION %I.cofferdam_guard_created()', home);
    END IF;
  EXCEPTION WHEN insufficient_privilege OR duplicate_object OR unique_violation THEN
    NULL;
  END;
  FOR rel IN
    SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p')
       AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
       AND has_table_privilege(c.oid, 'TRIGGER')
       AND NOT EXISTS (SELECT 1 FROM pg_trigger g
                        WHERE g.tgrelid = c.oid AND g.tgname = 'cofferdam_guard_truncate')
  LOOP
    BEGIN
      EXECUTE format('CREATE TRIGGER cofferdam_guard_truncate BEFORE TRUNCATE ON %s '
                     'FOR EACH STATEMENT EXECUTE FUNCTION %I.cofferdam_guard_truncate()', rel, home);
    EXCEPTION WHEN lock_not_available OR insufficient_privilege OR duplicate_object THEN
      NULL;
    END;
  END LOOP;
EXCEPTION WHEN insufficient_privilege OR duplicate_object OR unique_violation THEN
  NULL;
END
$cofferdam$;
SELECT count(*) FROM pg_event_trigger WHERE evtname = 'cofferdam_guard_drop' AND evtenabled <> 'D'
