package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
)

// Defaults for a zero [Config].
const (
	// DefaultMaxAttempts is the number of sends of one request when
	// [Config.MaxAttempts] is zero.
	DefaultMaxAttempts = 3
	// DefaultMaxWait is the longest wait before a resend when
	// [Config.MaxWait] is zero.
	DefaultMaxWait = 10 * time.Second
	// DefaultReserve is the fraction of a daily budget kept for the
	// customer's other integrations when [Config.Reserve] is zero.
	DefaultReserve = 0.10
	// DefaultTimeout is the per-send timeout of the client made when
	// [Config.HTTPClient] is nil.
	DefaultTimeout = 60 * time.Second
	// MaxBodySize is the largest response body read; a larger one is an error.
	MaxBodySize = 16 << 20
)

// ErrInvalidRequest reports a [Request] that cannot be sent, such as one
// without a method or with a relative URL. Nothing was sent.
var ErrInvalidRequest = errors.New("transport: invalid request")

// ErrBodyTooLarge reports a response body larger than [MaxBodySize]. It
// arrives inside a [*SendError] with Sent true.
var ErrBodyTooLarge = errors.New("transport: response body too large")

// Config configures a Client.
type Config struct {
	// Provider names the provider ("hubspot", "salesforce") in logs and errors.
	Provider string
	// HTTPClient is the base client; nil means a private pooled client with
	// a 60 s timeout, never http.DefaultClient. Its Timeout applies to each
	// send.
	HTTPClient *http.Client
	// Logger receives one Debug record per send and a Warn record per
	// resend; nil discards. Records carry the method, the URL path, the
	// status, the attempt and the duration; never the query, headers,
	// bodies or tokens.
	Logger *slog.Logger
	// MaxAttempts is the number of sends of one request when earlier sends
	// surely did not take effect; 0 means 3. The single resend after a 401
	// and a token refresh does not count.
	MaxAttempts int
	// MaxWait is the longest wait the client itself does before a resend;
	// 0 means 10 s. A longer required wait (Retry-After) is not slept: the
	// response is returned and the adapter reports RetryAfter to the engine.
	MaxWait time.Duration
	// Resend decides whether a response proves the request did not take
	// effect and may be resent, and how long to wait first (0 means use
	// Retry-After, else exponential backoff with jitter from 200 ms). nil
	// means [DefaultResend]: 429 and 503 only. Gateway errors (502, 504) are
	// resent for idempotent requests whatever Resend says.
	Resend func(resp *Response) (resend bool, wait time.Duration)
	// Limits parses the provider's rate-limit headers after every response
	// (HubSpot X-HubSpot-RateLimit-*, Salesforce Sforce-Limit-Info); ok
	// false means the headers said nothing. nil means no pacing.
	Limits func(h http.Header, now time.Time) (l Limits, ok bool)
	// Reserve is the fraction of a daily budget kept for the customer's
	// other integrations; 0 means 0.10; negative means none (calls are
	// refused only when the budget is spent).
	Reserve float64
	// ErrDailyReserve is the adapter's sentinel, wrapped by the
	// [Client.CallError] of a call the reserve refused; nil means none.
	ErrDailyReserve error
	// TokenError classifies, for [Client.CallError], a token source that
	// gave no token (an error wrapping [ErrToken]); nil means class auth.
	TokenError func(err error) *writeback.ProviderError
}

// Client sends provider API calls. It is safe for concurrent use.
type Client struct {
	provider    string
	http        http.Client       // the base client, copied; Transport is rt
	rt          http.RoundTripper // the base transport
	log         *slog.Logger
	maxAttempts int
	maxWait     time.Duration
	resend      func(*Response) (bool, time.Duration)
	limits      func(http.Header, time.Time) (Limits, bool)
	reserve     float64
	maxBody     int
	reserveErr  error
	tokenError  func(error) *writeback.ProviderError

	mu     sync.Mutex
	pacers map[string]*pacer
}

// New returns a Client for cfg. It starts nothing.
func New(cfg Config) *Client {
	c := &Client{
		provider:    cfg.Provider,
		log:         cfg.Logger,
		maxAttempts: cfg.MaxAttempts,
		maxWait:     cfg.MaxWait,
		resend:      cfg.Resend,
		limits:      cfg.Limits,
		reserve:     cfg.Reserve,
		maxBody:     MaxBodySize,
		reserveErr:  cfg.ErrDailyReserve,
		tokenError:  cfg.TokenError,
		pacers:      make(map[string]*pacer),
	}
	if c.provider == "" {
		c.provider = "provider"
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.maxAttempts == 0:
		c.maxAttempts = DefaultMaxAttempts
	case c.maxAttempts < 0:
		c.maxAttempts = 1
	}
	switch {
	case c.maxWait == 0:
		c.maxWait = DefaultMaxWait
	case c.maxWait < 0:
		c.maxWait = 0
	}
	if c.resend == nil {
		c.resend = DefaultResend
	}
	switch {
	case c.reserve == 0:
		c.reserve = DefaultReserve
	case c.reserve < 0:
		c.reserve = 0
	case c.reserve > 1:
		c.reserve = 1
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Transport: cleanhttp.DefaultPooledTransport(), Timeout: DefaultTimeout}
	}
	c.http = *base
	c.rt = c.http.Transport
	if c.rt == nil {
		c.rt = http.DefaultTransport
	}
	return c
}

// Request is one provider API call.
type Request struct {
	// Method is the HTTP method, e.g. "POST".
	Method string
	// URL is the absolute URL.
	URL string
	// Body is the JSON body, or nil.
	Body []byte
	// Header holds extra headers, passed through. The client sets
	// Content-Type (application/json) when Body is not nil and Header has
	// none, and Authorization when TokenSource is not nil.
	Header http.Header
	// Key is the pacing key: the installation ID (limits are per
	// installation).
	Key string
	// TokenSource supplies the bearer token, asked before every send; nil
	// means no Authorization header.
	TokenSource oauth2.TokenSource
	// Idempotent is true for GET, DELETE and PATCH of absolute values: a
	// send whose outcome is unknown (timeout, reset after the write) may be
	// resent. False for creates: never resent unless the failure proves
	// nothing was sent (a dial error such as connection refused, or a
	// status Resend approves).
	Idempotent bool
	// BeforeSend, if set, is called once, after the pacer admitted the
	// call and the token was set, right before the first send. If it
	// fails, nothing is sent and Do returns a [*SendError] (not sent)
	// wrapping its error.
	BeforeSend func(ctx context.Context) error
}

// Response is a completed HTTP exchange with any status; Body is fully read.
type Response struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Header holds the response headers.
	Header http.Header
	// Body is the response body, at most [MaxBodySize] bytes.
	Body []byte
	// Attempts is the number of sends made, including the resend after a 401.
	Attempts int
	// Calls lists the sends made, in order.
	Calls []writeback.ProviderCall
	// PaceWait is how long the next call for the same key would wait for
	// room in the provider's window (the window's end when it is full),
	// as of the answer; zero when it could go at once.
	PaceWait time.Duration
}

// Limits returns the latest limits seen for key.
func (c *Client) Limits(key string) (Limits, bool) {
	c.mu.Lock()
	p := c.pacers[key]
	c.mu.Unlock()
	if p == nil {
		return Limits{}, false
	}
	return p.latest()
}

// pacer returns the pacer of key, creating it.
func (c *Client) pacer(key string) *pacer {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pacers[key]
	if p == nil {
		p = newPacer(c.reserve)
		c.pacers[key] = p
	}
	return p
}

// validate checks req before anything is sent.
func validate(req *Request) (*url.URL, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: nil request", ErrInvalidRequest)
	}
	if req.Method == "" {
		return nil, fmt.Errorf("%w: no method", ErrInvalidRequest)
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		// url.Parse errors quote the URL; keep its query out of the error.
		return nil, fmt.Errorf("%w: unparseable url", ErrInvalidRequest)
	}
	if !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("%w: url %q is not absolute", ErrInvalidRequest, redactURL(u))
	}
	return u, nil
}

// redactURL returns scheme://host/path: no user info, no query, no fragment.
func redactURL(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return r.String()
}
