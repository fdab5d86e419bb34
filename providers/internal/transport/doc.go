// Package transport is the one HTTP layer the provider adapters share.
//
// A [Client] sends one provider API call at a time with [Client.Do]: it paces
// the calls of each installation from the rate-limit headers the provider
// returns, keeps a reserve of the daily budget for the customer's other
// integrations, attaches a fresh bearer token to every send (refreshing it
// once on a 401), and resends only what surely did not take effect — a
// connection that was never made, or a status the provider uses to say it
// did not process the request (429, 503). Everything else is returned to the
// adapter, which classifies it; the long retries are the engine's.
//
// Pacing is per installation and per process, with no state shared between
// processes, and it needs none: the provider's rate-limit headers count
// the account's calls, whoever made them (HubSpot's
// X-HubSpot-RateLimit-Remaining and -Daily-Remaining, Salesforce's
// Sforce-Limit-Info), so each replica of an application sees the others'
// use in every answer. When the short window shows calls that are not its
// own, a client shares it: it reuses at once the room its own calls leave
// as they leave the window, takes other room one call at a time spread
// over the window, and keeps unused the calls the account makes while an
// answer is on its way. N replicas then stay within the account's limit
// together instead of each pacing to all of it. The daily reserve is kept
// across replicas the same way, but for the calls in flight when it is
// reached (at most the replicas' combined concurrency).
//
// Logs carry the method, the URL path, the status, the attempt and the
// duration; never the query, headers, bodies or tokens.
package transport
