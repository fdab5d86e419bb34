package hubspot

import (
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/internal/transport"
)

// Name is the provider's name, as manifests use it.
const Name = "hubspot"

// DefaultBaseURL is HubSpot's API host.
const DefaultBaseURL = "https://api.hubapi.com"

// MaxBatchSize is the most inputs one HubSpot CRM batch request takes.
const MaxBatchSize = 100

// DefaultRateLimitWait is the wait before resending a call HubSpot refused
// with 429 TEN_SECONDLY_ROLLING when it sent no Retry-After, and the
// RetryAfter reported when that 429 is returned to the engine.
const DefaultRateLimitWait = time.Second

// DailyResetMargin is added to the wait until the account's midnight after
// a 429 DAILY, so the first call after the reset does not race it.
const DailyResetMargin = 5 * time.Minute

// Config configures a [Provider]. The zero value is usable.
type Config struct {
	// HTTPClient is the base HTTP client; nil means a private pooled client
	// with a 60 s timeout (never http.DefaultClient).
	HTTPClient *http.Client
	// BaseURL is the API host; empty means [DefaultBaseURL]. It must be
	// https, or http on a loopback host (simulators, local proxies).
	BaseURL string
	// Logger receives request logs (method, path, status, attempt,
	// duration; never tokens, headers or bodies) and a warning for every
	// compensated all-or-nothing batch update; nil discards them.
	Logger *slog.Logger
	// MaxAttempts is the number of sends of one call when earlier sends
	// surely did not take effect (429 TEN_SECONDLY_ROLLING, 503, connection
	// refused); zero means 3.
	MaxAttempts int
	// Reserve is the fraction of the account's daily API budget kept for
	// the customer's other integrations, read from
	// X-HubSpot-RateLimit-Daily-Remaining; zero means 0.10, negative none.
	// HubSpot does not send the daily headers on OAuth-authorized calls,
	// so the reserve applies to private-app tokens only.
	Reserve float64
	// Location is the account's time zone, where HubSpot resets the daily
	// limit at midnight; nil means UTC, and [DailyResetMargin] covers
	// accounts west of it only partly, so set it when known.
	Location *time.Location
	// RateLimitWait is the wait after a 429 TEN_SECONDLY_ROLLING without
	// Retry-After; zero means [DefaultRateLimitWait].
	RateLimitWait time.Duration
	// NowFunc is the clock used to compute the daily reset; nil means time.Now.
	NowFunc func() time.Time
}

// Provider writes records to HubSpot's CRM v3 objects API. It implements
// [writeback.Provider] and [writeback.RequestEncoder] and is safe for
// concurrent use.
type Provider struct {
	log      *slog.Logger
	base     string
	baseErr  error
	loc      *time.Location
	now      func() time.Time
	rateWait time.Duration
	client   *transport.Client
}

var (
	_ writeback.Provider       = (*Provider)(nil)
	_ writeback.RequestEncoder = (*Provider)(nil)
)

// New returns a Provider for cfg. It sends nothing. An invalid BaseURL
// makes every call fail with an error wrapping [writeback.ErrInvalidConfig].
func New(cfg Config) *Provider {
	p := &Provider{log: cfg.Logger, loc: cfg.Location, now: cfg.NowFunc, rateWait: cfg.RateLimitWait}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.loc == nil {
		p.loc = time.UTC
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.rateWait <= 0 {
		p.rateWait = DefaultRateLimitWait
	}
	p.base, p.baseErr = checkBaseURL(cfg.BaseURL)
	p.client = transport.New(transport.Config{
		Provider:    Name,
		HTTPClient:  cfg.HTTPClient,
		Logger:      cfg.Logger,
		MaxAttempts: cfg.MaxAttempts,
		Resend:      p.resend,
		Limits:      p.parseLimits,
		Reserve:     cfg.Reserve,

		ErrDailyReserve: ErrDailyReserve,
	})
	return p
}

// Name implements [writeback.Provider]; it returns "hubspot".
func (p *Provider) Name() string { return Name }

// Capabilities implements [writeback.Provider]: batches of up to 100
// records, deletes (archive), associations on create and reads for
// ifEmpty; no pass-through headers. Batch updates are not atomic at
// HubSpot: an all-or-nothing batch update is emulated by restoring the
// changed records (see [Provider.Write]). A create calls
// [writeback.ProviderRequest.BeforeSend] once the pacer lets it go, right
// before it is sent. Upserts go by a property with unique values
// (batch/upsert with idProperty; [Provider.ReadByKey] finds records by
// it), partially: not all-or-nothing.
func (p *Provider) Capabilities() writeback.Capabilities {
	return writeback.Capabilities{
		MaxBatchSize:      MaxBatchSize,
		Delete:            true,
		Associations:      true,
		Headers:           false,
		IfEmpty:           true,
		AtomicBatchUpdate: false,
		BeforeSend:        true,
		Upsert:            true,
	}
}

// StaticToken returns a token source for a private app's access token,
// which does not expire.
func StaticToken(token string) oauth2.TokenSource {
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"})
}

// checkBaseURL validates a base URL and returns it without a trailing slash.
func checkBaseURL(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return DefaultBaseURL, nil
	}
	base, reason := transport.CheckBaseURL(raw, DefaultBaseURL)
	if reason != "" {
		return "", &writeback.ValidationError{Field: "BaseURL", Reason: reason, Err: writeback.ErrInvalidConfig}
	}
	return base, nil
}

// objectRE matches an object type: a name (contacts, p_cars,
// p12345_cars) or a type ID (0-1, 2-12345).
var objectRE = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9_]{0,99}|[0-9]+-[0-9]+)$`)

// recordIDRE matches a HubSpot record ID.
var recordIDRE = regexp.MustCompile(`^[0-9]{1,20}$`)

// objectURL returns {base}/crm/v3/objects/{object}.
func (p *Provider) objectURL(object string) (string, error) {
	if p.baseErr != nil {
		return "", p.baseErr
	}
	if !objectRE.MatchString(object) {
		return "", &writeback.ValidationError{Field: "object", Reason: fmt.Sprintf("%q is not a HubSpot object type name or ID (such as contacts or 2-12345)", object), Err: writeback.ErrUnknownObject}
	}
	return p.base + "/crm/v3/objects/" + object, nil
}
