package hubspot_test

import (
	"context"
	"fmt"
	"log"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
)

// Example writes a batch to the HubSpot simulator in partial mode: one
// record is refused, the others are created.
func Example() {
	srv := hubspottest.NewServer(hubspottest.Options{})
	defer srv.Close()
	p := hubspot.New(hubspot.Config{BaseURL: srv.URL, HTTPClient: srv.Client()})

	resp, err := p.Write(context.Background(), &writeback.ProviderRequest{
		InstallationID: "customer-42",
		TokenSource:    hubspot.StaticToken(hubspottest.DefaultToken),
		Object:         "contacts",
		Type:           writeback.WriteTypeCreate,
		Batch:          true,
		Records: []writeback.Record{
			{Fields: map[string]any{"email": "ada@example.com", "firstname": "Ada"}},
			{Fields: map[string]any{"email": "grace@example.com", "lifecyclestage": "friend"}},
			{Fields: map[string]any{"email": "alan@example.com"}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	for i, r := range resp.Results {
		if r.Err != nil {
			fmt.Printf("%d: %s %v\n", i, r.Err.Class, r.Err.Fields)
			continue
		}
		fmt.Printf("%d: created %s\n", i, r.ID)
	}
	fmt.Println("contacts stored:", srv.Count("contacts"))
	// Output:
	// 0: created 1001
	// 1: invalid [lifecyclestage]
	// 2: created 1002
	// contacts stored: 2
}
