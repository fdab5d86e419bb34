// Package hubspot is the writeback provider for HubSpot's CRM v3 objects
// API: contacts, companies, deals, tickets and custom objects (by name or
// object type ID such as 2-12345).
//
//	p := hubspot.New(hubspot.Config{})
//	w, err := writeback.NewWriter(&writeback.Config{
//		Providers:   []writeback.Provider{p},
//		TokenSource: func(ctx context.Context, inst *writeback.Installation) (oauth2.TokenSource, error) {
//			return hubspot.StaticToken(os.Getenv("HUBSPOT_TOKEN")), nil
//		},
//		// ...
//	})
//
// # Requests
//
// Single writes use POST /crm/v3/objects/{object}, PATCH and DELETE
// .../{id}; batches use .../batch/create and .../batch/update (at most 100
// inputs); reads for the ifEmpty rule use .../batch/read. Property values
// are sent as strings. Associations on create use HubSpot's v4 shape.
// [Provider.EncodeWrite] shows the exact requests for dry runs.
//
// # Values
//
// Field values reach the adapter normalised by the engine (see
// [writeback.Writer.Create]) and become property strings: a string as is,
// a boolean "true" or "false", a number its exact decimal text, a time (a
// UTC datetime with milliseconds, "2026-01-02T03:04:05.000Z") as such, a
// list of strings joined with ";" (multiple checkboxes), nil "" (which
// clears the property). A date property takes "2026-01-02", or a time at
// UTC midnight. A map, or a list holding anything but strings, is refused
// when the write is accepted ([Provider.CheckRecord]), as is a record ID
// that is not a HubSpot ID (digits).
//
// # All-or-nothing and partial batches
//
// A partial batch create gives each input an objectWriteTraceId so HubSpot
// reports each failure separately (207 Multi-Status). An all-or-nothing
// batch create sends none, and HubSpot refuses the whole batch when any
// input fails. HubSpot applies batch updates partially whatever is asked,
// so an all-or-nothing batch update is emulated: the touched properties
// are read first, and if HubSpot fails some records, the records it
// changed are written back; [writeback.ProviderResponse.Compensation]
// says so and names any record the restore could not put back.
//
// Results are matched to inputs by objectWriteTraceId (partial creates) or
// record ID (updates). An all-or-nothing batch create carries no key, and
// HubSpot returns its results in no guaranteed order, so they are matched
// by the property values HubSpot echoes back (inputs that look the same
// are matched in order). A result that echoes none of an input's values is
// never matched by position (unless it is the only result and that the
// only input left): those inputs are reported as unknown outcomes, with a
// warning in the log. An input the answer says nothing about is an unknown
// outcome too, never a success.
//
// When HubSpot refuses a whole batch, its error does not say which input
// was at fault. If the error names properties that only some records
// carry, those records get the error and the others are reported rolled
// back (and in partial mode sent again, once); otherwise every record gets
// the error.
//
// A batch create that would repeat a unique value (a contact's email, a
// custom unique property) is refused with 409 CONFLICT about the first
// such input only, and HubSpot's body names the record holding the value
// but not the input: {"status":"error","message":"Contact already exists.
// Existing ID: 1234","correlationId":...,"category":"CONFLICT"}. The
// adapter finds the input: from the answer when an errors[] entry names
// the property and echoes the value ("A contact with email a@example.com
// already exists...", in: email); otherwise with one batch read of the
// record named (listed in the write's calls) and the input that holds its
// email (contacts), or the only input sharing any of its values. That
// input is the conflict, with ExistingID; the others are rolled back. If
// no single input can be tied to it, nothing is guessed: every record is
// reported rolled back (not written), with the existing record's ID, the
// answer's message and why, and a warning is logged.
//
// # Errors, retries and rate limits
//
// HubSpot's error bodies are classified into [writeback.ProviderError]:
// 400 invalid, 404 not found, 409 conflict (with the existing record's
// ID), 401 auth, 403 permission, 423, 477 and 5xx unavailable, 429
// TEN_SECONDLY_ROLLING rate limited, 429 DAILY quota. A create sent without
// an answer is an unknown outcome and is never resent. Calls are paced per
// installation from the X-HubSpot-RateLimit-* headers;
// [Provider.RateLimits] shows what they said.
//
// Replicas of an application that write to the same HubSpot account (each
// with its own Writer and Provider) need no shared state to stay within
// its limits: X-HubSpot-RateLimit-Remaining counts the account's calls in
// the rolling 10 seconds, whoever made them, so each Provider sees the
// others' calls in every answer and shares the window with them (it
// reuses the room its own calls leave, spreads out the rest and keeps a
// small margin for calls still on their way). Three replicas writing as
// fast as they can to an account allowed 100 calls per 10 seconds get no
// 429s and use about 95% of the limit (BENCHMARKS.md). The daily reserve
// ([Config.Reserve]) is kept across replicas the same way, from
// X-HubSpot-RateLimit-Daily-Remaining, but for the calls in flight when
// it is reached.
//
// The rules the errors follow:
//
//   - StatusCode is the HTTP status of the call that carried the error:
//     for a record of a batch, the batch's status (200 or 207), with the
//     record's category (OBJECT_NOT_FOUND, CONFLICT, ...) in Code.
//   - A VALIDATION_ERROR lists what is wrong with each property in
//     FieldErrors (property, code such as PROPERTY_DOESNT_EXIST,
//     INVALID_OPTION, INVALID_DOUBLE or INVALID_EMAIL, and message), read
//     from errors[] or, when that is absent, from the list HubSpot embeds
//     in its message; the message keeps only its text. The adapter knows
//     the HubSpot property names only: FieldError.Field, the app's name,
//     is left for the engine to fill from the installation's mapping.
//   - A 429 TEN_SECONDLY_ROLLING is resent after a short wait while the
//     deadline allows. When the next send would have to wait for the
//     window past the caller's deadline, the 429 answer is returned as it
//     is (rate limited, 429, the policy as Code, the correlation ID).
//     RetryAfter is the wait the pacer will impose on the next call: the
//     end of the window when it is full, or the next call's turn when the
//     window is shared with other replicas, at least the short wait or the
//     Retry-After header.
//   - A 429 DAILY is not resent; RetryAfter runs to the next midnight in
//     [Config.Location], where HubSpot resets the daily limit (it sends no
//     reset time), plus [DailyResetMargin].
//   - A call the daily reserve refuses is class quota, Code DAILY_RESERVE,
//     wrapping [ErrDailyReserve]; once the budget is spent, Code
//     DAILY_BUDGET_SPENT. Nothing was sent.
//   - The response, and an error that fails the whole write, list every
//     HTTP call the write made (ProviderResponse.Calls,
//     ProviderError.Calls), resends and the reads of an emulated
//     all-or-nothing update included.
//
// # Deletes
//
// HubSpot answers 204 to archiving a record ID that does not exist,
// whether the record was archived earlier or never existed: the adapter
// cannot tell the two apart, so both are successes and
// RecordResult.AlreadyDeleted is never set.
package hubspot
