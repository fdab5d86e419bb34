-- writeback store, version 1. {schema} is replaced by the quoted schema name.
-- Keys are text in the "C" collation, so ordering by ID is byte order,
-- whatever the database's locale.

CREATE TABLE {schema}.installations (
	id          text COLLATE "C" PRIMARY KEY,
	integration text COLLATE "C" NOT NULL,
	group_ref   text COLLATE "C" NOT NULL,
	revision    bigint NOT NULL,
	data        bytea NOT NULL,
	CONSTRAINT installations_group_unique UNIQUE (integration, group_ref)
);

CREATE TABLE {schema}.operations (
	id              text COLLATE "C" PRIMARY KEY,
	installation_id text COLLATE "C" NOT NULL,
	data            bytea NOT NULL
);
CREATE INDEX operations_by_installation ON {schema}.operations (installation_id, id);

CREATE TABLE {schema}.idempotency_keys (
	key          text COLLATE "C" PRIMARY KEY,
	request_hash text NOT NULL,
	operation_id text COLLATE "C" NOT NULL,
	reserved_at  timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL
);

CREATE TABLE {schema}.jobs (
	id              text COLLATE "C" PRIMARY KEY,
	installation_id text COLLATE "C" NOT NULL,
	provider        text NOT NULL,
	group_key       text COLLATE "C" NOT NULL DEFAULT '',
	run_at          timestamptz NOT NULL,
	attempts        integer NOT NULL DEFAULT 0,
	open            boolean NOT NULL DEFAULT false,
	size            integer NOT NULL DEFAULT 0,
	payload         bytea NOT NULL
);
CREATE INDEX jobs_due ON {schema}.jobs (run_at, id);
CREATE UNIQUE INDEX jobs_open_group ON {schema}.jobs (group_key) WHERE open;

CREATE TABLE {schema}.members (
	job_id text COLLATE "C" NOT NULL REFERENCES {schema}.jobs (id) ON DELETE CASCADE,
	seq    integer NOT NULL,
	member bytea NOT NULL,
	PRIMARY KEY (job_id, seq)
);
