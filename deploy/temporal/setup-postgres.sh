#!/bin/sh
# Creates (first run) or upgrades (later runs) Temporal's two PostgreSQL databases, the store and
# visibility. Runs in the temporalio/admin-tools image before the server starts; safe to re-run.
set -eu

: "${POSTGRES_SEEDS:=postgresql}" "${DB_PORT:=5432}" "${POSTGRES_USER:?}" "${POSTGRES_PWD:?}"
export SQL_PASSWORD="$POSTGRES_PWD"
SCHEMA_ROOT=/etc/temporal/schema/postgresql/v12

echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}"
until nc -z -w 2 "$POSTGRES_SEEDS" "$DB_PORT"; do sleep 1; done

for db in temporal temporal_visibility; do
    case "$db" in
        temporal) schema="$SCHEMA_ROOT/temporal/versioned" ;;
        *) schema="$SCHEMA_ROOT/visibility/versioned" ;;
    esac
    tool="temporal-sql-tool --plugin postgres12 --ep $POSTGRES_SEEDS -p $DB_PORT -u $POSTGRES_USER --db $db"
    $tool create
    $tool setup-schema -v 0.0
    $tool update-schema -d "$schema"
done
echo "Temporal schema ready"
