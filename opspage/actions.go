package opspage

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/writebackhq/writeback"
)

// cookieName is the cookie of the double-submit token.
const cookieName = "writeback_ops_csrf"

// csrf makes and checks the tokens of the action forms: a signed double
// submit. The browser holds a random value in a cookie only this page's
// origin can set and read; a form carries an HMAC of that value (and of
// the session, if the app names one), which a page on another origin can
// neither read nor compute.
type csrf struct {
	key     []byte
	session func(*http.Request) string
}

// token returns the form token for r, setting the cookie first if r has
// none.
func (c *csrf) token(w http.ResponseWriter, r *http.Request) string {
	v := cookieValue(r)
	if v == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		v = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{
			Name: cookieName, Value: v, Path: mountPath(r),
			HttpOnly: true, SameSite: http.SameSiteStrictMode,
			// Secure over TLS, or behind a proxy that ends it.
			Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https",
		})
	}
	return c.sign(r, v)
}

// sign returns the token of cookie value v for r's session.
func (c *csrf) sign(r *http.Request, v string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("writeback ops page\x00"))
	if c.session != nil {
		s := sha256.Sum256([]byte(c.session(r)))
		m.Write(s[:])
	}
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// valid reports whether r's form token matches its cookie.
func (c *csrf) valid(r *http.Request) bool {
	v := cookieValue(r)
	if v == "" {
		return false
	}
	got := r.PostFormValue("token")
	return hmac.Equal([]byte(got), []byte(c.sign(r, v)))
}

// cookieValue returns r's token cookie, or "" if it has none that could
// be one.
func cookieValue(r *http.Request) string {
	ck, err := r.Cookie(cookieName)
	if err != nil || len(ck.Value) != 43 {
		return ""
	}
	return ck.Value
}

// mountPath returns the path the page is mounted at, as the browser sees
// it: the request's path less what remains after http.StripPrefix.
func mountPath(r *http.Request) string {
	full, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return "/"
	}
	p, ok := strings.CutSuffix(full.EscapedPath(), r.URL.EscapedPath())
	if !ok {
		return "/"
	}
	return p + "/"
}

// maxForm bounds an action form's body.
const maxForm = 4 << 10

// action is POST /operations/{id}/{action}: cancel or retry.
func (h *Handler) action(w http.ResponseWriter, r *http.Request) {
	id, act := r.PathValue("id"), r.PathValue("action")
	if act != "cancel" && act != "retry" {
		h.notFound(w, r)
		return
	}
	if !h.opts.Actions {
		h.fail(w, r, http.StatusForbidden, "Read-only", "This ops page is read-only: the app has not enabled cancel and retry.")
		return
	}
	if err := h.cross.Check(r); err != nil {
		h.fail(w, r, http.StatusForbidden, "Refused", "A cross-origin request cannot cancel or retry an operation.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if !h.csrf.valid(r) {
		h.fail(w, r, http.StatusForbidden, "Refused",
			"The form's token is missing or does not match this browser's session: reload the operation's page and try again.")
		return
	}
	var (
		op   *writeback.Operation
		err  error
		done string
	)
	if act == "cancel" {
		op, err = h.w.Cancel(r.Context(), id)
		done = "canceled"
		if err == nil && !op.Status.Terminal() {
			done = "cancel-requested"
		}
	} else {
		op, err = h.w.Retry(r.Context(), id)
		done = "retried"
	}
	if err != nil {
		h.log.Info("writeback ops page: "+act+" refused", "operation", id, "err", err, "client", r.RemoteAddr)
		var ve *writeback.ValidationError
		if errors.As(err, &ve) {
			h.fail(w, r, http.StatusConflict, "Not possible", ve.Reason)
			return
		}
		h.storeFailed(w, r, "operation", err)
		return
	}
	h.log.Info("writeback ops page: "+done, "operation", op.ID, "status", op.Status, "client", r.RemoteAddr)
	// Relative to /operations/{id}/{action}: back to the operation.
	w.Header().Set("Location", "../"+url.PathEscape(id)+"?done="+done)
	w.WriteHeader(http.StatusSeeOther)
}

// notices are the messages an action leaves on the operation's page, by
// its done parameter.
var notices = map[string]string{
	"canceled":         "Canceled: the records not yet written will not be.",
	"cancel-requested": "Cancel requested: the attempt in flight finishes first, and no other follows.",
	"retried":          "Queued again: a started Writer sends the unwritten records now.",
}
