package salesforce

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/writebackhq/writeback"
)

// deniedHeaders are headers a pass-through header may never set: they
// carry credentials, frame the message or belong to one connection. The
// engine refuses them first; the adapter checks again so a header can never
// replace the bearer token or the JSON content type.
var deniedHeaders = map[string]bool{
	"Accept":              true,
	"Accept-Encoding":     true,
	"Authorization":       true,
	"Connection":          true,
	"Content-Encoding":    true,
	"Content-Length":      true,
	"Content-Type":        true,
	"Cookie":              true,
	"Expect":              true,
	"Host":                true,
	"Keep-Alive":          true,
	"Proxy-Authenticate":  true,
	"Proxy-Authorization": true,
	"Proxy-Connection":    true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
}

// passHeaders checks pass-through headers and returns them as an
// http.Header, or nil when there are none. A denied or malformed header is
// an error wrapping [writeback.ErrInvalidHeader]; nothing is sent.
func passHeaders(hs []writeback.Header) (http.Header, error) {
	if len(hs) == 0 {
		return nil, nil
	}
	h := make(http.Header, len(hs))
	for i, kv := range hs {
		if !validHeaderName(kv.Key) {
			return nil, invalidInput(writeback.NoRecord, &writeback.ValidationError{
				Field: fmt.Sprintf("headers[%d].key", i), Reason: fmt.Sprintf("%q is not a valid header name", kv.Key), Err: writeback.ErrInvalidHeader,
			})
		}
		name := http.CanonicalHeaderKey(kv.Key)
		if deniedHeaders[name] || strings.HasPrefix(name, "Proxy-") {
			return nil, invalidInput(writeback.NoRecord, &writeback.ValidationError{
				Field: fmt.Sprintf("headers[%d].key", i), Reason: fmt.Sprintf("header %s cannot be passed through", name), Err: writeback.ErrInvalidHeader,
			})
		}
		if !validHeaderValue(kv.Value) {
			return nil, invalidInput(writeback.NoRecord, &writeback.ValidationError{
				Field: fmt.Sprintf("headers[%d].value", i), Reason: "contains control characters", Err: writeback.ErrInvalidHeader,
			})
		}
		h.Add(name, kv.Value)
	}
	return h, nil
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s holds no control characters other
// than horizontal tab.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// headerMap flattens pass-through headers for [writeback.HTTPRequest].
func headerMap(h http.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	m := make(map[string]string, len(h))
	for k, v := range h {
		m[k] = strings.Join(v, ", ")
	}
	return m
}
