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
// Logs carry the method, the URL path, the status, the attempt and the
// duration; never the query, headers, bodies or tokens.
package transport
