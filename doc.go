// Package writeback writes records into a customer's SaaS account (HubSpot
// and Salesforce first) on behalf of a B2B application, in process: single
// creates, updates and deletes, batches of 1 to 100 records, an async mode on
// a durable queue with retries until a deadline, and automatic batching of
// single writes, all through each customer's own write rules. There is no
// service to run and no data leaves the application.
//
// # Concepts
//
// A [Manifest] ([ParseManifest], amp.yaml style) declares integrations: a
// provider, the objects read from it and the objects written to it. An
// [Installation] is one customer's install of an integration, found by its
// groupRef: a [Connection] (which account; never a secret) and the
// customer's write settings (objects enabled, a deletion switch, per-field
// defaults and overwrite rules) and read mappings. Credentials come from
// [Config.TokenSourceFunc] per attempt and are never stored or logged.
//
// A [Provider] adapter (providers/hubspot, providers/salesforce) talks to
// one SaaS API. A store (store/boltstore on a bbolt file, store/memstore in
// memory; the contract is package store) keeps installations, operations
// and the async queue. The application wires both into a [Config].
//
// # Writing
//
// [Writer.Create], [Writer.Update], [Writer.Delete] and [Writer.Batch] name a
// [Target]. Each record goes through the installation's rules in a fixed
// order: defaults fill missing fields, the overwrite rule of the write type
// (writeOnCreate always|never, writeOnUpdate always|never|ifEmpty, read with
// one provider batch read per write) decides whether each field is written,
// then the customer's mapping renames fields and strips unmapped ones. A
// record the rules leave with nothing to write is unchanged
// ([RecordResult.Unchanged]): not sent, not failed, not counted as
// written. [Writer.DryRun] returns the exact provider request without
// sending it.
//
// [Writer.Upsert] (and [Writer.Batch] with [WriteTypeUpsert]) creates a
// record or updates the one with the same value of the object's unique
// key field ([WriteObjectSpec.UpsertKey] or [WriteOpts.UpsertKey]): HubSpot
// batch/upsert by idProperty, Salesforce upsert by external ID. One read
// by key per write tells which records exist, so the writeOnCreate or the
// writeOnUpdate rules apply exactly; [RecordResult.Created] says what the
// provider did. On an object with such a key, a create whose outcome is
// unknown is looked up by key before anything is resent.
//
// Field values are normalised when a write is accepted: what
// encoding/json encodes is accepted (named types, pointers, json.Number,
// time.Time as a UTC datetime with milliseconds, integers exactly), so a
// write sends the same request in every mode. README.md shows how each
// kind of value reaches HubSpot and Salesforce.
//
// Bad input returns a [*ValidationError] wrapping a sentinel such as
// [ErrMissingID]; nothing is sent or stored, in any mode. That includes
// what the adapter would refuse before sending ([RecordChecker]) and input
// over a limit ([ErrTooLarge]). A sync write (the default) returns the
// provider's answer as a [Result] with one [RecordResult] per record; a
// failed record carries a [*ProviderError] classified by its adapter, with
// what was wrong with each field ([FieldError]) under both the provider's
// name and the application's. Batches are all-or-nothing by default
// ([BatchPartial] opts into partial success): such a batch succeeds only if
// every record that needed writing was written; where the provider cannot
// make a batch atomic (HubSpot batch update) the adapter restores what it
// changed and [Compensation] says so. Every write is an [Operation]: see
// [Writer.Operation], [Writer.Operations] and [Writer.Wait]. Its log lists
// the provider calls of each attempt, the adapter's resends included, and
// [Operation.ProviderCalls] counts them.
//
// With [ModeAsync] a write is stored durably (fsync'd) before it is
// acknowledged, and a started Writer ([Writer.Start], [Writer.Stop]) runs
// it, retrying retryable failures with backoff until its deadline (1 h by
// default, from 1 minute to 48 h). [WriteOpts.AutoBatch] groups single
// async writes into provider batches of up to 100 records; records the
// provider rejects are isolated so the others are written, and each write
// gets its own handle ([Result.MemberID]). [WriteOpts.IdempotencyKey]
// makes a repeated request return the first one's operation, unless that
// one failed without writing anything.
//
// # Guarantees
//
// Delivery of async writes is at least once, across crashes and restarts:
// work interrupted by a crash resumes when its lease ends. An async create
// records durably that it is about to be sent before its request leaves
// (in the adapter, after its rate-limit waits, when it has
// [Capabilities.BeforeSend]): one a crash interrupted before that is
// simply sent after the restart.
// A create whose outcome is unknown (cut off after it may have been sent)
// is never resent blindly: its operation reports [ClassUnknownOutcome].
//
// # Operating
//
// [Writer.Operations] lists every installation's operations (or one's),
// filtered by status, integration, groupRef, object, write type and
// creation time, in stable pages. [Writer.QueueStats] reports the queue
// in one call: work queued, retrying, in flight (with lease expiry) and
// interrupted per provider, what is due and since when, and the open
// auto-batch groups. [Writer.Cancel] stops an unfinished async write
// (status [OperationCanceled]; an attempt in flight finishes first, and an
// auto-batch group is canceled whole); [Writer.Retry] sends a finished
// operation's unwritten records again on the same operation, with a fresh
// deadline. [Retention] prunes finished operations (30 days by default)
// and expired idempotency keys in the background, and can keep results
// without field values. A [Config] with only a Store makes an
// operations-only Writer, as the writeback command (cmd/writeback) uses.
//
// # Stored formats
//
// Everything writeback stores carries a format version. A newer writeback
// reads every earlier format and resumes the queue of a store written by
// an earlier version (testdata holds a store of each format, and a test
// runs it to completion); a change to the stored format comes with a
// migration and a new such store. A store written by a newer writeback is
// refused with [ErrStoreFormat], never misread.
//
// README.md describes auto-batching, retries, the provider rules and
// operating writeback in detail.
package writeback
