package salesforce_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/providers/salesforce"
	"github.com/writebackhq/writeback/providers/salesforce/salesforcetest"
)

// TestConformance runs the provider conformance suite against the
// simulator, writing Contacts.
func TestConformance(t *testing.T) {
	t.Parallel()
	providertest.Run(t, func(t *testing.T) *providertest.Harness {
		e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
		return &providertest.Harness{
			Provider: e.p,
			Request:  *e.write("Contact", writeback.WriteTypeCreate, false),
			NewFields: func(i int) map[string]any {
				return map[string]any{"LastName": fmt.Sprintf("Person %d", i), "Email": fmt.Sprintf("person%d@example.com", i), "Ext_Id__c": fmt.Sprintf("ext-%d", i)}
			},
			UpdateFields: func(i int) map[string]any {
				return map[string]any{"Title": fmt.Sprintf("Title %d", i), "Department": "Sales"}
			},
			InvalidFields: func() map[string]any { return map[string]any{"LastName": strings.Repeat("x", 81)} },
			InvalidField:  "LastName",
			MissingID:     "003000000000000AAA",
			Lookup:        func(id string) (map[string]any, bool) { return e.srv.Record("Contact", id) },
			Count:         func() int { return e.srv.Count("Contact") },
			Calls:         func() int { return len(e.srv.CallsTo("", "/services/data/")) },
			Inject: func(f providertest.Fault) {
				e.srv.InjectFault(salesforcetest.Fault{Status: f.Status, RetryAfter: f.RetryAfter, Times: f.Times})
			},
			RetryableStatuses: []int{503, 429, 500},
			Delay:             func(d time.Duration) { e.srv.InjectFault(salesforcetest.Fault{Delay: d}) },
			UpsertKey:         "Ext_Id__c",
		}
	})
}
