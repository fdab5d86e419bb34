-- writeback store, version 2: what operating writeback needs. A job
-- records whether it is leased (claimed and not rescheduled since: run_at
-- is then the lease's expiry) and whether a cancel was requested while it
-- was leased.
ALTER TABLE {schema}.jobs ADD COLUMN leased boolean NOT NULL DEFAULT false;
ALTER TABLE {schema}.jobs ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;
-- A job claimed before this version counts as leased until its run_at
-- (a retry's wait looks like a lease until then): a cancel never removes
-- a job that a replica may be running.
UPDATE {schema}.jobs SET leased = true WHERE attempts > 0 AND NOT open;
