package salesforce_test

import (
	"context"
	"fmt"
	"log"

	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/salesforce"
	"github.com/writebackhq/writeback/providers/salesforce/salesforcetest"
)

// Example writes a Contact and then an all-or-nothing batch with one bad
// record, against the simulator.
func Example() {
	srv := salesforcetest.NewServer(salesforcetest.Options{})
	defer srv.Close()
	ctx := context.Background()

	// The app owns the refresh token; onRefresh is where it would save a
	// refreshed token.
	tokens := salesforce.NewTokenSource(srv.Client(), srv.OAuthConfig(), &oauth2.Token{RefreshToken: srv.RefreshToken()}, func(*oauth2.Token) {})
	p := salesforce.New(salesforce.Config{HTTPClient: srv.Client()})

	req := &writeback.ProviderRequest{
		InstallationID: "inst-1",
		Connection:     writeback.Connection{Provider: "salesforce", InstanceURL: srv.URL},
		TokenSource:    tokens,
		Object:         "Contact",
		Type:           writeback.WriteTypeCreate,
		Records:        []writeback.Record{{Fields: map[string]any{"LastName": "Lovelace", "Email": "ada@example.com"}}},
		Headers:        []writeback.Header{{Key: "Sforce-Duplicate-Rule-Header", Value: "allowSave=true"}},
	}
	resp, err := p.Write(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created:", resp.Results[0].ID[:3], len(resp.Results[0].ID))

	req.Batch, req.AllOrNone = true, true
	req.Records = []writeback.Record{
		{Fields: map[string]any{"LastName": "Babbage"}},
		{Fields: map[string]any{"FirstName": "Nameless"}},
	}
	resp, err = p.Write(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range resp.Results {
		fmt.Println(r.Err.RecordIndex, r.Err.Class, r.Err.Code, r.Err.Fields)
	}
	used, limit, _ := p.APIUsage("inst-1")
	fmt.Printf("api usage: %d/%d\n", used, limit)
	// Output:
	// created: 003 18
	// 0 rolled_back ALL_OR_NONE_OPERATION_ROLLED_BACK []
	// 1 invalid REQUIRED_FIELD_MISSING [LastName]
	// api usage: 2/15000
}
