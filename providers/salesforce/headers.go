package salesforce

import (
	"errors"
	"net/http"
	"strings"

	"github.com/writebackhq/writeback"
)

// passHeaders checks pass-through headers again with
// [writeback.ValidateHeaders] — the engine refuses bad ones first; the
// adapter checks so that a header can never replace the bearer token or the
// JSON content type — and returns them as an http.Header, or nil when there
// are none. A denied or malformed header is an error wrapping
// [writeback.ErrInvalidHeader]; nothing is sent.
func passHeaders(hs []writeback.Header) (http.Header, error) {
	if len(hs) == 0 {
		return nil, nil
	}
	if err := writeback.ValidateHeaders(hs); err != nil {
		var ve *writeback.ValidationError
		errors.As(err, &ve)
		return nil, invalidInput(writeback.NoRecord, ve)
	}
	h := make(http.Header, len(hs))
	for _, kv := range hs {
		h.Add(kv.Key, kv.Value)
	}
	return h, nil
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
