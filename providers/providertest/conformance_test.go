package providertest_test

import (
	"fmt"
	"testing"

	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
)

// TestRunFake runs the conformance suite against the in-memory Fake, which
// rejects any record carrying the field "bad".
func TestRunFake(t *testing.T) {
	t.Parallel()
	providertest.Run(t, func(t *testing.T) *providertest.Harness {
		f := providertest.NewFake("fake", writeback.Capabilities{})
		f.FailRecords(func(_ *writeback.ProviderRequest, _ int, rec writeback.Record) *writeback.ProviderError {
			if _, ok := rec.Fields["bad"]; ok {
				return &writeback.ProviderError{Class: writeback.ClassInvalid, Code: "INVALID", Message: "bad field", Fields: []string{"bad"}}
			}
			return nil
		})
		return &providertest.Harness{
			Provider: f,
			Request: writeback.ProviderRequest{
				InstallationID: "inst-1",
				TokenSource:    oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"}),
				Object:         "contacts",
			},
			NewFields:     func(i int) map[string]any { return map[string]any{"email": fmt.Sprintf("p%d@example.com", i), "n": i} },
			UpdateFields:  func(i int) map[string]any { return map[string]any{"n": 100 + i} },
			InvalidFields: func() map[string]any { return map[string]any{"bad": true} },
			InvalidField:  "bad",
			MissingID:     "999999",
			Lookup:        func(id string) (map[string]any, bool) { return f.Record("contacts", id) },
			Count:         func() int { return f.Count("contacts") },
			Calls:         func() int { return len(f.Calls()) },
			UpsertKey:     "email",
		}
	})
}
