// Package opspage is a web page for the people who operate an app that
// writes with writeback: an [http.Handler] the app mounts, server-rendered
// with html/template and one small embedded style sheet, with no script.
//
//	h, err := opspage.New(w, nil) // w is the app's *writeback.Writer
//	if err != nil { ... }
//	mux.Handle("/writeback/", requireAdmin(http.StripPrefix("/writeback", h)))
//
// It shows:
//
//   - the queue: depth per provider (queued, open groups, retrying, in
//     flight, interrupted, due and how late), the open auto-batch groups
//     with their fill and flush time, the attempts in flight, the
//     operations waiting on a provider's rate limit or quota, and the last
//     hour: operations by status, provider calls, 429 answers and time
//     spent waiting per integration, the newest failures;
//   - the operations, filtered by status, type, creation time,
//     integration, groupRef, installation and object, a page at a time;
//   - one operation: its records' results with the provider's error
//     class, HTTP status, code, field errors and correlation ID, where it
//     stands in the queue, and its log with every provider call;
//   - the installations, and one installation's write settings: objects,
//     deletion switch, field defaults and overwrite rules, read mappings.
//
// # Access
//
// The page has no authentication of its own: wrap it in the app's
// middleware that lets only its operators in, as in the example above. It
// shows what writes carry (IDs, provider messages, the provider's answer
// per record), so treat it as the app's admin pages.
//
// It is read-only by default. With [Options.Actions] an operation's page
// has Cancel and Retry buttons: POST forms protected against cross-site
// request forgery twice. Cross-origin POSTs are refused
// ([http.CrossOriginProtection]: Sec-Fetch-Site and Origin), and each form
// carries a token, an HMAC-SHA256 under [Options.CSRFKey] of a random
// value held in an HttpOnly, SameSite=Strict cookie (and of the app's
// session, with [Options.Session]); a POST whose token does not match its
// cookie changes nothing.
//
// Every value that came from a provider, a record or an installation is
// escaped by html/template, and the page's Content-Security-Policy allows
// no script, so a hostile provider message or record value stays text.
//
// # Cost
//
// Each page view reads the store a bounded amount: the overview takes the
// queue stats (which read every queued job's keys), at most [RecentLimit]
// operations of the last hour and, when operations are retrying, the
// unfinished operations of the last [WaitingWindow] (one
// [writeback.Writer.Operations] call); the list reads one page.
package opspage
