package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
)

// call is the state of one Do. Its fields are used by one goroutine at a
// time: retryablehttp calls CheckRetry, Backoff and PrepareRetry, and the
// call's own http.Client calls RoundTrip (of its sendTransport), all on the
// goroutine running Do.
type call struct {
	c    *Client
	req  *Request
	path string
	p    *pacer

	sends       int                  // sends completed
	authResends int                  // resends after a 401 (0 or 1)
	refreshed   bool                 // the token was refreshed after a 401
	token       *oauth2.Token        // refreshed token for the next send
	ambiguous   bool                 // some send may have taken effect
	wait        time.Duration        // wait before the next resend
	backoff     func() time.Duration // the next wait between resends without Retry-After
	cur         *attempt             // trace of the send in progress
	mark        *mark                // the send in progress in the pacer's log

	calls    []writeback.ProviderCall // the sends made, for the operation log
	idleFrom time.Time                // when the call began, or the last send ended
	answered *Response                // the latest answer, read by checkRetry
	paceLate bool                     // a resend was given up: the pacer's wait would pass the deadline
}

// Do sends req: it waits on the pacer for req.Key, attaches the token,
// calls req.BeforeSend, sends, records limits, and resends only what
// surely did not take effect, bounded by ctx and MaxAttempts. On a 401 it
// refreshes the token once
// ([writeback.TokenRefresher] if the source implements it, else it asks
// Token again) and resends once; a second 401 is returned.
//
// Do returns the final Response for any HTTP status (classification is the
// adapter's job), or an error: a [*SendError] when no response came (Sent
// says whether the outcome is unknown), a [*ReserveError] when the daily
// budget is down to the reserve (nothing was sent), or an error wrapping
// [ErrInvalidRequest].
func (c *Client) Do(ctx context.Context, req *Request) (*Response, error) {
	u, err := validate(req)
	if err != nil {
		return nil, err
	}
	st := &call{c: c, req: req, path: u.Path, p: c.pacer(req.Key), backoff: newBackoff(c.maxWait), idleFrom: time.Now()}
	if err := st.admit(ctx); err != nil {
		return nil, st.fail(ctx, err)
	}
	var body any
	if req.Body != nil {
		body = req.Body
	}
	rreq, err := retryablehttp.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		st.drop()
		return nil, fmt.Errorf("%w: %s %s", ErrInvalidRequest, req.Method, redactURL(u))
	}
	for k, v := range req.Header {
		rreq.Header[k] = append([]string(nil), v...)
	}
	if req.Body != nil && rreq.Header.Get("Content-Type") == "" {
		rreq.Header.Set("Content-Type", "application/json")
	}
	if err := st.authorize(rreq.Request); err != nil {
		st.drop()
		return nil, st.fail(ctx, err)
	}
	// The call's own client: its transport traces each send into st. It
	// does not implement CloseIdleConnections, so a failed call never
	// tears down the pooled connections other calls are using.
	hc := c.http
	hc.Transport = &sendTransport{base: c.rt, log: c.log, provider: c.provider, call: st}
	rc := &retryablehttp.Client{
		HTTPClient: &hc,
		Logger:     nil,
		// CheckRetry enforces MaxAttempts; one more for the 401 resend.
		RetryMax:     c.maxAttempts + 1,
		CheckRetry:   st.checkRetry,
		Backoff:      st.chosenWait,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		PrepareRetry: st.prepareRetry,
	}
	if req.BeforeSend != nil {
		if err := req.BeforeSend(ctx); err != nil {
			st.drop()
			return nil, st.fail(ctx, err)
		}
	}
	resp, err := rc.Do(rreq)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		if st.paceLate && st.answered != nil {
			// The provider answered; only the resend was given up.
			return st.finish(st.answered), nil
		}
		return nil, st.fail(ctx, err)
	}
	defer resp.Body.Close()
	// checkRetry has read the body into memory.
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, st.fail(ctx, err)
	}
	return st.finish(&Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: b, Attempts: st.sends}), nil
}

// finish completes the response Do returns with the calls made and the
// pacer's wait for the next call.
func (st *call) finish(r *Response) *Response {
	r.Calls = st.calls
	r.PaceWait = st.p.nextWait(time.Now())
	return r
}

// record adds a send to the call's log. It runs on the goroutine running Do.
func (st *call) record(pc writeback.ProviderCall, start, end time.Time) {
	pc.Wait = max(start.Sub(st.idleFrom), 0)
	pc.Duration = end.Sub(start)
	st.idleFrom = end
	st.calls = append(st.calls, pc)
}

// admit applies the daily reserve and waits on the pacer.
func (st *call) admit(ctx context.Context) error {
	m, err := st.p.admit(ctx)
	var re *ReserveError
	if errors.As(err, &re) {
		re.Provider = st.c.provider
		re.Reserve = st.c.reserve
	}
	st.mark = m
	return err
}

// settle tells the pacer the send in progress has an outcome; refused
// means the provider refused it for its rate limit (429).
func (st *call) settle(refused bool) {
	st.p.done(st.mark, time.Now(), refused)
	st.mark = nil
}

// drop tells the pacer the admitted send was not made after all.
func (st *call) drop() {
	st.p.done(st.mark, time.Time{}, false)
	st.mark = nil
}

// authorize sets the Authorization header of r from the token source.
func (st *call) authorize(r *http.Request) error {
	ts := st.req.TokenSource
	if ts == nil {
		return nil
	}
	tok := st.token
	st.token = nil
	if tok == nil {
		var err error
		if tok, err = ts.Token(); err != nil {
			return fmt.Errorf("%w: %w", ErrToken, err)
		}
	}
	if tok == nil || tok.AccessToken == "" {
		return fmt.Errorf("%w: empty token", ErrToken)
	}
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return nil
}

// refresh obtains a new token after a 401.
func (st *call) refresh(ctx context.Context) (*oauth2.Token, error) {
	if r, ok := st.req.TokenSource.(writeback.TokenRefresher); ok {
		return r.RefreshToken(ctx)
	}
	return st.req.TokenSource.Token()
}

// checkRetry is the retryablehttp.CheckRetry of one call. It reads the body
// of every response (so Resend can look at it), records limits, and decides
// whether the send surely did not take effect and may be resent.
func (st *call) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	st.sends++
	var sent time.Time
	if st.mark != nil {
		sent = st.mark.at // admitted, until settle
	}
	st.settle(resp != nil && resp.StatusCode == http.StatusTooManyRequests)
	a := st.cur
	st.cur = nil
	if err != nil {
		sent := a != nil && a.sent()
		if sent {
			st.ambiguous = true
		}
		if ctx.Err() != nil || !st.attemptsLeft() {
			return false, nil
		}
		if !st.req.Idempotent && (sent || !isDialError(err)) {
			return false, nil
		}
		return st.resendAfter(ctx, st.backoff(), "send failed", slog.Bool("sent", sent))
	}

	b, rerr := io.ReadAll(io.LimitReader(resp.Body, int64(st.c.maxBody)+1))
	resp.Body.Close()
	if rerr == nil && len(b) > st.c.maxBody {
		rerr = fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, st.c.maxBody)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	now := time.Now()
	if st.c.limits != nil {
		if l, ok := st.c.limits(resp.Header, now); ok {
			st.p.observe(l, now, sent)
		}
	}
	if rerr != nil {
		st.ambiguous = true
		return false, fmt.Errorf("reading response body: %w", rerr)
	}

	if resp.StatusCode == http.StatusUnauthorized && st.req.TokenSource != nil && !st.refreshed {
		// A 401 never took effect: refresh once and resend once.
		st.refreshed = true
		tok, err := st.refresh(ctx)
		if err != nil && ctx.Err() != nil {
			return false, err
		}
		if err != nil {
			st.c.log.LogAttrs(ctx, slog.LevelWarn, "provider token refresh failed",
				slog.String("provider", st.c.provider), slog.String("path", st.path), slog.String("error", TokenErrorSummary(err)))
			return false, nil
		}
		st.token = tok
		st.authResends++
		return st.resendAfter(ctx, 0, "token refused, refreshed", slog.Int("status", resp.StatusCode))
	}

	r := &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: b, Attempts: st.sends}
	st.answered = r
	resend, wait := st.c.resend(r)
	if !resend && st.req.Idempotent && gateway(resp.StatusCode) {
		// The request may have been processed; resending is safe only
		// because it is idempotent.
		st.ambiguous = true
		resend = true
	}
	if !resend || ctx.Err() != nil || !st.attemptsLeft() {
		return false, nil
	}
	if wait <= 0 {
		if ra, ok := ParseRetryAfter(resp.Header, now); ok {
			wait = ra
		} else {
			wait = st.backoff()
		}
	}
	if wait > st.c.maxWait {
		// Not slept here: the adapter reports RetryAfter to the engine.
		st.c.log.LogAttrs(ctx, slog.LevelDebug, "provider asked for a longer wait; not resending",
			slog.String("provider", st.c.provider), slog.String("path", st.path),
			slog.Int("status", resp.StatusCode), slog.Duration("wait", wait))
		return false, nil
	}
	return st.resendAfter(ctx, wait, "provider did not process the request", slog.Int("status", resp.StatusCode))
}

// attemptsLeft reports whether MaxAttempts allows another send.
func (st *call) attemptsLeft() bool {
	return st.sends-st.authResends < st.c.maxAttempts
}

// resendAfter schedules a resend after wait, unless ctx ends before it.
func (st *call) resendAfter(ctx context.Context, wait time.Duration, reason string, attr slog.Attr) (bool, error) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		return false, nil
	}
	st.wait = wait
	st.c.log.LogAttrs(ctx, slog.LevelWarn, "resending provider call",
		slog.String("provider", st.c.provider), slog.String("method", st.req.Method),
		slog.String("path", st.path), slog.Int("attempt", st.sends), attr,
		slog.String("reason", reason), slog.Duration("wait", wait))
	return true, nil
}

// chosenWait is the retryablehttp.Backoff of one call: the wait checkRetry chose.
func (st *call) chosenWait(_, _ time.Duration, _ int, _ *http.Response) time.Duration {
	return st.wait
}

// prepareRetry is the retryablehttp.PrepareRetry of one call: it applies the
// pacer and attaches a token before every resend.
func (st *call) prepareRetry(r *http.Request) error {
	if err := st.admit(r.Context()); err != nil {
		var re *ReserveError
		if !errors.As(err, &re) && r.Context().Err() == nil {
			// The pacer's wait would pass the deadline: the answer in
			// hand is the outcome.
			st.paceLate = true
			st.c.log.LogAttrs(r.Context(), slog.LevelDebug, "not resending provider call: the pacing wait would pass the deadline",
				slog.String("provider", st.c.provider), slog.String("path", st.path), slog.Int("attempt", st.sends))
		}
		return err
	}
	// The previous send may still hold the header map.
	r.Header = r.Header.Clone()
	if err := st.authorize(r); err != nil {
		st.drop()
		return err
	}
	return nil
}

// fail turns the error that ended a call into the error Do returns.
func (st *call) fail(ctx context.Context, err error) error {
	var re *ReserveError
	if errors.As(err, &re) {
		return re
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// url.Error quotes the whole URL, query included.
		if u, perr := url.Parse(ue.URL); perr == nil {
			ue.URL = redactURL(u)
		} else {
			ue.URL = st.path
		}
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	return &SendError{Provider: st.c.provider, Sent: st.ambiguous, Attempts: st.sends, Calls: st.calls, Err: err}
}
