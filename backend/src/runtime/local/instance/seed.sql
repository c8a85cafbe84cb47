-- The demo data (see seed.rs): the placeholders in braces are filled in. The Kubernetes
-- test harness seeds the system Postgres of its namespaces with it too.
CREATE DATABASE keycloak;
CREATE DATABASE appmanager;
\connect keycloak
CREATE TABLE realm (
  id varchar(36) PRIMARY KEY, name varchar(255) UNIQUE NOT NULL, enabled boolean NOT NULL,
  display_name varchar(255), ssl_required varchar(255), registration_allowed boolean NOT NULL,
  login_theme varchar(255), access_token_lifespan integer);
CREATE TABLE user_entity (
  id varchar(36) PRIMARY KEY, username varchar(255) NOT NULL, email varchar(255),
  email_verified boolean NOT NULL, enabled boolean NOT NULL, first_name varchar(255),
  last_name varchar(255), realm_id varchar(36) NOT NULL REFERENCES realm(id),
  created_timestamp bigint, UNIQUE (realm_id, username));
CREATE TABLE keycloak_group (
  id varchar(36) PRIMARY KEY, name varchar(255) NOT NULL, parent_group varchar(36),
  realm_id varchar(36) NOT NULL REFERENCES realm(id));
CREATE TABLE user_group_membership (
  group_id varchar(36) NOT NULL REFERENCES keycloak_group(id),
  user_id varchar(36) NOT NULL REFERENCES user_entity(id), PRIMARY KEY (group_id, user_id));
CREATE TABLE identity_provider (
  internal_id varchar(36) PRIMARY KEY, provider_alias varchar(255) NOT NULL,
  provider_id varchar(255) NOT NULL, enabled boolean NOT NULL, trust_email boolean NOT NULL,
  realm_id varchar(36) NOT NULL REFERENCES realm(id));
CREATE TABLE client (
  id varchar(36) PRIMARY KEY, client_id varchar(255) NOT NULL, name varchar(255),
  enabled boolean NOT NULL, redirect_uris text, realm_id varchar(36) NOT NULL REFERENCES realm(id));
CREATE TABLE credential (
  id varchar(36) PRIMARY KEY, user_id varchar(36) NOT NULL REFERENCES user_entity(id),
  type varchar(255) NOT NULL, created_date bigint, secret_data text, credential_data text);
CREATE TABLE user_attribute (
  id varchar(36) PRIMARY KEY, name varchar(255) NOT NULL, value text,
  user_id varchar(36) NOT NULL REFERENCES user_entity(id));

INSERT INTO realm VALUES
  ('master', 'master', true, 'Keycloak', 'external', false, 'keycloak', 60),
  ('dash', 'dash', true, 'Dash Enterprise ({namespace})', 'external', false, 'dash', 300);
INSERT INTO user_entity
  SELECT md5('user' || i)::uuid::text, 'user' || lpad(i::text, 5, '0'),
         'user' || i || '@example.com', i % 7 <> 0, i % 50 <> 0,
         'First' || i, 'Last' || i, 'dash', 1764000000000 + i * 60000
  FROM generate_series(1, {USERS}) AS i;
INSERT INTO user_entity VALUES
  (md5('admin')::uuid::text, 'admin', 'admin@example.com', true, true, 'Ada', 'Admin',
   'master', 1764000000000);
INSERT INTO keycloak_group
  SELECT md5('group' || g)::uuid::text, 'group-' || g,
         CASE WHEN g > 10 THEN md5('group' || (g % 10 + 1))::uuid::text END, 'dash'
  FROM generate_series(1, 40) AS g;
INSERT INTO user_group_membership
  SELECT DISTINCT md5('group' || ((i * k) % 40 + 1))::uuid::text, md5('user' || i)::uuid::text
  FROM generate_series(1, {USERS}) AS i, generate_series(1, 2) AS k;
INSERT INTO identity_provider VALUES
  (md5('idp1')::uuid::text, 'corporate-saml', 'saml', true, true, 'dash'),
  (md5('idp2')::uuid::text, 'azure-ad', 'oidc', true, false, 'dash'),
  (md5('idp3')::uuid::text, 'github', 'github', false, false, 'dash');
INSERT INTO client VALUES
  (md5('c1')::uuid::text, 'dash-app-manager', 'App Manager', true, '["/*"]', 'dash'),
  (md5('c2')::uuid::text, 'dash-workspaces', 'Workspaces', true, '["/workspaces/*"]', 'dash'),
  (md5('c3')::uuid::text, 'admin-cli', 'admin-cli', true, NULL, 'master');
INSERT INTO credential
  SELECT md5('cred' || i)::uuid::text, md5('user' || i)::uuid::text, 'password',
         1764000000000 + i, '{"value":"' || md5('pw' || i) || '"}', '{"hashIterations":27500}'
  FROM generate_series(1, {USERS}) AS i;
INSERT INTO user_attribute
  SELECT md5('attr' || i || '-' || k)::uuid::text,
         CASE k WHEN 1 THEN 'department' ELSE 'locale' END,
         CASE k WHEN 1 THEN 'dept-' || (i % 12) ELSE 'en' END, md5('user' || i)::uuid::text
  FROM generate_series(1, {USERS}) AS i, generate_series(1, 2) AS k;

\connect appmanager
CREATE TABLE apps (
  id serial PRIMARY KEY, name text UNIQUE NOT NULL, owner text NOT NULL,
  git_url text NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE workspaces (
  id serial PRIMARY KEY, name text UNIQUE NOT NULL, app_id integer REFERENCES apps(id),
  owner text NOT NULL, commit_sha text NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO apps (name, owner, git_url, status, created_at)
  SELECT 'app-' || lpad(i::text, 3, '0'), 'user' || lpad((i * 17 % {USERS} + 1)::text, 5, '0'),
         'https://git.{namespace}.example.com/apps/app-' || i || '.git',
         CASE WHEN i % 9 = 0 THEN 'stopped' ELSE 'running' END,
         timestamptz '2026-01-01 00:00:00+00' + i * interval '1 day'
  FROM generate_series(1, {APPS}) AS i;
INSERT INTO workspaces (name, app_id, owner, commit_sha, created_at)
  SELECT 'ws-app-' || lpad(i::text, 3, '0'), i, 'user' || lpad((i * 17 % {USERS} + 1)::text, 5, '0'),
         substr(md5('commit' || i), 1, 12),
         timestamptz '2026-02-01 00:00:00+00' + i * interval '1 hour'
  FROM generate_series(1, {APPS}) AS i WHERE i % 3 <> 0;
-- The data services App Manager gives its apps: a database on the app-data Postgres, a
-- Redis, a persistent filesystem (Lifeboat backs them up with the platform).
CREATE TABLE app_services (
  app_id integer NOT NULL REFERENCES apps(id),
  service text NOT NULL CHECK (service IN ('postgres', 'redis', 'files')),
  PRIMARY KEY (app_id, service));
INSERT INTO app_services SELECT id, 'postgres' FROM apps WHERE id % 4 = 1;
INSERT INTO app_services SELECT id, 'redis' FROM apps WHERE id % 10 = 1;
INSERT INTO app_services SELECT id, 'files' FROM apps WHERE id % 3 = 1;
