package transport

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/oauth2"
)

// TokenErrorSummary describes an error of a token source without its
// text, which may quote a secret: an OAuth token endpoint's error by its
// status and OAuth error code (never its body or description), a context
// error by name, anything else by its type. It is what logs and stored
// errors may say about a token failure.
func TokenErrorSummary(err error) string {
	var rerr *oauth2.RetrieveError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &rerr):
		s := "the token endpoint refused the request"
		if rerr.Response != nil {
			s += fmt.Sprintf(" (status %d)", rerr.Response.StatusCode)
		}
		if rerr.ErrorCode != "" {
			s += fmt.Sprintf(": OAuth error %q", rerr.ErrorCode)
		}
		return s
	case errors.Is(err, context.DeadlineExceeded):
		return "context deadline exceeded"
	case errors.Is(err, context.Canceled):
		return "context canceled"
	}
	return fmt.Sprintf("the token source failed (%T)", err)
}
