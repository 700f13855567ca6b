#!/bin/sh
# Restore a backup made by backup.sh into an EMPTY database (create it first: createdb ...).
#   deploy/restore.sh /var/backups/telespine/telespine-20261201T020000Z.dump postgresql://telespine@127.0.0.1:5432/telespine_restored
# Then point DATABASE_URL at it and start `telespine serve`: the migrations are already at the
# backup's revision, so the app (same or newer version) upgrades from there.
set -eu
file="${1:?backup file}"
url="${2:?database URL of an empty database}"
url=$(printf '%s' "$url" | sed 's#^postgresql+psycopg://#postgresql://#')
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$url" "$file"
echo "restored $file"
