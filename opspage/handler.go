package opspage

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/writebackhq/writeback"
)

// Options configures a [Handler]. The zero value (or nil) is a read-only
// page.
type Options struct {
	// Title heads every page, e.g. the app's name; empty means
	// "writeback".
	Title string
	// Actions adds Cancel and Retry buttons to an operation's page: POST
	// forms that call [writeback.Writer.Cancel] and
	// [writeback.Writer.Retry], protected against cross-site request
	// forgery. Off, the page is read-only and refuses every POST. Mount
	// the handler behind the app's own authentication and authorization
	// either way: it has none of its own.
	Actions bool
	// CSRFKey signs the forms' tokens (HMAC-SHA256), at least 32 random
	// bytes. Give every replica of the app the same key, so that a form
	// served by one is accepted by another; nil makes a random key, good
	// for one process until it restarts. Used only with Actions.
	CSRFKey []byte
	// Session, if set, returns an identifier of the signed-in user's
	// session (from what the app's middleware put in the request's
	// context): tokens are then valid for that session only. Its value is
	// hashed into the token, never stored, sent or logged.
	Session func(*http.Request) string
	// Logger receives a line for every cancel and retry (the operation, the
	// outcome and the client's address); nil discards them.
	Logger *slog.Logger
}

// Limits of the page's reads, which keep a page view's cost bounded
// whatever the store holds.
const (
	// RecentWindow is the span of the overview's recent activity: the
	// operations created in it.
	RecentWindow = time.Hour
	// RecentLimit is the most operations the overview reads for its recent
	// activity; past it, the newest in the window are left out and the
	// page says so.
	RecentLimit = 2000
	// WaitingWindow is how far back the overview looks for unfinished
	// operations waiting on a provider's rate limit or quota (a write
	// retries for up to 48 hours, an auto-batch group opens up to 24 hours
	// before that). It looks at the oldest [writeback.MaxPageSize] of
	// them, and only when some operation is retrying.
	WaitingWindow = 72 * time.Hour
	// ListPageSize is the operations list's default page size.
	ListPageSize = 50
)

// minKey is the shortest CSRFKey accepted.
const minKey = 32

// Handler serves the ops page of a Writer. It is safe for concurrent use.
type Handler struct {
	w    *writeback.Writer
	opts Options
	mux  *http.ServeMux
	csrf csrf
	// cross refuses cross-origin POSTs (Sec-Fetch-Site, Origin).
	cross *http.CrossOriginProtection
	log   *slog.Logger
	pages *pages
}

// New returns the ops page of w. Mount it under a path with
// [http.StripPrefix], behind the app's authentication middleware:
//
//	h, err := opspage.New(w, nil)
//	mux.Handle("/writeback/", requireAdmin(http.StripPrefix("/writeback", h)))
//
// Its links are relative, so any mount path works. Bad options are a
// [*writeback.ValidationError] wrapping [writeback.ErrInvalidOptions].
func New(w *writeback.Writer, opts *Options) (*Handler, error) {
	if w == nil {
		return nil, &writeback.ValidationError{Field: "w", Reason: "a Writer is required", Err: writeback.ErrInvalidOptions}
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Title == "" {
		o.Title = "writeback"
	}
	h := &Handler{w: w, opts: o, cross: http.NewCrossOriginProtection(), log: o.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if o.Actions {
		key := o.CSRFKey
		switch {
		case key == nil:
			key = make([]byte, minKey)
			_, _ = rand.Read(key)
		case len(key) < minKey:
			return nil, &writeback.ValidationError{Field: "CSRFKey",
				Reason: fmt.Sprintf("%d bytes is too short: at least %d random bytes", len(key), minKey), Err: writeback.ErrInvalidOptions}
		default:
			key = append([]byte(nil), key...)
		}
		h.csrf = csrf{key: key, session: o.Session}
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	h.pages = p

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.overview)
	mux.HandleFunc("GET /operations", h.operations)
	mux.HandleFunc("GET /operations/{id}", h.operation)
	mux.HandleFunc("POST /operations/{id}/{action}", h.action)
	mux.HandleFunc("GET /installations", h.installations)
	mux.HandleFunc("GET /installations/{id}", h.installation)
	mux.HandleFunc("GET /style.css", serveCSS)
	mux.HandleFunc("/", h.notFound)
	h.mux = mux
	return h, nil
}

// ServeHTTP implements [http.Handler].
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// No script, no frame, no third party: what the page shows stays text.
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	if p := patternPath(r.Pattern); len(p) > 1 && strings.HasPrefix(r.URL.Path, p) {
		// Mounted by a ServeMux under a path that was not stripped.
		h.fail(w, r, http.StatusNotFound, "Not found",
			fmt.Sprintf("The ops page is mounted at %s without http.StripPrefix(%q, ...): see its documentation.", p, strings.TrimSuffix(p, "/")))
		return
	}
	h.mux.ServeHTTP(w, r)
}

// patternPath returns the path of a ServeMux pattern such as
// "GET example.com/writeback/", or "" for none.
func patternPath(pattern string) string {
	if _, rest, ok := strings.Cut(pattern, " "); ok {
		pattern = strings.TrimLeft(rest, " \t")
	}
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		return pattern[i:]
	}
	return ""
}

// notFound answers a path the page does not have.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, http.StatusNotFound, "Not found", "This page does not exist.")
}

// fail renders an error page.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, code int, title, msg string) {
	h.render(w, r, code, "error", title, errorView{Message: msg})
}

// storeFailed renders the error of a Writer call: not found, bad input,
// or the store failing.
func (h *Handler) storeFailed(w http.ResponseWriter, r *http.Request, what string, err error) {
	var ve *writeback.ValidationError
	switch {
	case errors.Is(err, writeback.ErrNotFound):
		h.fail(w, r, http.StatusNotFound, "Not found", fmt.Sprintf("There is no %s.", what))
	case errors.As(err, &ve):
		h.fail(w, r, http.StatusBadRequest, "Bad request", ve.Error())
	case r.Context().Err() != nil:
		// The client left.
	default:
		h.log.Error("writeback ops page: read failed", "what", what, "err", err)
		h.fail(w, r, http.StatusInternalServerError, "The store failed", fmt.Sprintf("Reading the %s failed: %v", what, err))
	}
}

// errorView is the error page's data.
type errorView struct {
	Message string
}
