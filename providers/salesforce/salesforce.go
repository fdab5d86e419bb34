package salesforce

import (
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/internal/transport"
)

// Name is the provider's name, as manifests use it.
const Name = "salesforce"

// DefaultAPIVersion is the REST API version used when [Config.APIVersion]
// is empty (Winter '25).
const DefaultAPIVersion = "v62.0"

// MinAPIVersion is the oldest REST API version the adapter accepts: the
// first with sObject Collections create, update and retrieve.
const MinAPIVersion = 42

// MaxBatchSize is the most records one batch write may hold. sObject
// Collections take up to 200; writeback batches hold 1 to 100.
const MaxBatchSize = writeback.MaxBatchSize

// MaxReadIDs is the most record IDs one [Provider.Read] may ask for: the
// limit of a Collections retrieve by POST.
const MaxReadIDs = 2000

// DefaultQuotaRetryAfter is the wait reported with a 403
// REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded." when
// [Config.QuotaRetryAfter] is zero. Salesforce counts API requests over a
// rolling 24 hours and says nothing about when calls free up, so the engine
// tries again after an hour, bounded by the write's deadline.
const DefaultQuotaRetryAfter = time.Hour

// ConcurrentLimitRetryAfter is the wait reported with a 403
// REQUEST_LIMIT_EXCEEDED about the concurrent long-running request limit,
// which clears as soon as the org's long requests end.
const ConcurrentLimitRetryAfter = 30 * time.Second

// Config configures a [Provider]. The zero value is usable.
type Config struct {
	// HTTPClient is the base HTTP client; nil means a private pooled client
	// with a 60 s timeout (never http.DefaultClient).
	HTTPClient *http.Client
	// APIVersion is the REST API version, such as "v62.0" (a missing "v" is
	// added). Empty means [DefaultAPIVersion].
	APIVersion string
	// Logger receives request logs (method, path, status, attempt,
	// duration; never tokens, headers or bodies) and a line for every
	// delete of a record already deleted; nil discards them.
	Logger *slog.Logger
	// Reserve is the fraction of the org's daily API budget kept for the
	// customer's other integrations: once Sforce-Limit-Info shows that
	// little left, calls are refused without being sent. Zero means 0.10;
	// negative means no reserve (calls stop only when Salesforce refuses).
	Reserve float64
	// MaxAttempts is the number of sends of one call when earlier sends
	// surely did not take effect (503, UNABLE_TO_LOCK_ROW, connection
	// refused); zero means 3.
	MaxAttempts int
	// QuotaRetryAfter is the RetryAfter of a "TotalRequests Limit exceeded."
	// error; zero means [DefaultQuotaRetryAfter].
	QuotaRetryAfter time.Duration
}

// Provider writes records to Salesforce. It implements [writeback.Provider]
// and [writeback.RequestEncoder]. It is safe for concurrent use.
type Provider struct {
	log        *slog.Logger
	version    string
	versionErr error
	quotaWait  time.Duration
	client     *transport.Client
}

var (
	_ writeback.Provider       = (*Provider)(nil)
	_ writeback.RequestEncoder = (*Provider)(nil)
)

// apiVersionRE matches a REST API version such as v62.0.
var apiVersionRE = regexp.MustCompile(`^v[1-9][0-9]?\.[0-9]$`)

// New returns a Provider for cfg. It sends nothing. An invalid
// Config.APIVersion makes every call fail with an error wrapping
// [writeback.ErrInvalidConfig].
func New(cfg Config) *Provider {
	p := &Provider{log: cfg.Logger, version: cfg.APIVersion, quotaWait: cfg.QuotaRetryAfter}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.version == "" {
		p.version = DefaultAPIVersion
	}
	if !strings.HasPrefix(p.version, "v") {
		p.version = "v" + p.version
	}
	if !apiVersionRE.MatchString(p.version) || versionNumber(p.version) < MinAPIVersion {
		p.versionErr = &writeback.ValidationError{
			Field:  "APIVersion",
			Reason: fmt.Sprintf("%q is not a Salesforce API version from v%d.0 on, such as %q", cfg.APIVersion, MinAPIVersion, DefaultAPIVersion),
			Err:    writeback.ErrInvalidConfig,
		}
	}
	if p.quotaWait <= 0 {
		p.quotaWait = DefaultQuotaRetryAfter
	}
	p.client = transport.New(transport.Config{
		Provider:    Name,
		HTTPClient:  cfg.HTTPClient,
		Logger:      cfg.Logger,
		MaxAttempts: cfg.MaxAttempts,
		Resend:      resend,
		Limits:      parseLimitInfo,
		Reserve:     cfg.Reserve,

		ErrDailyReserve: ErrDailyReserve,
		TokenError:      tokenError,
	})
	return p
}

// Name implements [writeback.Provider]; it returns "salesforce".
func (p *Provider) Name() string { return Name }

// Capabilities implements [writeback.Provider]: batches of up to 100
// records, deletes, pass-through headers, reads for ifEmpty and atomic
// all-or-nothing batch updates; no associations. A create calls
// [writeback.ProviderRequest.BeforeSend] once the pacer lets it go, right
// before it is sent. Upserts go by an external ID field, all-or-nothing
// in a batch when asked ([Provider.ReadByKey] finds records by it).
func (p *Provider) Capabilities() writeback.Capabilities {
	return writeback.Capabilities{
		MaxBatchSize:      MaxBatchSize,
		Delete:            true,
		Associations:      false,
		Headers:           true,
		IfEmpty:           true,
		AtomicBatchUpdate: true,
		BeforeSend:        true,
		Upsert:            true,
	}
}

// APIVersion returns the REST API version the provider calls, e.g. "v62.0".
func (p *Provider) APIVersion() string { return p.version }

// versionNumber returns the major number of a version such as v62.0.
func versionNumber(v string) int {
	n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(v, "v"), ".0"))
	return n
}

// objectRE matches an sObject API name: Account, Contact, ns__Thing__c.
var objectRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)

// recordIDRE matches a 15- or 18-character Salesforce record ID.
var recordIDRE = regexp.MustCompile(`^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$`)

// dataURL returns the base of the REST API of an instance,
// {instanceURL}/services/data/{version}, after checking the instance URL.
func (p *Provider) dataURL(conn writeback.Connection) (string, error) {
	if p.versionErr != nil {
		return "", p.versionErr
	}
	if strings.TrimSpace(conn.InstanceURL) == "" {
		return "", &writeback.ValidationError{
			Field:  "connection.instanceUrl",
			Reason: "required for salesforce: set the org's instance URL (e.g. https://mydomain.my.salesforce.com) on the installation's connection",
			Err:    writeback.ErrInvalidInstallation,
		}
	}
	base, reason := transport.CheckBaseURL(conn.InstanceURL, "https://mydomain.my.salesforce.com")
	if reason != "" {
		return "", &writeback.ValidationError{Field: "connection.instanceUrl", Reason: reason, Err: writeback.ErrInvalidInstallation}
	}
	return base + "/services/data/" + p.version, nil
}
