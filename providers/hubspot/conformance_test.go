package hubspot_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
	"github.com/writebackhq/writeback/providers/providertest"
)

// TestConformance runs the provider conformance suite against the
// simulator.
func TestConformance(t *testing.T) {
	t.Parallel()
	providertest.Run(t, func(t *testing.T) *providertest.Harness {
		// HubSpot does not promise results in input order: the suite's
		// order checks run against results that come back reversed.
		srv := hubspottest.NewServer(hubspottest.Options{ShuffleBatchResults: true})
		t.Cleanup(srv.Close)
		p := hubspot.New(hubspot.Config{BaseURL: srv.URL, HTTPClient: srv.Client(), RateLimitWait: 10 * time.Millisecond})
		return &providertest.Harness{
			Provider: p,
			Request: writeback.ProviderRequest{
				InstallationID: "inst-1",
				TokenSource:    hubspot.StaticToken(hubspottest.DefaultToken),
				Object:         "contacts",
			},
			NewFields: func(i int) map[string]any {
				return map[string]any{"email": fmt.Sprintf("person%d@example.com", i), "firstname": fmt.Sprintf("Person %d", i), "annualrevenue": 1000 * i}
			},
			UpdateFields: func(i int) map[string]any {
				return map[string]any{"firstname": fmt.Sprintf("Updated %d", i), "lifecyclestage": "lead"}
			},
			InvalidFields: func() map[string]any { return map[string]any{"email": "bad@example.com", "no_such_property": "x"} },
			InvalidField:  "no_such_property",
			MissingID:     "987654321",
			Lookup: func(id string) (map[string]any, bool) {
				props, ok := srv.Record("contacts", id)
				out := map[string]any{}
				for k, v := range props {
					out[k] = v
				}
				return out, ok
			},
			Count: func() int { return srv.Count("contacts") },
			Calls: srv.CallCount,
			Inject: func(f providertest.Fault) {
				srv.InjectFault(hubspottest.Fault{Status: f.Status, RetryAfter: f.RetryAfter, Times: f.Times})
			},
			Delay:     func(d time.Duration) { srv.InjectFault(hubspottest.Fault{Delay: d}) },
			UpsertKey: "email",
		}
	})
}
