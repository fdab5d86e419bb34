// Package writeback writes records into a customer's SaaS account (HubSpot
// and Salesforce first) on behalf of a B2B application, in process: single
// creates, updates and deletes, batches of 1 to 100 records, an async mode on
// a durable queue with retries until a deadline, and automatic batching of
// single writes — all through each customer's own write rules. There is no
// service to run and no data leaves the application.
//
// # Concepts
//
// A [Manifest] (amp.yaml style, see [ParseManifest]) declares integrations:
// a provider, the objects read from it, and the objects written to it. A
// write object may set inheritMapping to reuse the read side's field and
// object mappings.
//
// An [Installation] is one customer's install of an integration, found by
// its groupRef (unique per integration). It holds a [Connection] (which
// account; never a secret — credentials come from [Config.TokenSourceFunc] per
// call and are never stored or logged) and the customer's settings: the
// write objects enabled for write, each with an optional deletion switch and
// per-field settings, and the read mappings. Manage installations with
// [Writer.CreateInstallation], [Writer.UpdateInstallation] (with an update
// mask), [Writer.PatchInstallationObject] (RFC 6902 JSON Patch) and friends;
// every change is validated whole and applied atomically.
//
// A [Provider] adapter (providers/hubspot, providers/salesforce) talks to
// one SaaS API and describes what it supports as [Capabilities]. A [Store]
// (store/boltstore on a bbolt file, store/memstore in memory) keeps
// installations, operations and the async queue. The root package imports
// neither: the application wires them into a [Config].
//
// # Mapping, defaults and overwrite rules
//
// Each record is transformed by the installation's rules before it is sent,
// in this order:
//
//  1. Defaults. A field the request lacks gets its [FieldSetting] default
//     (string, integer, boolean or number). A field present in the request
//     keeps the request's value, even if it is empty.
//  2. Overwrite rules, for the write type: WriteOnCreate (always, never) and
//     WriteOnUpdate (always, never, ifEmpty) decide whether each field is
//     written — whether its value came from the request or from a default.
//     ifEmpty writes a field on update only if the record's current value is
//     unset or empty; the engine reads current values with one provider
//     batch read per write, never one read per record.
//  3. Mapping, when the write object inherits the read mapping: the
//     application's names (mapToName) become the customer's provider fields;
//     an optional mapped field the customer left unmapped is stripped, and
//     with RemoveUnmappedFields every field without a mapping is stripped.
//
// Field settings are keyed by the names the application sends. For example,
// with customSource mapped to myCustomSource, a default of "myApp" and
// WriteOnUpdate never: a create without customSource writes
// myCustomSource="myApp", a create with it writes the given value, and no
// update ever writes it. [Writer.DryRun] returns the exact provider request a
// write would make, without sending it, to preview a customer's rules.
//
// # Writing records
//
// [Writer.Create], [Writer.Update], [Writer.Delete] and [Writer.Batch] name a
// [Target] (integration, groupRef, object). Bad input — an unknown target, a
// missing ID, a disabled object or deletion, a batch outside 1 to 100, a
// feature the provider lacks, a denied or malformed header, options out of
// range — returns a [*ValidationError] wrapping a sentinel such as
// [ErrMissingID], and nothing is sent or stored.
//
// A sync write (the default) returns when the provider has answered: a
// [Result] with the operation ID and one [RecordResult] per record. A failed
// record carries a [*ProviderError] classified by its adapter (invalid,
// conflict, rate limited, quota, unavailable, ...), with the provider's
// code, fields and correlation ID. Batches are all-or-nothing by default;
// [BatchPartial] writes every valid record. HubSpot cannot make a batch
// update atomic, so its adapter restores the records it changed after a
// partial failure and the result's [Compensation] says so — atomicity that
// did not happen is never reported. Deletes are always synchronous.
//
// Every write is recorded as an [Operation] in the store; read it with
// [Writer.Operation] or list them with [Writer.Operations].
//
// # Async mode and operations
//
// With [ModeAsync] a write is validated and transformed up front, stored
// durably (fsync'd) and only then acknowledged with its operation ID; a
// started Writer executes it with bounded concurrency per provider and
// retries retryable failures with exponential backoff until the write's
// deadline (1 h by default, up to 48 h). Wait for the outcome with
// [Writer.Wait] or get it through [Config.OnComplete].
//
// Async writes are accepted whenever the Writer is not stopped: before
// Start they wait in the store. A Retry-After longer than the time left is
// cut to the deadline, and the last attempt runs at the deadline; then the
// operation fails with the last error. A partial batch retries only the
// records that failed retryably. OnComplete is called once per async
// operation, also for operations resumed after a restart.
//
// Async writes accept an idempotency key ([WriteOpts.IdempotencyKey]): the
// same key within [Config.IdempotencyRetention] (24 h by default, across
// restarts) returns the original operation instead of writing again, and
// the same key with a different request is an [ErrIdempotencyMismatch]
// error. Sync writes honour keys too; auto-batched writes cannot carry one.
//
// # Auto-batching
//
// An async single create or update with [WriteOpts.AutoBatch] is not sent on
// its own: it joins a group of writes for the same installation, object and
// write type — and the same pass-through headers, since one provider call
// carries one set — and the group is written as one provider batch when it
// holds the provider's batch limit (100, or [Capabilities.MaxBatchSize] if
// smaller) or when [AutoBatchPolicy.MaxDelay] (1 s to 24 h) has passed since
// its first record, whichever comes first. The first record's delay sets
// the group's flush time: a later record with another delay joins the open
// group without moving it. Creates and updates, installations and objects
// never share a group.
//
// Each record is stored durably as a member of its group before the call
// returns, and every member gets the group's master operation ID
// ([Operation.AutoBatch] is true). The master operation is in_progress while
// the group accumulates and while it is written, then success — possibly
// partial: Results holds each record's result in join order, and
// SuccessfulRecordIDs the IDs written — or failure when no record was
// written, for instance because the retry deadline passed. [Writer.Wait]
// and [Config.OnComplete] report the group once.
//
// A record the provider rejects does not sink the others: groups are sent
// as partial batches. Where the provider reports errors per record (HubSpot
// batches with trace IDs, Salesforce with allOrNone false) the other records
// are written in the same call. Where it rejects a whole batch without
// naming a record, the engine splits it: it sends one half; if that half is
// written, the fault is in the other half, which is split again without
// being resent; if it fails, the search goes on in it and the other half is
// sent once, at the end. One bad record among 100 costs at most 8 calls
// after the rejected batch; if the records set aside fail too, the search
// goes on testing both halves of every failing set, at most two calls per
// record. A record found by elimination carries the error of the smallest
// rejected batch that held it. A call in which every record
// failed with one and the same error counts as a whole-batch rejection:
// that is how the HubSpot adapter reports a batch update HubSpot refused
// without naming a record. Two updates of one record in a group go out in
// successive calls, in join order, and fields under the ifEmpty rule are
// read once for the whole group.
//
// Retryable failures (rate limits, quota, unavailability) retry the records
// still pending with exponential backoff until [AutoBatchPolicy.RetryDeadline]
// (1 h by default, up to 48 h) after the group's first flush;
// WriteOpts.RetryDeadline is ignored with auto-batching. Groups are jobs in
// the store: a restarted Writer keeps filling the open ones and writes each
// at its original flush time. A create batch interrupted by a crash after it
// may have been sent is not sent again: its records are reported as
// [ClassUnknownOutcome]. An interrupted update batch is sent again.
//
// Auto-batching needs a provider with batches and async mode, and cannot be
// combined with [Writer.Batch], deletes or an idempotency key (the records
// of a group share one master operation, so a key could not stand for one
// record's write): these return a [*ValidationError] wrapping
// [ErrUnsupported] (or [ErrInvalidOptions] for a policy out of range).
//
// # Shutdown
//
// [Writer.Start] resumes every unfinished operation left in the store;
// [Writer.Stop] stops intake, waits for provider calls in flight and leaves
// the rest durable for the next Start. Both are idempotent. The Writer never
// closes its store. Work interrupted by a crash resumes when its lease ends
// (5 min by default). If Stop's ctx ends first, calls in flight are
// cancelled and their outcomes still saved.
//
// # Caveats
//
// Delivery of async writes is at least once. A create whose outcome is
// unknown (the process died or the connection broke after the request was
// sent) is not resent blindly: its operation reports
// [ClassUnknownOutcome]. One process owns a bbolt file at a time.
package writeback
