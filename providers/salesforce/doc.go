// Package salesforce is the writeback adapter for the Salesforce REST API.
//
// A [Provider] writes single records through the sObject resources
// (POST /services/data/vXX.X/sobjects/{SObject}, PATCH and DELETE
// .../sobjects/{SObject}/{id}) and batches of up to 100 records through sObject
// Collections (/services/data/vXX.X/composite/sobjects) with allOrNone, so an
// all-or-nothing batch is atomic at Salesforce. For the ifEmpty overwrite rule
// it reads current values with one Collections retrieve per batch. The base
// URL of every call is the installation's Connection.InstanceURL, such as
// https://mydomain.my.salesforce.com.
//
// Field values reach the adapter normalised by the engine (see
// [writeback.Writer.Create]) and are sent as JSON: strings, booleans,
// numbers (exactly, int64 beyond 2^53 included), times as UTC datetimes
// with milliseconds ("2026-01-02T03:04:05.000Z"), nil as null (which
// clears the field), maps as objects (a relationship field by external
// ID). A date field takes "2026-01-02"; a multi-select picklist takes its
// values joined with ";", not a list. A record ID that is not a 15- or
// 18-character Salesforce ID, and fields named Id (on update) or
// attributes, are refused when the write is accepted
// ([Provider.CheckRecord]).
//
// Errors are classified into [writeback.ProviderError]: 403
// REQUEST_LIMIT_EXCEEDED is a quota to wait out (never an auth failure),
// UNABLE_TO_LOCK_ROW and 5xx are temporary, DUPLICATE_VALUE and
// DUPLICATES_DETECTED are conflicts, validation codes are invalid input with
// their fields, and ALL_OR_NONE_OPERATION_ROLLED_BACK marks the records an
// all-or-nothing batch rolled back.
//
// The rules the errors and results follow:
//
//   - StatusCode is the HTTP status of the call that carried the error: for
//     a record of a Collections write, the call's 200, with the record's
//     errorCode in Code.
//   - Each error's fields become FieldErrors (field API name, errorCode,
//     message); FieldError.Field, the app's name, is left for the engine
//     to fill from the installation's mapping.
//   - An answer whose only errors are UNABLE_TO_LOCK_ROW (and, in an
//     all-or-nothing batch, ALL_OR_NONE_OPERATION_ROLLED_BACK) proves
//     nothing was written: the call is sent again within the caller's
//     deadline, like a 503, up to [Config.MaxAttempts] sends; a partial
//     batch in which other records were written is not.
//   - A 403 REQUEST_LIMIT_EXCEEDED "TotalRequests" is class quota with
//     RetryAfter [Config.QuotaRetryAfter]: Salesforce counts a rolling 24
//     hours and says nothing about when calls free up.
//   - Deleting a record that is already deleted (404 ENTITY_IS_DELETED: it
//     is in the Recycle Bin) succeeds with RecordResult.AlreadyDeleted set,
//     and is logged. An ID of no record (NOT_FOUND,
//     INVALID_CROSS_REFERENCE_KEY), of another object or malformed
//     (MALFORMED_ID) stays an error. Once the Recycle Bin is emptied (15
//     days), Salesforce answers a deleted record's ID as one that never
//     existed, and the adapter cannot tell them apart.
//   - The response, and an error that fails the whole write, list every
//     HTTP call the write made, resends included.
//
// Every response's Sforce-Limit-Info header (api-usage=used/limit) feeds the
// shared pacer, which refuses to spend the last part of the org's daily API
// budget (10% by default, [Config.Reserve]): that reserve belongs to the
// customer's other integrations. [Provider.APIUsage] reports the latest
// figures. The header counts the whole org's calls, so replicas of an
// application (each with its own Provider) see each other's use and keep
// the reserve together with no shared state, but for the calls in flight
// when it is reached (at most the replicas' combined concurrency).
//
// Credentials come from the installation's oauth2.TokenSource. [NewTokenSource]
// implements Salesforce's OAuth 2.0 refresh-token flow: the application owns
// the refresh token and is told about every refreshed token; a 401
// INVALID_SESSION_ID makes the adapter refresh once and resend once.
//
// Pass-through headers such as Sforce-Auto-Assign, Sforce-Duplicate-Rule-Header
// and Sforce-Call-Options are sent with creates, updates, deletes and batches.
// Headers that would change the call itself (Authorization, Content-Type,
// Host, hop-by-hop headers, ...) are refused before anything is sent.
//
// Package salesforcetest provides a strict Salesforce simulator to test
// against.
package salesforce
