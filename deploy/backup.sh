#!/bin/sh
# Back up telespine's PostgreSQL database to one file (custom format, compressed).
#   deploy/backup.sh postgresql://telespine@127.0.0.1:5432/telespine /var/backups/telespine
# Writes <folder>/telespine-<UTC time>.dump and prints its path. Run it from cron (daily, say),
# copy the files off the machine, encrypted: they hold every health record.
set -eu
url="${1:?database URL}"
folder="${2:?backup folder}"
url=$(printf '%s' "$url" | sed 's#^postgresql+psycopg://#postgresql://#')
mkdir -p "$folder"
umask 077
file="$folder/telespine-$(date -u +%Y%m%dT%H%M%SZ).dump"
pg_dump --format=custom --no-owner --no-privileges --file="$file" "$url"
echo "$file"
