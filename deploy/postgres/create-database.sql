-- The database and its owner, for Leadline on PostgreSQL (docs/deployment.md):
--   sudo -u postgres psql -v user=leadline -v password='choose-one' -v db=leadline \
--        -f deploy/postgres/create-database.sql
-- Leadline's migrations run as this user: it owns the database and what `leadline init` makes in it.
CREATE ROLE :"user" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"user" ENCODING 'UTF8' TEMPLATE template0;
