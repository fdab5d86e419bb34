package salesforce

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/writebackhq/writeback/providers/internal/transport"
)

// LimitInfoHeader is the response header in which Salesforce reports the
// org's API usage over the rolling 24 hours, as "api-usage=used/limit".
const LimitInfoHeader = "Sforce-Limit-Info"

// parseLimitInfo reads Sforce-Limit-Info, such as
// "api-usage=18/5000; per-app-api-usage=17/250(appName=app)". Only the org
// figure (api-usage) is used: it is the budget the customer's other
// integrations share. Used can exceed the limit when the org bursts over
// it; DailyRemaining is then negative.
func parseLimitInfo(h http.Header, now time.Time) (transport.Limits, bool) {
	used, limit, ok := parseAPIUsage(h.Get(LimitInfoHeader))
	if !ok {
		return transport.Limits{}, false
	}
	return transport.Limits{DailyMax: limit, DailyRemaining: limit - used, Observed: now}, true
}

// parseAPIUsage extracts used and limit from a Sforce-Limit-Info value.
func parseAPIUsage(v string) (used, limit int, ok bool) {
	for part := range strings.SplitSeq(v, ";") {
		name, val, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found || !strings.EqualFold(strings.TrimSpace(name), "api-usage") {
			continue
		}
		u, l, found := strings.Cut(strings.TrimSpace(val), "/")
		if !found {
			return 0, 0, false
		}
		used, err1 := strconv.Atoi(strings.TrimSpace(u))
		limit, err2 := strconv.Atoi(strings.TrimSpace(l))
		if err1 != nil || err2 != nil || used < 0 || limit <= 0 {
			return 0, 0, false
		}
		return used, limit, true
	}
	return 0, 0, false
}

// APIUsage returns the org's API usage as the latest response for an
// installation reported it: calls used in the rolling 24 hours and the
// org's daily limit. ok is false until a response carried Sforce-Limit-Info.
func (p *Provider) APIUsage(installationID string) (used, limit int, ok bool) {
	l, ok := p.client.Limits(installationID)
	if !ok || l.DailyMax <= 0 {
		return 0, 0, false
	}
	return l.DailyMax - l.DailyRemaining, l.DailyMax, true
}
