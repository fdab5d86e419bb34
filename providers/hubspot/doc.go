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
// are matched in order). An input the answer says nothing about is
// reported as an unknown outcome, never as a success.
//
// When HubSpot refuses a whole batch, its error does not say which input
// was at fault. If the error names properties that only some records
// carry, those records get the error and the others are reported rolled
// back (and in partial mode sent again, once); otherwise every record gets
// the error.
//
// # Errors, retries and rate limits
//
// HubSpot's error bodies are classified into [writeback.ProviderError]:
// 400 invalid (with the property names), 404 not found, 409 conflict (with
// the existing record's ID), 401 auth, 403 permission, 423, 477 and 5xx
// unavailable, 429 TEN_SECONDLY_ROLLING rate limited (resent after a short
// wait, then reported with RetryAfter), 429 DAILY quota (not resent;
// RetryAfter runs to the next midnight in [Config.Location] plus
// [DailyResetMargin]). A create sent without an answer is an unknown
// outcome and is never resent. Calls are paced per installation from the
// X-HubSpot-RateLimit-* headers; [Provider.RateLimits] shows what they
// said.
package hubspot
